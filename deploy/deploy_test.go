package deploy

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carry-trading/carry/exchange"
	"github.com/carry-trading/carry/pkg/config"
	"github.com/carry-trading/carry/pkg/telemetry"
	"github.com/carry-trading/carry/risk"
	"github.com/carry-trading/carry/strategy/pair"
)

const (
	dashboardFile = "grafana-dashboard.json"
	unitFile      = "carry.service"
	mainGo        = "../cmd/carry/main.go" // the exit codes
)

// scrapeLabels are the labels Prometheus adds to every scraped series; the dashboard filters on them.
var scrapeLabels = map[string]bool{"job": true, "instance": true}

// --- what /metrics exposes ---------------------------------------------------------------------------

// series is one series name /metrics exposes; a histogram family exposes three (_bucket, _sum, _count).
type series struct {
	family string
	labels map[string]bool
}

// exposed builds telemetry's registry as the bot does (telemetry.NewMetrics) and returns every series name
// it exposes, and the family names. A vector family is only exposed once it has a child, so one child is
// created in every vector of telemetry.Metrics, whatever its labels.
func exposed(t *testing.T) (map[string]series, []string) {
	t.Helper()
	m := telemetry.NewMetrics()
	v := reflect.ValueOf(m).Elem()
	for i := 0; i < v.NumField(); i++ {
		field := v.Type().Field(i)
		if !field.IsExported() {
			continue
		}
		get := v.Field(i).MethodByName("GetMetricWithLabelValues")
		if !get.IsValid() {
			continue // not a vector: exposed as it is
		}
		created := false
		for n := 1; n <= 10 && !created; n++ {
			args := make([]reflect.Value, n)
			for j := range args {
				args[j] = reflect.ValueOf("x")
			}
			created = get.Call(args)[1].IsNil()
		}
		if !created {
			t.Fatalf("telemetry.Metrics.%s: cannot create a child with up to 10 label values", field.Name)
		}
	}
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatalf("gathering telemetry's registry: %v", err)
	}
	out := map[string]series{}
	var families []string
	for _, mf := range mfs {
		name := mf.GetName()
		families = append(families, name)
		labels := map[string]bool{}
		for _, metric := range mf.GetMetric() {
			for _, l := range metric.GetLabel() {
				labels[l.GetName()] = true
			}
		}
		with := func(extra string) map[string]bool {
			c := map[string]bool{extra: true}
			for l := range labels {
				c[l] = true
			}
			return c
		}
		switch mf.GetType().String() {
		case "HISTOGRAM", "GAUGE_HISTOGRAM":
			out[name+"_bucket"] = series{name, with("le")}
			out[name+"_sum"] = series{name, labels}
			out[name+"_count"] = series{name, labels}
		case "SUMMARY":
			out[name] = series{name, with("quantile")}
			out[name+"_sum"] = series{name, labels}
			out[name+"_count"] = series{name, labels}
		default:
			out[name] = series{name, labels}
		}
	}
	sort.Strings(families)
	return out, families
}

// labelValues are the values carry gives enumerated labels (family → label → values).
func labelValues() map[string]map[string][]string {
	var pairStates, tradingStates []string
	for _, s := range pair.AllStates() {
		pairStates = append(pairStates, string(s))
	}
	for _, s := range []risk.State{risk.Active, risk.Reducing, risk.Halted} {
		tradingStates = append(tradingStates, string(s))
	}
	venues := []string{string(exchange.Spot), string(exchange.Futures)}
	return map[string]map[string][]string{
		"carry_pairs":                 {"state": pairStates},
		"carry_trading_state":         {"state": tradingStates},
		"carry_order_latency_seconds": {"venue": venues},
		"carry_feed_lag_seconds":      {"venue": venues},
		"carry_errors_total":          {"kind": telemetry.ErrorKinds},
	}
}

// --- the dashboard ------------------------------------------------------------------------------------

