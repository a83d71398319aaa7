// Package archive downloads Binance's public monthly data archive (data.binance.vision) and lays it out as
// the backtest's replay reads it (see pkg/replay).
//
// # What is fetched
//
// For each symbol, month (From…To, inclusive) and kind, one zip and its checksum:
//
//	spot klines    data/spot/monthly/klines/<SYM>/<interval>/<SYM>-<interval>-<YYYY-MM>.zip
//	perp klines    data/futures/um/monthly/klines/<SYM>/<interval>/<SYM>-<interval>-<YYYY-MM>.zip
//	funding rates  data/futures/um/monthly/fundingRate/<SYM>/<SYM>-fundingRate-<YYYY-MM>.zip
//
// under Request.BaseURL (default https://data.binance.vision), each zip with a "<zip>.CHECKSUM" beside it
// holding "<sha256 hex>  <zip name>".
//
// # Layout
//
// Each zip's CSV is written, unchanged, to Request.Dir as
//
//	<SYM>-spot-<interval>-<YYYY-MM>.csv
//	<SYM>-perp-<interval>-<YYYY-MM>.csv
//	<SYM>-fundingRate-<YYYY-MM>.csv
//
// through a temporary file (".<name>.tmp-…" in the same directory) renamed into place, so a reader never
// sees half a file. The replay maps kline columns by header or reads the archive's header-less 12 columns,
// and accepts the microsecond timestamps of recent spot files, so nothing is converted. Do not mix these
// monthly files with other files of the same symbol and kind in one directory: the replay reads every
// file matching its pattern, in name order.
//
// The zips and their checksums are kept under Request.CacheDir (default <Dir>/cache), mirroring the archive's
// paths (spot and perp zips have the same name, so the path tells them apart).
//
// # Integrity, resume and failures
//
//   - A zip in the cache whose local checksum file matches its SHA-256 is not downloaded again: a re-run is
//     offline. A cached zip without a local checksum is verified against the archive's before it is kept.
//   - A download goes to "<zip>.part". An interrupted one (cancellation, timeout, a dropped connection)
//     continues from the part's size with an HTTP Range request; a server that answers 200 instead of 206
//     (Range ignored) restarts it from zero. Network errors, 5xx and 429 are retried (Request.Retries times,
//     with backoff), each retry resuming.
//   - The complete part is checked against the archive's SHA-256. A mismatch deletes it and downloads the
//     file once more from zero; a second mismatch fails that file (ErrChecksum). Only a verified zip is
//     renamed into the cache and unpacked.
//   - A month the archive does not have (HTTP 404 for the checksum and the zip) is reported as Missing; it
//     is not an error and does not stop the other files. A zip with no checksum published is not trusted:
//     it fails.
//   - Request.Timeout bounds the wait for response headers and every pause in a body: a stalled transfer
//     fails (and is retried), a slow but moving one does not.
//   - Cancelling the context stops every transfer; finished files stay laid out, parts stay for resuming.
//
// Fetch runs Request.Concurrency files at a time and returns a Report with one FileResult per file, in
// request order (symbol, kind, month). Its error is nil when every file is Downloaded, Cached or Missing;
// otherwise it wraps ErrIncomplete (some file failed) or the context's error. Report.Summary prints the
// outcome for a person. Two Fetch calls must not share a cache directory at the same time.
package archive
