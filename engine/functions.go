package engine

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	ctyyaml "github.com/zclconf/go-cty-yaml"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"

	"github.com/cutoverhq/cutover/engine/config"
)

// functions returns the functions available in expressions: the cty
// standard library under Terraform's names, plus file and templatefile,
// which read only files inside the pipeline directory.
func functions(dir string) map[string]function.Function {
	fns := map[string]function.Function{
		"abs": stdlib.AbsoluteFunc, "ceil": stdlib.CeilFunc, "chomp": stdlib.ChompFunc,
		"chunklist": stdlib.ChunklistFunc, "coalesce": stdlib.CoalesceFunc,
		"coalescelist": stdlib.CoalesceListFunc, "compact": stdlib.CompactFunc,
		"concat": stdlib.ConcatFunc, "contains": stdlib.ContainsFunc, "csvdecode": stdlib.CSVDecodeFunc,
		"distinct": stdlib.DistinctFunc, "element": stdlib.ElementFunc, "flatten": stdlib.FlattenFunc,
		"floor": stdlib.FloorFunc, "format": stdlib.FormatFunc, "formatdate": stdlib.FormatDateFunc,
		"formatlist": stdlib.FormatListFunc, "indent": stdlib.IndentFunc, "join": stdlib.JoinFunc,
		"jsondecode": stdlib.JSONDecodeFunc, "jsonencode": stdlib.JSONEncodeFunc, "keys": stdlib.KeysFunc,
		"length": lengthFunc, "log": stdlib.LogFunc, "lookup": stdlib.LookupFunc,
		"lower": stdlib.LowerFunc, "max": stdlib.MaxFunc, "merge": stdlib.MergeFunc, "min": stdlib.MinFunc,
		"parseint": stdlib.ParseIntFunc, "pow": stdlib.PowFunc, "range": stdlib.RangeFunc,
		"regex": stdlib.RegexFunc, "regexall": stdlib.RegexAllFunc, "replace": stdlib.ReplaceFunc,
		"reverse": stdlib.ReverseListFunc, "setintersection": stdlib.SetIntersectionFunc,
		"setproduct": stdlib.SetProductFunc, "setsubtract": stdlib.SetSubtractFunc,
		"setunion": stdlib.SetUnionFunc, "signum": stdlib.SignumFunc, "slice": stdlib.SliceFunc,
		"sort": stdlib.SortFunc, "split": stdlib.SplitFunc, "strrev": stdlib.ReverseFunc,
		"substr": stdlib.SubstrFunc, "timeadd": stdlib.TimeAddFunc, "title": stdlib.TitleFunc,
		"trim": stdlib.TrimFunc, "trimprefix": stdlib.TrimPrefixFunc, "trimspace": stdlib.TrimSpaceFunc,
		"trimsuffix": stdlib.TrimSuffixFunc, "upper": stdlib.UpperFunc, "values": stdlib.ValuesFunc,
		"zipmap": stdlib.ZipmapFunc, "tostring": stdlib.MakeToFunc(cty.String),
		"tonumber": stdlib.MakeToFunc(cty.Number), "tobool": stdlib.MakeToFunc(cty.Bool),
		"tolist": stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)),
		"tomap":  stdlib.MakeToFunc(cty.Map(cty.DynamicPseudoType)),
		"try":    tryfunc.TryFunc, "can": tryfunc.CanFunc,
		"yamlencode": ctyyaml.YAMLEncodeFunc, "yamldecode": ctyyaml.YAMLDecodeFunc,
		"base64encode": stringFunc(func(s string) (string, error) { return base64.StdEncoding.EncodeToString([]byte(s)), nil }),
		"base64decode": stringFunc(func(s string) (string, error) {
			b, err := base64.StdEncoding.DecodeString(s)
			return string(b), err
		}),
		"sha256": stringFunc(func(s string) (string, error) {
			h := sha256.Sum256([]byte(s))
			return hex.EncodeToString(h[:]), nil
		}),
	}
	fns["alltrue"] = boolListFunc(true)
	fns["anytrue"] = boolListFunc(false)
	fns["sum"] = function.New(&function.Spec{
		Params: []function.Parameter{{Name: "list", Type: cty.List(cty.Number)}},
		Type:   function.StaticReturnType(cty.Number),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			if !args[0].IsWhollyKnown() {
				return cty.UnknownVal(cty.Number), nil
			}
			total := cty.Zero
			for _, v := range args[0].AsValueSlice() {
				if v.IsNull() {
					return cty.NilVal, fmt.Errorf("sum: the list holds a null")
				}
				total = total.Add(v)
			}
			return total, nil
		},
	})
	fns["file"] = function.New(&function.Spec{
		Params: []function.Parameter{{Name: "path", Type: cty.String}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			b, _, err := readInDir("file", dir, args[0].AsString())
			return cty.StringVal(string(b)), err
		},
	})
	fns["templatefile"] = templateFileFunc(dir, fns, nil)
	return fns
}

