package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/cutoverhq/cutover/engine/config"
	"github.com/cutoverhq/cutover/events"
	"github.com/cutoverhq/cutover/kube"
	"github.com/cutoverhq/cutover/steps"
)

// rehearseKind leaves an object named `leave` for the stages after it
// (steps.Planned), says whether it finds one named `read` there, and with
// `skip` cannot be rehearsed.
type rehearseKind struct{}

type rehearseConfig struct {
	Leave string `hcl:"leave"`
	Read  string `hcl:"read"`
	Skip  bool   `hcl:"skip"`
}

func (rehearseKind) Name() string      { return "rehearse" }
func (rehearseKind) Spec() hcldec.Spec { return steps.SpecFor[rehearseConfig]() }
func (rehearseKind) Output() cty.Type  { return cty.Object(map[string]cty.Type{"seen": cty.Bool}) }
func (rehearseKind) Plan(context.Context, *steps.Env, cty.Value) (string, error) {
	return "", nil
}

func cmRef(name string) kube.Ref {
	return kube.Ref{APIVersion: "v1", Kind: "ConfigMap", Resource: "configmaps", Namespace: "ns", Name: name}
}

func (rehearseKind) Run(_ context.Context, env *steps.Env, cfg cty.Value) (cty.Value, error) {
	var c rehearseConfig
	if _, err := steps.Decode(cfg, &c); err != nil {
		return cty.NilVal, err
	}
	_, seen := env.Planned.Object(cmRef(c.Read))
	out := cty.ObjectVal(map[string]cty.Value{"seen": cty.BoolVal(seen)})
	if c.Skip {
		return cty.NilVal, steps.NotRehearsed(out, "it waits for pods")
	}
	if c.Leave != "" {
		env.Planned.Leave(cmRef(c.Leave), &unstructured.Unstructured{Object: map[string]any{}})
	}
	return out, nil
}

// runRehearsal runs rehearsalSrc with rehearseKind alone.
func runRehearsal(t *testing.T, opts Options) (*Outcome, *collected) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "p.hcl"), []byte(rehearsalSrc), 0o644); err != nil {
		t.Fatal(err)
	}
	reg := steps.NewRegistry()
	reg.Register(rehearseKind{})
	cfg, diags := config.Load(dir, reg)
	if diags.HasErrors() {
		t.Fatal(dump(diags))
	}
	p, diags := Prepare(cfg, Inputs{})
	if diags.HasErrors() {
		t.Fatal(dump(diags))
	}
	sink := &collected{}
	opts.Sink, opts.RunID = sink, "test"
	out, err := p.Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return out, sink
}

const rehearsalSrc = `
pipeline "p" {}
stage "a" {
  rehearse { leave = "x" }
}
stage "b" {
  depends_on = [stage.a]
  rehearse { read = "x" }
}
stage "gate" {
  depends_on = [stage.a]
  rehearse {
    read = "x"
    skip = true
  }
}
stage "after" {
  depends_on = [stage.gate]
  rehearse { read = "${stage.gate.output.seen ? "x" : "none"}" }
}
stage "apart" {
  rehearse { read = "x" }
}
`

// A dry run's stage reads what the dry runs of the stages it depends on
// left; one that cannot be rehearsed is skipped, saying so, with its output
// for the stages after it, and the run's note names it.
func TestDryRunRehearses(t *testing.T) {
	out, sink := runRehearsal(t, Options{DryRun: true})
	if out.Result != events.Succeeded {
		t.Fatalf("result %s: %v", out.Result, out.Err)
	}
	seen := func(stage string) bool { return out.Stages[stage].Output.GetAttr("seen").True() }
	if !seen("b") || seen("apart") {
		t.Errorf("b saw a's object: %v (want true); apart, which does not depend on a: %v (want false)", seen("b"), seen("apart"))
	}
	if st := out.Stages["gate"].Status; st != events.StatusSkipped || !seen("gate") {
		t.Errorf("gate: %s, output %#v; want skipped with its output", st, out.Stages["gate"].Output)
	}
	if !seen("after") {
		t.Error("after did not read gate's output, or a's object")
	}
	var msg string
	for _, e := range sink.ev {
		if e.Stage == "gate" && e.Type == events.StageSkipped {
			msg = e.Message
		}
	}
	if msg != "dry run: not rehearsed: it waits for pods" {
		t.Errorf("gate's skip message = %q", msg)
	}
	if out.Note != "not rehearsed, left for the real run: gate" {
		t.Errorf("note = %q", out.Note)
	}
}

// Outside a dry run there is no rehearsal: nothing is planned, and a kind
// that says it cannot rehearse has failed.
func TestRealRunDoesNotRehearse(t *testing.T) {
	out, _ := runRehearsal(t, Options{})
	if out.Result == events.Succeeded || out.Stages["gate"].Status != events.StatusFailed {
		t.Fatalf("result %s, gate %s; want gate failed", out.Result, out.Stages["gate"].Status)
	}
	if out.Stages["b"].Status == events.StatusSucceeded && out.Stages["b"].Output.GetAttr("seen").True() {
		t.Error("b saw a planned object in a real run")
	}
	if !strings.Contains(out.Err.Error(), "not rehearsed") {
		t.Errorf("err = %v", out.Err)
	}
}
