package route

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/steps"
)

// decode turns JSON into the []any shape unstructured objects hold (numbers
// as int64, like the apiserver's decoder).
func decode(t *testing.T, s string) []any {
	t.Helper()
	var v []any
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return fixNumbers(v).([]any)
}

func fixNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		n, _ := x.Int64()
		return n
	case []any:
		for i := range x {
			x[i] = fixNumbers(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = fixNumbers(x[k])
		}
	}
	return v
}

func js(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRewriteHTTPRouteWeights(t *testing.T) {
	rules := decode(t, `[
	 {"matches":[{"path":{"type":"PathPrefix","value":"/api"}}],"backendRefs":[{"name":"web-stable","port":80}]},
	 {"matches":[{"path":{"type":"PathPrefix","value":"/static"}}],"backendRefs":[{"name":"cdn","port":80}]}
	]`)
	before := js(t, rules)
	got, err := rewriteHTTPRoute(rules, "web-stable", "web-canary", 20, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"backendRefs":[{"name":"web-stable","port":80,"weight":80},{"name":"web-canary","port":80,"weight":20}],"matches":[{"path":{"type":"PathPrefix","value":"/api"}}]},` +
		`{"backendRefs":[{"name":"cdn","port":80}],"matches":[{"path":{"type":"PathPrefix","value":"/static"}}]}]`
	if js(t, got) != want {
		t.Fatalf("rules =\n%s\nwant\n%s", js(t, got), want)
	}
	if js(t, rules) != before {
		t.Fatal("rewrite modified its input")
	}
	// A second step moves the weight without adding a second canary ref.
	again, err := rewriteHTTPRoute(got, "web-stable", "web-canary", 100, nil)
	if err != nil {
		t.Fatal(err)
	}
	refs := list(obj(again[0])["backendRefs"])
	if len(refs) != 2 || obj(refs[0])["weight"] != int64(0) || obj(refs[1])["weight"] != int64(100) {
		t.Fatalf("second rewrite refs = %s", js(t, refs))
	}
}

func TestRewriteHTTPRouteHeader(t *testing.T) {
	rules := decode(t, `[{"name":"api","matches":[{"path":{"type":"PathPrefix","value":"/"}}],"backendRefs":[{"name":"s","port":80},{"name":"c","port":80}]}]`)
	got, err := rewriteHTTPRoute(rules, "s", "c", 0, &Header{Name: "x-canary", Value: "yes"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("want header rule + weighted rule, got %s", js(t, got))
	}
	hdr := obj(got[0])
	wantHdr := `{"backendRefs":[{"name":"c","port":80}],"matches":[{"headers":[{"name":"x-canary","type":"Exact","value":"yes"}],"path":{"type":"PathPrefix","value":"/"}}]}`
	if js(t, hdr) != wantHdr {
		t.Fatalf("header rule = %s\nwant %s", js(t, hdr), wantHdr)
	}
	// The next step without a header drops the header rule, with one
	// replaces it: never two.
	plain, err := rewriteHTTPRoute(got, "s", "c", 10, nil)
	if err != nil || len(plain) != 1 || str(obj(plain[0])["name"]) != "api" {
		t.Fatalf("without header: %s, %v", js(t, plain), err)
	}
	again, err := rewriteHTTPRoute(got, "s", "c", 10, &Header{Name: "x-canary", Value: "no"})
	if err != nil || len(again) != 2 || !strings.Contains(js(t, again[0]), `"value":"no"`) {
		t.Fatalf("header replaced: %s, %v", js(t, again), err)
	}
}

func TestRewriteHTTPRouteNoMatch(t *testing.T) {
	_, err := rewriteHTTPRoute(decode(t, `[{"backendRefs":[{"name":"other","port":80}]}]`), "s", "c", 10, nil)
	if err == nil || !strings.Contains(err.Error(), `"other"`) || !strings.Contains(err.Error(), `"s"`) {
		t.Fatalf("want an error naming the services, got %v", err)
	}
}

func TestRewriteVirtualService(t *testing.T) {
	http := decode(t, `[{"name":"main","match":[{"uri":{"prefix":"/"}}],"route":[{"destination":{"host":"web","subset":"stable"}}]}]`)
	got, err := rewriteVirtualService(http, "web", "stable", "canary", true, 30, &Header{Name: "x-user", Value: "beta"})
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"match":[{"headers":{"x-user":{"exact":"beta"}},"uri":{"prefix":"/"}}],"name":"cutover-canary-header-1","route":[{"destination":{"host":"web","subset":"canary"}}]},` +
		`{"match":[{"uri":{"prefix":"/"}}],"name":"main","route":[{"destination":{"host":"web","subset":"stable"},"weight":70},{"destination":{"host":"web","subset":"canary"},"weight":30}]}]`
	if js(t, got) != want {
		t.Fatalf("http =\n%s\nwant\n%s", js(t, got), want)
	}
	plain, err := rewriteVirtualService(got, "web", "stable", "canary", true, 0, nil)
	if err != nil || len(plain) != 1 {
		t.Fatalf("header route must go when the step has no header: %s %v", js(t, plain), err)
	}
	hosts := decode(t, `[{"route":[{"destination":{"host":"web-v1"}}]}]`)
	got, err = rewriteVirtualService(hosts, "", "web-v1", "web-v2", false, 50, nil)
	if err != nil || js(t, got) != `[{"route":[{"destination":{"host":"web-v1"},"weight":50},{"destination":{"host":"web-v2"},"weight":50}]}]` {
		t.Fatalf("hosts mode: %s %v", js(t, got), err)
	}
	if _, err := rewriteVirtualService(http, "other", "stable", "canary", true, 10, nil); err == nil {
		t.Fatal("a host no route sends to must be an error")
	}
	mixed := decode(t, `[{"route":[{"destination":{"host":"web","subset":"stable"},"weight":50},{"destination":{"host":"legacy"},"weight":50}]}]`)
	if _, err := rewriteVirtualService(mixed, "web", "stable", "canary", true, 10, nil); err == nil || !strings.Contains(err.Error(), "legacy") {
		t.Fatalf("a third destination must be refused by name, got %v", err)
	}
}

