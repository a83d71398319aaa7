// Package telemetrytest is test support: it scrapes a /metrics endpoint and reads Prometheus's text format
// into numbers that tests can compare.
package telemetrytest

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// Scrape GETs http://addr/metrics and returns each sample by its series as the text format writes it:
// name{label="value",…}. It fails the test on an HTTP error, a status other than 200 or an unreadable line.
func Scrape(t testing.TB, addr string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("scraping %s: %v", addr, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scraping %s: status %d, %v", addr, resp.StatusCode, err)
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if i < 0 || err != nil {
			t.Fatalf("/metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}
