package workloads

import (
	"context"
	"errors"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/steps"
)

func durationCfg(d string) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{"duration": cty.StringVal(d)})
}

func TestWaitDurationRegistered(t *testing.T) {
	k, ok := steps.Default.Lookup("wait")
	if !ok {
		t.Fatal("wait is not registered")
	}
	if _, ok := k.(steps.Checker); !ok {
		t.Fatal("wait does not validate its duration at load time")
	}
}

func TestWaitDurationElapses(t *testing.T) {
	var reports []string
	env := &steps.Env{Progress: func(m string) { reports = append(reports, m) }}
	out, err := waitKind{}.Run(context.Background(), env, durationCfg("5ms"))
	if err != nil {
		t.Fatal(err)
	}
	if !out.GetAttr("object").IsNull() {
		t.Errorf("object = %#v, want null in duration mode", out.GetAttr("object"))
	}
	if len(reports) != 1 || reports[0] != "waiting 5ms" {
		t.Errorf("reports = %q, want one \"waiting 5ms\"", reports)
	}
}

func TestWaitDurationCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	env := &steps.Env{Progress: func(string) { close(started) }}
	done := make(chan error, 1)
	go func() {
		_, err := waitKind{}.Run(ctx, env, durationCfg("1h"))
		done <- err
	}()
	<-started
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want one wrapping context.Canceled", err)
	}
	if steps.IsRetryable(err) {
		t.Error("a cancelled wait must not be retried")
	}
}

func TestWaitDurationDryRunDoesNotWait(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // a dry run that waited would fail with Canceled
	if _, err := (waitKind{}).Run(ctx, &steps.Env{DryRun: true}, durationCfg("1h")); err != nil {
		t.Fatal(err)
	}
}

func TestWaitCheck(t *testing.T) {
	cases := []struct {
		name string
		cfg  cty.Value
		want int
	}{
		{"valid", durationCfg("30s"), 0},
		{"invalid", durationCfg("thirty"), 1},
		{"negative", durationCfg("-1s"), 1},
		{"unknown", cty.ObjectVal(map[string]cty.Value{"duration": cty.UnknownVal(cty.String)}), 0},
		{"missing", cty.ObjectVal(map[string]cty.Value{"duration": cty.NullVal(cty.String)}), 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := (waitKind{}).Check(c.cfg); len(got) != c.want {
				t.Errorf("Check = %+v, want %d problems", got, c.want)
			}
		})
	}
}
