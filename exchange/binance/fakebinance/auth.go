package fakebinance

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Binance's signed-request rules, as the fake enforces them:
//   - X-MBX-APIKEY must be present (-2014) and be the account's key (-2015, HTTP 401);
//   - signature = hex(HMAC-SHA256(secret, query-without-signature + body)) (-1022);
//   - timestamp must be within recvWindow (default 5000 ms, max 60000) behind the server clock and at most
//     1000 ms ahead of it (-1021).

func (s *Server) authenticate(r *http.Request, body []byte, sec security) (url.Values, error) {
	params, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, errBadRequest(-1100, "Illegal characters found in a parameter.")
	}
	if len(body) > 0 {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, errBadRequest(-1100, "Illegal characters found in a parameter.")
		}
		for k, v := range form {
			params[k] = append(params[k], v...)
		}
	}
	if sec == secNone {
		return params, nil
	}
	key := r.Header.Get("X-MBX-APIKEY")
	if key == "" {
		return nil, &apiError{status: http.StatusUnauthorized, code: -2014, msg: "API-key format invalid."}
	}
	if key != s.opts.APIKey {
		return nil, &apiError{status: http.StatusUnauthorized, code: -2015, msg: "Invalid API-key, IP, or permissions for action."}
	}
	if sec == secAPIKey && params.Get("signature") == "" {
		return params, nil
	}
	sig := params.Get("signature")
	if sig == "" {
		return nil, errBadRequest(-1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.")
	}
	if !s.validSignature(signedPayload(r.URL.RawQuery, body), sig) {
		return nil, errBadRequest(-1022, "Signature for this request is not valid.")
	}
	if err := s.checkTimestamp(params.Get("timestamp"), params.Get("recvWindow")); err != nil {
		return nil, err
	}
	return params, nil
}

// signedPayload is the query string without its signature parameter, followed by the body.
func signedPayload(rawQuery string, body []byte) string {
	parts := strings.Split(rawQuery, "&")
	kept := parts[:0]
	for _, p := range parts {
		if p != "" && !strings.HasPrefix(p, "signature=") {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, "&") + string(body)
}

func (s *Server) validSignature(payload, sig string) bool {
	mac := hmac.New(sha256.New, []byte(s.opts.APISecret))
	mac.Write([]byte(payload))
	want := hex.EncodeToString(mac.Sum(nil))
	return hmac.Equal([]byte(want), []byte(strings.ToLower(sig)))
}

func (s *Server) checkTimestamp(tsParam, rwParam string) error {
	if tsParam == "" {
		return errBadRequest(-1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.")
	}
	ts, err := strconv.ParseInt(tsParam, 10, 64)
	if err != nil {
		return errBadRequest(-1100, "Illegal characters found in parameter 'timestamp'.")
	}
	rw := int64(5000)
	if rwParam != "" {
		d, err := decimal.NewFromString(rwParam)
		if err != nil || !d.IsPositive() || d.GreaterThan(decimal.NewFromInt(60000)) {
			return errBadRequest(-1131, "recvWindow must be less than 60000")
		}
		rw = d.IntPart()
	}
	now := s.now().UnixMilli()
	if ts > now+1000 || now-ts > rw {
		return errBadRequest(-1021, "Timestamp for this request is outside of the recvWindow.")
	}
	return nil
}

// SetTimeOffset shifts the fake exchange's clock by d against the wall clock (a client whose clock is
// off by −d). Signed requests are checked against the shifted clock; /time reports it.
func (s *Server) SetTimeOffset(d time.Duration) {
	s.mu.Lock()
	s.st.offset = d
	s.mu.Unlock()
}
