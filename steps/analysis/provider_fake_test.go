package analysis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/internal/words"
	"github.com/cutoverhq/cutover/steps"
	"github.com/cutoverhq/cutover/steps/stepstest"
)

// Two providers that exist only in the tests, registered the way the real
// ones are: from their own file's init, with nothing else in the package
// naming them. fake has a default verdict (a reading of 0 is Successful);
// fake_gauge has none, so it needs a condition, and it declares a
// permission.
func init() {
	attrs := steps.SpecFor[fakeConfig]()
	RegisterProvider(&Provider{
		Name: "fake", Order: 1000, Attrs: attrs, Check: checkFake, New: newFake,
		Verdict: func(r cty.Value) Phase {
			if stepstest.Int(r, "value", -1) == 0 {
				return Successful
			}
			return Failed
		},
	})
	RegisterProvider(&Provider{
		Name: "fake_gauge", Order: 1001, Attrs: attrs, Check: checkFake, New: newFake,
		ConditionExample: "result.value < 5",
		Permissions: func(_ *steps.Env, b cty.Value, analysis string) ([]steps.Permission, error) {
			return []steps.Permission{{Resource: "configmaps", Verbs: []string{"get"},
				Why: fmt.Sprintf("%s reads %d gauges", analysis, b.GetAttr("readings").LengthInt())}}, nil
		},
	})
}

// fakeConfig is the block of both fakes.
type fakeConfig struct {
	Readings cty.Value     `hcl:"readings,required,type=dynamic"`
	Timeout  time.Duration `hcl:"timeout"`
	Broken   bool          `hcl:"broken"`
}

func checkFake(b cty.Value, path []string) []steps.Problem {
	var c fakeConfig
	u, out := decodeAt(b, &c, path)
	if r := c.Readings; !u.Has("readings") && !r.IsNull() && r.LengthInt() == 0 {
		out = append(out, problem(path, "readings", "Empty readings", "readings needs at least one number."))
	}
	return out
}

// fakeProvider gives its readings in turn, one per measurement; a negative
// reading is a measurement error.
type fakeProvider struct {
	readings []int64
	taken    int
}

func newFake(b cty.Value, _ *steps.Env) (Measurer, error) {
	var c fakeConfig
	if _, err := steps.Decode(b, &c); err != nil {
		return nil, err
	}
	if c.Broken {
		return nil, errors.New("fake: broken on purpose")
	}
	p := &fakeProvider{}
	for _, v := range b.GetAttr("readings").AsValueSlice() {
		n, _ := v.AsBigFloat().Int64()
		p.readings = append(p.readings, n)
	}
	return p, nil
}

func (p *fakeProvider) Describe() string { return fmt.Sprintf("fake %v", p.readings) }

func (p *fakeProvider) Measure(context.Context) (cty.Value, string, error) {
	n := p.readings[p.taken%len(p.readings)]
	p.taken++
	if n < 0 {
		return cty.NilVal, "", fmt.Errorf("fake: reading %d is negative", n)
	}
	return cty.ObjectVal(map[string]cty.Value{"value": cty.NumberIntVal(n)}), fmt.Sprint(n), nil
}

func TestRegisteredProviderSchema(t *testing.T) {
	for name, spec := range map[string]hcldec.Spec{"verify": verifySpec(), "engine's analysis": steps.Default.AnalysisSpec()} {
		v, diags := hcldec.Decode(parseBody(t, "fake_gauge {\n readings = [1, 2]\n condition = result.value < 5\n}"), spec, loadCtx(nil))
		if diags.HasErrors() {
			t.Fatalf("%s schema: %s", name, diags.Error())
		}
		if got := v.GetAttr("fake_gauge").GetAttr("readings").LengthInt(); got != 2 {
			t.Errorf("%s schema: %d readings decoded, want 2", name, got)
		}
		_, diags = hcldec.Decode(parseBody(t, "fake {\n readings = [1]\n url = \"http://app\"\n}"), spec, loadCtx(nil))
		if !diags.HasErrors() || !strings.Contains(diags.Error(), `"url" is not expected`) {
			t.Errorf("%s schema: an http attribute in a fake block: %v", name, diags)
		}
	}
}

