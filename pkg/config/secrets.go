package config

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
)

// Environment variables that carry secrets. They are read directly, never through the YAML layer.
const (
	EnvAPIKey        = "CARRY_ACCOUNT_API_KEY"
	EnvAPISecret     = "CARRY_ACCOUNT_API_SECRET"
	EnvTelegramToken = "CARRY_ALERTS_TELEGRAM_TOKEN"
	EnvDatabaseURL   = "DATABASE_URL"
)

// Secret is a string that never prints itself: fmt, JSON, YAML and zerolog all see a redaction.
// Reveal returns the value for the one place that must send it.
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// IsSet reports whether the secret has a value.
func (s Secret) IsSet() bool { return s != "" }

// String implements fmt.Stringer with a redaction.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return s.String() }

// Format keeps every fmt verb (%s, %v, %q, %x …) from printing the value.
func (s Secret) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(s.String())) }

// MarshalText is used by JSON, YAML and zerolog.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Secrets are the credentials carry may hold.
type Secrets struct {
	APIKey        Secret `yaml:"api_key" json:"api_key"`
	APISecret     Secret `yaml:"api_secret" json:"api_secret"`
	TelegramToken Secret `yaml:"telegram_token" json:"telegram_token"`
	// Source says where the API key came from (an environment variable or the key file's path).
	Source string `yaml:"source" json:"source"`
}

// loadSecrets reads the API key from the environment, falling back to the key file.
func loadSecrets(getenv func(string) string, keyFile string) (Secrets, error) {
	s := Secrets{
		APIKey:        Secret(strings.TrimSpace(getenv(EnvAPIKey))),
		APISecret:     Secret(strings.TrimSpace(getenv(EnvAPISecret))),
		TelegramToken: Secret(strings.TrimSpace(getenv(EnvTelegramToken))),
	}
	if s.APIKey.IsSet() || s.APISecret.IsSet() {
		s.Source = "environment"
	}
	if keyFile == "" || (s.APIKey.IsSet() && s.APISecret.IsSet()) {
		return s, nil
	}
	key, secret, err := readKeyFile(keyFile)
	if err != nil {
		return s, err
	}
	if !s.APIKey.IsSet() {
		s.APIKey = key
	}
	if !s.APISecret.IsSet() {
		s.APISecret = secret
	}
	s.Source = keyFile
	return s, nil
}

// readKeyFile reads "api_key: …" and "api_secret: …" lines from a file that only its owner can read.
func readKeyFile(path string) (key, secret Secret, err error) {
	info, err := os.Stat(path)
	if err != nil {
		return "", "", fmt.Errorf("account.key_file: cannot read %s: %w (create it with the api_key and api_secret lines, then chmod 600 it)", path, err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return "", "", fmt.Errorf("account.key_file: %s can be read by other users (mode %04o); run: chmod 600 %s", path, perm, path)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", "", fmt.Errorf("account.key_file: reading %s: %w", path, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		name, value, ok := strings.Cut(text, ":")
		if !ok {
			return "", "", fmt.Errorf("account.key_file: %s line %d is not \"name: value\"; expected api_key and api_secret lines", path, line)
		}
		value = strings.Trim(strings.TrimSpace(value), `"'`)
		switch strings.TrimSpace(name) {
		case "api_key":
			key = Secret(value)
		case "api_secret":
			secret = Secret(value)
		default:
			return "", "", fmt.Errorf("account.key_file: %s line %d has unknown name %q; expected api_key or api_secret", path, line, strings.TrimSpace(name))
		}
	}
	return key, secret, nil
}
