package archive

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/pkg/archive/archivetest"
	"github.com/carry-trading/carry/pkg/replay"
)

func init() { backoff = 10 * time.Millisecond }

var (
	jan = Month{2024, time.January}
	feb = Month{2024, time.February}
)

// --- test data: the archive's files for BTCUSDT, January and February 2024 ---

// monthCSV builds a month of data as the archive publishes it: spot klines header-less with microsecond
// times (spot files since 2025), perp klines with a header, funding rates with a header and ms jitter.
func monthCSV(kind Kind, m Month) []byte {
	var b bytes.Buffer
	start, end := m.Start(), m.Next().Start()
	switch kind {
	case Spot:
		for t, i := start, 0; t.Before(end); t, i = t.Add(time.Hour), i+1 {
			p := 40000 + float64(i%50)*10
			fmt.Fprintf(&b, "%d,%.2f,%.2f,%.2f,%.2f,12.5,%d,500000.0,1000,6.1,250000.0,0\n", t.UnixMicro(), p, p+20, p-20,
				p+5, t.Add(time.Hour).UnixMicro()-1)
		}
	case Perp:
		b.WriteString("open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore\n")
		for t, i := start, 0; t.Before(end); t, i = t.Add(time.Hour), i+1 {
			p := 40010 + float64(i%50)*10
			fmt.Fprintf(&b, "%d,%.1f,%.1f,%.1f,%.1f,300.1,%d,12000000.0,5000,150.2,6000000.0,0\n", t.UnixMilli(), p, p+20,
				p-20, p+5, t.Add(time.Hour).UnixMilli()-1)
		}
	case Funding:
		b.WriteString("calc_time,funding_interval_hours,last_funding_rate\n")
		for t := start; t.Before(end); t = t.Add(8 * time.Hour) {
			fmt.Fprintf(&b, "%d,8,0.00010000\n", t.UnixMilli()+3)
		}
	}
	return b.Bytes()
}

type fixture struct {
	files map[string][]byte // URL path → body, zips and checksums: what archivetest.NewServer serves
	csv   map[string][]byte // laid-out name → expected content
	zips  map[string]string // laid-out name → zip URL path
}

func newFixture(symbol string, months ...Month) *fixture {
	fx := &fixture{files: map[string][]byte{}, csv: map[string][]byte{}, zips: map[string]string{}}
	req := Request{Symbols: []string{symbol}, From: months[0], To: months[len(months)-1], Interval: "1h", Kinds: AllKinds()}
	for _, j := range req.jobs() {
		csv := monthCSV(j.kind, j.month)
		archivetest.Publish(fx.files, "/"+j.remote, csv)
		fx.csv[j.csv] = csv
		fx.zips[j.csv] = "/" + j.remote
	}
	return fx
}

// --- helpers ---

func request(base, dir string) Request {
	return Request{BaseURL: base, Dir: dir, Symbols: []string{"btcusdt"}, From: jan, To: feb, Timeout: 5 * time.Second}
}