func TestNginxAnnotations(t *testing.T) {
	got := nginxAnnotations(25, &Header{Name: "x-canary", Value: "always"}, "")
	want := map[string]string{
		nginxCanary: "true", nginxCanary + "-weight": "25",
		nginxCanary + "-by-header": "x-canary", nginxCanary + "-by-header-value": "always",
	}
	for k, v := range got {
		if w, ok := want[k]; ok {
			if v == nil || *v != w {
				t.Errorf("%s = %v, want %q", k, v, w)
			}
		} else if v != nil {
			t.Errorf("%s = %q, want removed", k, *v)
		}
	}
	if len(got) != len(nginxManaged) {
		t.Fatalf("every managed annotation must be set or removed, got %d of %d", len(got), len(nginxManaged))
	}
	zero := nginxAnnotations(0, nil, "canary")
	if *zero[nginxCanary] != "true" || *zero[nginxCanary+"-weight"] != "0" || zero[nginxCanary+"-by-header"] != nil || *zero[nginxCanary+"-by-cookie"] != "canary" {
		t.Fatalf("weight 0 keeps canary=true and sets the cookie: %v", zero)
	}
}

func TestTrafficCheck(t *testing.T) {
	base := func(router string, weight cty.Value) map[string]cty.Value {
		return map[string]cty.Value{"router": cty.StringVal(router), "weight": weight, "ingress": cty.StringVal("c"),
			"route": cty.NullVal(cty.String), "stable": cty.NullVal(cty.String), "canary": cty.NullVal(cty.String),
			"virtual_service": cty.NullVal(cty.String), "host": cty.NullVal(cty.String), "cookie": cty.NullVal(cty.String),
			"header": cty.NullVal(cty.DynamicPseudoType)}
	}
	k := trafficKind{}
	for _, c := range []struct {
		name string
		cfg  map[string]cty.Value
		want []string
	}{
		{"ok", base("ingress-nginx", cty.NumberIntVal(10)), nil},
		{"too heavy", base("ingress-nginx", cty.NumberIntVal(101)), []string{"Invalid weight"}},
		{"negative", base("ingress-nginx", cty.NumberIntVal(-1)), []string{"Invalid weight"}},
		{"fraction", base("ingress-nginx", cty.NumberFloatVal(2.5)), []string{"Invalid weight"}},
		{"unknown weight", base("ingress-nginx", cty.UnknownVal(cty.Number)), nil},
		{"bad router", base("traefik", cty.NumberIntVal(1)), []string{"Unknown router"}},
		{"gateway needs route", base("gateway-api", cty.NumberIntVal(1)), []string{"Missing attribute", "Missing attribute", "Missing attribute"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := summaries(k.Check(cty.ObjectVal(c.cfg))); !reflect.DeepEqual(got, c.want) {
				t.Fatalf("Check = %q, want %q", got, c.want)
			}
		})
	}
}