// boolListFunc is alltrue (all = true) or anytrue: a gate's condition
// over many checks, such as every pod ready or any error seen.
func boolListFunc(all bool) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "list", Type: cty.List(cty.Bool)}},
		Type:   function.StaticReturnType(cty.Bool),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			unknown := false
			for _, v := range args[0].AsValueSlice() {
				switch {
				case !v.IsKnown():
					unknown = true
				case v.IsNull():
					return cty.NilVal, fmt.Errorf("the list holds a null")
				case v.True() != all:
					return cty.BoolVal(!all), nil
				}
			}
			if unknown {
				return cty.UnknownVal(cty.Bool), nil
			}
			return cty.BoolVal(all), nil
		},
	})
}

func stringFunc(f func(string) (string, error)) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "str", Type: cty.String}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			s, err := f(args[0].AsString())
			return cty.StringVal(s), err
		},
	})
}

// maxTemplateDepth bounds templatefile calls made from inside templates.
// A template cannot include itself (see templateFileFunc), so only a chain
// of distinct files, or of names for the same file, gets this deep.
const maxTemplateDepth = 16

// readInDir reads path, relative to the pipeline directory dir, for the
// function fn. A pipeline comes from a pull request: it must not be able to
// read the CI runner's files (an absolute path, "..", or a symbolic link
// leading out) and print them into a log, nor hang on a FIFO or exhaust
// memory. It returns the contents and the file's resolved path.
func readInDir(fn, dir, path string) ([]byte, string, error) {
	if path == "" {
		return nil, "", fmt.Errorf("%s: the path is empty", fn)
	}
	if filepath.IsAbs(path) {
		return nil, "", fmt.Errorf("%s: %s is an absolute path; only files inside the pipeline directory %s can be read, by a path relative to it", fn, path, dir)
	}
	if !filepath.IsLocal(path) {
		return nil, "", fmt.Errorf("%s: %s leads outside the pipeline directory %s; only files inside it can be read", fn, path, dir)
	}
	full := filepath.Join(dir, path)
	real, err := filepath.EvalSymlinks(full)
	if err != nil {
		return nil, "", fmt.Errorf("cannot read %s: %w", full, unwrapPath(err))
	}
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, "", fmt.Errorf("cannot read %s: %w", full, unwrapPath(err))
	}
	if rel, err := filepath.Rel(realDir, real); err != nil || !filepath.IsLocal(rel) {
		return nil, "", fmt.Errorf("%s: %s is a symbolic link to %s, outside the pipeline directory %s; only files inside it can be read", fn, path, real, dir)
	}
	// Opened through os.Root as well: a link swapped in after the check
	// above still cannot lead out.
	root, err := os.OpenRoot(realDir)
	if err != nil {
		return nil, "", fmt.Errorf("cannot read %s: %w", full, unwrapPath(err))
	}
	defer root.Close()
	rel, _ := filepath.Rel(realDir, real)
	f, err := root.Open(rel)
	if err != nil {
		return nil, "", fmt.Errorf("cannot read %s: %w", full, unwrapPath(err))
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return nil, "", fmt.Errorf("%s: %s is not a regular file", fn, path)
	}
	b, err := io.ReadAll(io.LimitReader(f, config.MaxFileSize+1))
	if err != nil {
		return nil, "", fmt.Errorf("cannot read %s: %w", full, unwrapPath(err))
	}
	if len(b) > config.MaxFileSize {
		return nil, "", fmt.Errorf("%s: %s is larger than %d MiB, the most %s reads", fn, path, config.MaxFileSize>>20, fn)
	}
	return b, real, nil
}

// unwrapPath drops the *PathError around err: the message names the path
// already.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// templateCall is one templatefile call in progress: the path as written
// (for messages) and as resolved (to recognise a file by any name).
type templateCall struct{ name, real string }

// chainError is a templatefile error about the chain of calls; an outer
// templatefile passes it up as it is rather than wrapping it once per
// level.
type chainError struct{ msg string }

func (e *chainError) Error() string { return e.msg }

