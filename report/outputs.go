package report

import (
	"bytes"
	"encoding/json"
	"sort"
)

// output is one pipeline output: its name and its value as text (strings
// as they are, anything else as compact JSON).
type output struct {
	name, value string
	null        bool
}

// shown is the value as a person reads it: a null output (a skipped
// stage's, say) says null rather than nothing, as an empty string would.
// A dotenv file keeps value, where null is the empty string.
func (o output) shown() string {
	if o.null {
		return "null"
	}
	return o.value
}

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
		null := string(bytes.TrimSpace(obj[n])) == "null"
		out = append(out, output{name: n, value: valueText(obj[n]), null: null})
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
		out = append(out, o.name+" = "+oneLine(o.shown()))
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
