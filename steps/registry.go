package steps

import (
	"fmt"
	"sort"
	"sync"

	"github.com/hashicorp/hcl/v2/hcldec"
)

// Registry maps block names to step kinds.
type Registry struct {
	mu    sync.RWMutex
	kinds map[string]Kind
	// analysis is the schema of a top-level `analysis` block, supplied by
	// whichever package implements analyses (steps/analysis).
	analysis hcldec.Spec
	// analysisBinds: what an `analysis` block may refer to besides the
	// pipeline's names (`result`, one measurement).
	analysisBinds []string
	// analysisDocs: the reference's sentences for the analysis body, by
	// path ("interval", "http" for the provider, "http.url").
	analysisDocs map[string]string
}

// Default is the registry the step packages add themselves to in init.
var Default = NewRegistry()

// NewRegistry returns an empty registry (tests build their own).
func NewRegistry() *Registry { return &Registry{kinds: map[string]Kind{}} }

// Register adds k; a second kind with the same name is a programming error.
func (r *Registry) Register(k Kind) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.kinds[k.Name()]; dup {
		panic(fmt.Sprintf("steps: kind %q registered twice", k.Name()))
	}
	r.kinds[k.Name()] = k
}

// Lookup returns the kind for a block name.
func (r *Registry) Lookup(name string) (Kind, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	k, ok := r.kinds[name]
	return k, ok
}

// Names returns the registered kinds, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.kinds))
	for n := range r.kinds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// SetAnalysisSpec declares the schema of top-level `analysis` blocks.
func (r *Registry) SetAnalysisSpec(s hcldec.Spec) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.analysis = s
}

// SetAnalysisBinds declares the names `analysis` blocks may refer to that
// their provider binds at run time.
func (r *Registry) SetAnalysisBinds(names ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.analysisBinds = names
}

// SetAnalysisDocs declares the descriptions of the analysis body's settings
// and providers, by path, for the reference pages (docs/reference).
func (r *Registry) SetAnalysisDocs(docs map[string]string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.analysisDocs = docs
}

// AnalysisDocs returns the descriptions declared by SetAnalysisDocs.
func (r *Registry) AnalysisDocs() map[string]string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.analysisDocs
}

// AnalysisBinds returns the names declared by SetAnalysisBinds.
func (r *Registry) AnalysisBinds() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.analysisBinds
}

// Bound returns every name some kind (or analysis) binds, sorted: the
// engine leaves them unknown when it evaluates a block ahead of its kind.
func (r *Registry) Bound() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	seen := map[string]bool{}
	for _, n := range r.analysisBinds {
		seen[n] = true
	}
	for _, k := range r.kinds {
		for _, n := range BindsOf(k) {
			seen[n] = true
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// AnalysisSpec returns the schema of `analysis` blocks, nil when no package
// implements analyses.
func (r *Registry) AnalysisSpec() hcldec.Spec {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.analysis
}

// Register adds k to the Default registry.
func Register(k Kind) { Default.Register(k) }
