package report

import (
	"encoding/xml"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/cutoverhq/cutover/events"
	"github.com/cutoverhq/cutover/internal/words"
)

// JUnit writes a JUnit XML report when the run finishes: one testsuite for
// the pipeline, one testcase per stage, so CI systems list stages like tests
// (GitLab's reports:junit, Jenkins' junit step, GitHub test reporters).
type JUnit struct {
	mu      sync.Mutex
	path    string
	m       *model
	written bool
	err     error
}

// NewJUnit returns a sink that writes the report to path. Wrap it with
// events.Redact to mask secrets.
func NewJUnit(path string) *JUnit { return &JUnit{path: path, m: newModel()} }

// Emit folds e in; RunFinished writes the file.
func (j *JUnit) Emit(e events.Event) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.m.apply(e)
	if e.Type == events.RunFinished {
		j.write()
	}
}

// Close writes the file if the run ended without RunFinished (invalid
// input: the diagnostics become a failing "validate" testcase) and returns
// the write error.
func (j *JUnit) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if !j.written {
		j.write()
	}
	return j.err
}

func (j *JUnit) write() {
	j.written = true
	b, err := xml.MarshalIndent(junitSuites(j.m), "", "  ")
	if err == nil {
		err = os.WriteFile(j.path, append([]byte(xml.Header), append(b, '\n')...), 0o644)
	}
	if err != nil {
		j.err = fmt.Errorf("junit report: %w", err)
	}
}

type xmlSuites struct {
	XMLName  xml.Name   `xml:"testsuites"`
	Name     string     `xml:"name,attr"`
	Tests    int        `xml:"tests,attr"`
	Failures int        `xml:"failures,attr"`
	Errors   int        `xml:"errors,attr"`
	Skipped  int        `xml:"skipped,attr"`
	Time     string     `xml:"time,attr"`
	Suites   []xmlSuite `xml:"testsuite"`
}

type xmlSuite struct {
	XMLName    xml.Name      `xml:"testsuite"`
	Name       string        `xml:"name,attr"`
	Tests      int           `xml:"tests,attr"`
	Failures   int           `xml:"failures,attr"`
	Errors     int           `xml:"errors,attr"`
	Skipped    int           `xml:"skipped,attr"`
	Time       string        `xml:"time,attr"`
	Timestamp  string        `xml:"timestamp,attr,omitempty"`
	Properties []xmlProperty `xml:"properties>property,omitempty"`
	Cases      []xmlCase     `xml:"testcase"`
	SystemOut  string        `xml:"system-out,omitempty"`
}

type xmlProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type xmlCase struct {
	XMLName   xml.Name    `xml:"testcase"`
	Name      string      `xml:"name,attr"`
	Classname string      `xml:"classname,attr"`
	Time      string      `xml:"time,attr"`
	File      string      `xml:"file,attr,omitempty"`
	Line      int         `xml:"line,attr,omitempty"`
	Failure   *xmlProblem `xml:"failure,omitempty"`
	Error     *xmlProblem `xml:"error,omitempty"`
	Skipped   *xmlSkipped `xml:"skipped,omitempty"`
	SystemOut string      `xml:"system-out,omitempty"`
}

type xmlProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

type xmlSkipped struct {
	Message string `xml:"message,attr,omitempty"`
}

func secs(d interface{ Seconds() float64 }) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// junitSuites maps the run: a failed stage is a <failure>; a stage whose
// undo failed is an <error> (a person has to act on it); skipped, cancelled
// and never-started stages are <skipped>. Retries and the undo go to
// system-out, which CI viewers show next to the testcase.
func junitSuites(m *model) xmlSuites {
	name := m.pipeline
	if name == "" {
		name = "cutover"
	}
	suite := xmlSuite{Name: name, Time: secs(m.runDuration())}
	if !m.start.IsZero() {
		suite.Timestamp = m.start.UTC().Format("2006-01-02T15:04:05")
	}
	for _, p := range [][2]string{{"run", m.id}, {"result", string(m.result)}} {
		if p[1] != "" {
			suite.Properties = append(suite.Properties, xmlProperty{p[0], p[1]})
		}
	}
	if len(m.diags) > 0 {
		tc := xmlCase{Name: "validate", Classname: name, Time: "0.000"}
		var text []string
		errs := 0
		for _, d := range m.diags {
			text = append(text, diagLines(&d, false)[0].text)
			if d.Severity != "warning" {
				errs++
			}
		}
		if errs > 0 {
			tc.Failure = &xmlProblem{Message: words.Count(errs, "error") + " in the pipeline", Type: "diagnostic", Text: strings.Join(text, "\n")}
		} else {
			tc.SystemOut = strings.Join(text, "\n")
		}
		suite.Cases = append(suite.Cases, tc)
	}
	for _, n := range m.order {
		s := m.stages[n]
		tc := xmlCase{Name: n, Classname: name + "." + orDash(s.kind), Time: secs(s.duration()), File: s.file, Line: s.line}
		var out []string
		for _, r := range s.retries {
			out = append(out, "retried: "+r)
		}
		switch s.status {
		case events.StatusFailed:
			tc.Failure = &xmlProblem{Message: oneLine(s.err), Type: "stage failed", Text: s.err}
		case events.StatusSkipped, events.StatusCancelled:
			tc.Skipped = &xmlSkipped{Message: strings.TrimPrefix(string(s.status)+": "+s.reason, ": ")}
		case events.StatusPending, events.StatusRunning, events.StatusRetrying:
			tc.Skipped = &xmlSkipped{Message: "not finished: the run stopped first"}
		}
		if s.undoMsg != "" {
			out = append(out, "undo: "+s.undoMsg)
		}
		switch s.undo {
		case events.StatusUndone:
			out = append(out, "undo: succeeded in "+dur(s.undoDur))
		case events.StatusUndoFailed:
			out = append(out, "undo: failed: "+s.undoErr)
			tc.Error = &xmlProblem{Message: "undo failed: " + oneLine(s.undoErr), Type: "undo failed", Text: s.undoErr}
		case events.StatusUndoing:
			out = append(out, "undo: did not finish")
		}
		tc.SystemOut = strings.Join(out, "\n")
		suite.Cases = append(suite.Cases, tc)
	}
	if len(m.undoPending) > 0 {
		suite.SystemOut = "Left for a person:\n- " + strings.Join(m.undoPending, "\n- ")
	}
	for _, c := range suite.Cases {
		suite.Tests++
		switch {
		case c.Failure != nil:
			suite.Failures++
		case c.Error != nil:
			suite.Errors++
		case c.Skipped != nil:
			suite.Skipped++
		}
	}
	return xmlSuites{Name: "cutover", Tests: suite.Tests, Failures: suite.Failures, Errors: suite.Errors,
		Skipped: suite.Skipped, Time: suite.Time, Suites: []xmlSuite{suite}}
}
