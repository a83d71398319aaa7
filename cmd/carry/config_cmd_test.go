package main

import (
	"strings"
	"testing"
)

func TestConfigCheckNamesAMisspelledKey(t *testing.T) {
	cfg := writeFile(t, "carry.yaml", "risk:\n  max_leverge: 3\n", 0o600)
	r := runCarry(t, cleanEnv(), "config", "check", "--config", cfg)
	if r.code != exitUsage {
		t.Fatalf("exit %d, want %d; stderr: %s", r.code, exitUsage, r.stderr)
	}
	if !strings.Contains(r.stderr, "risk.max_leverge") || !strings.Contains(r.stderr, `did you mean "risk.max_leverage"`) {
		t.Fatalf("stderr should name the key and suggest the fix: %s", r.stderr)
	}
}

func TestConfigCheckLiveWithoutKeySaysWhichVariable(t *testing.T) {
	r := runCarry(t, cleanEnv(), "config", "check", "--mode", "live")
	if r.code != exitUsage || !strings.Contains(r.stderr, "CARRY_ACCOUNT_API_KEY") || !strings.Contains(r.stderr, "CARRY_ACCOUNT_API_SECRET") {
		t.Fatalf("exit %d; stderr should name the variables to set: %s", r.code, r.stderr)
	}
	r = runCarry(t, cleanEnv("CARRY_ACCOUNT_API_KEY=k", "CARRY_ACCOUNT_API_SECRET=s"), "config", "check", "--mode", "live")
	if r.code != 0 || !strings.Contains(r.stdout, "configuration OK") {
		t.Fatalf("with keys set: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
}

func TestConfigShowNeverPrintsASecret(t *testing.T) {
	secrets := []string{"apikey-4f9a1c", "apisecret-77b0e2", "tgtoken-19c3d5", "dbpassword-8e2f"}
	env := cleanEnv("CARRY_ACCOUNT_API_KEY="+secrets[0], "CARRY_ACCOUNT_API_SECRET="+secrets[1],
		"CARRY_ALERTS_TELEGRAM_TOKEN="+secrets[2], "CARRY_ALERTS_TELEGRAM_CHAT_ID=5",
		"DATABASE_URL=postgres://carry:"+secrets[3]+"@127.0.0.1:5432/carry", "CARRY_LOG_LEVEL=trace")
	for _, args := range [][]string{{"config", "show"}, {"config", "show", "--json"}, {"config", "check"}, {"config", "show", "--mode", "live"}} {
		r := runCarry(t, env, args...)
		if r.code != 0 {
			t.Fatalf("%v: exit %d: %s", args, r.code, r.stderr)
		}
		for _, s := range secrets {
			if strings.Contains(r.stdout+r.stderr, s) {
				t.Fatalf("%v printed secret %s:\n%s%s", args, s, r.stdout, r.stderr)
			}
		}
	}
	r := runCarry(t, env, "config", "show")
	if !strings.Contains(r.stdout, "api_key: (set, redacted)") || !strings.Contains(r.stdout, "capital:") {
		t.Fatalf("config show should print the merged config with redactions:\n%s", r.stdout)
	}
}

func TestConfigShowAppliesEnvironment(t *testing.T) {
	r := runCarry(t, cleanEnv("CARRY_CAPITAL_TOTAL=6543"), "config", "show")
	if r.code != 0 || !strings.Contains(r.stdout, "total: \"6543\"") {
		t.Fatalf("env override missing from config show (exit %d):\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// Usage mistakes — a missing or extra argument, an unknown command or flag — exit 2 and say what is wrong.
func TestUsageMistakesExit2(t *testing.T) {
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"unwind"}, "accepts 1 arg(s), received 0"},
		{[]string{"status", "extra"}, `unknown command "extra"`},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"status", "--frobnicate"}, "unknown flag: --frobnicate"},
	} {
		r := runCarry(t, cleanEnv(), tc.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.says) {
			t.Errorf("carry %v: exit %d, stderr %q; want exit %d saying %q", tc.args, r.code, r.stderr, exitUsage, tc.says)
		}
	}
}
