package config

import (
	"bytes"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/shopspring/decimal"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"

	"github.com/carry-trading/carry"
)

// EnvConfigFile names a config file when --config is not given.
const EnvConfigFile = "CARRY_CONFIG"

// envPrefix is the prefix of every override variable.
const envPrefix = "CARRY"

// Options say where to load from. Getenv defaults to os.Getenv; tests pass their own.
type Options struct {
	File    string
	Getenv  func(string) string
	Environ func() []string
}

// Loaded is a configuration plus what loading noticed without failing.
type Loaded struct {
	Config   *Config
	File     string
	Warnings []string
}

// Load merges defaults, the file and the environment, then validates. The error lists every problem,
// each naming its key and the fix.
func Load(opts Options) (*Loaded, error) {
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.Environ == nil {
		opts.Environ = os.Environ
	}
	if opts.File == "" {
		opts.File = opts.Getenv(EnvConfigFile)
	}

	known, err := flattenYAML(carry.DefaultConfigYAML)
	if err != nil {
		return nil, fmt.Errorf("embedded defaults are not valid YAML: %w", err)
	}

	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(carry.DefaultConfigYAML)); err != nil {
		return nil, fmt.Errorf("reading embedded defaults: %w", err)
	}

	var problems Problems
	if opts.File != "" {
		raw, err := os.ReadFile(opts.File)
		if err != nil {
			return nil, fmt.Errorf("reading config file %s: %w (pass an existing file with --config, or none for the defaults)", opts.File, err)
		}
		user, err := flattenYAML(raw)
		if err != nil {
			return nil, fmt.Errorf("config file %s is not valid YAML: %w", opts.File, err)
		}
		problems = append(problems, unknownKeys(user, known)...)
		if err := v.MergeConfig(bytes.NewReader(raw)); err != nil {
			return nil, fmt.Errorf("merging config file %s: %w", opts.File, err)
		}
	}

	// Environment overrides: only keys that exist, so a typo is reported instead of silently ignored.
	var warnings []string
	for _, kv := range opts.Environ() {
		name, value, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, envPrefix+"_") || isReservedEnv(name) {
			continue
		}
		key, ok := envKey(name, known)
		if !ok {
			hint := ""
			if s := suggest(strings.ToLower(strings.TrimPrefix(name, envPrefix+"_")), envNames(known)); s != "" {
				hint = fmt.Sprintf("; did you mean %s_%s?", envPrefix, strings.ToUpper(s))
			}
			warnings = append(warnings, fmt.Sprintf("environment variable %s matches no config key and is ignored%s", name, hint))
			continue
		}
		v.Set(key, value)
	}
	if url := opts.Getenv(EnvDatabaseURL); url != "" {
		v.Set("database.url", url)
	}

	cfg := &Config{}
	if err := v.Unmarshal(cfg, viper.DecodeHook(mapstructure.ComposeDecodeHookFunc(
		decimalHook,
		mapstructure.StringToTimeDurationHookFunc(),
		mapstructure.StringToSliceHookFunc(","),
	))); err != nil {
		return nil, fmt.Errorf("config has a value of the wrong type: %w", err)
	}
	for i, s := range cfg.Universe.Symbols {
		cfg.Universe.Symbols[i] = strings.ToUpper(strings.TrimSpace(s))
	}

	secrets, err := loadSecrets(opts.Getenv, cfg.Account.KeyFile)
	if err != nil {
		problems = append(problems, Problem{Key: "account.key_file", Msg: err.Error()})
	}
	cfg.Secrets = secrets

	problems = append(problems, cfg.validate()...)
	if len(problems) > 0 {
		sort.SliceStable(problems, func(i, j int) bool { return problems[i].Key < problems[j].Key })
		return nil, problems
	}
	return &Loaded{Config: cfg, File: opts.File, Warnings: warnings}, nil
}

// Default returns the embedded defaults, validated, with no file and no environment.
func Default() (*Config, error) {
	l, err := Load(Options{Getenv: func(string) string { return "" }, Environ: func() []string { return nil }})
	if err != nil {
		return nil, err
	}
	return l.Config, nil
}

