package testcluster

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cutoverhq/cutover/internal/demoapp/registry"
)

// cmdRegistry asserts what the process pods' registry ($REGISTRY_URL) holds
// and when, against what the agent did to the pods:
//
//	registry expect APP PREFIX [up=N] [down=N] [downup=N]
//	    the instances of APP whose id (the pod's name) starts with PREFIX
//	    are N UP (N DOWN) now; downup: N of them were set DOWN and later
//	    UP again (/events).
//	registry down-first APP PREFIX N
//	    N instances starting with PREFIX were set DOWN, and each was DOWN in
//	    the registry before its pod was told to stop (the agent's first
//	    Killing event, which precedes preStop and SIGTERM); prints each
//	    one's DOWN and Killing times and the margin. Waits up to 10s for
//	    the pods' events (the agent posts them asynchronously).
func cmdRegistry(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! registry")
	}
	if len(args) < 3 {
		ts.Fatalf("usage: registry expect APP PREFIX [up=N] [down=N] [downup=N] | registry down-first APP PREFIX N")
	}
	url := ts.Getenv("REGISTRY_URL")
	if url == "" {
		ts.Fatalf("registry: no $REGISTRY_URL (run cluster first)")
	}
	rc := &registry.Client{URL: url}
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	app, prefix := args[1], args[2]
	switch args[0] {
	case "expect":
		list, err := rc.Instances(ctx, app)
		ts.Check(err)
		count := map[string]int{}
		var seen []string
		for _, in := range list {
			if strings.HasPrefix(in.ID, prefix) {
				count[in.Status]++
				seen = append(seen, in.ID+"="+in.Status)
			}
		}
		ts.Logf("registry %s/%s*: %s", app, prefix, strings.Join(seen, " "))
		events, err := rc.Events(ctx)
		ts.Check(err)
		last := map[string]string{} // the last status event of each instance
		for _, e := range events {
			if e.App != app || !strings.HasPrefix(e.ID, prefix) || e.Event != "status" {
				continue
			}
			if e.Status == registry.StatusUp && last[e.ID] == registry.StatusDown {
				count["DOWNUP"]++
			}
			last[e.ID] = e.Status
		}
		for _, a := range args[3:] {
			k, v, ok := strings.Cut(a, "=")
			n, err := strconv.Atoi(v)
			if !ok || err != nil || (k != "up" && k != "down" && k != "downup") {
				ts.Fatalf("registry expect: %q is not up=N, down=N or downup=N", a)
			}
			if got := count[strings.ToUpper(k)]; got != n {
				ts.Fatalf("registry: %d instances of %s starting with %s are %s, want %d", got, app, prefix, strings.ToUpper(k), n)
			}
		}
	case "down-first":
		if len(args) != 4 {
			ts.Fatalf("usage: registry down-first APP PREFIX N")
		}
		want, err := strconv.Atoi(args[3])
		ts.Check(err)
		events, err := rc.Events(ctx)
		ts.Check(err)
		down := map[string]time.Time{} // first DOWN of each instance
		for _, e := range events {
			if e.App == app && strings.HasPrefix(e.ID, prefix) && e.Event == "status" && e.Status == registry.StatusDown {
				if _, ok := down[e.ID]; !ok {
					down[e.ID] = e.Time
				}
			}
		}
		if len(down) != want {
			ts.Fatalf("registry: %d instances of %s starting with %s were set DOWN, want %d", len(down), app, prefix, want)
		}
		killed := killingTimes(ctx, ts, down)
		ids := make([]string, 0, len(down))
		for id := range down {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			k, ok := killed[id]
			if !ok {
				ts.Fatalf("pod %s: no Killing event within 10s; was it stopped?", id)
			}
			margin := k.Sub(down[id])
			ts.Logf("%s: DOWN %s, Killing %s (%.3fs later)", id, down[id].UTC().Format("15:04:05.000"), k.UTC().Format("15:04:05.000"), margin.Seconds())
			if margin <= 0 {
				ts.Fatalf("pod %s was told to stop %s before the registry showed it DOWN", id, -margin)
			}
		}
	default:
		ts.Fatalf("registry: unknown subcommand %q", args[0])
	}
}

// killingTimes is the first Killing event of each pod named in pods, waiting
// until each has one or 10s have passed.
func killingTimes(ctx context.Context, ts *testscript.TestScript, pods map[string]time.Time) map[string]time.Time {
	cl := scenarioClients(ts, &commonFlags{})
	ns := ts.Getenv("NAMESPACE")
	deadline := time.Now().Add(10 * time.Second)
	for {
		list, err := cl.cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "reason=Killing"})
		ts.Check(err)
		out := map[string]time.Time{}
		for _, e := range list.Items {
			name := e.InvolvedObject.Name
			if _, ok := pods[name]; !ok {
				continue
			}
			if t, ok := out[name]; !ok || e.EventTime.Time.Before(t) {
				out[name] = e.EventTime.Time
			}
		}
		if len(out) == len(pods) || time.Now().After(deadline) {
			return out
		}
		select {
		case <-ctx.Done():
			return out
		case <-time.After(200 * time.Millisecond):
		}
	}
}
