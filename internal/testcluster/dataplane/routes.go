package dataplane

import (
	"net/http"
	"regexp"
	"sort"
	"strings"
)

// dest is where a route sends: a Service port (by number, or by name when
// number is 0), optionally only the pods with some labels (Istio subsets).
type dest struct {
	svc      serviceKey
	port     int32
	portName string
	subset   map[string]string
}

type matchKind int

const (
	matchExact matchKind = iota
	matchPrefix
	matchSegments // path prefix by whole segments (/foo matches /foo/bar, not /foobar)
	matchRegex
)

type stringMatch struct {
	kind  matchKind
	value string
	re    *regexp.Regexp
}

func (m stringMatch) matches(s string) bool {
	switch m.kind {
	case matchExact:
		return s == m.value
	case matchPrefix:
		return strings.HasPrefix(s, m.value)
	case matchSegments:
		v := strings.TrimSuffix(m.value, "/")
		return v == "" || s == v || strings.HasPrefix(s, v+"/")
	case matchRegex:
		return m.re != nil && m.re.MatchString(s)
	}
	return false
}

type headerMatch struct {
	name string
	stringMatch
}

// nginxCanary is an ingress-nginx canary Ingress attached to the main
// Ingress of the same host and path. Precedence, as ingress-nginx: header,
// then cookie, then weight.
type nginxCanary struct {
	to            dest
	header        string
	headerValue   string
	headerPattern *regexp.Regexp
	cookie        string
	weight, total int
}

// decide says whether r goes to the canary; intN is rand.IntN.
func (c *nginxCanary) decide(r *http.Request, intN func(int) int) bool {
	if c.header != "" {
		if v := r.Header.Get(c.header); v != "" {
			switch {
			case c.headerValue != "":
				if v == c.headerValue {
					return true
				}
			case c.headerPattern != nil:
				if c.headerPattern.MatchString(v) {
					return true
				}
			case v == "always":
				return true
			case v == "never":
				return false
			}
		}
	}
	if c.cookie != "" {
		if ck, err := r.Cookie(c.cookie); err == nil {
			switch ck.Value {
			case "always":
				return true
			case "never":
				return false
			}
		}
	}
	if c.weight <= 0 {
		return false
	}
	total := c.total
	if total <= 0 {
		total = 100
	}
	return intN(total) < c.weight
}

// rule is one route: which requests (hosts, path, headers) and where they
// go (a weighted split, or an nginx main/canary pair).
type rule struct {
	from    string   // "Ingress ns/name", for the router's log
	hosts   []string // lower case; "*" or empty: any; "*.example.com": a suffix
	path    stringMatch
	headers []headerMatch
	dests   []dest
	weights []int
	canary  *nginxCanary
}

func (r *rule) matches(host string, req *http.Request) bool {
	if !hostMatches(r.hosts, host) || !r.path.matches(req.URL.Path) {
		return false
	}
	for _, h := range r.headers {
		vals, ok := req.Header[http.CanonicalHeaderKey(h.name)]
		if !ok || !h.matches(strings.Join(vals, ",")) {
			return false
		}
	}
	return true
}

// choose picks r's destination for req; false when every weight is 0.
func (r *rule) choose(req *http.Request, intN func(int) int) (dest, bool) {
	if r.canary != nil && r.canary.decide(req, intN) {
		return r.canary.to, true
	}
	i := weighted(r.weights, intN)
	if i < 0 {
		return dest{}, false
	}
	return r.dests[i], true
}

func hostMatches(patterns []string, host string) bool {
	if len(patterns) == 0 {
		return true
	}
	for _, p := range patterns {
		switch {
		case p == "*" || p == host:
			return true
		case strings.HasPrefix(p, "*.") && strings.HasSuffix(host, p[1:]):
			return true
		}
	}
	return false
}

// table is the router's routes in effect. VirtualService routes come first,
// each VirtualService's in its order (Istio: first match wins); then Ingress
// and HTTPRoute rules, most specific first (exact path, longer path, more
// header matches — the Gateway API's precedence, which also fits nginx).
type table struct {
	ordered  []*rule
	specific []*rule
}

func newTable(ordered, specific []*rule) *table {
	sort.SliceStable(specific, func(i, j int) bool {
		a, b := specific[i], specific[j]
		if (a.path.kind == matchExact) != (b.path.kind == matchExact) {
			return a.path.kind == matchExact
		}
		if len(a.path.value) != len(b.path.value) {
			return len(a.path.value) > len(b.path.value)
		}
		if len(a.hosts) != len(b.hosts) {
			return len(a.hosts) > len(b.hosts) // a named host before "any host"
		}
		return len(a.headers) > len(b.headers)
	})
	return &table{ordered: ordered, specific: specific}
}

// match returns the rule for req, or nil.
func (t *table) match(req *http.Request) *rule {
	if t == nil {
		return nil
	}
	host := strings.ToLower(req.Host)
	if h, _, ok := strings.Cut(host, ":"); ok {
		host = h
	}
	for _, rs := range [][]*rule{t.ordered, t.specific} {
		for _, r := range rs {
			if r.matches(host, req) {
				return r
			}
		}
	}
	return nil
}
