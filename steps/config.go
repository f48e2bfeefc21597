package steps

import (
	"fmt"
	"math/big"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/gocty"
)

// A kind's block is a Go struct; its schema is derived from the struct and
// the value the engine decodes is read back into it, so every attribute name
// is written once, beside its type (docs/design.md, "Typed step configs").
//
// Each field that is part of the block carries a tag:
//
//	Name     string            `hcl:"name,required"`
//	Images   map[string]string `hcl:"images"`
//	Timeout  time.Duration     `hcl:"timeout"`          // "30s" in HCL
//	Replicas *int              `hcl:"replicas"`         // nil when not set
//	Until    cty.Value         `hcl:"until,type=bool"`  // kept as a value
//	Resource *resourceBlock    `hcl:"resource,block"`   // a nested block
//
// Field types: string, bool, int, int64, float64, time.Duration, []string,
// map[string]string, map[string]*string (a null value is nil: "remove this
// key"), *Analysis, a pointer to one of those (nil when the
// attribute is null), cty.Value (kept as decoded, known or not; type=
// string|bool|number|dynamic, dynamic when not given), and with the block
// option a struct or a pointer to one (one nested block). An embedded
// struct without a tag adds its attributes to the block.
//
// Defaults are the struct's values before Decode: a null attribute leaves
// its field alone, so `c := cfg{Timeout: defaults.PauseTimeout}` is the default.

// SpecFor is the schema of the block T describes. It panics on a field it
// cannot map: that is a programming error, caught by any test of the kind.
func SpecFor[T any]() hcldec.ObjectSpec {
	return schemaOf(reflect.TypeFor[T]()).spec()
}

// Problems are what Decode found wrong with known values: each names the
// attribute's path so the engine can point at its source range.
type Problems []Problem

func (ps Problems) Error() string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = strings.Join(p.Path, ".") + ": " + p.Detail
	}
	return strings.Join(parts, "; ")
}

// ProblemsOf returns the problems err carries (Decode's), or nil.
func ProblemsOf(err error) []Problem {
	if ps, ok := err.(Problems); ok {
		return ps
	}
	return nil
}

// Unknown names the attributes Decode left alone because their value is not
// known yet: a variable not given to `validate`, a stage output before the
// stage ran, an attribute over `result` or `object`.
type Unknown struct {
	valid map[string]bool
	set   []string // a block has few attributes: no map for them
}

// Has reports whether any attribute of paths ("name", "resource.name") is
// unknown, itself or through the block that holds it. A path the struct does
// not declare panics: a misspelt name must not read as known.
func (u Unknown) Has(paths ...string) bool {
	for _, p := range paths {
		if !u.valid[p] {
			panic(fmt.Sprintf("steps: Unknown.Has(%q): no such attribute", p))
		}
		for q := p; ; {
			if slices.Contains(u.set, q) {
				return true
			}
			i := strings.LastIndexByte(q, '.')
			if i < 0 {
				break
			}
			q = q[:i]
		}
	}
	return false
}

// Any reports whether anything was unknown.
func (u Unknown) Any() bool { return len(u.set) > 0 }

// Decode reads cfg, a value of the schema SpecFor derives from *dst's type,
// into dst. Null attributes leave their field as it was (its default);
// unknown ones too, and are named in the Unknown returned. A known value
// that does not fit its field (a duration that does not parse, a fraction
// where a whole number goes) is a Problem in the error, which is Problems.
func Decode(cfg cty.Value, dst any) (Unknown, error) {
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		panic(fmt.Sprintf("steps.Decode: want a pointer to a struct, got %T", dst))
	}
	s := schemaOf(rv.Elem().Type())
	d := &decoder{u: Unknown{valid: s.paths}}
	// Not guarded by ContainsMarked: that walk costs more than unmarking,
	// which copies nothing when there is no mark.
	if cfg.Type() != cty.NilType {
		cfg, _ = cfg.UnmarkDeep()
	}
	d.object(cfg, rv.Elem(), s, nil)
	if len(d.problems) > 0 {
		return d.u, d.problems
	}
	return d.u, nil
}

// schema is what a tagged struct declares.
type schema struct {
	fields []field
	paths  map[string]bool // every attribute and block path, dotted
}

type field struct {
	index    []int
	name     string
	required bool
	ty       cty.Type // the attribute's type; NilType for a block
	nested   *schema  // the block's, or nil
	optional bool     // the Go field is a pointer
}

var schemas sync.Map // reflect.Type → *schema

