package words

import "testing"

func TestCount(t *testing.T) {
	for _, c := range []struct {
		n    int
		noun string
		want string
	}{
		{0, "stage", "0 stages"},
		{1, "stage", "1 stage"},
		{2, "stage", "2 stages"},
		{1, "variable", "1 variable"},
		{3, "diagnostic", "3 diagnostics"},
		{2, "pass", "2 passes"},
		{2, "dependency", "2 dependencies"},
		{2, "day", "2 days"},
	} {
		if got := Count(c.n, c.noun); got != c.want {
			t.Errorf("Count(%d, %q) = %q, want %q", c.n, c.noun, got, c.want)
		}
	}
}

func TestA(t *testing.T) {
	for word, want := range map[string]string{
		"object":         "an object",
		"number":         "a number",
		`"exec"`:         `an "exec"`,
		`"deploy"`:       `a "deploy"`,
		"list of string": "a list of string",
		"":               "a ",
	} {
		if got := A(word); got != want {
			t.Errorf("A(%q) = %q, want %q", word, got, want)
		}
	}
}

func TestNoun(t *testing.T) {
	if got := Noun(1, "stage"); got != "stage" {
		t.Errorf("Noun(1) = %q", got)
	}
	if got := Noun(2, "variable"); got != "variables" {
		t.Errorf("Noun(2) = %q", got)
	}
}

func TestOr(t *testing.T) {
	for _, c := range []struct {
		names []string
		want  string
	}{
		{nil, ""},
		{[]string{"a"}, "a"},
		{[]string{"a", "b"}, "a or b"},
		{[]string{"a", "b", "c"}, "a, b or c"},
	} {
		if got := Or(c.names); got != c.want {
			t.Errorf("Or(%q) = %q, want %q", c.names, got, c.want)
		}
	}
}

func TestShell(t *testing.T) {
	for in, want := range map[string]string{
		"gate":              "gate",
		"/work/p-1/x_y.hcl": "/work/p-1/x_y.hcl",
		`approval["20"]`:    `'approval["20"]'`,
		"my pipelines":      "'my pipelines'",
		"it's":              `'it'\''s'`,
		"":                  "''",
	} {
		if got := Shell(in); got != want {
			t.Errorf("Shell(%q) = %s, want %s", in, got, want)
		}
	}
}
