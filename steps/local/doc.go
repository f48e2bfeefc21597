// Package local holds the step kinds that call out of cutover: exec runs a
// local command, http sends one request, pod_http sends one request to each
// pod of a workload through the API server's pod proxy. Each kind lives in
// a file of its own and registers itself with steps.Default in init, so
// importing the package for its side effects is enough for the engine to
// know them.
//
// No kind has a built-in undo: what a command or a request did cannot be
// known, so a stage that needs compensation says it with an undo block.
package local
