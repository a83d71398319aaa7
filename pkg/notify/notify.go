// Package notify delivers alerts to an operator: a JSON webhook and/or a Telegram chat. Delivery is
// asynchronous (the event loop never waits on HTTP), bounded (a full queue drops and counts), and
// de-duplicated (the same alert is not repeated within min_interval). The Telegram token is part of the
// request URL, so errors are scrubbed of it before they are logged.
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Alert is one message for the operator.
type Alert struct {
	Time     time.Time `json:"time"`
	Account  string    `json:"account"`
	Mode     string    `json:"mode"`
	Severity string    `json:"severity"` // info | warning | critical
	Kind     string    `json:"kind"`     // halt | repair | liquidation_distance | funding_flip | …
	Symbol   string    `json:"symbol,omitempty"`
	PairID   int64     `json:"pair_id,omitempty"`
	Message  string    `json:"message"`
}

// Config says where alerts go.
type Config struct {
	WebhookURL     string
	TelegramAPIURL string // https://api.telegram.org, or a test server
	TelegramToken  string
	TelegramChatID string
	MinInterval    time.Duration
	Timeout        time.Duration
	QueueSize      int
}

// Notifier sends alerts in the background.
type Notifier struct {
	cfg    Config
	client *http.Client
	log    zerolog.Logger
	queue  chan Alert
	done   chan struct{}

	mu      sync.Mutex
	last    map[string]time.Time
	dropped int
	sent    int
	failed  int
}

// New starts a notifier. With neither a webhook nor Telegram configured, alerts are only logged.
func New(cfg Config, log zerolog.Logger) *Notifier {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 256
	}
	n := &Notifier{cfg: cfg, client: &http.Client{Timeout: cfg.Timeout}, log: log,
		queue: make(chan Alert, cfg.QueueSize), done: make(chan struct{}), last: map[string]time.Time{}}
	go n.loop()
	return n
}

// Enabled reports whether alerts leave the process.
func (n *Notifier) Enabled() bool {
	return n.cfg.WebhookURL != "" || (n.cfg.TelegramToken != "" && n.cfg.TelegramChatID != "")
}

// Send queues an alert; it never blocks. Repeats of the same kind/symbol/pair/message within MinInterval are
// dropped.
func (n *Notifier) Send(a Alert) {
	if a.Time.IsZero() {
		a.Time = time.Now().UTC()
	}
	ev := n.log.Warn()
	if a.Severity == "critical" {
		ev = n.log.Error()
	}
	ev.Str("alert", a.Kind).Str("severity", a.Severity).Str("symbol", a.Symbol).Int64("pair", a.PairID).Msg(a.Message)
	if !n.Enabled() {
		return
	}
	key := fmt.Sprintf("%s|%s|%d|%s", a.Kind, a.Symbol, a.PairID, a.Message)
	n.mu.Lock()
	if t, ok := n.last[key]; ok && a.Time.Sub(t) < n.cfg.MinInterval {
		n.mu.Unlock()
		return
	}
	n.last[key] = a.Time
	n.mu.Unlock()
	select {
	case n.queue <- a:
	default:
		n.mu.Lock()
		n.dropped++
		n.mu.Unlock()
	}
}

// Close delivers what is queued (until ctx ends) and stops.
func (n *Notifier) Close(ctx context.Context) {
	close(n.queue)
	select {
	case <-n.done:
	case <-ctx.Done():
	}
}

// Stats returns how many alerts were sent, failed and dropped.
func (n *Notifier) Stats() (sent, failed, dropped int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.sent, n.failed, n.dropped
}

func (n *Notifier) loop() {
	defer close(n.done)
	for a := range n.queue {
		ctx, cancel := context.WithTimeout(context.Background(), n.cfg.Timeout)
		var errs []string
		if n.cfg.WebhookURL != "" {
			if err := n.webhook(ctx, a); err != nil {
				errs = append(errs, err.Error())
			}
		}
		if n.cfg.TelegramToken != "" && n.cfg.TelegramChatID != "" {
			if err := n.telegram(ctx, a); err != nil {
				errs = append(errs, err.Error())
			}
		}
		cancel()
		n.mu.Lock()
		if len(errs) > 0 {
			n.failed++
		} else {
			n.sent++
		}
		n.mu.Unlock()
		if len(errs) > 0 {
			n.log.Error().Str("alert", a.Kind).Str("errors", n.scrub(strings.Join(errs, "; "))).Msg("alert not delivered")
		}
	}
}

func (n *Notifier) webhook(ctx context.Context, a Alert) error {
	body, err := json.Marshal(a)
	if err != nil {
		return err
	}
	return n.post(ctx, n.cfg.WebhookURL, body, "webhook")
}

func (n *Notifier) telegram(ctx context.Context, a Alert) error {
	text := fmt.Sprintf("[carry %s/%s] %s %s", a.Account, a.Mode, strings.ToUpper(a.Severity), a.Message)
	body, err := json.Marshal(map[string]any{"chat_id": n.cfg.TelegramChatID, "text": text, "disable_web_page_preview": true})
	if err != nil {
		return err
	}
	url := strings.TrimRight(n.cfg.TelegramAPIURL, "/") + "/bot" + n.cfg.TelegramToken + "/sendMessage"
	return n.post(ctx, url, body, "telegram")
}

func (n *Notifier) post(ctx context.Context, url string, body []byte, what string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: %s", what, n.scrub(err.Error()))
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %s", what, n.scrub(err.Error()))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: HTTP %d", what, resp.StatusCode)
	}
	return nil
}

// scrub removes the Telegram token from text (URLs in errors carry it).
func (n *Notifier) scrub(s string) string {
	if n.cfg.TelegramToken == "" {
		return s
	}
	return strings.ReplaceAll(s, n.cfg.TelegramToken, "[redacted]")
}