type query struct {
	where  string // panel or variable, for messages
	expr   string
	legend string
}

type dashboard struct {
	raw       map[string]any
	panels    []map[string]any // every panel, rows' nested panels included
	queries   []query
	variables []query // label_values(…) queries of template variables
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	raw, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(raw, &d.raw); err != nil {
		t.Fatalf("%s is not valid JSON: %v", dashboardFile, err)
	}
	var walk func(ps []any)
	walk = func(ps []any) {
		for _, p := range ps {
			panel, ok := p.(map[string]any)
			if !ok {
				t.Fatalf("%s: a panel is not an object: %v", dashboardFile, p)
			}
			d.panels = append(d.panels, panel)
			title, _ := panel["title"].(string)
			targets, _ := panel["targets"].([]any)
			for _, tg := range targets {
				target, _ := tg.(map[string]any)
				expr, _ := target["expr"].(string)
				legend, _ := target["legendFormat"].(string)
				d.queries = append(d.queries, query{where: fmt.Sprintf("panel %q", title), expr: expr, legend: legend})
			}
			if nested, ok := panel["panels"].([]any); ok {
				walk(nested)
			}
		}
	}
	panels, _ := d.raw["panels"].([]any)
	walk(panels)
	templating, _ := d.raw["templating"].(map[string]any)
	vars, _ := templating["list"].([]any)
	for _, v := range vars {
		variable, _ := v.(map[string]any)
		if variable["type"] != "query" {
			continue
		}
		q := variable["query"]
		if obj, ok := q.(map[string]any); ok {
			q = obj["query"]
		}
		expr, _ := q.(string)
		d.variables = append(d.variables, query{where: fmt.Sprintf("variable %v", variable["name"]), expr: expr})
	}
	return d
}

var labelValuesQuery = regexp.MustCompile(`^\s*label_values\((?:(.*),)?\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$`)
var legendLabel = regexp.MustCompile(`\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}`)
var wordAlternation = regexp.MustCompile(`^[a-zA-Z0-9_]+(\|[a-zA-Z0-9_]+)*$`)

// checkExpr checks that expr selects only exposed series, matches only their labels (and known values of
// enumerated ones), and groups and names legends only by labels the selected series have.
func checkExpr(exposed map[string]series, where, expr string, extraLabels ...string) (used []string, problems []string) {
	q, err := scanPromQL(expr)
	if err != nil {
		return nil, []string{fmt.Sprintf("%s: %v", where, err)}
	}
	if len(q.selectors) == 0 {
		problems = append(problems, fmt.Sprintf("%s: %q selects no series", where, expr))
	}
	available := map[string]bool{}
	for l := range scrapeLabels {
		available[l] = true
	}
	values := labelValues()
	for _, sel := range q.selectors {
		s, ok := exposed[sel.metric]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: %q is not a series pkg/telemetry exposes%s", where, sel.metric, suggest(exposed, sel.metric)))
			continue
		}
		used = append(used, s.family)
		for l := range s.labels {
			available[l] = true
		}
		for _, m := range sel.matchers {
			if !s.labels[m.label] && !scrapeLabels[m.label] {
				problems = append(problems, fmt.Sprintf("%s: %s has no label %q (it has %v)", where, sel.metric, m.label, keys(s.labels)))
				continue
			}
			known, enumerated := values[s.family][m.label]
			if !enumerated || strings.Contains(m.value, "$") {
				continue
			}
			var vals []string
			switch {
			case m.op == "=" || m.op == "!=":
				vals = []string{m.value}
			case wordAlternation.MatchString(m.value):
				vals = strings.Split(m.value, "|")
			}
			for _, v := range vals {
				if !contains(known, v) {
					problems = append(problems, fmt.Sprintf("%s: %s{%s=%q}: carry never sets %s to %q (it uses %v)", where, sel.metric, m.label, m.value, m.label, v, known))
				}
			}
		}
	}
	for _, l := range extraLabels {
		if !available[l] {
			problems = append(problems, fmt.Sprintf("%s: label %q is not on the series %q selects (labels: %v)", where, l, expr, keys(available)))
		}
	}
	for _, l := range q.grouping {
		if !available[l] {
			problems = append(problems, fmt.Sprintf("%s: groups by %q, which the series of %q do not have (labels: %v)", where, l, expr, keys(available)))
		}
	}
	return used, problems
}

