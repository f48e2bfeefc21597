// Package releasebench holds the end-to-end benchmarks of docs/design.md ("Targets") that
// need the whole program: API requests per blue/green release (cutover
// against kubectl), peak RSS of a 100-stage run, and the time from a failed
// gate to the Service selector restored. They run the cutover binary built
// from this checkout against the local control plane of internal/testcluster;
// see README.md for how to run them and the figures measured.
package releasebench
