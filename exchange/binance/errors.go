package binance

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/adshao/go-binance/v2/common"

	"github.com/carry-trading/carry/exchange"
)

// ErrNoCredentials: a signed call on a client built without an API key. Nothing was sent.
var ErrNoCredentials = errors.New("no Binance API key configured (set CARRY_ACCOUNT_API_KEY and CARRY_ACCOUNT_API_SECRET); public market data only")

// ErrOutcomeUnknown marks an order or transfer whose answer was lost (timeout, dropped connection, 5xx):
// it may or may not have happened. Query it before deciding anything.
var ErrOutcomeUnknown = errors.New("outcome unknown: the request may have executed; query it before retrying")

// ErrRefused marks a start-up check that refuses to run live (CheckAccount); the message says what to fix.
var ErrRefused = errors.New("refusing to trade")

// RateLimitError: Binance answered 429 (request weight or order rate) or 418 (IP banned), or the adapter
// refused to send because an earlier answer asked it to wait until Until. Binance processed nothing.
type RateLimitError struct {
	API    string // "spot" (api + sapi) or "futures"
	Status int    // 429, 418, or 0 when the adapter refused to send
	Code   int64  // Binance's code, usually -1003
	Until  time.Time
}

func (e *RateLimitError) Error() string {
	wait := time.Until(e.Until).Round(time.Second)
	switch e.Status {
	case 0:
		return fmt.Sprintf("binance %s API: not sending: rate limited until %s (%s from now) after a 429/418", e.API, e.Until.UTC().Format(time.RFC3339), wait)
	case 418:
		return fmt.Sprintf("binance %s API: IP banned for exceeding rate limits (418) until %s", e.API, e.Until.UTC().Format(time.RFC3339))
	default:
		return fmt.Sprintf("binance %s API: rate limited (HTTP %d, code %d); retry after %s", e.API, e.Status, e.Code, e.Until.UTC().Format(time.RFC3339))
	}
}

// AuthError: Binance rejected the API key or the signature.
type AuthError struct {
	Code int64
	Msg  string
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("binance rejected the API key (code %d: %s): check CARRY_ACCOUNT_API_KEY and CARRY_ACCOUNT_API_SECRET "+
		"(no spaces or quotes, the secret belongs to that key), that this server's IP is on the key's whitelist, "+
		"and that the key has spot trading and futures enabled (futures must also be enabled on the account)", e.Code, e.Msg)
}

// notSentError: the call was abandoned before anything was sent (its context had already ended).
type notSentError struct{ err error }

func (e *notSentError) Error() string { return "not sent: " + e.err.Error() }
func (e *notSentError) Unwrap() error { return e.err }

// rejectWithCause is a definite order rejection that keeps its cause (an *AuthError or *RateLimitError).
type rejectWithCause struct {
	rej   *exchange.RejectError
	cause error
}

func (e *rejectWithCause) Error() string { return e.rej.Error() + ": " + e.cause.Error() }
func (e *rejectWithCause) Unwrap() error { return e.cause }

// As lets errors.As find the *exchange.RejectError.
func (e *rejectWithCause) As(target any) bool {
	if p, ok := target.(**exchange.RejectError); ok {
		*p = e.rej
		return true
	}
	return false
}

// Binance codes.
const (
	codeUnknown          = -1000
	codeDisconnected     = -1001
	codeUnexpectedResp   = -1006
	codeTimeout          = -1007
	codeServerBusy       = -1008
	codeTooManyRequests  = -1003
	codeTimestamp        = -1021
	codeBadSignature     = -1022
	codeBadPrecision     = -1111
	codeBadSymbol        = -1121
	codeFilterFailure    = -1013
	codeNewOrderRejected = -2010
	codeCancelRejected   = -2011
	codeNoSuchOrder      = -2013
	codeBadAPIKeyFormat  = -2014
	codeRejectedMBXKey   = -2015
	codeBalanceLow       = -2018
	codeMarginLow        = -2019
	codeNoNeedMargin     = -4046
	codeNoNeedPosSide    = -4059
	codeMinNotional      = -4164
)

// unknownCodes leave an order's outcome unknown even with a 4xx status.
var unknownCodes = map[int64]bool{codeUnknown: true, codeDisconnected: true, codeUnexpectedResp: true, codeTimeout: true, codeServerBusy: true}

