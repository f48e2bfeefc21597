// Package analysis implements analysis gates: the top-level
// `analysis "NAME" {}` block and the `verify` step kind that runs one, either
// by reference (`verify { analysis = analysis.healthy }`) or with the same
// settings written inline in the verify block.
//
// An analysis takes `count` measurements (default 1), `interval` apart
// (default "10s", measured from the start of one measurement to the start of
// the next), after `initial_delay`. A measurement asks exactly one provider
// (http, prometheus, slo: burn rates of an error budget, kubernetes, exec,
// or probe: requests at a fixed rate through a window, each on a new
// connection as curl in a loop, counting errors and versions) for a result,
// binds it as `result`
// and evaluates the `condition` (success) and optional `failure_condition`
// expressions against it. The conditions may stand in the provider block (as
// in the design's example) or directly in the analysis body, not both.
//
// Outcomes follow Argo Rollouts:
//
//   - Successful: condition is true;
//   - Failed: failure_condition is true, or condition is false when there is
//     no failure_condition;
//   - Inconclusive: both conditions are given and neither is true;
//   - Error: the provider failed (connection refused, object not found,
//     command not found) or an expression could not be evaluated; the error
//     text is kept in the measurement.
//
// With only a failure_condition, a measurement is Successful when it is
// false. Without any condition, http is Successful on a 2xx status, exec
// on exit code 0, probe on an error rate of 0 and slo when no pair of windows
// burns its budget too fast (slo.go); prometheus and kubernetes
// need a condition. Each provider's file documents the shape of its result.
//
// The gate stops as soon as failed > failure_limit (phase Failed),
// inconclusive > inconclusive_limit (Inconclusive) or consecutive errors >
// consecutive_error_limit (Error), without waiting out count. Errored
// measurements do not use up count: they are taken again at the next
// interval, so a Successful gate always rests on count real verdicts.
// A gate that ends in any phase but Successful fails its stage with a
// *Verdict error, which is not retryable: the engine's retries are for
// transient faults, and a verdict is not one.
//
// The step's output is
//
//	{ name, phase, successful, failed, inconclusive, errors,
//	  measurements = [{ value, phase, error, time }], last }
//
// where last is the result of the last measurement that produced one.
// Request headers and bodies may hold credentials: they never appear in an
// output, a progress line or an error.
//
// Each provider is one Provider (its block's schema, load-time check,
// constructor, default verdict or condition example, and cluster
// permissions), registered by RegisterProvider from its own file's init.
// The schema of verify and analysis blocks, the diagnostics that list the
// providers, Check, Run, Plan and Permissions all look providers up in that
// table: a new provider is a new file.
package analysis
