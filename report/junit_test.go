package report

import (
	"encoding/xml"
	"github.com/cutoverhq/cutover/events"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestJUnitFailedRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "junit.xml")
	s := events.Redact(secrets, NewJUnit(path))
	play(s, failedRun())
	if err := Close(s); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	noSecrets(t, "junit.xml", b)
	golden(t, "junit.golden.xml", b)

	var got xmlSuites
	if err := xml.Unmarshal(b, &got); err != nil {
		t.Fatalf("not well-formed: %v\n%s", err, b)
	}
	if len(got.Suites) != 1 || got.Suites[0].Name != "checkout" {
		t.Fatalf("want one testsuite named checkout, got %+v", got.Suites)
	}
	su := got.Suites[0]
	byName := map[string]xmlCase{}
	for _, c := range su.Cases {
		byName[c.Name] = c
	}
	if len(su.Cases) != 6 || len(byName) != 6 {
		t.Fatalf("want 6 testcases, one per stage, got %d", len(su.Cases))
	}
	if c := byName["verify_green"]; c.Failure == nil || !strings.Contains(c.Failure.Text, "2 failed measurements") || c.Time != "4.900" {
		t.Errorf("verify_green: want failure with the error and time 4.900, got %+v", c)
	}
	if c := byName["deploy_green"]; c.Error == nil || !strings.Contains(c.SystemOut, "undo: failed") || !strings.Contains(c.SystemOut, "retried: attempt 1") {
		t.Errorf("deploy_green: want undo error and retry in system-out, got %+v", c)
	}
	for _, n := range []string{"switch", "retire_blue"} {
		if byName[n].Skipped == nil {
			t.Errorf("%s: want skipped", n)
		}
	}
	if c := byName["lint"]; c.Failure != nil || c.Skipped != nil || c.Error != nil {
		t.Errorf("lint succeeded but is marked: %+v", c)
	}
	if su.Tests != 6 || su.Failures != 1 || su.Errors != 1 || su.Skipped != 2 {
		t.Errorf("counts tests/failures/errors/skipped = %d/%d/%d/%d, want 6/1/1/2", su.Tests, su.Failures, su.Errors, su.Skipped)
	}
}

func TestJUnitDiagnosticsOnClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "junit.xml")
	s := NewJUnit(path)
	play(s, invalidRun())
	if _, err := os.Stat(path); err == nil {
		t.Fatal("written before the end")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	var got xmlSuites
	if err := xml.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	c := got.Suites[0].Cases
	if len(c) != 1 || c[0].Name != "validate" || c[0].Failure == nil || !strings.Contains(c[0].Failure.Text, "main.hcl:12,17: Unknown stage") {
		t.Fatalf("want a failing validate testcase, got %+v", c)
	}
}

func TestJUnitWriteErrorSurfaces(t *testing.T) {
	s := NewJUnit(filepath.Join(t.TempDir(), "missing-dir", "junit.xml"))
	play(s, okRun())
	if err := s.Close(); err == nil {
		t.Fatal("want an error for an unwritable path")
	}
}
