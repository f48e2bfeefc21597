package pause

import (
	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/steps"
)

// Permissions of pause (steps.Permissioner): the question is a ConfigMap the
// stage creates, watches for the answer (a list, then a watch narrowed to
// its name) and deletes when answered. `cutover approve` and `abort` run as
// whoever answers (configmaps list, to find the question, and patch): not
// this Role.
func (kind) Permissions(env *steps.Env, cfg cty.Value) ([]steps.Permission, error) {
	return []steps.Permission{{
		Resource: "configmaps",
		Verbs:    []string{"create", "list", "watch", "delete"},
		Why:      "ask the question (cutover-pause-RUN-STAGE), wait for the answer, remove it",
	}}, nil
}