// filterCodes are quantity/price/notional filter failures.
var filterCodes = map[int64]bool{
	codeFilterFailure: true, codeBadPrecision: true, codeMinNotional: true,
	-1100: true,                           // illegal characters in a parameter (e.g. a malformed quantity)
	-4003: true, -4004: true, -4005: true, // quantity ≤ 0, below min, above max
	-4013: true, -4014: true, -4023: true, // price below min, price/quantity not a multiple of tick/step
	-4024: true, -4025: true, // price above max, other filter
}

func isAuthCode(code int64) bool {
	return code == codeBadAPIKeyFormat || code == codeRejectedMBXKey || code == codeBadSignature || code == -2008
}

// apiError returns the Binance error inside err, if any.
func apiError(err error) (*common.APIError, bool) {
	var a *common.APIError
	if errors.As(err, &a) {
		return a, true
	}
	return nil, false
}

func apiCode(err error) int64 {
	if a, ok := apiError(err); ok {
		return a.Code
	}
	return 0
}

// classify maps a failed non-order call to the adapter's errors.
func classify(op string, err error, info *callInfo) error {
	var rl *RateLimitError
	if errors.As(err, &rl) {
		return fmt.Errorf("%s: %w", op, rl)
	}
	if info != nil && info.rateLimit != nil {
		return fmt.Errorf("%s: %w", op, info.rateLimit)
	}
	if a, ok := apiError(err); ok {
		switch {
		case isAuthCode(a.Code):
			return fmt.Errorf("%s: %w", op, &AuthError{Code: a.Code, Msg: a.Message})
		case a.Code == codeNoSuchOrder:
			return fmt.Errorf("%s: %w (code %d: %s)", op, exchange.ErrNotFound, a.Code, a.Message)
		case a.Code == codeTimestamp:
			return fmt.Errorf("%s: %w; the request timestamp was still outside recvWindow after resyncing the clock offset: check the server clock (NTP/chrony)", op, err)
		case a.Code == 0 && info != nil && info.status != 0:
			return fmt.Errorf("%s: HTTP %d without a Binance error code: %s", op, info.status, truncate(string(a.Response), 200))
		}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// classifyOrder maps a failed order (or transfer) request: a *exchange.RejectError only when Binance
// definitely did not process it, otherwise an error wrapping ErrOutcomeUnknown.
func classifyOrder(op string, err error, info *callInfo) error {
	var rl *RateLimitError
	if errors.As(err, &rl) || (info != nil && info.rateLimit != nil) {
		if rl == nil {
			rl = info.rateLimit
		}
		return &rejectWithCause{rej: &exchange.RejectError{Kind: exchange.RejectOther, Code: int(rl.Code), Reason: op + ": rate limited, not processed"}, cause: rl}
	}
	var ns *notSentError
	if errors.As(err, &ns) {
		return &rejectWithCause{rej: &exchange.RejectError{Kind: exchange.RejectOther, Reason: op + ": not sent"}, cause: ns}
	}
	a, isAPI := apiError(err)
	status := 0
	if info != nil {
		status = info.status
	}
	if !isAPI || status == 0 || status >= 500 || unknownCodes[a.Code] || a.Code == 0 {
		return fmt.Errorf("%s: %w: %w", op, ErrOutcomeUnknown, err)
	}
	rej := &exchange.RejectError{Code: int(a.Code), Reason: a.Message, Kind: rejectKind(a.Code, a.Message)}
	if isAuthCode(a.Code) {
		return &rejectWithCause{rej: rej, cause: &AuthError{Code: a.Code, Msg: a.Message}}
	}
	return rej
}

func rejectKind(code int64, msg string) exchange.RejectKind {
	m := strings.ToLower(msg)
	switch {
	case code == codeNewOrderRejected && strings.Contains(m, "immediately match"):
		return exchange.RejectOther // a post-only order that would take
	case code == codeNewOrderRejected || code == codeMarginLow || code == codeBalanceLow || isMarginInsufficient(code):
		return exchange.RejectInsufficient
	case filterCodes[code]:
		return exchange.RejectFilter
	case code == -2020 || code == -4131: // FOK unfillable; counterparty price outside PERCENT_PRICE
		return exchange.RejectNoLiquidity
	}
	return exchange.RejectOther
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
