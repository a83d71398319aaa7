package replay

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// edges finds a file's last two data rows past a long corrupt line at its end (more than the kilobytes it
// reads of the tail); a bad line whose time column still reads counts as the last row (the replay names it).
func TestEdgesPastALongCorruptEnd(t *testing.T) {
	at := func(h int) time.Time {
		return time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(h) * time.Hour)
	}
	ms := func(h int) string { return strconv.FormatInt(at(h).UnixMilli(), 10) }
	rows := []string{"open_time,open,high,low,close,volume"}
	for h := range 300 { // about 9 KB: the tail window holds only the bad line
		rows = append(rows, ms(h)+",10,11,9,10,1")
	}
	good := strings.Join(rows, "\n") + "\n"
	for _, c := range []struct {
		name, junk string
		last, prev time.Time
	}{
		{"no time", strings.Repeat("x", 12000) + "\n", at(299), at(298)},
		{"a time", ms(400) + "," + strings.Repeat("x", 12000), at(400), at(299)},
	} {
		path := filepath.Join(t.TempDir(), "X-spot-1h-2024-01.csv")
		if err := os.WriteFile(path, []byte(good+c.junk), 0o644); err != nil {
			t.Fatal(err)
		}
		first, last, prev, err := edges(path)
		if err != nil || !first.Equal(at(0)) || !last.Equal(c.last) || !prev.Equal(c.prev) {
			t.Errorf("%s: edges %s, %s, %s, %v; want %s, %s, %s", c.name, first, last, prev, err, at(0), c.last, c.prev)
		}
	}
}