var (
	durationType  = reflect.TypeFor[time.Duration]()
	valueType     = reflect.TypeFor[cty.Value]()
	analysisPtr   = reflect.TypeFor[*Analysis]()
	stringsType   = reflect.TypeFor[[]string]()
	stringMapType = reflect.TypeFor[map[string]string]()
)

func schemaOf(t reflect.Type) *schema {
	if s, ok := schemas.Load(t); ok {
		return s.(*schema)
	}
	if t.Kind() != reflect.Struct {
		panic(fmt.Sprintf("steps: a block is a struct, not %s", t))
	}
	s := &schema{paths: map[string]bool{}}
	for i := range t.NumField() {
		sf := t.Field(i)
		tag, ok := sf.Tag.Lookup("hcl")
		if !ok && sf.Anonymous && sf.Type.Kind() == reflect.Struct {
			// An embedded struct shares its attributes (a target's kind,
			// name and namespace) with the block.
			for _, f := range schemaOf(sf.Type).fields {
				f.index = append([]int{i}, f.index...)
				s.fields = append(s.fields, f)
			}
			for p := range schemaOf(sf.Type).paths {
				s.paths[p] = true
			}
			continue
		}
		if !ok {
			continue
		}
		opts := strings.Split(tag, ",")
		f := field{index: []int{i}, name: opts[0]}
		block, tyName := false, ""
		for _, o := range opts[1:] {
			switch {
			case o == "required":
				f.required = true
			case o == "block":
				block = true
			case strings.HasPrefix(o, "type="):
				tyName = strings.TrimPrefix(o, "type=")
			default:
				panic(fmt.Sprintf("steps: %s.%s: unknown tag option %q", t, sf.Name, o))
			}
		}
		ft := sf.Type
		if ft.Kind() == reflect.Pointer && ft != analysisPtr {
			f.optional = true
			ft = ft.Elem()
		}
		if block {
			f.nested = schemaOf(ft)
			for p := range f.nested.paths {
				s.paths[f.name+"."+p] = true
			}
		} else {
			f.ty = ctyTypeOf(ft, tyName, t, sf.Name)
		}
		s.paths[f.name] = true
		s.fields = append(s.fields, f)
	}
	schemas.Store(t, s)
	return s
}

func ctyTypeOf(ft reflect.Type, tyName string, owner reflect.Type, name string) cty.Type {
	if ft == valueType {
		switch tyName {
		case "", "dynamic":
			return cty.DynamicPseudoType
		case "string":
			return cty.String
		case "bool":
			return cty.Bool
		case "number":
			return cty.Number
		}
		panic(fmt.Sprintf("steps: %s.%s: unknown type %q", owner, name, tyName))
	}
	if tyName != "" {
		panic(fmt.Sprintf("steps: %s.%s: type= is for cty.Value fields", owner, name))
	}
	switch {
	case ft == durationType:
		return cty.String
	case ft == analysisPtr:
		return AnalysisType
	}
	switch ft.Kind() {
	case reflect.String:
		return cty.String
	case reflect.Bool:
		return cty.Bool
	case reflect.Int, reflect.Int32, reflect.Int64, reflect.Float64:
		return cty.Number
	case reflect.Slice:
		if ft.Elem().Kind() == reflect.String {
			return cty.List(cty.String)
		}
	case reflect.Map:
		if ft.Key().Kind() == reflect.String && (ft.Elem().Kind() == reflect.String ||
			ft.Elem().Kind() == reflect.Pointer && ft.Elem().Elem().Kind() == reflect.String) {
			return cty.Map(cty.String)
		}
	}
	panic(fmt.Sprintf("steps: %s.%s: no HCL type for %s", owner, name, ft))
}

func (s *schema) spec() hcldec.ObjectSpec {
	o := hcldec.ObjectSpec{}
	for _, f := range s.fields {
		if f.nested != nil {
			o[f.name] = &hcldec.BlockSpec{TypeName: f.name, Nested: f.nested.spec(), Required: f.required}
			continue
		}
		o[f.name] = &hcldec.AttrSpec{Name: f.name, Type: f.ty, Required: f.required}
	}
	return o
}

type decoder struct {
	u        Unknown
	problems Problems
}

// unknown notes the attribute or block at path as unknown.
func (d *decoder) unknown(path ...string) {
	if p := strings.Join(path, "."); !slices.Contains(d.u.set, p) {
		d.u.set = append(d.u.set, p)
	}
}

