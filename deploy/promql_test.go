package deploy

import (
	"fmt"
	"strings"
	"unicode"
)

// A small PromQL scanner: enough to find the series selectors, their label matchers and the grouping
// labels of the expressions in the dashboard. It does not evaluate or fully parse PromQL; it only has to
// be right about which identifiers are metric names, which is decided lexically: an identifier followed by
// "(" is a function or an aggregation, a keyword is a keyword, and everything else is a metric name.

type matcher struct {
	label, op, value string
}

type selector struct {
	metric   string
	matchers []matcher
}

type promql struct {
	selectors []selector
	grouping  []string // labels named in by/without/on/ignoring/group_left/group_right lists
}

var groupingKeywords = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true}

var keywords = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true, "atan2": true,
	"inf": true, "nan": true, "start": true, "end": true,
	// aggregation operators, which may be followed by "by (…)" or "without (…)" instead of "("
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true, "count": true,
	"count_values": true, "bottomk": true, "topk": true, "quantile": true, "limitk": true, "limit_ratio": true}

func isIdentStart(r rune) bool {
	return r == '_' || r == ':' || r < unicode.MaxASCII && unicode.IsLetter(r)
}

func isIdentChar(r rune) bool { return isIdentStart(r) || r >= '0' && r <= '9' }

// scanPromQL finds the selectors and grouping labels of expr. Grafana variables ($x, ${x}, [[x]]) are
// allowed where Grafana allows them: in strings, in range brackets, or standing for a value.
func scanPromQL(expr string) (promql, error) {
	var out promql
	s := []rune(expr)
	i := 0
	depth := 0
	skipSpace := func() {
		for i < len(s) && unicode.IsSpace(s[i]) {
			i++
		}
	}
	ident := func() string {
		start := i
		for i < len(s) && isIdentChar(s[i]) {
			i++
		}
		return string(s[start:i])
	}
	str := func() (string, error) {
		q := s[i]
		var b strings.Builder
		for i++; i < len(s); i++ {
			switch {
			case s[i] == '\\' && q != '`' && i+1 < len(s):
				i++
				b.WriteRune(s[i])
			case s[i] == q:
				i++
				return b.String(), nil
			default:
				b.WriteRune(s[i])
			}
		}
		return "", fmt.Errorf("unterminated string in %q", expr)
	}
	matchers := func() ([]matcher, error) {
		i++ // {
		var ms []matcher
		for {
			skipSpace()
			if i >= len(s) {
				return nil, fmt.Errorf("unterminated label matchers in %q", expr)
			}
			if s[i] == '}' {
				i++
				return ms, nil
			}
			if !isIdentStart(s[i]) {
				return nil, fmt.Errorf("expected a label name at %q in %q", string(s[i:]), expr)
			}
			m := matcher{label: ident()}
			skipSpace()
			for _, op := range []string{"=~", "!~", "!=", "="} {
				if strings.HasPrefix(string(s[i:]), op) {
					m.op = op
					i += len([]rune(op))
					break
				}
			}
			if m.op == "" {
				return nil, fmt.Errorf("label %s has no matcher operator in %q", m.label, expr)
			}
			skipSpace()
			if i >= len(s) || !strings.ContainsRune("\"'`", s[i]) {
				return nil, fmt.Errorf("label %s: expected a quoted value in %q", m.label, expr)
			}
			v, err := str()
			if err != nil {
				return nil, err
			}
			m.value = v
			ms = append(ms, m)
			skipSpace()
			if i < len(s) && s[i] == ',' {
				i++
			}
		}
	}
	lastWasMetric := false
	for i < len(s) {
		r := s[i]
		switch {
		case unicode.IsSpace(r):
			i++
			continue
		case r == '"' || r == '\'' || r == '`':
			if _, err := str(); err != nil {
				return out, err
			}
		case r == '[':
			if strings.HasPrefix(string(s[i:]), "[[") { // the old [[var]] syntax standing for a value
				i += 2
				continue
			}
			end := strings.IndexRune(string(s[i:]), ']')
			if end < 0 {
				return out, fmt.Errorf("unterminated range in %q", expr)
			}
			i += len([]rune(string(s[i:])[:end+1]))
		case r == '{':
			ms, err := matchers()
			if err != nil {
				return out, err
			}
			if lastWasMetric {
				sel := &out.selectors[len(out.selectors)-1]
				sel.matchers = append(sel.matchers, ms...)
			} else { // {__name__="…"} or a selector without a name
				out.selectors = append(out.selectors, selector{matchers: ms})
			}
			lastWasMetric = false
			continue
		case r == '$':
			i++
			if i < len(s) && s[i] == '{' {
				end := strings.IndexRune(string(s[i:]), '}')
				if end < 0 {
					return out, fmt.Errorf("unterminated ${…} in %q", expr)
				}
				i += len([]rune(string(s[i:])[:end+1]))
			} else {
				ident()
			}
		case r == '(':
			depth++
			i++
		case r == ')':
			depth--
			if depth < 0 {
				return out, fmt.Errorf("unbalanced ) in %q", expr)
			}
			i++
		case r >= '0' && r <= '9' || r == '.':
			for i < len(s) && (isIdentChar(s[i]) || s[i] == '.') {
				i++
			}
		case isIdentStart(r):
			name := ident()
			skipSpace()
			next := rune(0)
			if i < len(s) {
				next = s[i]
			}
			switch {
			case groupingKeywords[strings.ToLower(name)] && next == '(':
				end := strings.IndexRune(string(s[i:]), ')')
				if end < 0 {
					return out, fmt.Errorf("unterminated %s (…) in %q", name, expr)
				}
				list := string(s[i:])[1:end]
				i += len([]rune(string(s[i:])[:end+1]))
				for _, l := range strings.Split(list, ",") {
					if l = strings.TrimSpace(l); l != "" {
						out.grouping = append(out.grouping, l)
					}
				}
			case next == '(' || keywords[strings.ToLower(name)] || groupingKeywords[strings.ToLower(name)]:
				// a function, an aggregation or a keyword
			default:
				out.selectors = append(out.selectors, selector{metric: name})
				lastWasMetric = true
				continue
			}
		default:
			i++ // operators, commas
		}
		lastWasMetric = false
	}
	if depth != 0 {
		return out, fmt.Errorf("unbalanced ( in %q", expr)
	}
	return out, nil
}
