// Package all registers every step kind; the command imports it.
package all

import (
	_ "github.com/cutoverhq/cutover/steps/analysis"
	_ "github.com/cutoverhq/cutover/steps/lint"
	_ "github.com/cutoverhq/cutover/steps/local"
	_ "github.com/cutoverhq/cutover/steps/pause"
	_ "github.com/cutoverhq/cutover/steps/route"
	_ "github.com/cutoverhq/cutover/steps/workloads"
)