func TestDashboardQueriesOnlyExposedSeriesAndLabels(t *testing.T) {
	exp, _ := exposed(t)
	d := loadDashboard(t)
	if len(d.queries) == 0 {
		t.Fatal("the dashboard has no queries")
	}
	for _, q := range d.queries {
		if strings.TrimSpace(q.expr) == "" {
			t.Errorf("%s: a target without an expression", q.where)
			continue
		}
		var legend []string
		for _, m := range legendLabel.FindAllStringSubmatch(q.legend, -1) {
			legend = append(legend, m[1])
		}
		_, problems := checkExpr(exp, q.where, q.expr, legend...)
		for _, p := range problems {
			t.Error(p)
		}
	}
	for _, v := range d.variables {
		m := labelValuesQuery.FindStringSubmatch(v.expr)
		if m == nil || m[1] == "" {
			t.Errorf("%s: %q: want label_values(<selector>, <label>), so the variable lists only carry's values", v.where, v.expr)
			continue
		}
		_, problems := checkExpr(exp, v.where, m[1], m[2])
		for _, p := range problems {
			t.Error(p)
		}
	}
}

func TestDashboardCoversEveryCarryFamily(t *testing.T) {
	exp, families := exposed(t)
	d := loadDashboard(t)
	used := map[string]bool{}
	for _, q := range d.queries {
		fams, _ := checkExpr(exp, q.where, q.expr)
		for _, f := range fams {
			used[f] = true
		}
	}
	n := 0
	for _, f := range families {
		if !strings.HasPrefix(f, "carry_") {
			continue
		}
		n++
		if !used[f] {
			t.Errorf("pkg/telemetry exposes %s, but no dashboard panel shows it", f)
		}
	}
	if n == 0 {
		t.Fatal("pkg/telemetry exposes no carry_ families: the registry was not built")
	}
}

