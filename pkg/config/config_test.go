package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/shopspring/decimal"
)

func env(vars map[string]string) (func(string) string, func() []string) {
	get := func(k string) string { return vars[k] }
	list := func() []string {
		var out []string
		for k, v := range vars {
			out = append(out, k+"="+v)
		}
		return out
	}
	return get, list
}

func load(t *testing.T, yaml string, vars map[string]string) (*Loaded, error) {
	t.Helper()
	opts := Options{}
	opts.Getenv, opts.Environ = env(vars)
	if yaml != "" {
		opts.File = filepath.Join(t.TempDir(), "carry.yaml")
		if err := os.WriteFile(opts.File, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return Load(opts)
}

func problemsOf(t *testing.T, err error) Problems {
	t.Helper()
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("want validation problems, got %v", err)
	}
	return ps
}

func TestDefaultsAreValid(t *testing.T) {
	cfg, err := Default()
	if err != nil {
		t.Fatalf("embedded defaults do not validate: %v", err)
	}
	if cfg.Mode != ModePaper || cfg.Capital.Leverage != 2 || !cfg.Capital.Total.Equal(decimal.NewFromInt(10000)) {
		t.Fatalf("unexpected defaults: mode %s leverage %d capital %s", cfg.Mode, cfg.Capital.Leverage, cfg.Capital.Total)
	}
	if cfg.Strategy.MaxBreakeven.Hours() != 72 || len(cfg.Universe.Symbols) == 0 || !cfg.Risk.Actions.Topup {
		t.Fatalf("durations, lists or nested keys not decoded: %+v", cfg.Strategy)
	}
	if !cfg.Fees.SpotTaker.Equal(decimal.RequireFromString("0.001")) {
		t.Fatalf("decimal default decoded as %s", cfg.Fees.SpotTaker)
	}
}

func TestExampleFileLoadsAsItsOwnDefaults(t *testing.T) {
	raw, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	l, err := load(t, string(raw), nil)
	if err != nil {
		t.Fatalf("config.example.yaml does not load: %v", err)
	}
	def, _ := Default()
	a, _ := l.Config.Render()
	b, _ := def.Render()
	if !bytes.Equal(a, b) {
		t.Fatal("config.example.yaml and the embedded defaults differ")
	}
}

func TestMisspelledKeyIsNamedWithASuggestion(t *testing.T) {
	_, err := load(t, "strategy:\n  entry_aprr: 0.2\ncapitall:\n  total: 5\n", nil)
	ps := problemsOf(t, err)
	msg := err.Error()
	for _, want := range []string{"strategy.entry_aprr", `did you mean "strategy.entry_apr"`, "capitall.total", `did you mean "capital.total"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if len(ps) != 2 {
		t.Fatalf("want 2 problems, got %v", ps.Keys())
	}
}

func TestSecretInConfigFileIsRefused(t *testing.T) {
	_, err := load(t, "account:\n  api_key: abc123\n", nil)
	if err == nil || !strings.Contains(err.Error(), EnvAPIKey) || strings.Contains(err.Error(), "abc123") {
		t.Fatalf("a key in the config file must be refused, pointing to %s, without echoing it: %v", EnvAPIKey, err)
	}
}

func TestLiveModeWithoutKeyNamesTheVariable(t *testing.T) {
	_, err := load(t, "mode: live\n", nil)
	msg := fmt.Sprint(err)
	if !strings.Contains(msg, EnvAPIKey) || !strings.Contains(msg, EnvAPISecret) {
		t.Fatalf("live mode without a key must name %s and %s: %v", EnvAPIKey, EnvAPISecret, err)
	}
	l, err := load(t, "mode: live\n", map[string]string{EnvAPIKey: "k", EnvAPISecret: "s"})
	if err != nil || l.Config.Secrets.Source != "environment" {
		t.Fatalf("live mode with env keys: %v", err)
	}
}

func TestValidationNamesKeyAndFix(t *testing.T) {
	cases := []struct {
		name, yaml, key, want string
	}{
		{"negative capital", "capital:\n  total: -5\n", "capital.total", "must be positive"},
		{"leverage too high", "capital:\n  leverage: 50\n", "capital.leverage", "out of range"},
		{"leverage above limit", "capital:\n  leverage: 6\nrisk:\n  max_leverage: 5\n", "capital.leverage", "risk.max_leverage"},
		{"thresholds inverted", "strategy:\n  entry_apr: 0.01\n  exit_apr: 0.05\n", "strategy.entry_apr", "above strategy.exit_apr"},
		{"distances out of order", "risk:\n  flatten_distance: 0.25\n", "risk.topup_distance", "shrink with severity"},
		{"bad mode", "mode: yolo\n", "mode", "backtest, paper or live"},
		{"bad symbol", "universe:\n  symbols: [btc-usdt]\n", "universe.symbols", "not a Binance symbol"},
		{"bad duration", "strategy:\n  max_breakeven: -1h\n", "strategy.max_breakeven", "positive duration"},
		{"bad listen", "telemetry:\n  listen: localhost\n", "telemetry.listen", "host:port"},
		{"telegram without token", "alerts:\n  telegram_chat_id: '42'\n", "alerts.telegram_chat_id", EnvTelegramToken},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := load(t, c.yaml, nil)
			ps := problemsOf(t, err)
			found := false
			for _, p := range ps {
				if p.Key == c.key && strings.Contains(p.Msg, c.want) {
					found = true
				}
			}
			if !found {
				t.Fatalf("want a problem on %s mentioning %q, got: %v", c.key, c.want, err)
			}
		})
	}
}

func TestWrongTypeIsReported(t *testing.T) {
	_, err := load(t, "capital:\n  total: lots\n", nil)
	if err == nil || !strings.Contains(err.Error(), "lots") {
		t.Fatalf("a non-number capital must be reported: %v", err)
	}
}

func TestEnvironmentOverrides(t *testing.T) {
	l, err := load(t, "", map[string]string{
		"CARRY_CAPITAL_TOTAL":          "5000",
		"CARRY_CAPITAL_PER_SYMBOL_MAX": "2500",
		"CARRY_UNIVERSE_SYMBOLS":       "btcusdt, ETHUSDT",
		"CARRY_RISK_ACTIONS_TOPUP":     "false",
		"CARRY_STRATEGY_MAX_BREAKEVEN": "24h",
		"CARRY_CAPITL_TOTAL":           "1",
		"DATABASE_URL":                 "postgres://u:pw@db:5432/carry",
	})
	if err != nil {
		t.Fatal(err)
	}
	c := l.Config
	if !c.Capital.Total.Equal(decimal.NewFromInt(5000)) || c.Risk.Actions.Topup || c.Strategy.MaxBreakeven.Hours() != 24 {
		t.Fatalf("overrides not applied: total %s topup %v breakeven %s", c.Capital.Total, c.Risk.Actions.Topup, c.Strategy.MaxBreakeven)
	}
	if strings.Join(c.Universe.Symbols, ",") != "BTCUSDT,ETHUSDT" {
		t.Fatalf("symbols from env: %v", c.Universe.Symbols)
	}
	if c.Database.URL.Reveal() != "postgres://u:pw@db:5432/carry" {
		t.Fatal("DATABASE_URL must override database.url")
	}
	if len(l.Warnings) != 1 || !strings.Contains(l.Warnings[0], "CARRY_CAPITL_TOTAL") || !strings.Contains(l.Warnings[0], "CARRY_CAPITAL_TOTAL") {
		t.Fatalf("a misspelled variable must be warned about with a suggestion: %v", l.Warnings)
	}
}

func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys")
	if err := os.WriteFile(path, []byte("# binance\napi_key: KEY-123\napi_secret: \"SECRET-456\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := load(t, "mode: live\naccount:\n  key_file: "+path+"\n", nil)
	if err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a world-readable key file must be refused with the fix: %v", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := load(t, "mode: live\naccount:\n  key_file: "+path+"\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	s := l.Config.Secrets
	if s.APIKey.Reveal() != "KEY-123" || s.APISecret.Reveal() != "SECRET-456" || s.Source != path {
		t.Fatalf("key file not read: source %s", s.Source)
	}
}

func TestSecretsNeverPrint(t *testing.T) {
	l, err := load(t, "mode: live\nalerts:\n  telegram_chat_id: '7'\n", map[string]string{
		EnvAPIKey: "KEY-abcdef", EnvAPISecret: "SECRET-ghijkl", EnvTelegramToken: "TG-mnopqr",
		"DATABASE_URL": "postgres://carry:DBPASS-stuv@localhost/carry",
	})
	if err != nil {
		t.Fatal(err)
	}
	c := l.Config
	rendered, _ := c.Render()
	js, _ := json.Marshal(c)
	var logbuf bytes.Buffer
	logger := zerolog.New(&logbuf)
	logger.Info().Interface("config", c).Str("key", c.Secrets.APIKey.String()).Msg("x")
	outputs := map[string]string{
		"render": string(rendered), "json": string(js), "log": logbuf.String(),
		"%v": fmt.Sprintf("%v", c), "%+v": fmt.Sprintf("%+v", c), "%#v": fmt.Sprintf("%#v", c), "%s": fmt.Sprintf("%s", c.Secrets.APIKey),
		"%q": fmt.Sprintf("%q", c.Secrets.APISecret), "%x": fmt.Sprintf("%x", c.Secrets.APISecret),
	}
	for name, out := range outputs {
		for _, secret := range []string{"KEY-abcdef", "SECRET-ghijkl", "TG-mnopqr", "DBPASS-stuv"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s output contains secret %s", name, secret)
			}
		}
	}
	if !strings.Contains(string(rendered), "(set, redacted)") {
		t.Fatalf("render should say the secrets are set:\n%s", rendered)
	}
}
