package engine

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/engine/config"
	"github.com/cutoverhq/cutover/notify"
)

// evalNotify evaluates the notify blocks' url and headers, which may use
// variables (docs/notifications.md). Messages never quote the URL.
func (p *Program) evalNotify() hcl.Diagnostics {
	var diags hcl.Diagnostics
	ctx := p.staticContext()
	for _, n := range p.Config.Notify {
		t := notify.Target{Name: n.Name, Format: n.Format, On: n.On, Timeout: n.Timeout}
		v, d := evalAs(n.URL, ctx, cty.String)
		diags = append(diags, d...)
		if v != cty.NilVal {
			t.URL = v.AsString()
			if d := config.CheckNotifyURL(t.URL, n.URL.Range()); d != nil {
				diags = append(diags, d)
			}
			if f, ok := notify.Lookup(n.Format); ok && f.SecretURL() && !p.sensitive(n.URL) {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Notify url is not sensitive",
					Detail: fmt.Sprintf("The URL of a %s incoming webhook is its credential: pass it in a variable with sensitive = true, so that it is masked in every output.", n.Format),
					// The block's header, not the url line: shown with its
					// source, that line would print the credential.
					Subject: n.DeclRange.Ptr()})
			}
		}
		hv, d := evalAs(n.Headers, ctx, cty.Map(cty.String))
		diags = append(diags, d...)
		if hv != cty.NilVal {
			t.Headers = map[string]string{}
			for k, h := range hv.AsValueMap() {
				if !h.IsNull() {
					t.Headers[k] = h.AsString()
				}
			}
		}
		p.Notify = append(p.Notify, t)
	}
	return diags
}

// sensitive says whether e's value carries the Sensitive mark.
func (p *Program) sensitive(e hcl.Expression) bool {
	v, d := e.Value(p.staticContext())
	return !d.HasErrors() && (v.HasMark(Sensitive) || v.ContainsMarked())
}
