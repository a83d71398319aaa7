package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestUnwindThroughTheRunningBot: with a bot running, `carry unwind BTCUSDT --yes` from a second process
// is carried out by the bot (both legs closed), and `carry status` reflects it.
func TestUnwindThroughTheRunningBot(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	t.Parallel()
	b := newPaperBot(t)
	p := b.start(t)
	b.waitPairs(t, p, "one open pair", hasOpen)

	var st accountStatus
	r := runCarry(t, b.env, "status", "--json")
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &st) != nil || !st.BotRunning || len(st.Pairs) != 1 || st.Pairs[0].Symbol != "BTCUSDT" {
		t.Fatalf("status before: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	if !st.Pairs[0].HedgeRatio.IsPositive() || !st.Pairs[0].Fees.IsPositive() {
		t.Fatalf("status should show hedge ratio and fees: %+v", st.Pairs[0])
	}

	r = runCarry(t, b.env, "unwind", "BTCUSDT", "--yes")
	if r.code != 0 || !strings.Contains(r.stdout, "sent to the running bot") || !strings.Contains(r.stdout, "closed") {
		t.Fatalf("unwind through the bot: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	p.waitFor(t, `"kind":"unwind","status":"done"`, 10*time.Second)
	r = runCarry(t, b.env, "status", "--json")
	st = accountStatus{}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &st) != nil || len(st.Pairs) != 0 {
		t.Fatalf("status after: exit %d %s", r.code, r.stdout)
	}
	r = runCarry(t, b.env, "unwind", "BTCUSDT", "--yes")
	if r.code != exitNotFound {
		t.Fatalf("unwinding a pair that is gone: exit %d, want %d", r.code, exitNotFound)
	}
	b.stop(t, p)
	b.checkVenueAgrees(t)
}

// TestUnwindWithoutABotAndASecondBot: SIGTERM leaves the hedged pair open (exit 0); `carry unwind` with no
// bot running takes the account and closes it itself; a second bot on the same account is refused.
func TestUnwindWithoutABotAndASecondBot(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	t.Parallel()
	b := newPaperBot(t)
	p := b.start(t)
	b.waitPairs(t, p, "one open pair", hasOpen)

	second := runCarry(t, b.env, "run")
	if second.code != exitRefused || !strings.Contains(second.stderr, "another `carry run` already trades account") {
		t.Fatalf("a second bot: exit %d, want %d:\n%s", second.code, exitRefused, second.stderr)
	}
	b.stop(t, p)
	b.waitPairs(t, nil, "the pair still open after SIGTERM", hasOpen)

	r := runCarry(t, b.env, "unwind", "BTCUSDT", "--dry-run")
	if r.code != 0 || !strings.Contains(r.stdout, "dry run: nothing sent") {
		t.Fatalf("dry run: exit %d %s", r.code, r.stdout)
	}
	r = runCarry(t, b.env, "unwind", "BTCUSDT", "--yes")
	if r.code != 0 || !strings.Contains(r.stdout, "no bot is running") || !strings.Contains(r.stdout, "closed") {
		t.Fatalf("unwind without a bot: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	b.waitPairs(t, nil, "the pair closed", allClosed)
	b.checkVenueAgrees(t)
}

// TestSigtermWhileOpening: SIGTERM arrives while a pair's legs are in flight (the paper venue is slow); the
// bot finishes the round, exits 0, and after a restart the pair is hedged or flat.
func TestSigtermWhileOpening(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	t.Parallel()
	b := newPaperBot(t, "CARRY_PAPER_LATENCY=1500ms")
	p := b.start(t)
	p.waitFor(t, `"to":"opening"`, 60*time.Second)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM while opening:\n%s", code, tail(p.logs.String(), 30))
	}
	p = b.start(t)
	p.waitFor(t, "recovery done", 60*time.Second)
	b.waitPairs(t, p, "hedged (open) or flat", func(s map[string]int) bool { return settled(s) && s["open"]+s["closed"] >= 1 })
	b.stop(t, p)
	b.checkVenueAgrees(t)
}

// recorder of HTTP posts (a webhook and a Telegram API).
type posts struct {
	mu   sync.Mutex
	body []string
}

func (s *posts) handler(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.body = append(s.body, r.URL.Path+" "+string(raw))
	s.mu.Unlock()
	w.WriteHeader(200)
}

func (s *posts) contains(sub string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.body {
		if strings.Contains(b, sub) {
			return true
		}
	}
	return false
}

// TestAlertsMetricsAndLoopback: a halt is delivered as an alert to a webhook and to Telegram (local
// servers); /metrics is scraped; /healthz is ready with fresh feeds; the bot listens on loopback only.
func TestAlertsMetricsAndLoopback(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	t.Parallel()
	hook, tg := &posts{}, &posts{}
	hs := httptest.NewServer(http.HandlerFunc(hook.handler))
	defer hs.Close()
	ts := httptest.NewServer(http.HandlerFunc(tg.handler))
	defer ts.Close()
	listen := freePort(t)
	b := newPaperBot(t, "CARRY_TELEMETRY_LISTEN="+listen, "CARRY_ALERTS_WEBHOOK_URL="+hs.URL+"/alert",
		"CARRY_ALERTS_TELEGRAM_API_URL="+ts.URL, "CARRY_ALERTS_TELEGRAM_CHAT_ID=99", "CARRY_ALERTS_TELEGRAM_TOKEN=123:tok")
	p := b.start(t)
	b.waitPairs(t, p, "one open pair", hasOpen)

	r := runCarry(t, b.env, "halt", "--reason", "maintenance window")
	if r.code != 0 || !strings.Contains(r.stdout, "active → halted") {
		t.Fatalf("halt: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	deadline := time.Now().Add(15 * time.Second)
	for !(hook.contains(`"kind":"halt"`) && tg.contains("maintenance window")) {
		if time.Now().After(deadline) {
			t.Fatalf("halt alert not delivered: webhook %v telegram %v", hook.body, tg.body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !tg.contains("/bot123:tok/sendMessage") || !tg.contains(`"chat_id":"99"`) {
		t.Fatalf("telegram request: %v", tg.body)
	}
	r = runCarry(t, b.env, "events")
	if r.code != 0 || !strings.Contains(r.stdout, "state_change") || !strings.Contains(r.stdout, "maintenance window") {
		t.Fatalf("events should list the state change: %s", r.stdout)
	}
	r = runCarry(t, b.env, "resume")
	if r.code != 0 || !strings.Contains(r.stdout, "halted → active") {
		t.Fatalf("resume: exit %d %s %s", r.code, r.stdout, r.stderr)
	}

	// Funding turns against the open carry pair (its short perp pays): a funding_flip alert.
	if _, err := b.fake.Settle("BTCUSDT", decimal.RequireFromString("-0.0002"), decimal.Zero); err != nil {
		t.Fatal(err)
	}
	for !(hook.contains(`"kind":"funding_flip"`) && tg.contains("funding flipped against pair")) {
		if time.Now().After(deadline.Add(15 * time.Second)) {
			t.Fatalf("funding flip alert not delivered: webhook %v", hook.body)
		}
		time.Sleep(100 * time.Millisecond)
	}

	metrics := httpGet(t, "http://"+listen+"/metrics")
	for _, want := range []string{`carry_pairs{state="open"} 1`, "carry_events_total", `carry_hedge_ratio{symbol="BTCUSDT"}`,
		`carry_liquidation_distance{symbol="BTCUSDT"}`, "carry_margin_ratio", `carry_order_latency_seconds_count{venue="futures"}`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if h := httpGet(t, "http://"+listen+"/healthz"); !strings.Contains(h, `"ready":true`) {
		t.Fatalf("/healthz: %s", h)
	}
	for _, addr := range listeningAddrs(t, p.cmd.Process.Pid) {
		if !strings.HasPrefix(addr, "127.0.0.1:") && !strings.HasPrefix(addr, "[::1]:") {
			t.Fatalf("the bot listens on %s, beyond loopback", addr)
		}
	}
	b.stop(t, p)
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return string(raw)
}

// listeningAddrs lists the TCP addresses the process listens on, from /proc.
func listeningAddrs(t *testing.T, pid int) []string {
	t.Helper()
	inodes := map[string]bool{}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, fd := range fds {
		if link, err := os.Readlink(filepath.Join(fmt.Sprintf("/proc/%d/fd", pid), fd.Name())); err == nil && strings.HasPrefix(link, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] = true
		}
	}
	var out []string
	for _, file := range []string{"tcp", "tcp6"} {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", pid, file))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(raw), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 10 || f[3] != "0A" || !inodes[f[9]] { // 0A = LISTEN
				continue
			}
			out = append(out, procAddr(f[1]))
		}
	}
	if len(out) == 0 {
		t.Fatal("the bot listens on nothing; the telemetry server should be up")
	}
	return out
}

// procAddr decodes /proc/net/tcp's "0100007F:1F90" (little-endian IPv4 or IPv6) into host:port.
func procAddr(s string) string {
	hexIP, hexPort, _ := strings.Cut(s, ":")
	port, _ := strconv.ParseUint(hexPort, 16, 16)
	raw, _ := hex.DecodeString(hexIP)
	ip := make(net.IP, len(raw))
	for i := 0; i < len(raw); i += 4 {
		for j := 0; j < 4; j++ {
			ip[i+j] = raw[i+3-j]
		}
	}
	return net.JoinHostPort(ip.String(), strconv.FormatUint(port, 10))
}