// The cross-margin level panels draw Binance's margin call and liquidation levels: risk.margin_level_call
// and risk.margin_level_liquidation as configured by default.
func TestMarginLevelThresholdsAreTheConfigDefaults(t *testing.T) {
	def, err := config.Default()
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{def.Risk.MarginLevelLiquidation.InexactFloat64(), def.Risk.MarginLevelCall.InexactFloat64()}
	d := loadDashboard(t)
	n := 0
	for _, p := range d.panels {
		targets, _ := p["targets"].([]any)
		shows := false
		for _, tg := range targets {
			expr, _ := tg.(map[string]any)["expr"].(string)
			shows = shows || strings.Contains(expr, "carry_margin_level")
		}
		if !shows {
			continue
		}
		n++
		var got []float64
		fc, _ := p["fieldConfig"].(map[string]any)
		defaults, _ := fc["defaults"].(map[string]any)
		th, _ := defaults["thresholds"].(map[string]any)
		steps, _ := th["steps"].([]any)
		for _, st := range steps {
			if v, ok := st.(map[string]any)["value"].(float64); ok {
				got = append(got, v)
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("panel %q: thresholds %v, want liquidation and margin call %v", p["title"], got, want)
		}
	}
	if n == 0 {
		t.Fatal("no panel shows carry_margin_level")
	}
}

func TestDashboardIsImportable(t *testing.T) {
	d := loadDashboard(t)
	if v, _ := d.raw["schemaVersion"].(float64); v < 36 {
		t.Errorf("schemaVersion %v: want a current Grafana schema (≥ 36)", d.raw["schemaVersion"])
	}
	if uid, _ := d.raw["uid"].(string); uid == "" {
		t.Error("the dashboard has no uid")
	}
	inputs, _ := d.raw["__inputs"].([]any)
	found := false
	for _, in := range inputs {
		m, _ := in.(map[string]any)
		if m["name"] == "DS_PROMETHEUS" && m["type"] == "datasource" && m["pluginId"] == "prometheus" {
			found = true
		}
	}
	if !found {
		t.Error(`__inputs lacks the DS_PROMETHEUS Prometheus datasource input`)
	}
	wantDS := func(where string, ds any) {
		m, _ := ds.(map[string]any)
		if m["type"] != "prometheus" || m["uid"] != "${DS_PROMETHEUS}" {
			t.Errorf("%s: datasource %v, want {type: prometheus, uid: ${DS_PROMETHEUS}}", where, ds)
		}
	}
	ids := map[float64]string{}
	for _, p := range d.panels {
		title, _ := p["title"].(string)
		id, _ := p["id"].(float64)
		if other, dup := ids[id]; dup {
			t.Errorf("panels %q and %q share id %v", other, title, id)
		}
		ids[id] = title
		grid, _ := p["gridPos"].(map[string]any)
		x, _ := grid["x"].(float64)
		w, _ := grid["w"].(float64)
		if w <= 0 || x+w > 24 {
			t.Errorf("panel %q: gridPos %v is outside the 24-column grid", title, grid)
		}
		if p["type"] == "row" {
			continue
		}
		wantDS(fmt.Sprintf("panel %q", title), p["datasource"])
		targets, _ := p["targets"].([]any)
		if len(targets) == 0 {
			t.Errorf("panel %q has no queries", title)
		}
		for _, tg := range targets {
			m, _ := tg.(map[string]any)
			wantDS(fmt.Sprintf("panel %q target %v", title, m["refId"]), m["datasource"])
		}
	}
}

// --- the systemd unit ---------------------------------------------------------------------------------

// unit is a parsed unit file: "Section.Key" → every value, in order.
type unit map[string][]string

func loadUnit(t *testing.T) unit {
	t.Helper()
	raw, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	u := unit{}
	section := ""
	lines := strings.Split(string(raw), "\n")
	for n := 0; n < len(lines); n++ {
		line := strings.TrimSpace(lines[n])
		for strings.HasSuffix(line, `\`) && n+1 < len(lines) {
			n++
			line = strings.TrimSuffix(line, `\`) + " " + strings.TrimSpace(lines[n])
		}
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
		default:
			key, value, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s line %d: %q is not Key=Value inside a section", unitFile, n+1, line)
			}
			k := section + "." + strings.TrimSpace(key)
			u[k] = append(u[k], strings.TrimSpace(value))
		}
	}
	return u
}

// last is the effective value of a single-valued setting (the last assignment wins).
func (u unit) last(key string) (string, bool) {
	v := u[key]
	if len(v) == 0 {
		return "", false
	}
	return v[len(v)-1], true
}

func isTrue(v string) bool {
	switch strings.ToLower(v) {
	case "yes", "true", "on", "1":
		return true
	}
	return false
}

func TestUnitIsHardened(t *testing.T) {
	u := loadUnit(t)
	for _, key := range []string{"NoNewPrivileges", "ProtectHome", "PrivateTmp", "PrivateDevices", "ProtectKernelTunables",
		"ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups", "ProtectClock", "ProtectHostname",
		"RestrictNamespaces", "RestrictRealtime", "RestrictSUIDSGID", "LockPersonality", "MemoryDenyWriteExecute"} {
		if v, ok := u.last("Service." + key); !ok || !isTrue(v) {
			t.Errorf("%s=%q: want %s=yes", key, v, key)
		}
	}
	for key, want := range map[string]string{"ProtectSystem": "strict", "SystemCallArchitectures": "native", "UMask": "0077",
		"KillSignal": "SIGTERM", "User": "carry"} {
		if v, _ := u.last("Service." + key); v != want {
			t.Errorf("%s=%q, want %q", key, v, want)
		}
	}
	if v, _ := u.last("Service.Restart"); v != "on-failure" && v != "always" {
		t.Errorf("Restart=%q, want on-failure or always", v)
	}
	var families []string
	for _, v := range u["Service.RestrictAddressFamilies"] {
		if strings.HasPrefix(v, "~") {
			t.Errorf("RestrictAddressFamilies=%s: want an allow-list", v)
		}
		families = append(families, strings.Fields(v)...)
	}
	sort.Strings(families)
	if strings.Join(families, " ") != "AF_INET AF_INET6 AF_UNIX" {
		t.Errorf("RestrictAddressFamilies allows %v, want exactly AF_INET AF_INET6 AF_UNIX", families)
	}
	filters := u["Service.SystemCallFilter"]
	if len(filters) == 0 || !contains(strings.Fields(filters[0]), "@system-service") {
		t.Errorf("SystemCallFilter=%v: want the allow-list @system-service first", filters)
	}
	caps, ok := u["Service.CapabilityBoundingSet"]
	if !ok {
		t.Error("no CapabilityBoundingSet=: want it present and empty (no capabilities)")
	}
	for _, c := range caps {
		if c != "" {
			t.Errorf("CapabilityBoundingSet=%s: want it empty", c)
		}
	}
	state, _ := u.last("Service.StateDirectory")
	if state == "" {
		t.Fatal("no StateDirectory=")
	}
	stateDir := path.Join("/var/lib", strings.Fields(state)[0])
	if wd, _ := u.last("Service.WorkingDirectory"); wd != stateDir {
		t.Errorf("WorkingDirectory=%s, want the state directory %s", wd, stateDir)
	}
	var rw []string
	for _, v := range u["Service.ReadWritePaths"] {
		rw = append(rw, strings.Fields(v)...)
	}
	if !contains(rw, stateDir) {
		t.Errorf("ReadWritePaths=%v lacks the state directory %s", rw, stateDir)
	}
	envFiles := u["Service.EnvironmentFile"]
	if len(envFiles) == 0 {
		t.Error("no EnvironmentFile= for DATABASE_URL and the API key")
	}
	for _, f := range envFiles {
		if f = strings.TrimPrefix(f, "-"); !strings.HasPrefix(f, "/etc/") {
			t.Errorf("EnvironmentFile=%s: want a root-owned file under /etc", f)
		}
	}
}

// exitCodes reads the exit-code constants of cmd/carry (name → code).
func exitCodes(t *testing.T) map[string]int {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), mainGo, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]int{}
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, "exit") || i >= len(vs.Values) {
					continue
				}
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.INT {
					n, _ := strconv.Atoi(lit.Value)
					codes[name.Name] = n
				}
			}
		}
	}
	return codes
}

// Restarting cannot fix a bad configuration (exitUsage) or a refusal (exitRefused: another bot holds the
// account, or the API key is refused); every status the unit lists must be one of carry's exit codes.
func TestUnitRestartPreventExitStatusMatchesCarry(t *testing.T) {
	u := loadUnit(t)
	codes := exitCodes(t)
	byCode := map[int]string{}
	for name, c := range codes {
		byCode[c] = name
	}
	listed := map[int]bool{}
	for _, v := range u["Service.RestartPreventExitStatus"] {
		for _, f := range strings.Fields(v) {
			n, err := strconv.Atoi(f)
			if err != nil {
				t.Errorf("RestartPreventExitStatus lists %q: carry stops by exit code, not by signal", f)
				continue
			}
			name, ok := byCode[n]
			switch {
			case !ok:
				t.Errorf("RestartPreventExitStatus lists %d, which is none of carry's exit codes %v", n, codes)
			case name == "exitOK" || name == "exitFailure":
				t.Errorf("RestartPreventExitStatus lists %d (%s): that one must be restarted", n, name)
			}
			listed[n] = true
		}
	}
	for _, name := range []string{"exitUsage", "exitRefused"} {
		c, ok := codes[name]
		if !ok {
			t.Errorf("%s has no %s constant any more: review RestartPreventExitStatus against %v", mainGo, name, codes)
			continue
		}
		if !listed[c] {
			t.Errorf("RestartPreventExitStatus lacks %d (%s): restarting cannot fix it", c, name)
		}
	}
}

// parseSpan parses a systemd time span ("5min", "300", "2min 30s").
func parseSpan(s string) (time.Duration, error) {
	if s == "infinity" {
		return time.Duration(1<<63 - 1), nil
	}
	units := map[string]time.Duration{"": time.Second, "us": time.Microsecond, "ms": time.Millisecond, "s": time.Second,
		"sec": time.Second, "second": time.Second, "seconds": time.Second, "m": time.Minute, "min": time.Minute,
		"minute": time.Minute, "minutes": time.Minute, "h": time.Hour, "hr": time.Hour, "hour": time.Hour, "hours": time.Hour}
	parts := regexp.MustCompile(`(\d+)\s*([a-z]*)`).FindAllStringSubmatch(s, -1)
	if len(parts) == 0 {
		return 0, fmt.Errorf("%q is not a time span", s)
	}
	var d time.Duration
	for _, p := range parts {
		n, _ := strconv.Atoi(p[1])
		u, ok := units[p[2]]
		if !ok {
			return 0, fmt.Errorf("%q: unknown unit %q", s, p[2])
		}
		d += time.Duration(n) * u
	}
	return d, nil
}

// SIGTERM lets the step in progress finish; systemd must not SIGKILL carry before one pair's step can end
// with the default execution settings: the normal rounds, the repairs until max_unhedged_seconds, a flatten.
func TestUnitStopTimeoutCoversAStep(t *testing.T) {
	u := loadUnit(t)
	v, ok := u.last("Service.TimeoutStopSec")
	if !ok {
		t.Fatal("no TimeoutStopSec=: systemd's default 90 s can SIGKILL carry mid-repair")
	}
	got, err := parseSpan(v)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Default()
	if err != nil {
		t.Fatal(err)
	}
	round := cfg.Execution.OrderTimeout + cfg.Binance.HTTPTimeout
	step := time.Duration(cfg.Execution.MaxRepairAttempts)*round + time.Duration(cfg.Execution.MaxUnhedgedSeconds)*time.Second + 2*round
	if got < step {
		t.Errorf("TimeoutStopSec=%s (%s) is shorter than one pair's step with the default execution settings (%s)", v, got, step)
	}
}

// The unit's Environment= overrides must be config keys (carry only warns about an unknown CARRY_ variable),
// and the address the unit's comments and deploy/README.md give for /metrics must be telemetry.listen's default.
func TestUnitEnvironmentIsConfig(t *testing.T) {
	u := loadUnit(t)
	env := map[string]string{}
	for _, v := range u["Service.Environment"] {
		for _, kv := range strings.Fields(v) {
			k, val, ok := strings.Cut(strings.Trim(kv, `"`), "=")
			if !ok {
				t.Fatalf("Environment=%s: not NAME=value", v)
			}
			env[k] = val
		}
	}
	var environ []string
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	l, err := config.Load(config.Options{Getenv: func(k string) string { return env[k] }, Environ: func() []string { return environ }})
	if err != nil {
		t.Fatalf("the unit's Environment= %v does not load: %v", env, err)
	}
	for _, w := range l.Warnings {
		t.Errorf("the unit's Environment=: %s", w)
	}
	def, err := config.Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range []string{unitFile, "README.md"} {
		raw, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(raw), def.Telemetry.Listen) {
			t.Errorf("deploy/%s does not mention telemetry.listen's default %s", doc, def.Telemetry.Listen)
		}
	}
}