func TestRegisteredProviderCheck(t *testing.T) {
	for _, tc := range []struct {
		name, src     string
		path, summary string
		detail        string // a fragment of the only problem's detail
	}{
		{"its own check", "fake {\n readings = []\n}", "fake.readings", "Empty readings", "at least one number"},
		{"timeout checked for it", "fake {\n readings = [0]\n timeout = \"soon\"\n}", "fake.timeout", "Invalid duration", "not a duration"},
		{"needs a condition", "fake_gauge {\n readings = [1]\n}", "fake_gauge", "Missing condition",
			"A fake_gauge measurement has no natural verdict: add condition = <expression over result>, such as result.value < 5."},
		{"condition twice", "condition = true\nfake {\n readings = [0]\n condition = true\n}", "condition", "Condition given twice", "in its fake block"},
		{"listed among the providers", "count = 1", "", "No analysis provider",
			// every registered provider, in their order, the fakes last
			"An analysis needs exactly one provider block: " + words.Or(providerNames()) + "."},
		{"one at a time", "fake {\n readings = [0]\n}\nexec {\n command = [\"true\"]\n}", "fake", "More than one analysis provider", "this one has [exec fake]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, cfg := inline(t, tc.src, nil)
			ps := verifyKind{}.Check(cfg)
			if len(ps) != 1 {
				t.Fatalf("want one problem, got %+v", ps)
			}
			if got := strings.Join(ps[0].Path, "."); got != tc.path || ps[0].Summary != tc.summary || !strings.Contains(ps[0].Detail, tc.detail) {
				t.Errorf("problem %s %q %q, want %s %q mentioning %q", got, ps[0].Summary, ps[0].Detail, tc.path, tc.summary, tc.detail)
			}
		})
	}
	// A fake block next to a reference is an inline setting given twice.
	env, _ := reference(t, "gauge", "fake {\n readings = [0]\n}", nil)
	cfg, _ := decodeWith(t, parseBody(t, "analysis = analysis.gauge\nfake {\n readings = [0]\n}"), env)
	if ps := (verifyKind{}).Check(cfg); len(ps) != 1 || ps[0].Path[0] != "fake" || ps[0].Summary != "Analysis settings given twice" {
		t.Errorf("problems = %+v, want the fake block next to the reference reported", ps)
	}
}

