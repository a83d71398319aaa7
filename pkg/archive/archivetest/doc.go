// Package archivetest is test support for code that downloads Binance's monthly data archive (pkg/archive
// and `carry data fetch`): a fake data.binance.vision on 127.0.0.1 (Server) and builders for what it serves,
// a month's zip and the "<zip>.CHECKSUM" file beside it (Zip, Checksum, Publish), and Replay, which reads
// a laid-out directory back through pkg/replay and counts what it got. Only tests import it.
//
// The fake counts what it is asked for (requests, Range requests and body bytes, per URL path) and misbehaves
// on request: it can ignore Range headers, corrupt a body once, stall in the middle of a body, and answer 503.
// Every setting belongs to one Server; the package holds no state.
//
// It does not import pkg/archive, so that package's own (internal) tests can use it: it knows archive paths
// only as the URL paths and file names a test gives it.
package archivetest
