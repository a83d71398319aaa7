package archive

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultBaseURL is Binance's public data archive.
const DefaultBaseURL = "https://data.binance.vision"

// Defaults of a Request.
const (
	DefaultInterval    = "1h"
	DefaultConcurrency = 4
	DefaultTimeout     = 60 * time.Second
	DefaultRetries     = 2
)

// Kind is a kind of archive file.
type Kind string

// Kinds. Their names are the middle part of the laid-out file names.
const (
	Spot    Kind = "spot"        // spot klines
	Perp    Kind = "perp"        // USDⓈ-M perpetual klines
	Funding Kind = "fundingRate" // USDⓈ-M settled funding rates
)

// AllKinds is what a backtest needs: spot and perp klines and funding rates.
func AllKinds() []Kind { return []Kind{Spot, Perp, Funding} }

// Month is a calendar month (UTC).
type Month struct {
	Year  int
	Month time.Month
}

// ParseMonth reads "YYYY-MM".
func ParseMonth(s string) (Month, error) {
	t, err := time.Parse("2006-01", s)
	if err != nil {
		return Month{}, fmt.Errorf("month %q is not YYYY-MM", s)
	}
	return MonthOf(t), nil
}

// MonthOf is the month of t in UTC.
func MonthOf(t time.Time) Month {
	t = t.UTC()
	return Month{Year: t.Year(), Month: t.Month()}
}

func (m Month) String() string { return fmt.Sprintf("%04d-%02d", m.Year, int(m.Month)) }

// Start is the first instant of the month, UTC.
func (m Month) Start() time.Time { return time.Date(m.Year, m.Month, 1, 0, 0, 0, 0, time.UTC) }

// Next is the following month.
func (m Month) Next() Month { return MonthOf(m.Start().AddDate(0, 1, 0)) }

// Before reports whether m is earlier than o.
func (m Month) Before(o Month) bool { return m.Start().Before(o.Start()) }

// IsZero reports the zero Month.
func (m Month) IsZero() bool { return m.Year == 0 && m.Month == 0 }

// Request says what to fetch and where to put it.
type Request struct {
	// BaseURL of the archive (default DefaultBaseURL).
	BaseURL string
	// Dir receives the CSV files; created when missing.
	Dir string
	// CacheDir keeps the zips and their checksums (default <Dir>/cache).
	CacheDir string
	// Symbols, e.g. BTCUSDT (case-insensitive).
	Symbols []string
	// From and To are the first and last month, inclusive.
	From, To Month
	// Interval of the klines (default "1h"): 1s (spot only), 1m, 3m, 5m, 15m, 30m, 1h, 2h, 4h, 6h, 8h,
	// 12h, 1d, 3d or 1w.
	Interval string
	// Kinds to fetch (default AllKinds).
	Kinds []Kind
	// Concurrency is how many files are fetched at once (default 4).
	Concurrency int
	// Timeout is the longest wait for response headers or between two reads of a body (default 60s).
	Timeout time.Duration
	// Retries is how many more times a transfer is tried after a network error, 5xx or 429 (default 2;
	// negative: none).
	Retries int
	// Client makes the requests (default: a client with no overall timeout; Timeout applies).
	Client *http.Client
}

// Status is the outcome of one file.
type Status string

// Statuses.
const (
	Downloaded Status = "downloaded" // fetched (or completed) this run, verified and laid out
	Cached     Status = "cached"     // already in the cache and verified; laid out
	Missing    Status = "missing"    // the archive does not have it (404)
	Failed     Status = "failed"     // see Err
	Canceled   Status = "canceled"   // the context ended before the file was done
)

// Errors a FileResult or Fetch may wrap.
var (
	ErrNotFound   = errors.New("not in the archive")
	ErrChecksum   = errors.New("checksum mismatch")
	ErrIncomplete = errors.New("archive: some files failed")
)

// FileResult is what happened to one file.
type FileResult struct {
	Symbol string
	Kind   Kind
	Month  Month
	// URL of the zip; Zip is its path in the cache; CSV the laid-out file (empty unless laid out).
	URL string
	Zip string
	CSV string
	// Status and, for Missing, Failed and Canceled, why.
	Status Status
	Err    error
	// Bytes received over the network this run (zip and checksum).
	Bytes int64
	// Resumed: the download continued a partial file with a Range request.
	Resumed bool
	// Attempts counts the zip downloads started (a checksum mismatch makes a second).
	Attempts int
}

// Name is the file's name in the archive, e.g. BTCUSDT-1h-2024-01.zip.
func (r FileResult) Name() string { return path.Base(r.URL) }