// templateFileFunc is templatefile for a template called from the chain of
// templates in calls (none at the top level). Templates render with the
// same functions, so a template can include another; the chain is how a
// template that includes itself, directly or through others, is an error
// instead of a stack overflow.
func templateFileFunc(dir string, fns map[string]function.Function, calls []templateCall) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{
			{Name: "path", Type: cty.String},
			// Unknown vars still render (to an unknown string), so that a
			// recursive or broken template is found by validate, not only
			// when the stage runs.
			{Name: "vars", Type: cty.DynamicPseudoType, AllowUnknown: true},
		},
		Type: function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			return templateFile(dir, args[0].AsString(), args[1], fns, calls)
		},
	})
}

func templateFile(dir, path string, vars cty.Value, fns map[string]function.Function, calls []templateCall) (cty.Value, error) {
	if len(calls) >= maxTemplateDepth {
		return cty.NilVal, &chainError{fmt.Sprintf("templatefile: templates include one another more than %d deep: %s",
			maxTemplateDepth, chainString(calls, path))}
	}
	src, real, err := readInDir("templatefile", dir, path)
	if err != nil {
		return cty.NilVal, err
	}
	for _, c := range calls {
		if c.real == real {
			return cty.NilVal, &chainError{"templatefile: recursion: " + chainString(calls, path)}
		}
	}
	if d := config.CheckSource(src, path, config.TemplateSource); d != nil {
		return cty.NilVal, fmt.Errorf("%s: %s", d.Subject, d.Detail)
	}
	tmpl, diags := hclsyntax.ParseTemplate(src, path, hcl.InitialPos)
	if diags.HasErrors() {
		return cty.NilVal, fmt.Errorf("%s", diags.Error())
	}
	if !vars.IsKnown() {
		return cty.UnknownVal(cty.String), nil
	}
	if vars.IsNull() || !vars.Type().IsObjectType() && !vars.Type().IsMapType() {
		return cty.NilVal, fmt.Errorf("templatefile: vars must be an object or a map")
	}
	inner := make(map[string]function.Function, len(fns))
	for k, f := range fns {
		inner[k] = f
	}
	inner["templatefile"] = templateFileFunc(dir, fns, append(calls[:len(calls):len(calls)], templateCall{path, real}))
	ctx := &hcl.EvalContext{Variables: vars.AsValueMap(), Functions: inner}
	for _, tr := range tmpl.Variables() {
		if _, ok := ctx.Variables[tr.RootName()]; !ok {
			return cty.NilVal, fmt.Errorf("%s: the template uses %q, which the vars argument does not give", tr.SourceRange(), tr.RootName())
		}
	}
	v, diags := tmpl.Value(ctx)
	if diags.HasErrors() {
		for _, d := range diags {
			if extra, ok := hcl.DiagnosticExtra[hclsyntax.FunctionCallDiagExtra](d); ok {
				var ce *chainError
				if errors.As(extra.FunctionCallError(), &ce) {
					return cty.NilVal, ce
				}
			}
		}
		return cty.NilVal, fmt.Errorf("%s", diags.Error())
	}
	// A template that is one interpolation ("${x}") yields x itself,
	// which may be a number; templatefile returns a string.
	s, err := convert.Convert(v, cty.String)
	if err != nil {
		return cty.NilVal, fmt.Errorf("templatefile: %s renders to a %s, not a string", path, v.Type().FriendlyName())
	}
	return s, nil
}

// chainString is the chain of templates, as written, ending with next.
func chainString(calls []templateCall, next string) string {
	names := make([]string, 0, len(calls)+1)
	for _, c := range calls {
		names = append(names, c.name)
	}
	return strings.Join(append(names, next), " → ")
}

// lengthFunc is the length of a collection or object, or the number of
// characters of a string (as Terraform's length), so a gate can say
// length(var.tag) > 0.
var lengthFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "value", Type: cty.DynamicPseudoType, AllowDynamicType: true, AllowUnknown: true, AllowMarked: true}},
	Type:   function.StaticReturnType(cty.Number),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		v, marks := args[0].Unmark()
		if v.Type() == cty.String {
			if !v.IsKnown() {
				return cty.UnknownVal(cty.Number).WithMarks(marks), nil
			}
			if v.IsNull() {
				return cty.NilVal, fmt.Errorf("argument must not be null")
			}
			n, err := stdlib.Strlen(v)
			return n.WithMarks(marks), err
		}
		if v.Type().IsObjectType() { // {a = 1} in HCL is an object
			return cty.NumberIntVal(int64(len(v.Type().AttributeTypes()))).WithMarks(marks), nil
		}
		n, err := stdlib.Length(v)
		return n.WithMarks(marks), err
	},
})