func TestAnnotationsDiff(t *testing.T) {
	live := map[string]string{nginxCanary: "true", nginxCanary + "-weight": "10", nginxCanary + "-by-cookie": "c"}
	got := annotationsDiff("ingress/web", live, nginxAnnotations(30, &Header{Name: "x"}, ""))
	want := "ingress/web: - " + nginxCanary + `-by-cookie="c"` + "\n" +
		"ingress/web: + " + nginxCanary + `-by-header="x"` + "\n" +
		"ingress/web: ~ " + nginxCanary + `-weight="10" → "30"` + "\n"
	if got != want {
		t.Fatalf("diff =\n%s\nwant\n%s", got, want)
	}
}

func TestRegistered(t *testing.T) {
	for _, n := range []string{"switch_selector", "switch_backend", "label", "traffic"} {
		if _, ok := steps.Default.Lookup(n); !ok {
			t.Errorf("kind %q is not registered", n)
		}
	}
}

// TestTrafficMatchChecks: the routers that match a header exactly need its
// value, and only ingress-nginx takes a cookie.
func TestTrafficMatchChecks(t *testing.T) {
	gateway := func(set map[string]cty.Value) cty.Value {
		cfg := map[string]cty.Value{"router": cty.StringVal("gateway-api"), "weight": cty.NumberIntVal(10),
			"ingress": cty.NullVal(cty.String), "route": cty.StringVal("r"), "stable": cty.StringVal("s"), "canary": cty.StringVal("c"),
			"virtual_service": cty.NullVal(cty.String), "host": cty.NullVal(cty.String), "cookie": cty.NullVal(cty.String),
			"header": cty.NullVal(cty.DynamicPseudoType)}
		for k, v := range set {
			cfg[k] = v
		}
		return cty.ObjectVal(cfg)
	}
	header := func(value cty.Value) map[string]cty.Value {
		return map[string]cty.Value{"header": cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal("x-canary"), "value": value})}
	}
	for _, c := range []struct {
		name string
		cfg  cty.Value
		want []string
	}{
		{"header with a value", gateway(header(cty.StringVal("yes"))), nil},
		{"header without a value", gateway(header(cty.NullVal(cty.String))), []string{"Missing header value"}},
		{"header with an empty value", gateway(header(cty.StringVal(""))), []string{"Missing header value"}},
		{"header value not known yet", gateway(header(cty.UnknownVal(cty.String))), nil},
		{"cookie", gateway(map[string]cty.Value{"cookie": cty.StringVal("canary")}), []string{"Cookie match not supported"}},
		{"cookie not known yet", gateway(map[string]cty.Value{"cookie": cty.UnknownVal(cty.String)}), nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := summaries(trafficKind{}.Check(c.cfg)); !reflect.DeepEqual(got, c.want) {
				t.Fatalf("Check = %q, want %q", got, c.want)
			}
		})
	}
}
