package analysis

import (
	"strings"
	"testing"
	"time"

	"github.com/cutoverhq/cutover/steps/stepstest"
)

const (
	sloErrors = `sum(rate(http_requests_total{code=~"5.."}[$window]))`
	sloTotal  = `sum(rate(http_requests_total[$window]))`
)

// sloBlock is an slo block's source with attrs added to a valid one.
func sloBlock(attrs string) string {
	return "slo {\n address = \"http://prom:9090\"\n total = " + quote(sloTotal) + "\n" + attrs + "\n}"
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

func TestSLOQueryCompilation(t *testing.T) {
	s := slo{objective: 0.999, errors: sloErrors, total: sloTotal, pairs: workbookPairs}
	burn5m := `(sum(rate(http_requests_total{code=~"5.."}[5m]))) / (sum(rate(http_requests_total[5m]))) / 0.001`
	if got := s.burnQuery(5 * time.Minute); got != burn5m {
		t.Errorf("burn over 5m:\n got %s\nwant %s", got, burn5m)
	}
	q := s.sloQuery()
	for _, w := range []string{"1h", "5m", "6h", "30m"} {
		want := `label_replace((sum(rate(http_requests_total{code=~"5.."}[` + w + `]))) / (sum(rate(http_requests_total[` + w + `]))) / 0.001, "slo_window", "` + w + `", "", "")`
		if !strings.Contains(q, want) {
			t.Errorf("query lacks the %s window:\n%s\nwant a part\n%s", w, q, want)
		}
	}
	if n := strings.Count(q, " or "); n != 3 {
		t.Errorf("query joins %d parts, want 4:\n%s", n+1, q)
	}
	alert := s.alertQuery()
	wantAlert := `((sum(rate(http_requests_total{code=~"5.."}[1h]))) / (sum(rate(http_requests_total[1h]))) / 0.001 > 14.4 and ` +
		`(sum(rate(http_requests_total{code=~"5.."}[5m]))) / (sum(rate(http_requests_total[5m]))) / 0.001 > 14.4) or (`
	if !strings.HasPrefix(alert, wantAlert) || !strings.HasSuffix(alert, `[30m]))) / 0.001 > 6)`) {
		t.Errorf("alert:\n got %s\nwant the workbook's two pairs, starting %s", alert, wantAlert)
	}

	// good/total: the error ratio is 1 - good/total; windows shared by two
	// pairs are asked once; seconds-long windows stay in PromQL's units.
	g := slo{objective: 0.99, good: `sum(rate(ok[$window]))`, total: `sum(rate(all[$window]))`,
		pairs: []sloPair{{Long: 10 * time.Second, Short: 2 * time.Second, BurnRate: 2}, {Long: 90 * time.Second, Short: 10 * time.Second, BurnRate: 1}}}
	if got, want := g.burnQuery(90*time.Second), `(1 - (sum(rate(ok[1m30s]))) / (sum(rate(all[1m30s])))) / 0.01`; got != want {
		t.Errorf("good/total burn:\n got %s\nwant %s", got, want)
	}
	if n := strings.Count(g.sloQuery(), "label_replace"); n != 3 {
		t.Errorf("%d windows asked, want 3 (10s is in both pairs): %s", n, g.sloQuery())
	}
}

func TestSLOJudge(t *testing.T) {
	s := slo{objective: 0.999, errors: sloErrors, total: sloTotal, pairs: workbookPairs}
	f := func(v float64) *float64 { return &v }
	for _, tc := range []struct {
		name   string
		burns  map[string]*float64
		phase  Phase
		firing []string
		short  string
	}{
		{"quiet", map[string]*float64{"1h": f(0.5), "5m": f(1), "6h": f(0.2), "30m": f(0.1)}, Successful, nil,
			"1h/5m burn rates 0.5 and 1, threshold 14.4; 6h/30m burn rates 0.2 and 0.1, threshold 6"},
		{"a spike the long window has not seen", map[string]*float64{"1h": f(3), "5m": f(50), "6h": f(1), "30m": f(9)}, Successful, nil, ""},
		{"both windows of the first pair", map[string]*float64{"1h": f(20.123456), "5m": f(18.7), "6h": f(4), "30m": f(5)}, Failed, []string{"1h/5m"},
			"1h/5m burn rates 20.123 and 18.7, threshold 14.4 (firing); 6h/30m burn rates 4 and 5, threshold 6"},
		{"both pairs", map[string]*float64{"1h": f(15), "5m": f(15), "6h": f(7), "30m": f(7)}, Failed, []string{"1h/5m", "6h/30m"}, ""},
		{"no data anywhere", map[string]*float64{}, Inconclusive, nil, "1h/5m burn rates no data and no data, threshold 14.4; 6h/30m burn rates no data and no data, threshold 6"},
		{"data for one pair", map[string]*float64{"1h": f(1), "5m": f(1)}, Successful, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, short := s.judge(tc.burns)
			if got := sloVerdict(r); got != tc.phase {
				t.Errorf("verdict %s, want %s (%s)", got, tc.phase, short)
			}
			if got := stepstest.StrList(r, "firing"); strings.Join(got, ",") != strings.Join(tc.firing, ",") {
				t.Errorf("firing = %v, want %v", got, tc.firing)
			}
			if tc.short != "" && short != tc.short {
				t.Errorf("short:\n got %s\nwant %s", short, tc.short)
			}
			if !r.GetAttr("burn_rates").Type().HasAttribute("30m") {
				t.Errorf("burn_rates has no 30m: %#v", r.GetAttr("burn_rates"))
			}
		})
	}
}

