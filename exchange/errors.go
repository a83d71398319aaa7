package exchange

import (
	"errors"
	"fmt"
)

// ErrNotFound: the venue has no such order (or record).
var ErrNotFound = errors.New("not found on the venue")

// ErrNoQuote: the market has no current price (no data yet, or suspended by a data gap).
var ErrNoQuote = errors.New("no current quote")

// RejectError is a definite refusal: the venue did not accept the request and nothing happened.
// Anything else returned from PlaceOrder (timeouts, 5xx, a dropped connection) leaves the outcome unknown.
type RejectError struct {
	Code   int    // venue error code (Binance's, e.g. -2010), 0 when the venue gave none
	Reason string // the venue's message
	Kind   RejectKind
}

// RejectKind groups rejections by what the caller can do about them.
type RejectKind string

// Reject kinds.
const (
	RejectOther        RejectKind = "other"
	RejectInsufficient RejectKind = "insufficient_funds" // -2010, -2019: balance or margin
	RejectFilter       RejectKind = "filter"             // -1013, -4164: qty/price/notional filters
	RejectNoLiquidity  RejectKind = "no_liquidity"       // IOC/market found nothing to match
	RejectRisk         RejectKind = "risk"               // refused by carry's own pre-trade checks
)

func (e *RejectError) Error() string {
	if e.Code != 0 {
		return fmt.Sprintf("order rejected (%s, code %d): %s", e.Kind, e.Code, e.Reason)
	}
	return fmt.Sprintf("order rejected (%s): %s", e.Kind, e.Reason)
}

// Rejected wraps a definite rejection.
func Rejected(kind RejectKind, code int, format string, args ...any) error {
	return &RejectError{Kind: kind, Code: code, Reason: fmt.Sprintf(format, args...)}
}

// IsRejected reports whether err is a definite rejection (nothing happened on the venue).
func IsRejected(err error) bool {
	var r *RejectError
	return errors.As(err, &r)
}
