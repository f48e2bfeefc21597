package report

import (
	"bytes"
	"encoding/json"
	"sort"
)

// output is one pipeline output: its name and its value as text (strings
// as they are, anything else as compact JSON).
type output struct{ name, value string }

// parseOutputs reads RunFinished.Outputs, an object of output name to value,
// in name order. Anything else yields nothing: outputs are a convenience and
// must not break the report.
func parseOutputs(raw json.RawMessage) []output {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return nil
	}
	names := make([]string, 0, len(obj))
	for n := range obj {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]output, 0, len(names))
	for _, n := range names {
		out = append(out, output{n, valueText(obj[n])})
	}
	return out
}

func valueText(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	var b bytes.Buffer
	if json.Compact(&b, v) != nil {
		return string(v)
	}
	return b.String()
}

// OutputLines are the outputs as the summary's "Outputs:" block lists
// them, "name = value", in name order (also `cutover join`'s).
func OutputLines(raw json.RawMessage) []string {
	var out []string
	for _, o := range parseOutputs(raw) {
		out = append(out, o.name+" = "+oneLine(o.value))
	}
	return out
}

// compactOutputs is the outputs object on one line ("{}" when there are
// none), the form CI outputs carry.
func compactOutputs(raw json.RawMessage) string {
	var b bytes.Buffer
	if len(bytes.TrimSpace(raw)) == 0 || json.Compact(&b, raw) != nil {
		return "{}"
	}
	return b.String()
}
