package local

import (
	"fmt"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/internal/callout"
	"github.com/cutoverhq/cutover/steps"
)

func (httpKind) Check(cfg cty.Value) []steps.Problem {
	c := newHTTPConfig()
	u, err := steps.Decode(cfg, &c)
	out := steps.ProblemsOf(err)
	if !u.Has("url") {
		if err := callout.CheckURL(c.URL); err != nil {
			out = append(out, steps.Problem{Path: []string{"url"}, Summary: "Invalid URL", Detail: err.Error()})
		}
	}
	return append(out, c.check(u)...)
}

// check reports the problems of the request's known values.
func (c request) check(u steps.Unknown) []steps.Problem {
	var out []steps.Problem
	if !u.Has("method") {
		if detail := checkMethod(c.Method); detail != "" {
			out = append(out, steps.Problem{Path: []string{"method"}, Summary: "Invalid HTTP method", Detail: detail})
		}
	}
	if es := c.ExpectStatus; es.IsKnown() && !es.IsNull() {
		if _, err := statusCodes(es); err != nil {
			out = append(out, steps.Problem{Path: []string{"expect_status"}, Summary: "Invalid expect_status", Detail: err.Error()})
		}
	}
	return out
}

// checkMethod accepts any upper-case token: the standard methods and the
// extension ones proxies use (PURGE, BAN). Lower case is refused because
// methods are case-sensitive and "get" is not GET to most servers.
func checkMethod(m string) string {
	if m == "" {
		return `method is empty; use GET, POST, PUT, PATCH, DELETE or HEAD.`
	}
	for _, r := range m {
		if r < 'A' || r > 'Z' {
			if up := strings.ToUpper(m); up != m {
				return fmt.Sprintf("%q is not a method; HTTP methods are case-sensitive, use %q.", m, up)
			}
			return fmt.Sprintf("%q is not a method; use GET, POST, PUT, PATCH, DELETE or HEAD.", m)
		}
	}
	return ""
}