// ExecStart must be a command line carry accepts: the binary is built and asked for help with exactly the
// unit's subcommand and flags, which fails (exit 2) on an unknown subcommand or flag.
func TestUnitExecStartIsACarryCommandLine(t *testing.T) {
	u := loadUnit(t)
	v, ok := u.last("Service.ExecStart")
	if !ok {
		t.Fatal("no ExecStart=")
	}
	args := strings.Fields(strings.TrimLeft(v, "-@:+!"))
	if len(args) < 2 || path.Base(args[0]) != "carry" || !path.IsAbs(args[0]) {
		t.Fatalf("ExecStart=%s: want an absolute path to carry and a subcommand", v)
	}
	var sub []string
	for _, a := range args[1:] {
		if strings.HasPrefix(a, "-") {
			break
		}
		sub = append(sub, a)
	}
	if strings.Join(sub, " ") != "run" {
		t.Errorf("ExecStart runs `carry %s`, want `carry run`", strings.Join(sub, " "))
	}

	bin := t.TempDir() + "/carry"
	build := exec.Command("go", "build", "-o", bin, "./cmd/carry")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building carry: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, append(args[1:], "--help")...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("`carry %s --help`: %v\n%s", strings.Join(args[1:], " "), err, out)
	}
	usage := "Usage:\n  carry " + strings.Join(sub, " ") + " [flags]"
	if !strings.Contains(string(out), usage) {
		t.Errorf("`carry %s --help` does not print %q:\n%s", strings.Join(args[1:], " "), usage, out)
	}
	flags := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+(?:-\w, )?--([a-z0-9][a-z0-9-]*)`).FindAllStringSubmatch(string(out), -1) {
		flags[m[1]] = true
	}
	for _, a := range args[1:] {
		if name, ok := strings.CutPrefix(a, "--"); ok {
			name, _, _ = strings.Cut(name, "=")
			if !flags[name] {
				t.Errorf("ExecStart passes --%s, which `carry %s` does not list (it has %v)", name, strings.Join(sub, " "), keys(flags))
			}
		}
	}
}

// --- the scanner itself -------------------------------------------------------------------------------

func TestScanPromQL(t *testing.T) {
	q, err := scanPromQL(`histogram_quantile(0.99, sum by (venue, le) (rate(carry_order_latency_seconds_bucket{job=~"$job", venue="spot"}[$__rate_interval]))) or on() vector(0) * 2 > bool 1`)
	if err != nil {
		t.Fatal(err)
	}
	if len(q.selectors) != 1 || q.selectors[0].metric != "carry_order_latency_seconds_bucket" || len(q.selectors[0].matchers) != 2 ||
		q.selectors[0].matchers[1] != (matcher{"venue", "=", "spot"}) {
		t.Errorf("selectors %+v", q.selectors)
	}
	if strings.Join(q.grouping, ",") != "venue,le" {
		t.Errorf("grouping %v", q.grouping)
	}
	q, err = scanPromQL(`max(a{s="x"} offset 5m) by (s) - ignoring(t) b and c`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range q.selectors {
		names = append(names, s.metric)
	}
	if strings.Join(names, ",") != "a,b,c" || strings.Join(q.grouping, ",") != "s,t" {
		t.Errorf("selectors %v, grouping %v", names, q.grouping)
	}
	for _, bad := range []string{`sum(a`, `a{b="c"`, `a{b}`, `a{b="c}`} {
		if _, err := scanPromQL(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// --- helpers ------------------------------------------------------------------------------------------

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// suggest names the exposed series closest to a misspelt one.
func suggest(exposed map[string]series, name string) string {
	best, bestD := "", 1<<30
	for s := range exposed {
		if d := config.EditDistance(s, name); d < bestD {
			best, bestD = s, d
		}
	}
	if best == "" || bestD > len(name)/2 {
		return ""
	}
	return fmt.Sprintf("; did you mean %s?", best)
}
