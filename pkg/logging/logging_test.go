package logging

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestJSONWhenNotATerminal(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(&buf, "info", "auto")
	if err != nil {
		t.Fatal(err)
	}
	log.Info().Str("symbol", "BTCUSDT").Msg("hello")
	log.Debug().Msg("hidden at info")
	var line map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(buf.Bytes()), &line); err != nil {
		t.Fatalf("auto format to a buffer must be JSON, got %q: %v", buf.String(), err)
	}
	if line["symbol"] != "BTCUSDT" || line["message"] != "hello" {
		t.Fatalf("unexpected line %v", line)
	}
}

func TestConsoleFormat(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(&buf, "debug", "console")
	if err != nil {
		t.Fatal(err)
	}
	log.Debug().Msg("readable")
	if strings.HasPrefix(buf.String(), "{") || !strings.Contains(buf.String(), "readable") {
		t.Fatalf("console format wrote %q", buf.String())
	}
}

func TestBadLevelAndFormat(t *testing.T) {
	if _, err := New(&bytes.Buffer{}, "loud", "json"); err == nil || !strings.Contains(err.Error(), "loud") {
		t.Fatalf("bad level error = %v", err)
	}
	if _, err := New(&bytes.Buffer{}, "info", "xml"); err == nil || !strings.Contains(err.Error(), "xml") {
		t.Fatalf("bad format error = %v", err)
	}
}
