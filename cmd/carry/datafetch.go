package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/carry-trading/carry/pkg/archive"
	"github.com/carry-trading/carry/pkg/config"
)

// dataFetchOpts are `carry data fetch`'s flags.
type dataFetchOpts struct {
	symbols, from, to, interval, kinds, dir, baseURL string
	concurrency                                      int
	asJSON                                           bool
}

// maxConcurrency keeps a fetch polite to a public server.
const maxConcurrency = 32

func (a *app) dataCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "data", Short: "Fetch historical market data for backtests"}
	cmd.AddCommand(a.dataFetchCmd())
	return cmd
}

func (a *app) dataFetchCmd() *cobra.Command {
	var o dataFetchOpts
	cmd := &cobra.Command{
		Use:   "fetch --from YYYY-MM [--to YYYY-MM] [--symbols BTCUSDT,ETHUSDT]",
		Short: "Download Binance's public monthly archives (spot and USDⓈ-M klines, funding rates) for backtests",
		Long: `Downloads Binance's public monthly archive files (data.binance.vision) for each symbol and month:
spot klines, USDⓈ-M perpetual klines and settled funding rates. Every zip is checked against the archive's
SHA-256 before its CSV is laid out in the directory ` + "`carry backtest`" + ` replays (backtest.data_dir by
default), so a fetch followed by ` + "`carry backtest`" + ` needs no paths.

The zips are kept under <dir>/cache: a re-run downloads only what is not there yet and resumes partial
downloads, so after a failure or an interruption run the same command again.

Exit codes: 0 every file laid out; 1 a file failed (e.g. a checksum mismatch) or the fetch was
interrupted; 2 bad flags or configuration; 3 another fetch is using the directory; 4 some months are
not in the archive (HTTP 404: not published yet, or before the symbol was listed) and everything else
was laid out.`,
		Example: `  carry data fetch --symbols BTCUSDT,ETHUSDT --from 2024-01 --to 2024-06
  carry data fetch --from 2024-01 --kinds funding --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a.mode = config.ModeBacktest
			if a.logLevel == "" {
				a.logLevel = "warn"
			}
			if err := a.load(); err != nil {
				return err
			}
			req, err := o.request(a.cfg, time.Now())
			if err != nil {
				return withCode(exitUsage, err)
			}
			if err := checkDataDir(req); err != nil {
				return withCode(exitUsage, err)
			}
			unlock, err := lockFetchDir(req.Dir)
			if err != nil {
				return err
			}
			defer unlock()
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return a.dataFetch(ctx, o, req, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.symbols, "symbols", "", "comma-separated symbols, e.g. BTCUSDT,ETHUSDT (default: universe.symbols)")
	f.StringVar(&o.from, "from", "", "first month, YYYY-MM (required)")
	f.StringVar(&o.to, "to", "", "last month, YYYY-MM, inclusive (default: the last complete month)")
	f.StringVar(&o.interval, "interval", archive.DefaultInterval, "kline interval: "+strings.Join(archive.Intervals, ", "))
	f.StringVar(&o.kinds, "kinds", "spot,perp,funding", "comma-separated kinds of files: spot, perp, funding")
	f.StringVar(&o.dir, "dir", "", "directory to lay the CSV files out in (default: backtest.data_dir)")
	f.StringVar(&o.baseURL, "base-url", archive.DefaultBaseURL, "the archive's base URL (a mirror)")
	f.IntVar(&o.concurrency, "concurrency", archive.DefaultConcurrency, fmt.Sprintf("files fetched at once, 1 to %d", maxConcurrency))
	f.BoolVar(&o.asJSON, "json", false, "print the report as JSON on stdout")
	return cmd
}

// kindNames maps the command's kind names to the archive's, in the order files are fetched.
var kindNames = []kindEntry{{"spot", archive.Spot}, {"perp", archive.Perp}, {"funding", archive.Funding}}

type kindEntry struct {
	name string
	kind archive.Kind
}

func kindName(k archive.Kind) string {
	for _, kn := range kindNames {
		if kn.kind == k {
			return kn.name
		}
	}
	return string(k)
}

// request checks the flags and builds the archive request; errors name the flag and the fix.
func (o dataFetchOpts) request(cfg *config.Config, now time.Time) (archive.Request, error) {
	req := archive.Request{BaseURL: strings.TrimRight(o.baseURL, "/"), Dir: o.dir, Interval: o.interval, Concurrency: o.concurrency}
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	if o.symbols != "" {
		for _, s := range strings.Split(o.symbols, ",") {
			s = strings.ToUpper(strings.TrimSpace(s))
			switch {
			case s == "":
			case !archive.ValidSymbol(s):
				bad("--symbols: %q is not a Binance symbol; use names like BTCUSDT", s)
			case !slices.Contains(req.Symbols, s):
				req.Symbols = append(req.Symbols, s)
			}
		}
		if len(req.Symbols) == 0 && len(problems) == 0 {
			bad("--symbols %q: list at least one symbol, e.g. BTCUSDT,ETHUSDT", o.symbols)
		}
	} else {
		req.Symbols = append(req.Symbols, cfg.Universe.Symbols...)
		if len(req.Symbols) == 0 {
			bad("--symbols: universe.symbols is empty; give the symbols, e.g. --symbols BTCUSDT,ETHUSDT")
		}
	}

	// The archive publishes a month after it ends: the last one there can be is the previous month.
	last := archive.MonthOf(now).Start().AddDate(0, -1, 0)
	lastMonth := archive.MonthOf(last)
	month := func(flag, v string) archive.Month {
		m, err := archive.ParseMonth(v)
		if err != nil || strings.TrimSpace(v) != m.String() {
			bad("--%s %s: month must be YYYY-MM, e.g. 2024-01", flag, v)
			return archive.Month{}
		}
		if lastMonth.Before(m) {
			bad("--%s %s: that month has not ended; the archive publishes a month after it ends (the last possible is %s)", flag, v, lastMonth)
			return archive.Month{}
		}
		return m
	}
	switch o.from {
	case "":
		bad("--from: give the first month, YYYY-MM (e.g. --from %s)", lastMonth)
	default:
		req.From = month("from", o.from)
	}
	if o.to == "" {
		req.To = lastMonth
	} else {
		req.To = month("to", o.to)
	}
	if !req.From.IsZero() && !req.To.IsZero() && req.To.Before(req.From) {
		bad("--to %s is before --from %s: give the first month in --from and the last in --to", req.To, req.From)
	}

	if !slices.Contains(archive.Intervals, o.interval) {
		bad("--interval %q: use one of %s (carry backtest's shipped data is 1h)", o.interval, strings.Join(archive.Intervals, ", "))
	}

	asked := map[string]bool{}
	for _, k := range strings.Split(o.kinds, ",") {
		k = strings.ToLower(strings.TrimSpace(k))
		if k == "fundingrate" || k == "funding-rate" {
			k = "funding"
		}
		if !slices.ContainsFunc(kindNames, func(kn kindEntry) bool { return kn.name == k }) && k != "" {
			bad("--kinds: %q is not a kind; use spot, perp and/or funding, e.g. --kinds spot,perp,funding", k)
		}
		asked[k] = true
	}
	for _, kn := range kindNames { // in the order files are fetched
		if asked[kn.name] {
			req.Kinds = append(req.Kinds, kn.kind)
		}
	}
	if len(req.Kinds) == 0 && !strings.Contains(strings.Join(problems, "\n"), "--kinds") {
		bad("--kinds %q: list at least one of spot, perp, funding", o.kinds)
	}
	if o.interval == "1s" && slices.Contains(req.Kinds, archive.Perp) {
		bad("--interval 1s: the archive has 1s klines for spot only; use 1m or longer with perp (or --kinds spot)")
	}

	if o.dir == "" {
		req.Dir = cfg.Backtest.DataDir
		if req.Dir == "" {
			bad("--dir: backtest.data_dir is empty; give the directory for the CSV files")
		}
	}

	if u, err := url.Parse(req.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("--base-url %q: give an http(s) URL such as %s", o.baseURL, archive.DefaultBaseURL)
	}
	if o.concurrency < 1 || o.concurrency > maxConcurrency {
		bad("--concurrency %d: use 1 to %d", o.concurrency, maxConcurrency)
	}
	if len(problems) > 0 {
		return req, errors.New(strings.Join(problems, "\n"))
	}
	return req, nil
}

// checkDataDir refuses a directory where the backtest's replay would read the fetched files together with
// files it cannot be mixed with: other files of the same symbol and kind (the replay reads every file
// matching <SYM>-spot-<interval>-*.csv, in name order, so overlapping spans fail), or klines of another
// interval (the backtest replays the one interval a directory holds).
func checkDataDir(req archive.Request) error {
	entries, err := os.ReadDir(req.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("--dir %s: %w", req.Dir, err)
	}
	monthly := map[archive.Kind]*regexp.Regexp{}
	for _, k := range req.Kinds {
		switch k {
		case archive.Spot, archive.Perp:
			monthly[k] = regexp.MustCompile(`^([A-Z0-9]+)-` + kindName(k) + `-` + regexp.QuoteMeta(req.Interval) + `-(.*)\.csv$`)
		case archive.Funding:
			monthly[k] = regexp.MustCompile(`^([A-Z0-9]+)-fundingRate-(.*)\.csv$`)
		}
	}
	isMonth := regexp.MustCompile(`^\d{4}-\d{2}$`)
	var mixed, otherIntervals []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".csv") {
			continue
		}
		for _, re := range monthly {
			if m := re.FindStringSubmatch(name); m != nil && slices.Contains(req.Symbols, m[1]) && !isMonth.MatchString(m[2]) {
				mixed = append(mixed, name)
			}
		}
		if parts := strings.Split(name, "-"); len(parts) >= 4 && (parts[1] == "spot" || parts[1] == "perp") &&
			parts[2] != req.Interval && (slices.Contains(req.Kinds, archive.Spot) || slices.Contains(req.Kinds, archive.Perp)) {
			otherIntervals = append(otherIntervals, name)
		}
	}
	switch {
	case len(mixed) > 0:
		return fmt.Errorf("--dir %s already holds %s, which the backtest would replay together with the monthly files "+
			"(overlapping data fails the replay): fetch into another --dir and point backtest.data_dir "+
			"(or `carry backtest --data-dir`) at it, or leave those symbols out of --symbols", req.Dir, strings.Join(mixed, ", "))
	case len(otherIntervals) > 0:
		return fmt.Errorf("--dir %s holds klines of another interval (%s) and the backtest replays one interval per "+
			"directory: fetch --interval %s into another --dir", req.Dir, strings.Join(otherIntervals, ", "), req.Interval)
	}
	return nil
}

// lockFetchDir makes sure one fetch at a time uses the directory's cache (two would append to the same
// partial downloads): it holds an exclusive lock on <dir>/cache/.lock until unlock.
func lockFetchDir(dir string) (unlock func(), err error) {
	cache := filepath.Join(dir, "cache")
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return nil, fmt.Errorf("--dir %s: %w", dir, err)
	}
	name := filepath.Join(cache, ".lock")
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("--dir %s: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, withCode(exitRefused, fmt.Errorf("--dir %s is in use by another `carry data fetch` (it holds %s): "+
				"wait for it to finish, or fetch into another --dir", dir, name))
		}
		return nil, fmt.Errorf("locking %s: %w", name, err)
	}
	return func() { f.Close() }, nil
}

// dataFetchReport is the --json output.
type dataFetchReport struct {
	Dir      string          `json:"dir"`
	BaseURL  string          `json:"base_url"`
	Symbols  []string        `json:"symbols"`
	Kinds    []string        `json:"kinds"`
	Interval string          `json:"interval"`
	From     string          `json:"from"`
	To       string          `json:"to"`
	OK       bool            `json:"ok"`
	Counts   map[string]int  `json:"counts"`
	Bytes    int64           `json:"bytes"`
	Files    []dataFetchFile `json:"files"`
}

type dataFetchFile struct {
	Symbol   string `json:"symbol"`
	Kind     string `json:"kind"`
	Month    string `json:"month"`
	Status   string `json:"status"`
	Name     string `json:"name"`
	URL      string `json:"url"`
	Zip      string `json:"zip"`
	CSV      string `json:"csv,omitempty"`
	Bytes    int64  `json:"bytes"`
	Resumed  bool   `json:"resumed"`
	Attempts int    `json:"attempts"`
	Error    string `json:"error,omitempty"`
}

func (a *app) dataFetch(ctx context.Context, o dataFetchOpts, req archive.Request, out, errOut io.Writer) error {
	bar := newFetchProgress(errOut)
	rep, err := archive.Fetch(ctx, req, bar.update)
	bar.clear()
	if err != nil && len(rep.Files) == 0 {
		return err // nothing was attempted: the directory could not be made, …
	}
	failed, canceled := rep.With(archive.Failed), rep.With(archive.Canceled)
	missing := rep.With(archive.Missing)

	if o.asJSON {
		if err := writeFetchJSON(out, req, rep, len(failed)+len(canceled)+len(missing) == 0); err != nil {
			return err
		}
	} else {
		summary, _, _ := strings.Cut(rep.Summary(), "\n")
		fmt.Fprintln(out, summary)
		if n := rep.Count(archive.Downloaded) + rep.Count(archive.Cached); n > 0 {
			hint := "`carry backtest` replays them"
			if filepath.Clean(req.Dir) != filepath.Clean(a.cfg.Backtest.DataDir) {
				hint = fmt.Sprintf("replay them with `carry backtest --data-dir %s`", req.Dir)
			}
			files := "files"
			if n == 1 {
				files = "file"
			}
			fmt.Fprintf(out, "%d CSV %s in %s; %s\n", n, files, req.Dir, hint)
		}
	}

	var b strings.Builder
	if len(failed) > 0 {
		fmt.Fprintf(&b, "%d of %d files failed:\n", len(failed), len(rep.Files))
		for _, f := range failed {
			fmt.Fprintf(&b, "  %s %s %s", f.Symbol, kindName(f.Kind), f.Month)
			if !strings.Contains(fmt.Sprint(f.Err), f.Name()) {
				fmt.Fprintf(&b, " (%s)", f.Name())
			}
			fmt.Fprintf(&b, ": %v\n", f.Err)
		}
	}
	if len(canceled) > 0 {
		fmt.Fprintf(&b, "interrupted before %d of %d files were done:", len(canceled), len(rep.Files))
		for i, f := range canceled {
			if i == 8 {
				fmt.Fprintf(&b, " and %d more", len(canceled)-i)
				break
			}
			sep := ","
			if i == 0 {
				sep = ""
			}
			fmt.Fprintf(&b, "%s %s %s %s", sep, f.Symbol, kindName(f.Kind), f.Month)
		}
		b.WriteString("\n")
	}
	if len(missing) > 0 {
		fmt.Fprintf(&b, "%d of %d files are not in the archive (HTTP 404):\n", len(missing), len(rep.Files))
		for _, f := range missing {
			fmt.Fprintf(&b, "  %s %s %s: %s\n", f.Symbol, kindName(f.Kind), f.Month, f.URL)
		}
		b.WriteString("the archive publishes a month in the first days of the next one and has no files from before a " +
			"symbol was listed (perpetuals often later than spot): check --from, --to and --symbols, or re-run later\n")
	}
	if b.Len() == 0 {
		return err
	}
	b.WriteString("what was fetched is kept, partial downloads too: re-run the same command to resume " +
		"(verified files are not downloaded again)")
	code := exitNotFound
	if len(failed) > 0 || len(canceled) > 0 || err != nil {
		code = exitFailure
	}
	return withCode(code, fmt.Errorf("data fetch: %s", b.String()))
}

func writeFetchJSON(w io.Writer, req archive.Request, rep archive.Report, ok bool) error {
	r := dataFetchReport{Dir: req.Dir, BaseURL: req.BaseURL, Symbols: req.Symbols, Interval: req.Interval,
		From: req.From.String(), To: req.To.String(), OK: ok, Counts: map[string]int{}, Bytes: rep.Bytes(),
		Files: []dataFetchFile{}}
	for _, k := range req.Kinds {
		r.Kinds = append(r.Kinds, kindName(k))
	}
	for _, s := range []archive.Status{archive.Downloaded, archive.Cached, archive.Missing, archive.Failed, archive.Canceled} {
		r.Counts[string(s)] = rep.Count(s)
	}
	for _, f := range rep.Files {
		df := dataFetchFile{Symbol: f.Symbol, Kind: kindName(f.Kind), Month: f.Month.String(), Status: string(f.Status),
			Name: f.Name(), URL: f.URL, Zip: f.Zip, CSV: f.CSV, Bytes: f.Bytes, Resumed: f.Resumed, Attempts: f.Attempts}
		if f.Err != nil {
			df.Error = f.Err.Error()
		}
		r.Files = append(r.Files, df)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// fetchProgress shows one line of progress, on a terminal only.
type fetchProgress struct {
	w     io.Writer
	tty   bool
	last  time.Time
	shown bool
}

func newFetchProgress(w io.Writer) *fetchProgress {
	f, ok := w.(*os.File)
	return &fetchProgress{w: w, tty: ok && term.IsTerminal(int(f.Fd()))}
}

// update is archive.Fetch's progress callback (never called concurrently).
func (p *fetchProgress) update(ev archive.Progress) {
	if !p.tty || (ev.Phase != archive.PhaseDone && time.Since(p.last) < 100*time.Millisecond) {
		return
	}
	p.last = time.Now()
	line := fmt.Sprintf("[%*d/%d] %s %s %s", len(fmt.Sprint(ev.Files)), ev.Done, ev.Files, ev.Symbol, kindName(ev.Kind), ev.Month)
	switch {
	case ev.Phase == archive.PhaseDownload && ev.Total > 0:
		line += fmt.Sprintf("  %s of %s", archive.HumanBytes(ev.Bytes), archive.HumanBytes(ev.Total))
	case ev.Phase == archive.PhaseDownload:
		line += "  " + archive.HumanBytes(ev.Bytes)
	case ev.Phase == archive.PhaseDone && ev.Result != nil:
		line += "  " + string(ev.Result.Status)
	}
	fmt.Fprintf(p.w, "\r\033[K%s", line)
	p.shown = true
}

// clear erases the progress line.
func (p *fetchProgress) clear() {
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
}
