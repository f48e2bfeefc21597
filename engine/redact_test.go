package engine

import (
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

const redactVars = `
pipeline "p" {}
variable "pin" {
  type      = number
  sensitive = true
}
variable "db" {
  type      = object({ user = string, port = number, hosts = list(string), opts = map(string), flags = set(string) })
  sensitive = true
}
variable "short" {
  sensitive = true
  default   = "ab"
}
variable "on" {
  type      = bool
  sensitive = true
  default   = true
}
variable "empty" {
  sensitive = true
  default   = ""
}
variable "plain" {
  type    = number
  default = 12345
}
stage "a" {
  step { value = "x" }
}
`

func TestSecretsCoverNumbersAndNestedValues(t *testing.T) {
	p, diags := load(t, newLog(), map[string]string{"p.hcl": redactVars}, Inputs{Vars: []string{
		"pin=48213",
		`db={user = "svc-admin", port = 54321, hosts = ["db1.internal"], opts = {sslkey = "k3y-file"}, flags = ["fl4g"]}`,
	}})
	if diags.HasErrors() {
		t.Fatal(dump(diags))
	}
	got := p.Secrets()
	slices.Sort(got)
	want := []string{"48213", "54321", "db1.internal", "fl4g", "k3y-file", "svc-admin"}
	if !slices.Equal(got, want) {
		t.Fatalf("secrets %q, want %q (12345 is not sensitive; ab, true and \"\" cannot be masked)", got, want)
	}

	// The redactor hides a number in text, however a command printed it,
	// and in JSON as a bare number or inside a string, leaving valid JSON.
	red := p.Redactor()
	for in, want := range map[string]string{
		"pin=48213":                   "pin=***",
		"pin=48213.0 (048213)":        "pin=***.0 (0***)",
		"port 54321, 4821":            "port ***, 4821",
		"user svc-admin@db1.internal": "user ***@***",
	} {
		if got := red.String(in); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		`{"o":"pin=48213"}`:                `{"o":"pin=***"}`,
		`{"o":48213,"n":7,"s":"a 48213"}`:  `{"n":7,"o":"***","s":"a ***"}`,
		`{"o":[148213.5,{"svc-admin":1}]}`: `{"o":["***",{"***":1}]}`,
	} {
		if got := string(red.JSON([]byte(in))); got != want {
			t.Errorf("JSON(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestShortSensitiveValuesAreWarnedAbout(t *testing.T) {
	_, diags := load(t, newLog(), map[string]string{"p.hcl": redactVars}, Inputs{Vars: []string{
		"pin=7",
		`db={user = "me", port = 54321, hosts = ["db1.internal", "x"], opts = {k = "v1"}, flags = []}`,
	}})
	if diags.HasErrors() {
		t.Fatal(dump(diags))
	}
	var got []string
	for _, d := range diags {
		if d.Severity != hcl.DiagWarning || d.Summary != "Sensitive value too short to mask" {
			t.Fatalf("unexpected diagnostic: %s", dump(hcl.Diagnostics{d}))
		}
		if strings.Contains(d.Detail, `"me"`) || strings.Contains(d.Detail, "v1") {
			t.Errorf("the warning quotes the value: %s", d.Detail)
		}
		_, what, _ := strings.Cut(d.Detail, "sensitive, but ")
		what, _, _ = strings.Cut(what, ". Expressions")
		got = append(got, what)
	}
	slices.Sort(got)
	// pin (7), short (ab), on (a bool), and three leaves of db; not the
	// empty string, nor db's long values.
	want := []string{
		"its value is a bool",
		"its value is shorter than 3 characters",
		"its value is shorter than 3 characters",
		`var.db.hosts[1] is shorter than 3 characters`,
		`var.db.opts["k"] is shorter than 3 characters`,
		"var.db.user is shorter than 3 characters",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("warnings about\n%q\nwant\n%q", got, want)
	}
}
