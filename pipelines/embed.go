// Package pipelines holds the ready pipelines of this directory, embedded
// so that `cutover init` can write them without a checkout.
package pipelines

import "embed"

// FS holds one directory per pipeline: its .hcl files and the manifest
// templates they render.
//
//go:embed */*.hcl */*.tpl
var FS embed.FS
