package archive

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// one fetches, verifies and lays out one file.
func (f *fetcher) one(ctx context.Context, j job) (res FileResult) {
	res = FileResult{Symbol: j.symbol, Kind: j.kind, Month: j.month, URL: f.req.BaseURL + "/" + j.remote,
		Zip: filepath.Join(f.req.CacheDir, filepath.FromSlash(j.remote))}
	name := path.Base(j.remote)
	f.report(Progress{Phase: PhaseStart, Symbol: j.symbol, Kind: j.kind, Month: j.month, Name: name, Total: -1})
	defer func() {
		if res.Status == Failed && ctx.Err() != nil {
			res.Status, res.Err = Canceled, ctx.Err()
		}
		r := res
		f.report(Progress{Phase: PhaseDone, Symbol: j.symbol, Kind: j.kind, Month: j.month, Name: name, Total: -1,
			Result: &r})
	}()
	fail := func(err error) FileResult {
		res.Status, res.Err = Failed, err
		return res
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	if err := mkdirAll(filepath.Dir(res.Zip)); err != nil {
		return fail(err)
	}
	csvPath := filepath.Join(f.req.Dir, j.csv)
	sumPath := res.Zip + ".CHECKSUM"

	// A verified zip in the cache: offline.
	if want, err := readChecksum(sumPath, name); err == nil {
		if got, err := fileSHA256(res.Zip); err == nil && got == want {
			if err := layout(res.Zip, csvPath); err != nil {
				return fail(err)
			}
			res.Status, res.CSV = Cached, csvPath
			return res
		}
	}

	// The archive's checksum.
	sumBody, n, status, err := f.getSmall(ctx, http.MethodGet, res.URL+".CHECKSUM")
	res.Bytes += n
	switch {
	case err != nil:
		return fail(fmt.Errorf("checksum: %w", err))
	case status == http.StatusNotFound:
		// No checksum: is the month missing altogether, or only its checksum?
		_, _, zstatus, err := f.getSmall(ctx, http.MethodHead, res.URL)
		switch {
		case err != nil:
			return fail(fmt.Errorf("the checksum is not in the archive and the zip could not be checked: %w", err))
		case zstatus == http.StatusNotFound:
			res.Status, res.Err = Missing, fmt.Errorf("%w (404): %s", ErrNotFound, res.URL)
			return res
		default:
			return fail(fmt.Errorf("the archive has no checksum for %s (HTTP %d for the zip): not trusted", name, zstatus))
		}
	case status != http.StatusOK:
		return fail(fmt.Errorf("checksum: HTTP %d from %s.CHECKSUM", status, res.URL))
	}
	want, err := parseChecksum(sumBody, name)
	if err != nil {
		return fail(err)
	}

	// A cached zip without a local checksum (or a stale one): keep it if it matches.
	if got, err := fileSHA256(res.Zip); err == nil {
		if got == want {
			if err := writeAtomic(sumPath, sumBody); err != nil {
				return fail(err)
			}
			if err := layout(res.Zip, csvPath); err != nil {
				return fail(err)
			}
			res.Status, res.CSV = Cached, csvPath
			return res
		}
		if err := os.Remove(res.Zip); err != nil {
			return fail(err)
		}
	}

	part := res.Zip + ".part"
	for attempt := 1; ; attempt++ {
		res.Attempts++
		if err := f.download(ctx, &res, j, part); err != nil {
			if errors.Is(err, ErrNotFound) {
				res.Status, res.Err = Missing, err
				return res
			}
			return fail(err)
		}
		got, err := fileSHA256(part)
		if err != nil {
			return fail(err)
		}
		if got == want {
			break
		}
		if err := os.Remove(part); err != nil {
			return fail(err)
		}
		if attempt == 2 {
			return fail(fmt.Errorf("%w: %s has SHA-256 %s, the archive says %s (downloaded twice)", ErrChecksum, name,
				got, want))
		}
	}
	// The checksum first: a zip without its checksum file is verified again next time, never trusted.
	if err := writeAtomic(sumPath, sumBody); err != nil {
		return fail(err)
	}
	if err := os.Rename(part, res.Zip); err != nil {
		return fail(err)
	}
	if err := layout(res.Zip, csvPath); err != nil {
		return fail(err)
	}
	res.Status, res.CSV = Downloaded, csvPath
	return res
}

// backoff is the wait before the first retry; it doubles for each next one.
var backoff = 500 * time.Millisecond

// errStalled ends a request that waited longer than the timeout for headers or data.
var errStalled = errors.New("stalled")

// transientError is a failure worth retrying.
type transientError struct{ err error }

func (e transientError) Error() string { return e.err.Error() }
func (e transientError) Unwrap() error { return e.err }

// retry runs once, and again after a transient failure (Request.Retries more times at most), waiting
// backoff, then twice as long each time.
func (f *fetcher) retry(ctx context.Context, once func() error) error {
	var err error
	for try := 0; try <= f.req.Retries; try++ {
		if try > 0 {
			select {
			case <-time.After(backoff << (try - 1)):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		err = once()
		var te transientError
		if err == nil || !errors.As(err, &te) || ctx.Err() != nil {
			return err
		}
	}
	return err
}

// download fills part with the zip, resuming what is there, retrying transient failures.
func (f *fetcher) download(ctx context.Context, res *FileResult, j job, part string) error {
	return f.retry(ctx, func() error { return f.downloadOnce(ctx, res, j, part) })
}

// downloadOnce makes one request for the zip: ranged from the part's size when there is a part.
func (f *fetcher) downloadOnce(ctx context.Context, res *FileResult, j job, part string) error {
	var have int64
	if st, err := os.Stat(part); err == nil {
		have = st.Size()
	}
	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	timer := time.AfterFunc(f.req.Timeout, func() { cancel(errStalled) })
	defer timer.Stop()

	req, err := http.NewRequestWithContext(rctx, http.MethodGet, res.URL, nil)
	if err != nil {
		return err
	}
	if have > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
	}
	resp, err := f.req.Client.Do(req)
	if err != nil {
		return f.netErr(ctx, rctx, err)
	}
	defer resp.Body.Close()

	flags := os.O_WRONLY | os.O_CREATE
	total := int64(-1)
	switch resp.StatusCode {
	case http.StatusPartialContent:
		start, size, ok := contentRange(resp.Header.Get("Content-Range"))
		if !ok || start != have {
			// Not the range we asked for: start again from zero.
			if err := os.Truncate(part, 0); err != nil && !os.IsNotExist(err) {
				return err
			}
			return transientError{fmt.Errorf("unexpected Content-Range %q for bytes=%d-", resp.Header.Get("Content-Range"), have)}
		}
		flags |= os.O_APPEND
		total = size
		res.Resumed = true
	case http.StatusOK:
		flags |= os.O_TRUNC // no Range sent, or the server ignored it: the whole file follows
		have = 0
		total = resp.ContentLength
	case http.StatusRequestedRangeNotSatisfiable:
		// The part is already complete (or longer than the file): the checksum decides.
		return nil
	case http.StatusNotFound:
		return fmt.Errorf("%w (404): %s", ErrNotFound, res.URL)
	default:
		err := fmt.Errorf("HTTP %d from %s", resp.StatusCode, res.URL)
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			return transientError{err}
		}
		return err
	}

	out, err := os.OpenFile(part, flags, 0o644)
	if err != nil {
		return err
	}
	n, copyErr := f.copyBody(out, resp.Body, timer, j, have, total)
	res.Bytes += n
	if err := out.Close(); err != nil && copyErr == nil {
		copyErr = err
	}
	if copyErr != nil {
		return f.netErr(ctx, rctx, copyErr)
	}
	return nil
}

// copyBody copies the body, resetting the stall timer on every read and reporting progress.
func (f *fetcher) copyBody(out io.Writer, body io.Reader, timer *time.Timer, j job, have, total int64) (int64, error) {
	buf := make([]byte, 32<<10)
	var n, lastReport int64
	name := path.Base(j.remote)
	for {
		m, err := body.Read(buf)
		if m > 0 {
			timer.Reset(f.req.Timeout)
			if _, werr := out.Write(buf[:m]); werr != nil {
				return n, werr
			}
			n += int64(m)
			if n-lastReport >= 256<<10 || lastReport == 0 {
				lastReport = n
				f.report(Progress{Phase: PhaseDownload, Symbol: j.symbol, Kind: j.kind, Month: j.month, Name: name,
					Bytes: have + n, Total: total})
			}
		}
		if err == io.EOF {
			f.report(Progress{Phase: PhaseDownload, Symbol: j.symbol, Kind: j.kind, Month: j.month, Name: name,
				Bytes: have + n, Total: total})
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// netErr classifies a transport error: the caller's cancellation is final, a stall or a network error
// is transient.
func (f *fetcher) netErr(ctx, rctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(context.Cause(rctx), errStalled) {
		return transientError{fmt.Errorf("no data for %v: %w", f.req.Timeout, errStalled)}
	}
	return transientError{err}
}

// getSmall fetches a small document (a checksum) whole with GET, or only the status with HEAD. It retries
// transient failures like a download.
func (f *fetcher) getSmall(ctx context.Context, method, url string) (body []byte, n int64, status int, err error) {
	err = f.retry(ctx, func() error {
		var m int64
		var err error
		body, m, status, err = f.getSmallOnce(ctx, method, url)
		n += m
		return err
	})
	return body, n, status, err
}

const maxSmall = 64 << 10

func (f *fetcher) getSmallOnce(ctx context.Context, method, url string) ([]byte, int64, int, error) {
	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	timer := time.AfterFunc(f.req.Timeout, func() { cancel(errStalled) })
	defer timer.Stop()
	req, err := http.NewRequestWithContext(rctx, method, url, nil)
	if err != nil {
		return nil, 0, 0, err
	}
	resp, err := f.req.Client.Do(req)
	if err != nil {
		return nil, 0, 0, f.netErr(ctx, rctx, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
		return nil, 0, resp.StatusCode, transientError{fmt.Errorf("HTTP %d from %s", resp.StatusCode, url)}
	}
	if resp.StatusCode != http.StatusOK || method == http.MethodHead {
		return nil, 0, resp.StatusCode, nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxSmall+1))
	if err != nil {
		return nil, int64(len(body)), resp.StatusCode, f.netErr(ctx, rctx, err)
	}
	if len(body) > maxSmall {
		return nil, int64(len(body)), resp.StatusCode, fmt.Errorf("%s is larger than %d bytes", url, maxSmall)
	}
	return body, int64(len(body)), resp.StatusCode, nil
}

// contentRange parses "bytes start-end/size" (size may be "*": −1).
func contentRange(h string) (start, size int64, ok bool) {
	h, found := strings.CutPrefix(strings.TrimSpace(h), "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, sz, found := strings.Cut(h, "/")
	if !found {
		return 0, 0, false
	}
	s, _, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, false
	}
	if _, err := fmt.Sscan(s, &start); err != nil {
		return 0, 0, false
	}
	size = -1
	if sz != "*" {
		if _, err := fmt.Sscan(sz, &size); err != nil {
			return 0, 0, false
		}
	}
	return start, size, true
}

// parseChecksum reads "<sha256 hex>  <name>" and checks the name.
func parseChecksum(body []byte, name string) (string, error) {
	fields := strings.Fields(string(body))
	if len(fields) == 0 {
		return "", fmt.Errorf("checksum file for %s is empty", name)
	}
	sum := strings.ToLower(fields[0])
	if b, err := hex.DecodeString(sum); err != nil || len(b) != sha256.Size {
		return "", fmt.Errorf("checksum file for %s does not start with a SHA-256: %q", name, fields[0])
	}
	if len(fields) > 1 && strings.TrimPrefix(fields[1], "*") != name {
		return "", fmt.Errorf("checksum file for %s names %s", name, fields[1])
	}
	return sum, nil
}

func readChecksum(p, name string) (string, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return "", err
	}
	return parseChecksum(b, name)
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func mkdirAll(d string) error {
	if err := os.MkdirAll(d, 0o755); err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	return nil
}

// writeAtomic writes data to p through a temporary file in the same directory.
func writeAtomic(p string, data []byte) error {
	return replaceFile(p, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// replaceFile writes p through ".<name>.tmp-…" in p's directory, synced, then renamed over p.
func replaceFile(p string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(p), "."+filepath.Base(p)+".tmp-*")
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := write(tmp); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return err
	}
	ok = true
	return nil
}

// maxCSV bounds an unpacked file (a 1s month of spot klines is about 250 MB).
const maxCSV = 4 << 30

// layout unpacks the zip's CSV to csvPath, unless a file of the same size is already there.
func layout(zipPath, csvPath string) error {
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		return fmt.Errorf("opening %s: %w", filepath.Base(zipPath), err)
	}
	defer zr.Close()
	var entry *zip.File
	for _, e := range zr.File {
		if strings.HasSuffix(strings.ToLower(e.Name), ".csv") && !e.FileInfo().IsDir() {
			if entry != nil {
				return fmt.Errorf("%s holds more than one CSV (%s, %s)", filepath.Base(zipPath), entry.Name, e.Name)
			}
			entry = e
		}
	}
	if entry == nil {
		return fmt.Errorf("%s holds no CSV", filepath.Base(zipPath))
	}
	if entry.UncompressedSize64 > maxCSV {
		return fmt.Errorf("%s: %s is %d bytes unpacked, more than %d", filepath.Base(zipPath), entry.Name,
			entry.UncompressedSize64, int64(maxCSV))
	}
	if st, err := os.Stat(csvPath); err == nil && st.Mode().IsRegular() && uint64(st.Size()) == entry.UncompressedSize64 {
		return nil
	}
	rc, err := entry.Open()
	if err != nil {
		return fmt.Errorf("%s: %w", filepath.Base(zipPath), err)
	}
	defer rc.Close()
	err = replaceFile(csvPath, func(w io.Writer) error {
		n, err := io.Copy(w, io.LimitReader(rc, maxCSV+1))
		if err != nil {
			return err
		}
		if n > maxCSV {
			return fmt.Errorf("%s is larger than %d bytes unpacked", entry.Name, int64(maxCSV))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("unpacking %s: %w", filepath.Base(zipPath), err)
	}
	return nil
}
