package lint

import (
	"github.com/zclconf/go-cty/cty"

	"github.com/cutoverhq/cutover/steps"
)

// Permissions of lint (steps.Permissioner): it reads manifests and files
// only, never the cluster, so it needs no rule. Saying so lets `cutover
// rbac` tell it apart from a kind that declares nothing.
func (kind) Permissions(env *steps.Env, cfg cty.Value) ([]steps.Permission, error) {
	return nil, nil
}
