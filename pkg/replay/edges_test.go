package replay

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// edges finds a file's last data row, and its funding interval, past a long corrupt line at its end (more
// than the kilobytes it reads of the tail); a bad line whose time column still reads counts as the last row
// (the replay names it).
func TestEdgesPastALongCorruptEnd(t *testing.T) {
	at := func(h int) time.Time {
		return time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(h) * time.Hour)
	}
	ms := func(h int) string { return strconv.FormatInt(at(h).UnixMilli(), 10) }
	rows := []string{"calc_time,funding_interval_hours,last_funding_rate"}
	for h := range 450 { // about 10 KB: the tail window holds only the bad line
		hours := "8"
		if h == 449 {
			hours = "4" // the last good row's interval, not the one before it
		}
		rows = append(rows, ms(h)+","+hours+",0.0001")
	}
	good := strings.Join(rows, "\n") + "\n"
	for _, c := range []struct {
		name, junk string
		last       time.Time
		hours      int
	}{
		{"no time", strings.Repeat("x", 12000) + "\n", at(449), 4},
		{"a time", ms(500) + ",2," + strings.Repeat("x", 12000), at(500), 2},
	} {
		path := filepath.Join(t.TempDir(), "X-fundingRate-2024-01.csv")
		if err := os.WriteFile(path, []byte(good+c.junk), 0o644); err != nil {
			t.Fatal(err)
		}
		first, last, hours, err := edges(path)
		if err != nil || !first.Equal(at(0)) || !last.Equal(c.last) || hours != c.hours {
			t.Errorf("%s: edges %s, %s, %dh, %v; want %s, %s, %dh", c.name, first, last, hours, err, at(0), c.last, c.hours)
		}
	}
}
