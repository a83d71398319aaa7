package fakebinance

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// FaultKind names an injected REST fault.
type FaultKind string

// Fault kinds.
const (
	// FaultLatency delays the request by Delay, then serves it normally.
	FaultLatency FaultKind = "latency"
	// FaultTimeout holds the request for Delay (default 1m) or until the client gives up, then answers
	// Status (default 503). With Execute the request is processed first ("executed, answer lost"); without,
	// it never is.
	FaultTimeout FaultKind = "timeout"
	// FaultDrop closes the connection without answering (a dropped connection). With Execute the request
	// is processed first.
	FaultDrop FaultKind = "drop"
	// FaultStatus answers Status (default 503) with a Binance -1001 body, or Msg as an HTML body. With
	// Execute the request is processed first.
	FaultStatus FaultKind = "status"
	// FaultRateLimit answers 429 (-1003) with Retry-After.
	FaultRateLimit FaultKind = "rate_limit"
	// FaultBan answers 418 (-1003, IP banned) with Retry-After.
	FaultBan FaultKind = "ban"
	// FaultTimestamp answers -1021 (timestamp outside recvWindow) without processing.
	FaultTimestamp FaultKind = "timestamp"
	// FaultReject answers HTTP Status (default 400) with Code and Msg (default -2010 insufficient balance).
	FaultReject FaultKind = "reject"
	// FaultPartial makes orders on Path fill only Ratio (0..1) of their quantity (market/IOC remainder
	// expires).
	FaultPartial FaultKind = "partial"
)

// Fault is one injected REST fault. It applies to requests whose method is Method ("" any) and whose path
// is Path ("" any; a trailing "*" matches a prefix), for the next Times requests (0: until cleared).
type Fault struct {
	Kind       FaultKind
	Method     string
	Path       string
	Times      int
	Delay      time.Duration
	Execute    bool
	Status     int
	Code       int
	Msg        string
	RetryAfter time.Duration
	Ratio      decimal.Decimal
}

type faultJSON struct {
	Kind       FaultKind       `json:"kind"`
	Method     string          `json:"method,omitempty"`
	Path       string          `json:"path,omitempty"`
	Times      int             `json:"times,omitempty"`
	Delay      string          `json:"delay,omitempty"`
	Execute    bool            `json:"execute,omitempty"`
	Status     int             `json:"status,omitempty"`
	Code       int             `json:"code,omitempty"`
	Msg        string          `json:"msg,omitempty"`
	RetryAfter string          `json:"retry_after,omitempty"`
	Ratio      decimal.Decimal `json:"ratio,omitempty"`
}

// MarshalJSON writes durations as Go duration strings ("1.5s").
func (f Fault) MarshalJSON() ([]byte, error) {
	j := faultJSON{Kind: f.Kind, Method: f.Method, Path: f.Path, Times: f.Times, Execute: f.Execute, Status: f.Status, Code: f.Code, Msg: f.Msg, Ratio: f.Ratio}
	if f.Delay > 0 {
		j.Delay = f.Delay.String()
	}
	if f.RetryAfter > 0 {
		j.RetryAfter = f.RetryAfter.String()
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads durations as Go duration strings ("1.5s", "500ms").
func (f *Fault) UnmarshalJSON(b []byte) error {
	var j faultJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*f = Fault{Kind: j.Kind, Method: j.Method, Path: j.Path, Times: j.Times, Execute: j.Execute, Status: j.Status, Code: j.Code, Msg: j.Msg, Ratio: j.Ratio}
	var err error
	if j.Delay != "" {
		if f.Delay, err = time.ParseDuration(j.Delay); err != nil {
			return fmt.Errorf("delay: %w", err)
		}
	}
	if j.RetryAfter != "" {
		if f.RetryAfter, err = time.ParseDuration(j.RetryAfter); err != nil {
			return fmt.Errorf("retry_after: %w", err)
		}
	}
	return nil
}

func (f Fault) validate() error {
	switch f.Kind {
	case FaultLatency, FaultTimeout, FaultStatus, FaultTimestamp, FaultReject, FaultDrop:
	case FaultRateLimit, FaultBan:
		if f.RetryAfter <= 0 {
			return fmt.Errorf("fault %s needs retry_after", f.Kind)
		}
	case FaultPartial:
		if f.Ratio.IsNegative() || f.Ratio.GreaterThan(decimal.NewFromInt(1)) {
			return fmt.Errorf("fault partial: ratio %s must be within 0..1", f.Ratio)
		}
	default:
		return fmt.Errorf("unknown fault kind %q", f.Kind)
	}
	return nil
}

type activeFault struct {
	Fault
	left int // remaining uses; 0 = persistent
}

func (f *activeFault) matches(method, path string) bool {
	if f.Method != "" && !strings.EqualFold(f.Method, method) {
		return false
	}
	switch {
	case f.Path == "":
		return true
	case strings.HasSuffix(f.Path, "*"):
		return strings.HasPrefix(path, strings.TrimSuffix(f.Path, "*"))
	}
	return f.Path == path
}

// InjectFault adds a fault; faults are consulted in the order they were added.
func (s *Server) InjectFault(f Fault) error {
	if err := f.validate(); err != nil {
		return err
	}
	s.mu.Lock()
	s.faults = append(s.faults, &activeFault{Fault: f, left: f.Times})
	s.mu.Unlock()
	return nil
}

// ClearFaults removes every REST fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	s.faults = nil
	s.mu.Unlock()
}

// Faults returns the active REST faults.
func (s *Server) Faults() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Fault, 0, len(s.faults))
	for _, f := range s.faults {
		g := f.Fault
		g.Times = f.left
		out = append(out, g)
	}
	return out
}

// takeFault returns the first fault matching the request and uses it up once. partial selects
// FaultPartial faults (consulted by order matching) instead of the others.
func (s *Server) takeFault(method, path string, partial bool) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.takeFaultLocked(method, path, partial)
}

func (s *Server) takeFaultLocked(method, path string, partial bool) *Fault {
	for i, f := range s.faults {
		if (f.Kind == FaultPartial) != partial || !f.matches(method, path) {
			continue
		}
		out := f.Fault
		if f.left > 0 {
			f.left--
			if f.left == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		return &out
	}
	return nil
}
