package main

import (
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// appendNew keeps evaluation's diagnostics only where Load reported
// nothing: the same reference is one error, not two.
func TestAppendNew(t *testing.T) {
	at := func(l1, c1, b1, l2, c2, b2 int) *hcl.Range {
		return &hcl.Range{Filename: "p.hcl", Start: hcl.Pos{Line: l1, Column: c1, Byte: b1}, End: hcl.Pos{Line: l2, Column: c2, Byte: b2}}
	}
	loaded := hcl.Diagnostics{
		{Severity: hcl.DiagError, Summary: "Reference to undeclared variable", Subject: at(5, 42, 100, 5, 49, 107)},
		{Severity: hcl.DiagError, Summary: "block", Subject: at(10, 1, 200, 14, 2, 300)},
	}
	more := hcl.Diagnostics{
		{Severity: hcl.DiagError, Summary: "Unsupported attribute", Subject: at(5, 45, 103, 5, 49, 107)}, // the same reference
		{Severity: hcl.DiagError, Summary: "inside the block", Subject: at(12, 3, 250, 12, 9, 256)},      // within a multi-line subject
		{Severity: hcl.DiagError, Summary: "same line, apart", Subject: at(5, 60, 118, 5, 65, 123)},
		{Severity: hcl.DiagError, Summary: "no place"},
		{Severity: hcl.DiagError, Summary: "again", Subject: at(5, 61, 119, 5, 62, 120)}, // overlaps one appended
	}
	got := appendNew(loaded, more)
	var names []string
	for _, d := range got[len(loaded):] {
		names = append(names, d.Summary)
	}
	if len(names) != 1 || names[0] != "same line, apart" {
		t.Errorf("appended %q, want only \"same line, apart\"", names)
	}
	// With no error loaded, everything is kept.
	if got := appendNew(nil, more); len(got) != len(more) {
		t.Errorf("%d kept of %d", len(got), len(more))
	}
}
