// Package logging builds the zerolog logger: JSON when the output is not a terminal (a VPS, systemd,
// a pipe), readable console lines when it is.
package logging

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/term"
)

// New returns a logger writing to w at level ("trace" … "error") in format ("auto", "json", "console").
func New(w io.Writer, level, format string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || level == "" {
		return zerolog.Nop(), fmt.Errorf("log level %q: use trace, debug, info, warn or error", level)
	}
	out := w
	switch format {
	case "json":
	case "console":
		out = zerolog.ConsoleWriter{Out: w, TimeFormat: time.DateTime}
	case "auto", "":
		if isTerminal(w) {
			out = zerolog.ConsoleWriter{Out: w, TimeFormat: time.DateTime}
		}
	default:
		return zerolog.Nop(), fmt.Errorf("log format %q: use auto, json or console", format)
	}
	return zerolog.New(out).Level(lvl).With().Timestamp().Logger(), nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// SimTime is a hook that stamps every line with a simulated clock's time (field "sim_time"), for a replay's
// logs: a line's own time is the wall clock's, which says nothing about where in the data it happened.
type SimTime struct {
	Clock interface{ Now() time.Time }
}

// Run adds the field; zerolog calls it only for lines that are written.
func (h SimTime) Run(e *zerolog.Event, _ zerolog.Level, _ string) {
	e.Time("sim_time", h.Clock.Now().UTC())
}
