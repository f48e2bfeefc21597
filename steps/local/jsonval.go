package local

import (
	"bytes"
	"encoding/json"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// jsonValue parses b as one JSON document into a cty value (objects,
// tuples, exact numbers), or returns a null when b is not JSON. Truncated
// output is never parsed: half a document is not the document.
func jsonValue(b []byte, truncated bool) cty.Value {
	null := cty.NullVal(cty.DynamicPseudoType)
	b = bytes.TrimSpace(b)
	if truncated || len(b) == 0 || !json.Valid(b) {
		return null
	}
	ty, err := ctyjson.ImpliedType(b)
	if err != nil {
		return null
	}
	v, err := ctyjson.Unmarshal(b, ty)
	if err != nil {
		return null
	}
	return v
}