func checkLaidOut(t *testing.T, dir string, fx *fixture, skip ...string) {
	t.Helper()
	for name, want := range fx.csv {
		if contains(skip, name) {
			if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
				t.Errorf("%s laid out but should not be", name)
			}
			continue
		}
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the archive's CSV", name)
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

func result(rep Report, kind Kind, m Month) FileResult {
	for _, f := range rep.Files {
		if f.Kind == kind && f.Month == m {
			return f
		}
	}
	return FileResult{}
}

// --- tests ---

func TestFetchAllAndReplay(t *testing.T) {
	fx := newFixture("BTCUSDT", jan, feb)
	srv := archivetest.NewServer(t, fx.files)
	dir := t.TempDir()
	var mu sync.Mutex
	var events []Progress
	rep, err := Fetch(context.Background(), request(srv.URL, dir), func(p Progress) {
		mu.Lock()
		events = append(events, p)
		mu.Unlock()
	})
	if err != nil {
		t.Fatalf("Fetch: %v\n%s", err, rep.Summary())
	}
	if len(rep.Files) != 6 || rep.Count(Downloaded) != 6 {
		t.Fatalf("report:\n%s", rep.Summary())
	}
	// Request order: symbol, kind, month.
	if f := rep.Files[0]; f.Kind != Spot || f.Month != jan || rep.Files[5].Kind != Funding || rep.Files[5].Month != feb {
		t.Errorf("files out of order: %v", rep.Files)
	}
	checkLaidOut(t, dir, fx)
	for _, f := range rep.Files {
		if f.Attempts != 1 || f.Resumed || f.Bytes == 0 || f.CSV == "" || f.Symbol != "BTCUSDT" {
			t.Errorf("%s: %+v", f, f)
		}
		if _, err := os.Stat(f.Zip); err != nil {
			t.Errorf("zip not cached: %v", err)
		}
		if !strings.HasPrefix(f.Zip, filepath.Join(dir, "cache", "data")) {
			t.Errorf("zip cached at %s", f.Zip)
		}
	}
	if done := events[len(events)-1]; done.Phase != PhaseDone || done.Done != 6 || done.Files != 6 {
		t.Errorf("last progress: %+v", done)
	}
	var starts, downloads int
	for _, e := range events {
		switch e.Phase {
		case PhaseStart:
			starts++
		case PhaseDownload:
			downloads++
			if e.Total <= 0 || e.Bytes > e.Total {
				t.Errorf("progress bytes %d of %d", e.Bytes, e.Total)
			}
		}
	}
	if starts != 6 || downloads < 6 {
		t.Errorf("%d start and %d download events", starts, downloads)
	}

	// The contract: the replay reads the laid-out files. January and February 2024 have 744 + 696 hourly
	// bars per market and three settlements a day.
	got := archivetest.Replay(t, dir, replay.Options{Symbols: []string{"BTCUSDT"}, Interval: "1h"})
	bars := 744 + 696
	if got.Hours[exchange.Spot] != bars || got.Hours[exchange.Futures] != bars {
		t.Errorf("hours quoted %v, want %d per market", got.Hours, bars)
	}
	if got.Funding != 3*(31+29) {
		t.Errorf("funding events %d, want %d", got.Funding, 3*(31+29))
	}
	if !got.First.Equal(jan.Start()) || got.Last.Before(time.Date(2024, 2, 29, 23, 0, 0, 0, time.UTC)) {
		t.Errorf("replay spans %v → %v", got.First, got.Last)
	}

	// A re-run is offline: with the server gone every file comes from the cache.
	srv.Close()
	rep, err = Fetch(context.Background(), request(srv.URL, dir), nil)
	if err != nil || rep.Count(Cached) != 6 || rep.Bytes() != 0 {
		t.Fatalf("offline re-run: %v\n%s", err, rep.Summary())
	}
	// A deleted CSV is laid out again from the cache.
	victim := "BTCUSDT-perp-1h-2024-02.csv"
	if err := os.Remove(filepath.Join(dir, victim)); err != nil {
		t.Fatal(err)
	}
	if rep, err = Fetch(context.Background(), request(srv.URL, dir), nil); err != nil || rep.Count(Cached) != 6 {
		t.Fatalf("re-layout: %v\n%s", err, rep.Summary())
	}
	checkLaidOut(t, dir, fx)
}

func TestResumeWithRange(t *testing.T) {
	fx := newFixture("BTCUSDT", jan, feb)
	srv := archivetest.NewServer(t, fx.files)
	dir := t.TempDir()
	zp := fx.zips["BTCUSDT-spot-1h-2024-01.csv"]
	full := fx.files[zp]
	half := int64(len(full) / 2)
	part := filepath.Join(dir, "cache", filepath.FromSlash(zp[1:])) + ".part"
	if err := os.MkdirAll(filepath.Dir(part), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(part, full[:half], 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := Fetch(context.Background(), request(srv.URL, dir), nil)
	if err != nil {
		t.Fatalf("Fetch: %v\n%s", err, rep.Summary())
	}
	f := result(rep, Spot, jan)
	if f.Status != Downloaded || !f.Resumed {
		t.Fatalf("resumed file: %+v", f)
	}
	if got := srv.Served(zp); got != int64(len(full))-half {
		t.Errorf("server sent %d bytes of the zip, want the missing %d", got, int64(len(full))-half)
	}
	if ranged := srv.Ranged(zp); ranged != 1 {
		t.Errorf("%d ranged requests", ranged)
	}
	if _, err := os.Stat(part); !os.IsNotExist(err) {
		t.Error("the part file is still there")
	}
	checkLaidOut(t, dir, fx)
}

func TestServerIgnoresRange(t *testing.T) {
	fx := newFixture("BTCUSDT", jan)
	srv := archivetest.NewServer(t, fx.files)
	srv.IgnoreRange(true)
	dir := t.TempDir()
	zp := fx.zips["BTCUSDT-perp-1h-2024-01.csv"]
	full := fx.files[zp]
	part := filepath.Join(dir, "cache", filepath.FromSlash(zp[1:])) + ".part"
	if err := os.MkdirAll(filepath.Dir(part), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(part, full[:len(full)/3], 0o644); err != nil {
		t.Fatal(err)
	}
	req := request(srv.URL, dir)
	req.To = jan
	rep, err := Fetch(context.Background(), req, nil)
	if err != nil {
		t.Fatalf("Fetch: %v\n%s", err, rep.Summary())
	}
	f := result(rep, Perp, jan)
	if f.Status != Downloaded || f.Resumed || f.Attempts != 1 {
		t.Fatalf("restarted file: %+v", f)
	}
	if got := srv.Served(zp); got != int64(len(full)) {
		t.Errorf("server sent %d bytes, want the whole %d", got, len(full))
	}
	checkLaidOut(t, dir, fx)
}

func TestChecksumMismatch(t *testing.T) {
	fx := newFixture("BTCUSDT", jan, feb)
	bad := fx.zips["BTCUSDT-fundingRate-2024-01.csv"]
	fx.files[bad+".CHECKSUM"] = []byte(strings.Repeat("ab", 32) + "  BTCUSDT-fundingRate-2024-01.zip\n")
	flaky := fx.zips["BTCUSDT-spot-1h-2024-02.csv"]
	srv := archivetest.NewServer(t, fx.files)
	srv.CorruptOnce(flaky) // corrupted in transit once: the second download is good
	dir := t.TempDir()
	rep, err := Fetch(context.Background(), request(srv.URL, dir), nil)
	if !errors.Is(err, ErrIncomplete) {
		t.Fatalf("Fetch error = %v, want ErrIncomplete", err)
	}
	f := result(rep, Funding, jan)
	if f.Status != Failed || !errors.Is(f.Err, ErrChecksum) || f.Attempts != 2 {
		t.Fatalf("mismatched file: %+v", f)
	}
	if n := srv.Requests(bad); n != 2 {
		t.Errorf("the mismatched zip was requested %d times, want 2 (one retry)", n)
	}
	if _, err := os.Stat(f.Zip); !os.IsNotExist(err) {
		t.Error("an unverified zip is in the cache")
	}
	if _, err := os.Stat(f.Zip + ".part"); !os.IsNotExist(err) {
		t.Error("the bad part is still there")
	}
	g := result(rep, Spot, feb)
	if g.Status != Downloaded || g.Attempts != 2 {
		t.Errorf("file corrupted once: %+v", g)
	}
	if rep.Count(Downloaded) != 5 {
		t.Errorf("the others:\n%s", rep.Summary())
	}
	if !strings.Contains(rep.Summary(), "failed   BTCUSDT fundingRate 2024-01: checksum mismatch") {
		t.Errorf("summary:\n%s", rep.Summary())
	}
	checkLaidOut(t, dir, fx, "BTCUSDT-fundingRate-2024-01.csv")
}

func TestMissingMonth(t *testing.T) {
	fx := newFixture("BTCUSDT", jan, feb)
	gone := fx.zips["BTCUSDT-perp-1h-2024-02.csv"]
	delete(fx.files, gone)
	delete(fx.files, gone+".CHECKSUM")
	noSum := fx.zips["BTCUSDT-spot-1h-2024-02.csv"]
	delete(fx.files, noSum+".CHECKSUM") // the zip is there, its checksum is not
	srv := archivetest.NewServer(t, fx.files)
	srv.Fail503("/"+strings.TrimPrefix(fx.zips["BTCUSDT-spot-1h-2024-01.csv"], "/")+".CHECKSUM", 2) // retried
	dir := t.TempDir()
	req := request(srv.URL, dir)
	req.Concurrency = 1
	rep, err := Fetch(context.Background(), req, nil)
	if !errors.Is(err, ErrIncomplete) || !strings.Contains(err.Error(), "no checksum") {
		t.Fatalf("Fetch error = %v", err)
	}
	m := result(rep, Perp, feb)
	if m.Status != Missing || !errors.Is(m.Err, ErrNotFound) {
		t.Errorf("missing month: %+v", m)
	}
	if f := result(rep, Spot, feb); f.Status != Failed {
		t.Errorf("zip without checksum: %+v", f)
	}
	if f := result(rep, Spot, jan); f.Status != Downloaded {
		t.Errorf("after two 503s: %+v", f)
	}
	if rep.Count(Downloaded) != 4 || rep.Count(Missing) != 1 {
		t.Errorf("report:\n%s", rep.Summary())
	}
	if s := rep.Summary(); !strings.Contains(s, "1 missing") || !strings.Contains(s, "missing  BTCUSDT perp 2024-02") {
		t.Errorf("summary:\n%s", s)
	}
	checkLaidOut(t, dir, fx, "BTCUSDT-perp-1h-2024-02.csv", "BTCUSDT-spot-1h-2024-02.csv")

	// Only missing months: no error.
	srv.Delete(noSum)
	rep, err = Fetch(context.Background(), req, nil)
	if err != nil || rep.Count(Missing) != 2 || rep.Count(Cached) != 4 {
		t.Errorf("missing only: %v\n%s", err, rep.Summary())
	}
}

func TestCancelThenResume(t *testing.T) {
	fx := newFixture("BTCUSDT", jan)
	zp := fx.zips["BTCUSDT-spot-1h-2024-01.csv"]
	full := fx.files[zp]
	srv := archivetest.NewServer(t, fx.files)
	srv.Stall(zp, int64(len(full)/2))
	dir := t.TempDir()
	req := request(srv.URL, dir)
	req.To = jan
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Cancel once the client has written some of the zip.
	progress := func(p Progress) {
		if p.Phase == PhaseDownload && p.Kind == Spot && p.Bytes > 0 {
			cancel()
		}
	}
	start := time.Now()
	rep, err := Fetch(ctx, req, progress)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Fetch error = %v, want context.Canceled", err)
	}
	if time.Since(start) > 3*time.Second {
		t.Errorf("cancellation took %v", time.Since(start))
	}
	f := result(rep, Spot, jan)
	if f.Status != Canceled || !errors.Is(f.Err, context.Canceled) {
		t.Fatalf("canceled file: %+v", f)
	}
	st, err := os.Stat(f.Zip + ".part")
	if err != nil || st.Size() == 0 || st.Size() > int64(len(full)/2) {
		t.Fatalf("part after cancel: %v %v", st, err)
	}
	have := st.Size()
	if _, err := os.Stat(filepath.Join(dir, "BTCUSDT-spot-1h-2024-01.csv")); err == nil {
		t.Error("a canceled file was laid out")
	}

	// The next run continues where the first stopped (counted once the first run's request has ended).
	srv.WaitIdle()
	served := srv.Served(zp)
	rep, err = Fetch(context.Background(), req, nil)
	if err != nil {
		t.Fatalf("resume: %v\n%s", err, rep.Summary())
	}
	if f := result(rep, Spot, jan); f.Status != Downloaded || !f.Resumed {
		t.Errorf("after cancel: %+v", f)
	}
	if got := srv.Served(zp) - served; got != int64(len(full))-have {
		t.Errorf("second run fetched %d bytes of the zip, want the missing %d", got, int64(len(full))-have)
	}
	checkLaidOut(t, dir, fx)
}

func TestStallTimeoutRetries(t *testing.T) {
	fx := newFixture("BTCUSDT", jan)
	zp := fx.zips["BTCUSDT-fundingRate-2024-01.csv"]
	srv := archivetest.NewServer(t, fx.files)
	srv.Stall(zp, 10) // hangs once after 10 bytes
	dir := t.TempDir()
	req := request(srv.URL, dir)
	req.To, req.Timeout = jan, 300*time.Millisecond
	rep, err := Fetch(context.Background(), req, nil)
	if err != nil {
		t.Fatalf("Fetch: %v\n%s", err, rep.Summary())
	}
	if f := result(rep, Funding, jan); f.Status != Downloaded || !f.Resumed {
		t.Errorf("after a stall: %+v", f)
	}
	checkLaidOut(t, dir, fx)

	// With no retries the stall fails the file and says why.
	srv.Stall(fx.zips["BTCUSDT-perp-1h-2024-01.csv"], 10)
	for _, name := range []string{"BTCUSDT-perp-1h-2024-01.csv"} {
		os.Remove(filepath.Join(dir, name))
		z := filepath.Join(dir, "cache", filepath.FromSlash(fx.zips[name][1:]))
		os.Remove(z)
		os.Remove(z + ".CHECKSUM")
	}
	req.Retries = -1
	rep, err = Fetch(context.Background(), req, nil)
	if f := result(rep, Perp, jan); !errors.Is(err, ErrIncomplete) || f.Status != Failed || !errors.Is(f.Err, errStalled) {
		t.Errorf("stall without retries: %v %+v", err, f)
	}
}

func TestRequestValidation(t *testing.T) {
	for name, req := range map[string]Request{
		"no dir":      {Symbols: []string{"BTCUSDT"}, From: jan, To: jan},
		"no symbols":  {Dir: "x", From: jan, To: jan},
		"bad symbol":  {Dir: "x", Symbols: []string{"../etc"}, From: jan, To: jan},
		"backwards":   {Dir: "x", Symbols: []string{"BTCUSDT"}, From: feb, To: jan},
		"no months":   {Dir: "x", Symbols: []string{"BTCUSDT"}},
		"interval":    {Dir: "x", Symbols: []string{"BTCUSDT"}, From: jan, To: jan, Interval: "7h"},
		"kind":        {Dir: "x", Symbols: []string{"BTCUSDT"}, From: jan, To: jan, Kinds: []Kind{"trades"}},
		"base scheme": {BaseURL: "ftp://x", Dir: "x", Symbols: []string{"BTCUSDT"}, From: jan, To: jan},
	} {
		if _, err := Fetch(context.Background(), req, nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	m, err := ParseMonth("2023-12")
	if err != nil || m.Next() != (Month{2024, time.January}) || m.String() != "2023-12" {
		t.Errorf("ParseMonth: %v %v", m, err)
	}
	if _, err := ParseMonth("2023-13"); err == nil {
		t.Error("month 13 accepted")
	}
	// URLs and names, as the archive spells them.
	req, _ := Request{Dir: "d", Symbols: []string{"ethusdt"}, From: m, To: m}.normalize()
	got := map[Kind]string{}
	for _, j := range req.jobs() {
		got[j.kind] = j.remote + " → " + j.csv
	}
	want := map[Kind]string{
		Spot:    "data/spot/monthly/klines/ETHUSDT/1h/ETHUSDT-1h-2023-12.zip → ETHUSDT-spot-1h-2023-12.csv",
		Perp:    "data/futures/um/monthly/klines/ETHUSDT/1h/ETHUSDT-1h-2023-12.zip → ETHUSDT-perp-1h-2023-12.csv",
		Funding: "data/futures/um/monthly/fundingRate/ETHUSDT/ETHUSDT-fundingRate-2023-12.zip → ETHUSDT-fundingRate-2023-12.csv",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %s, want %s", k, got[k], w)
		}
	}
	if req.CacheDir != filepath.Join("d", "cache") || req.BaseURL != DefaultBaseURL {
		t.Errorf("defaults: %+v", req)
	}
}

func TestParsers(t *testing.T) {
	sum := strings.Repeat("0f", 32)
	if got, err := parseChecksum([]byte(sum+"  A.zip\n"), "A.zip"); err != nil || got != sum {
		t.Errorf("parseChecksum: %q %v", got, err)
	}
	if _, err := parseChecksum([]byte(sum+"  B.zip\n"), "A.zip"); err == nil {
		t.Error("a checksum for another file was accepted")
	}
	if _, err := parseChecksum([]byte("xyz  A.zip"), "A.zip"); err == nil {
		t.Error("a non-hex checksum was accepted")
	}
	if s, size, ok := contentRange("bytes 100-199/200"); !ok || s != 100 || size != 200 {
		t.Errorf("contentRange: %d %d %v", s, size, ok)
	}
	if _, _, ok := contentRange("items 1-2/3"); ok {
		t.Error("bad Content-Range accepted")
	}
}
