package config

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/notify"
	"github.com/cutoverhq/cutover/steps"
)

// Notify is a `notify "NAME" {}` block: where to tell people about the
// run's events (docs/notifications.md). format, on and timeout are
// literals, checked here; url and headers may use variables (a webhook's
// URL is a credential: a sensitive variable) and are evaluated by the
// engine.
type Notify struct {
	Name      string
	Format    string
	On        []string
	Timeout   time.Duration
	URL       hcl.Expression
	Headers   hcl.Expression // nil: none
	DeclRange hcl.Range
}

var notifySchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "url", Required: true}, {Name: "format"}, {Name: "on"}, {Name: "headers"}, {Name: "timeout"},
	},
}

func (c *Config) addNotify(b *hcl.Block) hcl.Diagnostics {
	n, diags := decodeNotifyBlock(b)
	for _, prev := range c.Notify {
		if prev.Name == n.Name {
			return append(diags, duplicate("notify", n.Name, prev.DeclRange, b.DefRange))
		}
	}
	c.Notify = append(c.Notify, n)
	return diags
}

func decodeNotifyBlock(b *hcl.Block) (*Notify, hcl.Diagnostics) {
	n := &Notify{Name: b.Labels[0], Format: "webhook", On: notify.DefaultOn, Timeout: notify.DefaultTimeout, DeclRange: b.DefRange}
	diags := validName("notify", n.Name, b.LabelRanges[0])
	content, d := b.Body.Content(notifySchema)
	diags = append(diags, d...)
	n.URL, n.Headers = attrExpr(content, "url"), attrExpr(content, "headers")
	if a, ok := content.Attributes["format"]; ok {
		diags = append(diags, decodeLiteral(a, cty.String, func(v cty.Value) { n.Format = v.AsString() })...)
		if _, ok := notify.Lookup(n.Format); !ok && !diags.HasErrors() {
			diags = append(diags, oneOf("format", n.Format, notify.Formats(), a.Expr.Range()))
		}
	}
	if a, ok := content.Attributes["on"]; ok {
		d := decodeLiteral(a, cty.List(cty.String), func(cty.Value) {})
		if diags = append(diags, d...); !d.HasErrors() {
			diags = append(diags, n.decodeOn(a)...)
		}
	}
	if a, ok := content.Attributes["timeout"]; ok {
		diags = append(diags, decodeLiteral(a, cty.String, func(v cty.Value) {
			d, err := steps.ParseDuration(v.AsString())
			if err == nil && d <= 0 {
				err = fmt.Errorf("the timeout must be more than zero")
			}
			if err != nil {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid timeout",
					Detail: err.Error() + ".", Subject: a.Expr.Range().Ptr()})
				return
			}
			n.Timeout = d
		})...)
	}
	if n.URL != nil && len(n.URL.Variables()) == 0 {
		// A literal URL is checked here; one from variables once they are
		// known (engine).
		if v, d := n.URL.Value(nil); !d.HasErrors() && v.Type() == cty.String && v.IsKnown() && !v.IsNull() {
			if d := CheckNotifyURL(v.AsString(), n.URL.Range()); d != nil {
				diags = append(diags, d)
			}
		}
	}
	return n, diags
}

// decodeOn reads `on`, each unknown event reported at its own element.
func (n *Notify) decodeOn(a *hcl.Attribute) hcl.Diagnostics {
	var diags hcl.Diagnostics
	elems := []hcl.Expression{a.Expr}
	if t, ok := a.Expr.(*hclsyntax.TupleConsExpr); ok {
		elems = elems[:0]
		for _, e := range t.Exprs {
			elems = append(elems, e)
		}
	}
	n.On = nil
	for _, e := range elems {
		v, d := e.Value(nil)
		if d.HasErrors() || v.Type() != cty.String || v.IsNull() {
			continue // decodeLiteral reported it
		}
		s := v.AsString()
		if !slices.Contains(notify.Events, s) {
			diags = append(diags, oneOf("on", s, notify.Events, e.Range()))
			continue
		}
		if !slices.Contains(n.On, s) {
			n.On = append(n.On, s)
		}
	}
	if len(n.On) == 0 && !diags.HasErrors() {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid on",
			Detail:  fmt.Sprintf("on lists the events to notify, one or more of %s; remove the notify block to notify nothing.", quoted(notify.Events)),
			Subject: a.Expr.Range().Ptr()})
	}
	return diags
}

// CheckNotifyURL reports a URL a notification cannot be POSTed to. The
// message never quotes the URL: an incoming webhook's address is its
// credential.
func CheckNotifyURL(raw string, rng hcl.Range) *hcl.Diagnostic {
	u, err := url.Parse(raw)
	why := ""
	switch {
	case err != nil:
		why = "it is not a URL"
	case u.Scheme != "http" && u.Scheme != "https":
		why = "it must start with https:// (or http://)"
	case u.Host == "":
		why = "it names no host"
	}
	if why == "" {
		return nil
	}
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid notify url",
		Detail: "The notification URL is invalid: " + why + ".", Subject: rng.Ptr()}
}

func oneOf(attr, got string, valid []string, rng hcl.Range) *hcl.Diagnostic {
	detail := fmt.Sprintf("%s is one of %s, not %q.", attr, quoted(valid), got)
	if s := suggest(got, valid); s != "" {
		detail += fmt.Sprintf(" Did you mean %q?", s)
	}
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid " + attr, Detail: detail, Subject: rng.Ptr()}
}

func quoted(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, ", ")
}
