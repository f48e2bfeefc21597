// Package stepstest reads step outputs in tests: a kind's output is a cty
// object, and a test asks for one attribute of it by name. Step kinds read
// their own blocks through typed configs (steps.Decode), never through these.
package stepstest

import "github.com/zclconf/go-cty/cty"

// attr is attribute name of an object or map value, or null.
func attr(v cty.Value, name string) cty.Value {
	null := cty.NullVal(cty.DynamicPseudoType)
	switch {
	case v.IsNull() || !v.IsKnown():
		return null
	case v.Type().IsObjectType():
		if !v.Type().HasAttribute(name) {
			return null
		}
		return v.GetAttr(name)
	case v.Type().IsMapType():
		if k := cty.StringVal(name); v.HasIndex(k).True() {
			return v.Index(k)
		}
	}
	return null
}

// Str is a string attribute, "" when null or not a string.
func Str(v cty.Value, name string) string {
	a := attr(v, name)
	if a.IsNull() || !a.IsKnown() || a.Type() != cty.String {
		return ""
	}
	return a.AsString()
}

// Int is a number attribute as int64, def when null.
func Int(v cty.Value, name string, def int64) int64 {
	a := attr(v, name)
	if a.IsNull() || !a.IsKnown() || a.Type() != cty.Number {
		return def
	}
	i, _ := a.AsBigFloat().Int64()
	return i
}

// Float is a number attribute as float64, def when null.
func Float(v cty.Value, name string, def float64) float64 {
	a := attr(v, name)
	if a.IsNull() || !a.IsKnown() || a.Type() != cty.Number {
		return def
	}
	f, _ := a.AsBigFloat().Float64()
	return f
}

// StrMap is a map of strings attribute, nil when null.
func StrMap(v cty.Value, name string) map[string]string {
	a := attr(v, name)
	if a.IsNull() || !a.IsKnown() || !a.CanIterateElements() {
		return nil
	}
	out := map[string]string{}
	for it := a.ElementIterator(); it.Next(); {
		k, e := it.Element()
		if !e.IsNull() && e.Type() == cty.String {
			out[k.AsString()] = e.AsString()
		}
	}
	return out
}

// StrList is a list (or tuple) of strings attribute, nil when null.
func StrList(v cty.Value, name string) []string {
	a := attr(v, name)
	if a.IsNull() || !a.IsKnown() || !a.CanIterateElements() {
		return nil
	}
	var out []string
	for _, e := range a.AsValueSlice() {
		if !e.IsNull() && e.Type() == cty.String {
			out = append(out, e.AsString())
		}
	}
	return out
}