func TestSLOCheck(t *testing.T) {
	for _, tc := range []struct {
		name, attrs string
		want        string // a fragment of the only problem's detail; "" = none
	}{
		{"valid", "objective = 0.999\n errors = " + quote(sloErrors), ""},
		{"valid good and windows", "objective = 0.99\n good = " + quote(`sum(rate(ok[$window]))`) + "\n windows = [{ long = \"10s\", short = \"2s\", burn_rate = 2 }]", ""},
		{"percent objective", "objective = 99.9\n errors = " + quote(sloErrors), "write 0.999"},
		{"neither good nor errors", "objective = 0.999", "exactly one of good"},
		{"both good and errors", "objective = 0.999\n errors = " + quote(sloErrors) + "\n good = " + quote(sloErrors), "exactly one of good"},
		{"no placeholder", "objective = 0.999\n errors = \"sum(rate(errors[5m]))\"", "write the range as $window"},
		{"short not shorter", "objective = 0.999\n errors = " + quote(sloErrors) + "\n windows = [{ long = \"5m\", short = \"1h\", burn_rate = 14.4 }]", "must be shorter"},
		{"bad duration", "objective = 0.999\n errors = " + quote(sloErrors) + "\n windows = [{ long = \"an hour\", short = \"5m\", burn_rate = 14.4 }]", `windows[0].long = "an hour"`},
		{"missing burn rate", "objective = 0.999\n errors = " + quote(sloErrors) + "\n windows = [{ long = \"1h\", short = \"5m\" }]", "burn_rate must be a number"},
		{"misspelt attribute", "objective = 0.999\n errors = " + quote(sloErrors) + "\n windows = [{ long = \"1h\", short = \"5m\", burnrate = 14.4 }]", `has "burnrate"`},
		{"not a list", "objective = 0.999\n errors = " + quote(sloErrors) + "\n windows = \"1h/5m\"", "non-empty list"},
		{"a burn rate that cannot fire", "objective = 0.99\n errors = " + quote(sloErrors) + "\n windows = [{ long = \"1h\", short = \"5m\", burn_rate = 100 }]", "must be below 100"},
		{"unknown values are skipped", "objective = var.o\n errors = var.q\n windows = var.w", ""},
	} {
		t.Run(tc.name, func(t *testing.T) { checkOne(t, sloBlock(tc.attrs), tc.want) })
	}
}
