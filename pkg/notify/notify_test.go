package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

type sink struct {
	mu    sync.Mutex
	paths []string
	body  []string
}

func (s *sink) handler(status int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.paths = append(s.paths, r.URL.Path)
		s.body = append(s.body, string(b))
		s.mu.Unlock()
		w.WriteHeader(status)
	}
}

func (s *sink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.paths)
}

func TestWebhookAndTelegramDelivery(t *testing.T) {
	hook, tg := &sink{}, &sink{}
	hs := httptest.NewServer(hook.handler(200))
	defer hs.Close()
	ts := httptest.NewServer(tg.handler(200))
	defer ts.Close()
	var logs bytes.Buffer
	n := New(Config{WebhookURL: hs.URL + "/alerts", TelegramAPIURL: ts.URL, TelegramToken: "123:SECRET", TelegramChatID: "42", MinInterval: time.Minute}, zerolog.New(&logs))
	a := Alert{Account: "main", Mode: "paper", Severity: "critical", Kind: "halt", Symbol: "BTCUSDT", PairID: 7, Message: "pair 7 halted"}
	n.Send(a)
	n.Send(a) // a repeat within MinInterval is dropped
	n.Send(Alert{Severity: "warning", Kind: "repair", Symbol: "ETHUSDT", Message: "repairing"})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n.Close(ctx)

	if hook.count() != 2 || tg.count() != 2 {
		t.Fatalf("webhook got %d, telegram %d; want 2 each", hook.count(), tg.count())
	}
	var got Alert
	if err := json.Unmarshal([]byte(hook.body[0]), &got); err != nil || got.Kind != "halt" || got.PairID != 7 || got.Symbol != "BTCUSDT" {
		t.Fatalf("webhook body %s (%v)", hook.body[0], err)
	}
	if tg.paths[0] != "/bot123:SECRET/sendMessage" || !strings.Contains(tg.body[0], `"chat_id":"42"`) || !strings.Contains(tg.body[0], "pair 7 halted") {
		t.Fatalf("telegram request %s %s", tg.paths[0], tg.body[0])
	}
	if sent, failed, _ := n.Stats(); sent != 2 || failed != 0 {
		t.Fatalf("stats sent=%d failed=%d", sent, failed)
	}
}

func TestFailuresAreLoggedWithoutTheToken(t *testing.T) {
	tg := &sink{}
	ts := httptest.NewServer(tg.handler(500))
	defer ts.Close()
	var logs bytes.Buffer
	logger := zerolog.New(zerolog.SyncWriter(&logs))
	n := New(Config{TelegramAPIURL: ts.URL, TelegramToken: "999:TOPSECRET", TelegramChatID: "1"}, logger)
	n.Send(Alert{Severity: "critical", Kind: "halt", Message: "x"})
	// A server that is not there: the client error carries the URL, and so the token.
	n2 := New(Config{TelegramAPIURL: "http://127.0.0.1:1", TelegramToken: "999:TOPSECRET", TelegramChatID: "1", Timeout: time.Second}, logger)
	n2.Send(Alert{Severity: "critical", Kind: "halt", Message: "y"})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n.Close(ctx)
	n2.Close(ctx)
	if _, failed, _ := n.Stats(); failed != 1 {
		t.Fatalf("a 500 must count as a failure, got %d", failed)
	}
	if strings.Contains(logs.String(), "TOPSECRET") {
		t.Fatalf("logs leak the token:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "alert not delivered") {
		t.Fatalf("failure not logged:\n%s", logs.String())
	}
}
