package dataplane

import (
	"regexp"
	"sort"
	"strconv"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
)

// The ingress-nginx canary annotations the router understands.
const (
	nginxPrefix        = "nginx.ingress.kubernetes.io/"
	annCanary          = nginxPrefix + "canary"
	annWeight          = nginxPrefix + "canary-weight"
	annWeightTotal     = nginxPrefix + "canary-weight-total"
	annByHeader        = nginxPrefix + "canary-by-header"
	annByHeaderValue   = nginxPrefix + "canary-by-header-value"
	annByHeaderPattern = nginxPrefix + "canary-by-header-pattern"
	annByCookie        = nginxPrefix + "canary-by-cookie"
)

// ingressRules turns Ingresses into rules: each host and path of a main
// Ingress is a rule; a canary Ingress (canary: "true") is attached to the
// main rule of the same host and path, as ingress-nginx does, and is
// ignored when there is none. Every Ingress is served whatever its class.
func ingressRules(ings []*networkingv1.Ingress) []*rule {
	sort.Slice(ings, func(i, j int) bool { // oldest first: the main one when two claim a path
		a, b := ings[i], ings[j]
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.CreationTimestamp.Before(&b.CreationTimestamp)
		}
		return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
	})
	type pathKey struct{ ns, host, path string }
	main := map[pathKey]*rule{}
	var out []*rule
	var canaries []*networkingv1.Ingress
	for _, ing := range ings {
		if ing.Annotations[annCanary] == "true" {
			canaries = append(canaries, ing)
			continue
		}
		eachIngressPath(ing, func(host, path string, m stringMatch, d dest) {
			k := pathKey{ing.Namespace, host, path}
			if main[k] != nil {
				return
			}
			r := &rule{from: "Ingress " + ing.Namespace + "/" + ing.Name, path: m, dests: []dest{d}, weights: []int{1}}
			if host != "" {
				r.hosts = []string{host}
			}
			main[k] = r
			out = append(out, r)
		})
	}
	for _, ing := range canaries {
		c := canaryOf(ing.Annotations)
		eachIngressPath(ing, func(host, path string, _ stringMatch, d dest) {
			if r := main[pathKey{ing.Namespace, host, path}]; r != nil && r.canary == nil {
				cc := c
				cc.to = d
				r.canary = &cc
			}
		})
	}
	return out
}

func canaryOf(ann map[string]string) nginxCanary {
	c := nginxCanary{
		header:      ann[annByHeader],
		headerValue: ann[annByHeaderValue],
		cookie:      ann[annByCookie],
		total:       100,
	}
	if p := ann[annByHeaderPattern]; p != "" && c.headerValue == "" {
		c.headerPattern, _ = regexp.Compile(p) // an invalid pattern matches nothing, as in nginx
	}
	if w, err := strconv.Atoi(strings.TrimSpace(ann[annWeight])); err == nil {
		c.weight = w
	}
	if t, err := strconv.Atoi(strings.TrimSpace(ann[annWeightTotal])); err == nil && t > 0 {
		c.total = t
	}
	return c
}

// eachIngressPath calls fn for each host and path of ing with a Service
// backend (and its default backend, as host "" path "/").
func eachIngressPath(ing *networkingv1.Ingress, fn func(host, path string, m stringMatch, d dest)) {
	svcDest := func(b *networkingv1.IngressServiceBackend) (dest, bool) {
		if b == nil {
			return dest{}, false
		}
		return dest{svc: serviceKey{ing.Namespace, b.Name}, port: b.Port.Number, portName: b.Port.Name}, true
	}
	for _, r := range ing.Spec.Rules {
		if r.HTTP == nil {
			continue
		}
		host := strings.ToLower(r.Host)
		for _, p := range r.HTTP.Paths {
			d, ok := svcDest(p.Backend.Service)
			if !ok {
				continue
			}
			path := p.Path
			if path == "" {
				path = "/"
			}
			m := stringMatch{kind: matchSegments, value: path}
			if p.PathType != nil {
				switch *p.PathType {
				case networkingv1.PathTypeExact:
					m.kind = matchExact
				case networkingv1.PathTypeImplementationSpecific:
					m.kind = matchPrefix // nginx: a plain prefix
				}
			}
			fn(host, strconv.Itoa(int(m.kind))+path, m, d)
		}
	}
	if ing.Spec.DefaultBackend != nil {
		if d, ok := svcDest(ing.Spec.DefaultBackend.Service); ok {
			fn("", "default", stringMatch{kind: matchPrefix, value: ""}, d)
		}
	}
}