func TestRegisteredProviderRun(t *testing.T) {
	t.Run("condition decides", func(t *testing.T) {
		env, cfg := inline(t, "count = 3\ncondition = result.value < 5\nfake {\n readings = [1, 2, 9]\n}", nil)
		out, p, err := runFake(t, env, cfg)
		var v *Verdict
		if !errors.As(err, &v) || v.Phase != Failed || v.Successful != 2 || v.Failed != 1 || !strings.Contains(v.Reason, `last failed value "9"`) {
			t.Fatalf("err = %v, want a Failed verdict over 2 successful and 1 failed measurement of 9", err)
		}
		var values []string
		for _, m := range out.GetAttr("measurements").AsValueSlice() {
			values = append(values, m.GetAttr("value").AsString()+" "+m.GetAttr("phase").AsString())
		}
		if got := strings.Join(values, ", "); got != "1 Successful, 2 Successful, 9 Failed" {
			t.Errorf("measurements = %s", got)
		}
		if got := num64(t, out.GetAttr("last"), "value"); got != 9 {
			t.Errorf("last.value = %d, want 9", got)
		}
		if !strings.Contains(p.all(), "analysis verify_green: fake [1 2 9], 3 measurements every 10s") {
			t.Errorf("progress does not describe the provider:\n%s", p.all())
		}
	})
	t.Run("default verdict", func(t *testing.T) {
		env, cfg := inline(t, "count = 2\nfake {\n readings = [0]\n}", nil)
		out, _, err := runFake(t, env, cfg)
		if err != nil || out.GetAttr("phase").AsString() != string(Successful) || num64(t, out, "successful") != 2 {
			t.Fatalf("err = %v, out = %#v; want 2 Successful measurements", err, out)
		}
		env, cfg = inline(t, "fake {\n readings = [3]\n}", nil)
		if _, _, err := runFake(t, env, cfg); !errors.As(err, new(*Verdict)) {
			t.Fatalf("err = %v, want a verdict for a reading of 3", err)
		}
	})
	t.Run("measurement error", func(t *testing.T) {
		env, cfg := inline(t, "consecutive_error_limit = 1\nfake {\n readings = [-1]\n}", nil)
		out, _, err := runFake(t, env, cfg)
		var v *Verdict
		if !errors.As(err, &v) || v.Phase != Error || v.Errors != 2 || !strings.Contains(v.Reason, "reading -1 is negative") {
			t.Fatalf("err = %v, want an Error verdict naming the reading", err)
		}
		if got := out.GetAttr("measurements").Index(cty.NumberIntVal(0)).GetAttr("error").AsString(); got != "fake: reading -1 is negative" {
			t.Errorf("measurement error = %q", got)
		}
	})
	t.Run("constructor error", func(t *testing.T) {
		env, cfg := inline(t, "fake {\n readings = [0]\n broken = true\n}", nil)
		if _, _, err := runFake(t, env, cfg); err == nil || err.Error() != "analysis verify_green: fake: broken on purpose" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("referenced, with its permissions", func(t *testing.T) {
		env, cfg := reference(t, "gauge", "count = 2\nfake_gauge {\n readings = [3, 4]\n condition = result.value < 5\n}", nil)
		if ps := (verifyKind{}).Check(cfg); len(ps) > 0 {
			t.Fatalf("problems: %+v", ps)
		}
		perms := permissionsOf(t, env, cfg)
		if strings.Join(perms, "; ") != "/configmaps: get" {
			t.Errorf("permissions = %q", perms)
		}
		if ps, _ := (verifyKind{}).Permissions(env, cfg); ps[0].Why != "analysis gauge reads 2 gauges" {
			t.Errorf("why = %q", ps[0].Why)
		}
		out, _, err := runFake(t, env, cfg)
		if err != nil || out.GetAttr("name").AsString() != "gauge" || num64(t, out, "successful") != 2 {
			t.Fatalf("err = %v, out = %#v", err, out)
		}
		plan, err := verifyKind{}.Plan(t.Context(), env, cfg)
		if err != nil || !strings.HasPrefix(plan, "analysis gauge: fake [3 4], 2 measurements every 10s") {
			t.Errorf("plan = %q, %v", plan, err)
		}
	})
}

func TestRegisterProviderRefusesBadDefinitions(t *testing.T) {
	newNothing := func(cty.Value, *steps.Env) (Measurer, error) { return nil, errors.New("unused") }
	for _, tc := range []struct {
		name string
		def  Provider
		want string
	}{
		{"twice", Provider{Name: "http", New: newNothing, ConditionExample: "true"}, "registered twice"},
		{"a setting's name", Provider{Name: "count", New: newNothing, ConditionExample: "true"}, "shadow"},
		{"no constructor", Provider{Name: "x", ConditionExample: "true"}, "no constructor"},
		{"neither verdict nor example", Provider{Name: "x", New: newNothing}, "condition example"},
		{"its own condition", Provider{Name: "x", New: newNothing, ConditionExample: "true",
			Attrs: hcldec.ObjectSpec{"condition": &hcldec.AttrSpec{Name: "condition", Type: cty.String}}}, "declares condition"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := providerNames()
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(fmt.Sprint(r), tc.want) {
					t.Errorf("panic = %v, want one mentioning %q", r, tc.want)
				}
				if after := providerNames(); strings.Join(after, " ") != strings.Join(before, " ") {
					t.Errorf("providers changed: %v → %v", before, after)
				}
			}()
			RegisterProvider(&tc.def)
		})
	}
}