// isReservedEnv lists CARRY_ variables that are not config keys.
func isReservedEnv(name string) bool {
	switch name {
	case EnvAPIKey, EnvAPISecret, EnvTelegramToken, EnvConfigFile:
		return true
	}
	return false
}

// envKey maps CARRY_STRATEGY_ENTRY_APR to strategy.entry_apr among the known keys.
func envKey(name string, known map[string]any) (string, bool) {
	want := strings.ToLower(strings.TrimPrefix(name, envPrefix+"_"))
	for k := range known {
		if strings.ReplaceAll(k, ".", "_") == want {
			return k, true
		}
	}
	return "", false
}

func envNames(known map[string]any) []string {
	out := make([]string, 0, len(known))
	for k := range known {
		out = append(out, strings.ReplaceAll(k, ".", "_"))
	}
	return out
}

// secretKeys are keys people put in config files by mistake; the error says where they belong.
var secretKeys = map[string]string{
	"api_key":        EnvAPIKey,
	"api_secret":     EnvAPISecret,
	"secret_key":     EnvAPISecret,
	"telegram_token": EnvTelegramToken,
}

func unknownKeys(user, known map[string]any) Problems {
	names := make([]string, 0, len(known))
	for k := range known {
		names = append(names, k)
	}
	var out Problems
	for k := range user {
		if _, ok := known[k]; ok {
			continue
		}
		leaf := k[strings.LastIndex(k, ".")+1:]
		if env, ok := secretKeys[leaf]; ok {
			out = append(out, Problem{Key: k, Msg: fmt.Sprintf("secrets are not read from config files; remove %s and set %s in the environment (or use account.key_file)", k, env)})
			continue
		}
		msg := "unknown key"
		if s := suggest(k, names); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		} else {
			msg += "; see config.example.yaml for every key"
		}
		out = append(out, Problem{Key: k, Msg: msg})
	}
	return out
}

// flattenYAML turns nested maps into dotted keys; lists and scalars are leaves.
func flattenYAML(raw []byte) (map[string]any, error) {
	var tree map[string]any
	if err := yaml.Unmarshal(raw, &tree); err != nil {
		return nil, err
	}
	out := map[string]any{}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, val := range m {
			key := strings.ToLower(k)
			if prefix != "" {
				key = prefix + "." + key
			}
			if sub, ok := val.(map[string]any); ok {
				walk(key, sub)
				continue
			}
			out[key] = val
		}
	}
	walk("", tree)
	return out, nil
}

// suggest returns the known name closest to s, if it is close enough to be a typo.
func suggest(s string, names []string) string {
	best, bestD := "", 1<<30
	for _, n := range names {
		d := EditDistance(s, n)
		// Comparing the last segment too catches a right key in the wrong section.
		if i := strings.LastIndex(s, "."); i >= 0 {
			if j := strings.LastIndex(n, "."); j >= 0 {
				if ld := EditDistance(s[i+1:], n[j+1:]); ld == 0 {
					d = min(d, 1)
				}
			}
		}
		if d < bestD || (d == bestD && n < best) {
			best, bestD = n, d
		}
	}
	if bestD <= max(2, len(s)/4) {
		return best
	}
	return ""
}

// EditDistance is the Levenshtein distance between a and b (insertions, deletions and substitutions of a
// byte), for did-you-mean suggestions.
func EditDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

var decimalType = reflect.TypeOf(decimal.Decimal{})

// decimalHook decodes strings and YAML numbers into decimals without a float round trip where possible.
func decimalHook(from, to reflect.Type, data any) (any, error) {
	if to != decimalType {
		return data, nil
	}
	switch v := data.(type) {
	case string:
		d, err := decimal.NewFromString(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("%q is not a decimal number", v)
		}
		return d, nil
	case float64:
		return decimal.RequireFromString(strconv.FormatFloat(v, 'f', -1, 64)), nil
	case float32:
		return decimal.RequireFromString(strconv.FormatFloat(float64(v), 'f', -1, 32)), nil
	case int:
		return decimal.NewFromInt(int64(v)), nil
	case int64:
		return decimal.NewFromInt(v), nil
	case uint64:
		return decimal.NewFromUint64(v), nil
	case decimal.Decimal:
		return v, nil
	}
	return nil, fmt.Errorf("cannot read %v (%T) as a decimal number", data, data)
}
