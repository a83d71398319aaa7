package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/pkg/archive"
	"github.com/carry-trading/carry/pkg/archive/archivetest"
	"github.com/carry-trading/carry/pkg/replay"
)

// --- a fake data.binance.vision on 127.0.0.1 ---

var (
	dfJan = archive.Month{Year: 2024, Month: time.January}
	dfFeb = archive.Month{Year: 2024, Month: time.February}
)

// dfFile is one archive file: where the archive serves its zip and where `carry data fetch` lays its CSV out.
type dfFile struct {
	zipPath string // URL path of the zip; its checksum is zipPath + ".CHECKSUM"
	csvName string // laid-out name
	csv     []byte
}

// dfMonthCSV builds a month of data as the archive publishes it: spot klines without a header, perp klines
// with one, funding rates with millisecond jitter. The perp trades a little above spot and funding pays
// longs' premium to shorts, so carry has something to do.
func dfMonthCSV(kind archive.Kind, m archive.Month) []byte {
	var b bytes.Buffer
	start, end := m.Start(), m.Next().Start()
	switch kind {
	case archive.Spot:
		for t, i := start, 0; t.Before(end); t, i = t.Add(time.Hour), i+1 {
			p := 42000 + float64(i%48)*15
			fmt.Fprintf(&b, "%d,%.2f,%.2f,%.2f,%.2f,125.5,%d,5000000.0,9000,61.1,2500000.0,0\n", t.UnixMilli(), p, p+25, p-25,
				p+5, t.Add(time.Hour).UnixMilli()-1)
		}
	case archive.Perp:
		b.WriteString("open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore\n")
		for t, i := start, 0; t.Before(end); t, i = t.Add(time.Hour), i+1 {
			p := 42030 + float64(i%48)*15
			fmt.Fprintf(&b, "%d,%.1f,%.1f,%.1f,%.1f,3000.1,%d,120000000.0,50000,1500.2,60000000.0,0\n", t.UnixMilli(), p, p+25,
				p-25, p+5, t.Add(time.Hour).UnixMilli()-1)
		}
	case archive.Funding:
		b.WriteString("calc_time,funding_interval_hours,last_funding_rate\n")
		for t := start; t.Before(end); t = t.Add(8 * time.Hour) {
			fmt.Fprintf(&b, "%d,8,0.00030000\n", t.UnixMilli()+1)
		}
	}
	return b.Bytes()
}

// dfFiles lists the archive's 1h files for the symbol and months, kind by kind.
func dfFiles(symbol string, months ...archive.Month) []dfFile {
	var out []dfFile
	for _, m := range months {
		out = append(out,
			dfFile{fmt.Sprintf("/data/spot/monthly/klines/%s/1h/%s-1h-%s.zip", symbol, symbol, m), fmt.Sprintf("%s-spot-1h-%s.csv", symbol, m),
				dfMonthCSV(archive.Spot, m)},
			dfFile{fmt.Sprintf("/data/futures/um/monthly/klines/%s/1h/%s-1h-%s.zip", symbol, symbol, m), fmt.Sprintf("%s-perp-1h-%s.csv", symbol, m),
				dfMonthCSV(archive.Perp, m)},
			dfFile{fmt.Sprintf("/data/futures/um/monthly/fundingRate/%s/%s-fundingRate-%s.zip", symbol, symbol, m),
				fmt.Sprintf("%s-fundingRate-%s.csv", symbol, m), dfMonthCSV(archive.Funding, m)})
	}
	return out
}

// newDFArchive serves the files' zips and their .CHECKSUM files on 127.0.0.1.
func newDFArchive(t *testing.T, files []dfFile) *archivetest.Server {
	t.Helper()
	bodies := map[string][]byte{}
	for _, f := range files {
		archivetest.Publish(bodies, f.zipPath, f.csv)
	}
	return archivetest.NewServer(t, bodies)
}

// checkCSVs checks that each file is laid out in dir byte for byte, or is absent when listed in absent.
func checkCSVs(t *testing.T, dir string, files []dfFile, absent ...string) {
	t.Helper()
	for _, f := range files {
		got, err := os.ReadFile(filepath.Join(dir, f.csvName))
		if slices.Contains(absent, f.csvName) {
			if err == nil {
				t.Errorf("%s was laid out", f.csvName)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", f.csvName, err)
		} else if !bytes.Equal(got, f.csv) {
			t.Errorf("%s differs from the archive's CSV", f.csvName)
		}
	}
}

// dfJSON is the --json report, the parts the tests read.
type dfJSON struct {
	Dir    string         `json:"dir"`
	OK     bool           `json:"ok"`
	Counts map[string]int `json:"counts"`
	Bytes  int64          `json:"bytes"`
	Files  []struct {
		Symbol, Kind, Month, Status, Name, CSV, Error string
		Resumed                                       bool
	} `json:"files"`
}

func parseDFJSON(t *testing.T, r result) dfJSON {
	t.Helper()
	var rep dfJSON
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("--json output: %v\n%s\n%s", err, r.stdout, r.stderr)
	}
	return rep
}

