package archivetest

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path"
	"sync"
	"testing"
	"time"
)

// Server is a fake data.binance.vision: an httptest server on 127.0.0.1 that serves a set of files by URL
// path (404 for any other path), with Range support, and counts what it is asked for. Its URL is the base
// URL to fetch from. Its methods are safe for concurrent use.
type Server struct {
	*httptest.Server

	quit      chan struct{} // closed by Close: stalled bodies give up
	closeOnce sync.Once

	mu          sync.Mutex
	idle        *sync.Cond        // signalled (on mu) when a request ends
	active      int               // requests being served
	files       map[string][]byte // URL path → body
	ignoreRange bool
	requests    map[string]int   // requests per path
	ranged      map[string]int   // requests per path that carried a Range header
	served      map[string]int64 // body bytes written per path
	corruptOnce map[string]bool
	stall       map[string]int64 // serve this many bytes, then hang (once)
	fail503     map[string]int   // answer 503 this many times first
	stalled     chan string
}

// stalledBuffer is how many stalls Stalled holds unread; later ones are not reported.
const stalledBuffer = 16

// NewServer starts a Server with a copy of files (URL path → body, e.g. built with Publish) and closes it
// when the test ends.
func NewServer(t testing.TB, files map[string][]byte) *Server {
	t.Helper()
	s := &Server{quit: make(chan struct{}), files: make(map[string][]byte, len(files)), requests: map[string]int{},
		ranged: map[string]int{}, served: map[string]int64{}, corruptOnce: map[string]bool{}, stall: map[string]int64{},
		fail503: map[string]int{}, stalled: make(chan string, stalledBuffer)}
	s.idle = sync.NewCond(&s.mu)
	for p, body := range files {
		s.files[p] = body
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve)) // listens on 127.0.0.1
	t.Cleanup(s.Close)
	return s
}

// Close ends any stalled body and shuts the server down; it may be called more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.quit) })
	s.Server.Close()
}

// File is the body served at path p (nil if none).
func (s *Server) File(p string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.files[p]
}

// Set serves body at path p from now on.
func (s *Server) Set(p string, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[p] = body
}

// Delete stops serving path p: it is 404 from now on.
func (s *Server) Delete(p string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.files, p)
}

// IgnoreRange makes the server answer every request with the whole body (200), Range header or not.
func (s *Server) IgnoreRange(ignore bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ignoreRange = ignore
}

// CorruptOnce flips a byte in the middle of the next body served at path p.
func (s *Server) CorruptOnce(p string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.corruptOnce[p] = true
}

// Stall makes the next request for path p send the headers of the whole body and its first n bytes, then
// hang until the client goes away or the server is closed. Stalled reports when it hangs.
func (s *Server) Stall(p string, n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stall[p] = n
}

// Fail503 makes the next n requests for path p answer 503 Service Unavailable.
func (s *Server) Fail503(p string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail503[p] = n
}

// Stalled receives the path of each stalled body once the server has flushed its first bytes and hangs.
func (s *Server) Stalled() <-chan string { return s.stalled }

// Requests is the number of requests for path p.
func (s *Server) Requests(p string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[p]
}

// Ranged is the number of requests for path p that carried a Range header.
func (s *Server) Ranged(p string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ranged[p]
}

// WaitIdle waits until no request is being served: a client that gave up on a body may return before the
// server has finished writing (and counting) it.
func (s *Server) WaitIdle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.active > 0 {
		s.idle.Wait()
	}
}

// Served is the number of body bytes written for path p.
func (s *Server) Served(p string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.served[p]
}

// Total is the number of requests for every path.
func (s *Server) Total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.requests {
		n += c
	}
	return n
}

// Reset zeroes the counts (requests, Range requests, bytes served); the files and pending faults stay.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests, s.ranged, s.served = map[string]int{}, map[string]int{}, map[string]int64{}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	s.mu.Lock()
	s.active++
	s.requests[p]++
	if r.Header.Get("Range") != "" {
		s.ranged[p]++
	}
	body, ok := s.files[p]
	if ok && s.corruptOnce[p] {
		delete(s.corruptOnce, p)
		body = append([]byte(nil), body...)
		body[len(body)/2] ^= 0xff
	}
	stallAt, stall := s.stall[p]
	delete(s.stall, p)
	fail := s.fail503[p] > 0
	if fail {
		s.fail503[p]--
	}
	ignore := s.ignoreRange
	s.mu.Unlock()

	var n int64
	defer func() {
		s.mu.Lock()
		s.served[p] += n
		s.active--
		s.idle.Broadcast()
		s.mu.Unlock()
	}()
	switch {
	case fail:
		http.Error(w, "busy", http.StatusServiceUnavailable)
	case !ok:
		http.NotFound(w, r)
	case stall:
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.WriteHeader(http.StatusOK)
		m, _ := w.Write(body[:min(stallAt, int64(len(body)))])
		n += int64(m)
		w.(http.Flusher).Flush()
		select {
		case s.stalled <- p:
		default: // nobody is reading: the report is dropped, the stall goes on
		}
		select {
		case <-r.Context().Done():
		case <-s.quit:
		}
	default:
		if ignore {
			r.Header.Del("Range")
		}
		http.ServeContent(countingWriter{w, &n}, r, path.Base(p), time.Time{}, bytes.NewReader(body))
	}
}

// countingWriter adds the body bytes written to *n.
type countingWriter struct {
	http.ResponseWriter
	n *int64
}

func (c countingWriter) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	*c.n += int64(n)
	return n, err
}
