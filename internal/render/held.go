package render

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/cutoverhq/cutover/kube"
)

// A held workload (Workload.Held) takes its new template in the deploy
// without any pod taking it: the pipeline's later stages roll it out, a
// gate between each step. Its own manifests say so (a partition at the
// replica count, OnDelete); a chart is given the strategy as a value and
// an overlay sets it itself, so either could leave it out, and the deploy
// would then update every pod before the first gate. The check runs at
// load time with the rest of Workload.Check.

// strategyLine is where a rendered object sets its update strategy.
var strategyLine = regexp.MustCompile(`^(\s*)(partition|updateStrategy):`)

// checkHeld says when applying m's template would replace pods.
func (w *Workload) checkHeld(what string, files []File, m kube.Manifest) error {
	why := unheld(w.Kind, m.Object.Object)
	if why == "" {
		return nil
	}
	e := atLine(files, m, strategyLine)
	if e.Line == 0 {
		e = at(files, m, w.Name)
	}
	e.Msg = fmt.Sprintf("%s %s %s; %s", w.Kind, w.Name, why, heldAdvice(what, w.Kind))
	return e
}

// unheld says why applying the template of obj, of kind, would replace
// pods; "" when it replaces none.
func unheld(kind string, obj map[string]any) string {
	strategy := mapAt(obj, "spec", "updateStrategy")
	typ, _ := strategy["type"].(string)
	if typ == "" {
		typ = "RollingUpdate"
	}
	switch kind {
	case "DaemonSet":
		if typ == "OnDelete" {
			return ""
		}
		return fmt.Sprintf("updates with %s, so the deploy would replace the pod of every node before any gate, "+
			"while the pipeline replaces them node by node (update_nodes), which needs updateStrategy OnDelete", typ)
	case "StatefulSet":
		if typ != "RollingUpdate" {
			return fmt.Sprintf("updates with %s, but the pipeline steps a RollingUpdate's partition down", typ)
		}
		replicas := int64(1)
		if r, ok := number(mapAt(obj, "spec")["replicas"]); ok {
			replicas = r
		}
		partition, _ := number(mapAt(obj, "spec", "updateStrategy", "rollingUpdate")["partition"])
		if partition >= replicas {
			return ""
		}
		return fmt.Sprintf("has the partition of its rolling update at %d, below its %d replicas, so the deploy would update "+
			"the pods from ordinal %d up before any gate, while the pipeline steps the partition down from the replica count", partition, replicas, partition)
	}
	return "cannot be held (held applies to a StatefulSet or a DaemonSet)"
}

func heldAdvice(what, kind string) string {
	want := "updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: REPLICAS}}"
	value := "updateStrategy (with rollingUpdate.partition)"
	if kind == "DaemonSet" {
		want, value = "updateStrategy: {type: OnDelete}", "updateStrategy"
	}
	if strings.HasPrefix(what, "chart") {
		return "the chart must take the workload's updateStrategy from .Values." + value + ", which the pipeline sets"
	}
	return "the overlay must set " + want
}

// number is v as an integer, when it is one.
func number(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case float64:
		return int64(n), n == float64(int64(n))
	}
	return 0, false
}