func (r FileResult) String() string {
	s := fmt.Sprintf("%s %s %s: %s", r.Symbol, r.Kind, r.Month, r.Status)
	if r.Err != nil {
		s += ": " + r.Err.Error()
	}
	return s
}

// Report is the outcome of a Fetch, one FileResult per file in request order.
type Report struct {
	Files []FileResult
}

// Count is the number of files with the status.
func (r Report) Count(s Status) int {
	n := 0
	for _, f := range r.Files {
		if f.Status == s {
			n++
		}
	}
	return n
}

// With lists the files with the status.
func (r Report) With(s Status) []FileResult {
	var out []FileResult
	for _, f := range r.Files {
		if f.Status == s {
			out = append(out, f)
		}
	}
	return out
}

// Bytes is the total received over the network.
func (r Report) Bytes() int64 {
	var n int64
	for _, f := range r.Files {
		n += f.Bytes
	}
	return n
}

// Summary describes the outcome for a person: the counts, then every missing, failed or canceled file.
func (r Report) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d files: %d downloaded (%s), %d cached, %d missing, %d failed", len(r.Files),
		r.Count(Downloaded), HumanBytes(r.Bytes()), r.Count(Cached), r.Count(Missing), r.Count(Failed))
	if n := r.Count(Canceled); n > 0 {
		fmt.Fprintf(&b, ", %d canceled", n)
	}
	b.WriteString("\n")
	for _, s := range []Status{Missing, Failed, Canceled} {
		for _, f := range r.With(s) {
			fmt.Fprintf(&b, "  %-8s %s %s %s", s, f.Symbol, f.Kind, f.Month)
			if f.Err != nil {
				fmt.Fprintf(&b, ": %v", f.Err)
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

// HumanBytes formats a byte count for a person in binary units, one decimal: "512 B", "2.0 KiB", "3.5 MiB",
// "1.2 GiB".
func HumanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// Phase of a progress report.
type Phase string

// Phases.
const (
	PhaseStart    Phase = "start"    // work on a file begins
	PhaseDownload Phase = "download" // bytes arrived (reported at most every 256 KiB per file, and at the end)
	PhaseDone     Phase = "done"     // the file is finished; Result says how
)

// Progress is reported while Fetch runs. The callback is never called concurrently.
type Progress struct {
	Phase  Phase
	Symbol string
	Kind   Kind
	Month  Month
	Name   string // the archive file name
	// Bytes of the zip on disk so far and its total size (−1 when the server does not say).
	Bytes, Total int64
	// Result is set when Phase is PhaseDone.
	Result *FileResult
	// Done files out of Files.
	Done, Files int
}

// Intervals are the archive's kline intervals, shortest first (1s: spot only). Read only.
var Intervals = []string{"1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w"}

var symbolRE = regexp.MustCompile(`^[A-Z0-9]{2,30}$`)

// ValidSymbol reports whether s can be an archive symbol (2 to 30 capital letters and digits).
func ValidSymbol(s string) bool { return symbolRE.MatchString(s) }

// normalize validates the request and fills its defaults.
func (r Request) normalize() (Request, error) {
	var problems []string
	if r.BaseURL == "" {
		r.BaseURL = DefaultBaseURL
	}
	r.BaseURL = strings.TrimRight(r.BaseURL, "/")
	if !strings.HasPrefix(r.BaseURL, "http://") && !strings.HasPrefix(r.BaseURL, "https://") {
		problems = append(problems, fmt.Sprintf("base URL %q is not http(s)", r.BaseURL))
	}
	if r.Dir == "" {
		problems = append(problems, "no data directory")
	}
	if r.CacheDir == "" {
		r.CacheDir = filepath.Join(r.Dir, "cache")
	}
	if len(r.Symbols) == 0 {
		problems = append(problems, "no symbols")
	}
	syms := make([]string, 0, len(r.Symbols))
	seen := map[string]bool{}
	for _, s := range r.Symbols {
		s = strings.ToUpper(strings.TrimSpace(s))
		if !ValidSymbol(s) {
			problems = append(problems, fmt.Sprintf("symbol %q is not like BTCUSDT", s))
			continue
		}
		if !seen[s] {
			seen[s] = true
			syms = append(syms, s)
		}
	}
	r.Symbols = syms
	if r.From.IsZero() || r.To.IsZero() {
		problems = append(problems, "From and To months are required")
	} else if r.To.Before(r.From) {
		problems = append(problems, fmt.Sprintf("To %s is before From %s", r.To, r.From))
	}
	if r.Interval == "" {
		r.Interval = DefaultInterval
	}
	if !slices.Contains(Intervals, r.Interval) {
		problems = append(problems, fmt.Sprintf("interval %q is not one of 1s 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w",
			r.Interval))
	}
	if len(r.Kinds) == 0 {
		r.Kinds = AllKinds()
	}
	for _, k := range r.Kinds {
		if k != Spot && k != Perp && k != Funding {
			problems = append(problems, fmt.Sprintf("kind %q is not spot, perp or fundingRate", k))
		}
	}
	if r.Concurrency <= 0 {
		r.Concurrency = DefaultConcurrency
	}
	if r.Timeout <= 0 {
		r.Timeout = DefaultTimeout
	}
	if r.Retries == 0 {
		r.Retries = DefaultRetries
	} else if r.Retries < 0 {
		r.Retries = 0
	}
	if r.Client == nil {
		r.Client = &http.Client{}
	}
	if len(problems) > 0 {
		return r, fmt.Errorf("archive: bad request: %s", strings.Join(problems, "; "))
	}
	return r, nil
}

// job is one file to fetch.
type job struct {
	symbol string
	kind   Kind
	month  Month
	remote string // path under the base URL, without a leading slash
	csv    string // laid-out file name
}

func (r Request) jobs() []job {
	var out []job
	for _, s := range r.Symbols {
		for _, k := range r.Kinds {
			for m := r.From; !r.To.Before(m); m = m.Next() {
				j := job{symbol: s, kind: k, month: m}
				switch k {
				case Spot:
					j.remote = fmt.Sprintf("data/spot/monthly/klines/%s/%s/%s-%s-%s.zip", s, r.Interval, s, r.Interval, m)
					j.csv = fmt.Sprintf("%s-spot-%s-%s.csv", s, r.Interval, m)
				case Perp:
					j.remote = fmt.Sprintf("data/futures/um/monthly/klines/%s/%s/%s-%s-%s.zip", s, r.Interval, s,
						r.Interval, m)
					j.csv = fmt.Sprintf("%s-perp-%s-%s.csv", s, r.Interval, m)
				case Funding:
					j.remote = fmt.Sprintf("data/futures/um/monthly/fundingRate/%s/%s-fundingRate-%s.zip", s, s, m)
					j.csv = fmt.Sprintf("%s-fundingRate-%s.csv", s, m)
				}
				out = append(out, j)
			}
		}
	}
	return out
}

// Fetch downloads, verifies and lays out the files of the request (see the package doc). progress may be
// nil.
func Fetch(ctx context.Context, req Request, progress func(Progress)) (Report, error) {
	req, err := req.normalize()
	if err != nil {
		return Report{}, err
	}
	for _, d := range []string{req.Dir, req.CacheDir} {
		if err := mkdirAll(d); err != nil {
			return Report{}, err
		}
	}
	jobs := req.jobs()
	rep := Report{Files: make([]FileResult, len(jobs))}
	f := &fetcher{req: req, progress: progress, files: len(jobs)}

	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(req.Concurrency, len(jobs)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				rep.Files[i] = f.one(ctx, jobs[i])
			}
		}()
	}
	next := 0
feed:
	for ; next < len(jobs); next++ {
		select {
		case work <- next:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	for i := next; i < len(jobs); i++ {
		j := jobs[i]
		rep.Files[i] = FileResult{Symbol: j.symbol, Kind: j.kind, Month: j.month, URL: req.BaseURL + "/" + j.remote,
			Zip: filepath.Join(req.CacheDir, filepath.FromSlash(j.remote)), Status: Canceled, Err: ctx.Err()}
	}

	if err := ctx.Err(); err != nil {
		return rep, fmt.Errorf("archive: %d of %d files done: %w", len(jobs)-rep.Count(Canceled), len(jobs), err)
	}
	if n := rep.Count(Failed); n > 0 {
		var names []string
		for _, r := range rep.With(Failed) {
			names = append(names, r.String())
		}
		return rep, fmt.Errorf("%w: %d of %d: %s", ErrIncomplete, n, len(jobs), strings.Join(names, "; "))
	}
	return rep, nil
}

// fetcher holds what the workers share.
type fetcher struct {
	req      Request
	progress func(Progress)
	mu       sync.Mutex // serialises progress calls and done
	done     int
	files    int
}

func (f *fetcher) report(p Progress) {
	if f.progress == nil && p.Phase != PhaseDone {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if p.Phase == PhaseDone {
		f.done++
	}
	if f.progress == nil {
		return
	}
	p.Done, p.Files = f.done, f.files
	f.progress(p)
}