// --- tests ---

// TestDataFetchThenBacktest: with no --dir and no --symbols the command fetches the universe's symbols into
// backtest.data_dir, quietly (stderr is not a terminal); the replay reads every bar and settlement, and
// `carry backtest` then runs on the directory with no path given. A re-run is served from the cache: not
// one request reaches the archive.
func TestDataFetchThenBacktest(t *testing.T) {
	files := dfFiles("BTCUSDT", dfJan, dfFeb)
	srv := newDFArchive(t, files)
	dir := filepath.Join(t.TempDir(), "history") // created by the fetch
	db := pg.NewDB(t)
	env := cleanEnv("DATABASE_URL="+db, "CARRY_BACKTEST_DATA_DIR="+dir, "CARRY_UNIVERSE_SYMBOLS=BTCUSDT")

	r := runCarry(t, env, "data", "fetch", "--from", "2024-01", "--to", "2024-02", "--base-url", srv.URL)
	if r.code != 0 {
		t.Fatalf("data fetch exit %d:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if r.stderr != "" {
		t.Errorf("stderr is not a terminal, yet the fetch wrote to it:\n%q", r.stderr)
	}
	if !strings.Contains(r.stdout, "6 files: 6 downloaded") || !strings.Contains(r.stdout, "`carry backtest` replays them") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	checkCSVs(t, dir, files)
	for _, f := range files {
		if n := srv.Requests(f.zipPath); n != 1 {
			t.Errorf("%s requested %d times", f.zipPath, n)
		}
	}

	// The replay reads every bar of both markets and every settlement.
	got := archivetest.Replay(t, dir, replay.Options{Symbols: []string{"BTCUSDT"}})
	if bars := 744 + 696; got.Hours[exchange.Spot] != bars || got.Hours[exchange.Futures] != bars {
		t.Errorf("replayed %d spot and %d perp hours, want %d each", got.Hours[exchange.Spot], got.Hours[exchange.Futures], bars)
	}
	if got.Funding != 3*(31+29) {
		t.Errorf("replayed %d settlements, want %d", got.Funding, 3*(31+29))
	}

	// `carry backtest` with no path: it reads backtest.data_dir, where the fetch laid the files out.
	out := t.TempDir()
	r = runCarry(t, env, "backtest", "--out", out, "--no-chart", "--quiet")
	if r.code != 0 {
		t.Fatalf("backtest exit %d:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	raw, err := os.ReadFile(filepath.Join(out, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Meta struct {
			DataDir string `json:"data_dir"`
		} `json:"meta"`
		Summary struct {
			Strategy struct {
				Start, End time.Time
			} `json:"strategy"`
		} `json:"summary"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	s := res.Summary.Strategy
	if res.Meta.DataDir != dir || s.Start.Before(dfJan.Start()) || s.End.Sub(s.Start) < 55*24*time.Hour || s.End.After(dfFeb.Next().Start()) {
		t.Errorf("the backtest ran over %s → %s of %s", s.Start, s.End, res.Meta.DataDir)
	}

	// A re-run is offline: everything comes from the cache.
	srv.Reset()
	r = runCarry(t, env, "data", "fetch", "--from", "2024-01", "--to", "2024-02", "--base-url", srv.URL, "--json")
	if r.code != 0 {
		t.Fatalf("re-run exit %d:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	rep := parseDFJSON(t, r)
	if !rep.OK || rep.Counts["cached"] != 6 || rep.Bytes != 0 || len(rep.Files) != 6 || rep.Dir != dir {
		t.Errorf("re-run report: %+v", rep)
	}
	if n := srv.Total(); n != 0 {
		t.Errorf("the re-run made %d requests, want none", n)
	}
	checkCSVs(t, dir, files)
}

// TestDataFetchChecksumMismatch: a zip that does not match the archive's checksum fails the command, naming
// the file; the other files are laid out. Once the archive is right, a re-run fetches only that file.
func TestDataFetchChecksumMismatch(t *testing.T) {
	files := dfFiles("BTCUSDT", dfJan, dfFeb)
	srv := newDFArchive(t, files)
	bad := files[2] // BTCUSDT funding 2024-01
	good := srv.File(bad.zipPath + ".CHECKSUM")
	srv.Set(bad.zipPath+".CHECKSUM", []byte(strings.Repeat("ab", 32)+"  "+path.Base(bad.zipPath)+"\n"))
	dir := t.TempDir()
	env := cleanEnv()
	args := []string{"data", "fetch", "--symbols", "btcusdt", "--from", "2024-01", "--to", "2024-02", "--dir", dir, "--base-url", srv.URL}

	r := runCarry(t, env, append(args, "--json")...)
	if r.code != exitFailure {
		t.Fatalf("exit %d, want %d:\n%s\n%s", r.code, exitFailure, r.stdout, r.stderr)
	}
	for _, want := range []string{"1 of 6 files failed", "BTCUSDT-fundingRate-2024-01.zip", "checksum mismatch", "re-run the same command to resume"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	rep := parseDFJSON(t, r)
	if rep.OK || rep.Counts["failed"] != 1 || rep.Counts["downloaded"] != 5 {
		t.Errorf("report: %+v", rep)
	}
	for _, f := range rep.Files {
		if f.Name == "BTCUSDT-fundingRate-2024-01.zip" && (f.Status != "failed" || !strings.Contains(f.Error, "checksum mismatch") || f.Kind != "funding") {
			t.Errorf("the failed file in the report: %+v", f)
		}
	}
	if n := srv.Requests(bad.zipPath); n != 2 {
		t.Errorf("the mismatched zip was downloaded %d times, want 2 (one retry)", n)
	}
	checkCSVs(t, dir, files, bad.csvName)

	// Fixed at the source: the re-run asks only for the file it lacks.
	srv.Set(bad.zipPath+".CHECKSUM", good)
	srv.Reset()
	r = runCarry(t, env, args...)
	if r.code != 0 {
		t.Fatalf("re-run exit %d:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "1 downloaded") || !strings.Contains(r.stdout, "5 cached") {
		t.Errorf("re-run stdout:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "carry backtest --data-dir "+dir) {
		t.Errorf("a --dir other than backtest.data_dir must be named in the hint:\n%s", r.stdout)
	}
	for _, f := range files {
		want := 0
		if f.zipPath == bad.zipPath {
			want = 1
		}
		if n := srv.Requests(f.zipPath); n != want {
			t.Errorf("re-run: %s requested %d times, want %d", f.zipPath, n, want)
		}
	}
	if n := srv.Total(); n != 2 {
		t.Errorf("re-run made %d requests, want 2 (the checksum and the zip)", n)
	}
	checkCSVs(t, dir, files)
}

// TestDataFetchResumesAfterInterrupt: SIGINT in the middle of a download ends the command, saying a re-run
// resumes; the re-run asks the archive only for the rest of that zip (an HTTP Range request).
func TestDataFetchResumesAfterInterrupt(t *testing.T) {
	files := dfFiles("BTCUSDT", dfJan)
	srv := newDFArchive(t, files)
	slow := files[1].zipPath // the perp zip
	full := srv.File(slow)
	srv.Stall(slow, int64(len(full)/2))
	dir := t.TempDir()
	args := []string{"data", "fetch", "--symbols", "BTCUSDT", "--from", "2024-01", "--to", "2024-01", "--dir", dir, "--base-url", srv.URL,
		"--concurrency", "1"}

	p := startCarry(t, cleanEnv(), args...)
	select {
	case <-srv.Stalled():
	case <-time.After(time.Minute):
		t.Fatalf("the download did not start:\n%s", p.logs.String())
	}
	// The client has the first half once the server flushed it; give it a moment to write it down.
	part := filepath.Join(dir, "cache", filepath.FromSlash(strings.TrimPrefix(slow, "/"))) + ".part"
	deadline := time.Now().Add(30 * time.Second)
	for {
		if st, err := os.Stat(part); err == nil && st.Size() == int64(len(full)/2) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no half-written part at %s", part)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 30*time.Second); code != exitFailure {
		t.Fatalf("exit %d after SIGINT, want %d:\n%s", code, exitFailure, p.logs.String())
	}
	for _, want := range []string{"interrupted before 2 of 3 files were done: BTCUSDT perp 2024-01, BTCUSDT funding 2024-01",
		"re-run the same command to resume"} {
		if !strings.Contains(p.logs.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, p.logs.String())
		}
	}
	checkCSVs(t, dir, files, files[1].csvName, files[2].csvName) // concurrency 1: funding never started

	srv.Reset()
	r := runCarry(t, cleanEnv(), append(args, "--json")...)
	if r.code != 0 {
		t.Fatalf("resume exit %d:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	rep := parseDFJSON(t, r)
	for _, f := range rep.Files {
		if f.Kind == "perp" && (!f.Resumed || f.Status != "downloaded") {
			t.Errorf("the interrupted file: %+v", f)
		}
	}
	ranged, served, spotHits := srv.Ranged(slow), srv.Served(slow), srv.Requests(files[0].zipPath)
	if ranged != 1 || served != int64(len(full)-len(full)/2) {
		t.Errorf("resume: %d ranged requests, %d bytes served; want 1 and the missing %d", ranged, served, len(full)-len(full)/2)
	}
	if spotHits != 0 {
		t.Errorf("the finished spot zip was requested again (%d)", spotHits)
	}
	checkCSVs(t, dir, files)
}

// TestDataFetchMissingMonth: a month the archive does not have (404) is named with its URL, the rest is
// laid out, and the exit code is 4.
func TestDataFetchMissingMonth(t *testing.T) {
	files := dfFiles("BTCUSDT", dfJan, dfFeb)
	srv := newDFArchive(t, files[:4]) // no perp or funding for February
	dir := t.TempDir()
	r := runCarry(t, cleanEnv(), "data", "fetch", "--symbols", "BTCUSDT", "--from", "2024-01", "--to", "2024-02", "--dir", dir,
		"--base-url", srv.URL+"/")
	if r.code != exitNotFound {
		t.Fatalf("exit %d, want %d:\n%s\n%s", r.code, exitNotFound, r.stdout, r.stderr)
	}
	for _, want := range []string{"2 of 6 files are not in the archive (HTTP 404)", "BTCUSDT perp 2024-02: " + srv.URL + files[4].zipPath,
		"BTCUSDT funding 2024-02", "publishes a month", "re-run"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "failed") {
		t.Errorf("a missing month is not a failure:\n%s", r.stderr)
	}
	checkCSVs(t, dir, files, files[4].csvName, files[5].csvName)
}

// TestDataFetchBadFlags: bad input fails with exit 2 before any request, naming the flag and the fix.
func TestDataFetchBadFlags(t *testing.T) {
	srv := newDFArchive(t, dfFiles("BTCUSDT", dfJan))
	next := archive.MonthOf(time.Now()).Next()
	mixed := t.TempDir()
	if err := os.WriteFile(filepath.Join(mixed, "BTCUSDT-spot-1h-2020-10-2022-12.csv"), []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "ETHUSDT-perp-15m-2024-01.csv"), []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := []string{"data", "fetch", "--symbols", "BTCUSDT", "--base-url", srv.URL}
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"--from", "2024-13", "--dir", t.TempDir()}, []string{"--from 2024-13: month must be YYYY-MM"}},
		{[]string{"--from", "2024-1", "--dir", t.TempDir()}, []string{"--from 2024-1: month must be YYYY-MM"}},
		{[]string{"--dir", t.TempDir()}, []string{"--from: give the first month"}},
		{[]string{"--from", "2024-03", "--to", "2024-01", "--dir", t.TempDir()}, []string{"--to 2024-01 is before --from 2024-03"}},
		{[]string{"--from", "2024-01", "--to", next.String(), "--dir", t.TempDir()}, []string{"--to " + next.String() + ": that month has not ended"}},
		{[]string{"--from", "2024-01", "--to", "2024-01", "--interval", "7h", "--dir", t.TempDir()}, []string{`--interval "7h": use one of`}},
		{[]string{"--from", "2024-01", "--to", "2024-01", "--interval", "1s", "--dir", t.TempDir()}, []string{"--interval 1s: the archive has 1s klines for spot only"}},
		{[]string{"--from", "2024-01", "--to", "2024-01", "--kinds", "spot,trades", "--dir", t.TempDir()}, []string{`--kinds: "trades" is not a kind`}},
		{[]string{"--from", "2024-01", "--to", "2024-01", "--symbols", "BTC/USDT", "--dir", t.TempDir()}, []string{`--symbols: "BTC/USDT" is not a Binance symbol`}},
		{[]string{"--from", "2024-01", "--to", "2024-01", "--concurrency", "0", "--dir", t.TempDir()}, []string{"--concurrency 0: use 1 to 32"}},
		{[]string{"--from", "2024-01", "--to", "2024-01", "--base-url", "ftp://mirror", "--dir", t.TempDir()}, []string{`--base-url "ftp://mirror": give an http(s) URL`}},
		{[]string{"--from", "2024-01", "--to", "2024-01", "--dir", mixed}, []string{"--dir " + mixed + " already holds BTCUSDT-spot-1h-2020-10-2022-12.csv", "another --dir"}},
		{[]string{"--from", "2024-01", "--to", "2024-01", "--dir", other}, []string{"holds klines of another interval (ETHUSDT-perp-15m-2024-01.csv)"}},
		{[]string{"--from", "2024-01", "--to", "2024-01", "--concurrency", "x", "--dir", t.TempDir()}, []string{"--concurrency"}},
		// Several problems are reported at once.
		{[]string{"--from", "24-01", "--kinds", "", "--interval", "1y", "--dir", t.TempDir()}, []string{"--from 24-01", "--kinds", "--interval"}},
	}
	for _, c := range cases {
		r := runCarry(t, cleanEnv(), append(base, c.args...)...)
		if r.code != exitUsage {
			t.Errorf("%v: exit %d, want %d:\n%s", c.args, r.code, exitUsage, r.stderr)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("%v: stderr lacks %q:\n%s", c.args, w, r.stderr)
			}
		}
	}
	if n := srv.Total(); n != 0 {
		t.Errorf("bad flags made %d requests to the archive", n)
	}
}

// TestDataFetchRefusesASecondFetch: while one fetch holds a directory's cache, another is refused (exit 3)
// without a request.
func TestDataFetchRefusesASecondFetch(t *testing.T) {
	srv := newDFArchive(t, dfFiles("BTCUSDT", dfJan))
	dir := t.TempDir()
	unlock, err := lockFetchDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"data", "fetch", "--symbols", "BTCUSDT", "--from", "2024-01", "--to", "2024-01", "--dir", dir, "--base-url", srv.URL}
	r := runCarry(t, cleanEnv(), args...)
	if r.code != exitRefused || !strings.Contains(r.stderr, "is in use by another `carry data fetch`") {
		t.Fatalf("exit %d, want %d:\n%s", r.code, exitRefused, r.stderr)
	}
	if n := srv.Total(); n != 0 {
		t.Errorf("%d requests while refused", n)
	}
	unlock()
	if r := runCarry(t, cleanEnv(), args...); r.code != 0 {
		t.Fatalf("after the lock was released: exit %d:\n%s", r.code, r.stderr)
	}
}

// TestDataFetchProgressLine: on a terminal one line is rewritten in place (throttled, every finished file
// shown) and erased at the end; off a terminal nothing is written.
func TestDataFetchProgressLine(t *testing.T) {
	var buf bytes.Buffer
	p := &fetchProgress{w: &buf, tty: true}
	ev := archive.Progress{Phase: archive.PhaseStart, Symbol: "BTCUSDT", Kind: archive.Perp, Month: dfJan, Files: 12}
	p.update(ev)
	ev.Phase, ev.Bytes, ev.Total = archive.PhaseDownload, 3<<20, 6<<20
	p.update(ev) // within 100ms of the last line: skipped
	res := archive.FileResult{Status: archive.Downloaded}
	ev.Phase, ev.Result, ev.Done = archive.PhaseDone, &res, 1
	p.update(ev)
	p.last = time.Time{}
	ev = archive.Progress{Phase: archive.PhaseDownload, Symbol: "BTCUSDT", Kind: archive.Funding, Month: dfFeb, Bytes: 2048, Total: 4096, Done: 1, Files: 12}
	p.update(ev)
	p.clear()
	want := "\r\033[K[ 0/12] BTCUSDT perp 2024-01" +
		"\r\033[K[ 1/12] BTCUSDT perp 2024-01  downloaded" +
		"\r\033[K[ 1/12] BTCUSDT funding 2024-02  2.0 KiB of 4.0 KiB" +
		"\r\033[K"
	if buf.String() != want {
		t.Errorf("progress:\n%q\nwant\n%q", buf.String(), want)
	}

	buf.Reset()
	q := &fetchProgress{w: &buf}
	q.update(ev)
	q.clear()
	if buf.Len() != 0 {
		t.Errorf("off a terminal: %q", buf.String())
	}
}
