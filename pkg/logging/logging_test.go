package logging

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
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

type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

func TestSimTimeStampsEveryWrittenLine(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(&buf, "info", "json")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2021, 2, 19, 21, 30, 0, 0, time.FixedZone("x", 3600))
	log = log.Hook(SimTime{Clock: fixedClock(at)})
	log.Warn().Str("symbol", "BTCUSDT").Msg("funding flip")
	log.Debug().Msg("not written")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("want one line, got %q", buf.String())
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &line); err != nil {
		t.Fatal(err)
	}
	if line["sim_time"] != "2021-02-19T20:30:00Z" || line["time"] == line["sim_time"] {
		t.Fatalf("sim_time %v (wall time %v), want the simulated 2021-02-19T20:30:00Z in UTC", line["sim_time"], line["time"])
	}
}
