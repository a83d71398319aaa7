// Command carry is the single binary: the bot (run), backtests, and the operator CLI. It is the only place
// that wires concrete types together: feeds, venues, clock, store and telemetry are chosen here by mode.
package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// processStart is when this process started: operator commands queued earlier were addressed to an earlier
// holder of the account and are expired, not run (strategy.StoreCommands.Since).
var processStart = time.Now()

func main() {
	err := newRootCmd().Execute()
	os.Exit(exitCode(err))
}

// Exit codes. Scripts can rely on them.
const (
	exitOK       = 0
	exitFailure  = 1 // the command failed at run time
	exitUsage    = 2 // bad flags, arguments or configuration
	exitRefused  = 3 // refused: another bot holds the account, or live mode's start-up checks (API key, clock)
	exitNotFound = 4 // nothing matched (no such pair or symbol)
	exitAborted  = 5 // the operator answered no
)

// exitError carries an exit code with an error.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(os.Stderr, "carry:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if strings.HasPrefix(err.Error(), "unknown command ") { // cobra's, which has no error type of its own
		return exitUsage
	}
	return exitFailure
}