func (d *decoder) object(v cty.Value, dst reflect.Value, s *schema, path []string) {
	if v.Type() == cty.NilType || (v.IsKnown() && v.IsNull()) {
		return
	}
	if !v.IsKnown() {
		if len(path) > 0 {
			d.unknown(path...)
			return
		}
		for _, f := range s.fields {
			d.unknown(f.name)
		}
		return
	}
	for _, f := range s.fields {
		// The field's path, built only when something is said about it.
		p := func() []string { return append(slices.Clip(path), f.name) }
		a := attr(v, f.name)
		out := dst.FieldByIndex(f.index)
		if out.Type() == valueType {
			out.Set(reflect.ValueOf(a))
			if !a.IsWhollyKnown() {
				d.unknown(p()...)
			}
			continue
		}
		if a.IsNull() {
			continue
		}
		if !a.IsKnown() || (f.nested == nil && !a.IsWhollyKnown()) {
			d.unknown(p()...)
			if a.IsKnown() && (out.Kind() == reflect.Slice || out.Kind() == reflect.Map) {
				// A collection of which some elements are known keeps
				// those: `cutover rbac` and the checks use what they can.
				if !setStrings(a, out) {
					set(knownPart(a), out, f.name)
				}
			}
			continue
		}
		if f.optional {
			if out.IsNil() {
				out.Set(reflect.New(out.Type().Elem()))
			}
			out = out.Elem()
		}
		if f.nested != nil {
			d.object(a, out, f.nested, p())
			continue
		}
		if summary, detail := set(a, out, f.name); detail != "" {
			d.problems = append(d.problems, Problem{Path: p(), Summary: summary, Detail: detail})
		}
	}
}

// set stores a known, non-null value in a leaf field; a value that does not
// fit is a summary and a detail.
func set(a cty.Value, out reflect.Value, name string) (string, string) {
	switch {
	case out.Type() == durationType:
		d, err := ParseDuration(a.AsString())
		if err != nil {
			return "Invalid duration", err.Error()
		}
		out.SetInt(int64(d))
		return "", ""
	case out.Type() == analysisPtr:
		out.Set(reflect.ValueOf(AnalysisOf(a)))
		return "", ""
	case out.Kind() == reflect.Int || out.Kind() == reflect.Int32 || out.Kind() == reflect.Int64:
		f := a.AsBigFloat()
		i, acc := f.Int64()
		if !f.IsInt() || acc != big.Exact || out.OverflowInt(i) {
			return "Invalid " + name, fmt.Sprintf("%s must be a whole number; got %s.", name, f.Text('g', -1))
		}
		out.SetInt(i)
		return "", ""
	}
	if setStrings(a, out) {
		return "", ""
	}
	if err := gocty.FromCtyValue(a, out.Addr().Interface()); err != nil {
		return "Invalid " + name, fmt.Sprintf("%s: %s", name, err)
	}
	return "", ""
}

// setStrings stores a string, or the known elements of a list or map of
// strings none of which is null, as gocty would (set of knownPart), without
// its reflection over every element or a list of the known ones first: the
// most common fields of step blocks, decoded for every stage at load. It
// reports false, storing nothing, for anything else.
func setStrings(a cty.Value, out reflect.Value) bool {
	ty := a.Type()
	switch {
	case out.Kind() == reflect.String && ty == cty.String:
		out.SetString(a.AsString())
		return true
	case out.Type() == stringsType && ty.IsListType() && ty.ElementType() == cty.String:
		l := make([]string, 0, a.LengthInt())
		for it := a.ElementIterator(); it.Next(); {
			_, e := it.Element()
			if !e.IsKnown() {
				continue
			}
			if e.IsNull() {
				return false
			}
			l = append(l, e.AsString())
		}
		out.Set(reflect.ValueOf(l))
		return true
	case out.Type() == stringMapType && ty.IsMapType() && ty.ElementType() == cty.String:
		m := make(map[string]string, a.LengthInt())
		for it := a.ElementIterator(); it.Next(); {
			k, e := it.Element()
			if !e.IsKnown() {
				continue
			}
			if e.IsNull() {
				return false
			}
			m[k.AsString()] = e.AsString()
		}
		out.Set(reflect.ValueOf(m))
		return true
	}
	return false
}

// knownPart is a list or map without its unknown elements.
func knownPart(a cty.Value) cty.Value {
	var l []cty.Value
	m := map[string]cty.Value{}
	for it := a.ElementIterator(); it.Next(); {
		k, e := it.Element()
		if !e.IsKnown() {
			continue
		}
		if a.Type().IsMapType() {
			m[k.AsString()] = e
		} else {
			l = append(l, e)
		}
	}
	et := a.Type().ElementType()
	switch {
	case a.Type().IsMapType() && len(m) == 0:
		return cty.MapValEmpty(et)
	case a.Type().IsMapType():
		return cty.MapVal(m)
	case len(l) == 0:
		return cty.ListValEmpty(et)
	}
	return cty.ListVal(l)
}
