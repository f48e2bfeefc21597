package pause

import (
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

func TestPermissions(t *testing.T) {
	ps, err := kind{}.Permissions(nil, cty.EmptyObjectVal)
	if err != nil {
		t.Fatal(err)
	}
	// Run creates the question, lists and watches it, and deletes it.
	if len(ps) != 1 || ps[0].APIGroup != "" || ps[0].Resource != "configmaps" ||
		strings.Join(ps[0].Verbs, ",") != "create,list,watch,delete" {
		t.Errorf("%+v", ps)
	}
}
