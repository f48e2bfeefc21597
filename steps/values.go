package steps

import (
	"bytes"
	"encoding/json"
	"fmt"
	ctyjson "github.com/zclconf/go-cty/cty/json"
	"math/big"
	"reflect"
	"sort"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// attr returns attribute name of an object value, or a null of dynamic type
// when v is null or has no such attribute. Nested attributes of optional
// blocks therefore read as null rather than panicking.
func attr(v cty.Value, name string) cty.Value {
	if v.IsNull() || !v.IsKnown() || !(v.Type().IsObjectType() || v.Type().IsMapType()) {
		return cty.NullVal(cty.DynamicPseudoType)
	}
	if v.Type().IsObjectType() {
		if !v.Type().HasAttribute(name) {
			return cty.NullVal(cty.DynamicPseudoType)
		}
		return v.GetAttr(name)
	}
	if !v.HasIndex(cty.StringVal(name)).True() {
		return cty.NullVal(cty.DynamicPseudoType)
	}
	return v.Index(cty.StringVal(name))
}

// ParseDuration is time.ParseDuration that refuses negative values and says
// what a valid one looks like.
func ParseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration; use a number and a unit, such as \"30s\", \"5m\" or \"1h30m\"", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative; a duration must be zero or more", s)
	}
	return d, nil
}

// FromGo converts plain Go values (what encoding/json produces, plus
// string maps and slices) into cty values, for step outputs.
func FromGo(x any) cty.Value {
	switch t := x.(type) {
	case nil:
		return cty.NullVal(cty.DynamicPseudoType)
	case cty.Value:
		return t
	case string:
		return cty.StringVal(t)
	case bool:
		return cty.BoolVal(t)
	case int:
		return cty.NumberIntVal(int64(t))
	case int32:
		return cty.NumberIntVal(int64(t))
	case int64:
		return cty.NumberIntVal(t)
	case float64:
		return cty.NumberFloatVal(t)
	case *big.Float:
		return cty.NumberVal(t)
	case time.Duration:
		return cty.StringVal(t.String())
	case map[string]string:
		if len(t) == 0 {
			return cty.MapValEmpty(cty.String)
		}
		m := make(map[string]cty.Value, len(t))
		for k, v := range t {
			m[k] = cty.StringVal(v)
		}
		return cty.MapVal(m)
	case []string:
		if len(t) == 0 {
			return cty.ListValEmpty(cty.String)
		}
		l := make([]cty.Value, len(t))
		for i, v := range t {
			l[i] = cty.StringVal(v)
		}
		return cty.ListVal(l)
	case map[string]any:
		if len(t) == 0 {
			return cty.EmptyObjectVal
		}
		m := make(map[string]cty.Value, len(t))
		for k, v := range t {
			m[k] = FromGo(v)
		}
		return cty.ObjectVal(m)
	case []any:
		if len(t) == 0 {
			return cty.EmptyTupleVal
		}
		l := make([]cty.Value, len(t))
		for i, v := range t {
			l[i] = FromGo(v)
		}
		return cty.TupleVal(l)
	}
	rv := reflect.ValueOf(x)
	if rv.Kind() == reflect.Map && rv.Type().Key().Kind() == reflect.String {
		m := map[string]any{}
		keys := rv.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		for _, k := range keys {
			m[k.String()] = rv.MapIndex(k).Interface()
		}
		return FromGo(m)
	}
	return cty.StringVal(fmt.Sprint(x))
}

// Analysis is a top-level `analysis` block, handed to the kind that runs
// analyses as the value of `analysis.NAME`. Its body is decoded by that kind
// with the analysis schema, once per measurement.
type Analysis struct {
	Name  string
	Body  hcl.Body
	Range hcl.Range
}

// AnalysisType is the cty type of `analysis.NAME`.
var AnalysisType = cty.CapsuleWithOps("analysis", reflect.TypeOf(Analysis{}), &cty.CapsuleOps{
	GoString:     func(v any) string { return "analysis." + v.(*Analysis).Name },
	TypeGoString: func(reflect.Type) string { return "steps.AnalysisType" },
})

// AnalysisOf returns the analysis a value refers to, or nil.
func AnalysisOf(v cty.Value) *Analysis {
	if v.IsNull() || !v.IsKnown() || !v.Type().Equals(AnalysisType) {
		return nil
	}
	return v.EncapsulatedValue().(*Analysis)
}

// JSONValue parses b as one JSON document into a cty value (objects, tuples,
// exact numbers), or returns null when b is not one. Truncated output is
// never parsed: half a document is not the document.
func JSONValue(b []byte, truncated bool) cty.Value {
	null := cty.NullVal(cty.DynamicPseudoType)
	b = bytes.TrimSpace(b)
	if truncated || len(b) == 0 || !json.Valid(b) {
		return null
	}
	ty, err := ctyjson.ImpliedType(b)
	if err != nil {
		return null
	}
	v, err := ctyjson.Unmarshal(b, ty)
	if err != nil {
		return null
	}
	return v
}
