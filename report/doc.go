// Package report turns the event stream of a run (package events) into what a
// person or a CI system reads: plain text lines, JSON lines, a live terminal
// view, JUnit XML, a markdown summary, and the decorations GitHub Actions and
// GitLab CI understand (groups/sections, annotations, outputs, dotenv).
//
// Every renderer is an events.Sink. Sinks that write files do it when the
// run finishes (RunFinished); call Close on the sink returned by
// ForEnvironment (or report.Close on any sink) when the command ends, so a
// run that stopped before RunFinished (invalid input) still writes them and
// write errors surface.
//
// Emit may be called from several goroutines (stages run in parallel); every
// sink here serialises internally.
package report
