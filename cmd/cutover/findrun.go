package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/cutoverhq/cutover/internal/words"
	"github.com/cutoverhq/cutover/journal"
	"github.com/cutoverhq/cutover/kube"
)

// Where a command finds an existing run (undo, run --resume, status RUN):
// a run keeps its journal in the namespace it resolved when it started
// (kube.NamespaceOf), which the command reading it later may not know —
// the pipeline's namespace can come from a variable, the reader's
// kubeconfig can name another. docs/design.md, "Cluster access and
// namespaces".

// place is a namespace a run may be in, and why it is looked at.
type place struct{ ns, why string }

func (p place) String() string { return p.ns + " (" + p.why + ")" }

// runPlaces are where a run is looked for, in order: --namespace alone
// when given; else the pipeline's namespace (when known) and the
// kubeconfig context's.
func runPlaces(clients *kube.Clients, o *options, pipelineNS string) []place {
	if o.namespace != "" {
		return []place{{o.namespace, "--namespace"}}
	}
	own := kube.NamespaceOf(clients)
	switch {
	case pipelineNS == "":
		return []place{{own, "the kubeconfig's"}}
	case pipelineNS == own:
		return []place{{own, "the pipeline's and the kubeconfig's"}}
	}
	return []place{{pipelineNS, "the pipeline's"}, {own, "the kubeconfig's"}}
}

// runNotFound says where a run was looked for and not found.
type runNotFound struct {
	runID   string
	host    string   // the API server's, as the cluster's name
	absent  []place  // read: the run is not there
	refused []string // not read, the credentials may not: it may be there
	// wide is what looking in every namespace gave, as the message's
	// end: "" when not looked (--namespace).
	wide string
	// forbidden: somewhere the run may be could not be read.
	forbidden bool
}

func (e *runNotFound) Error() string {
	msg := "run " + e.runID
	var absent []string
	for _, p := range e.absent {
		absent = append(absent, p.String())
	}
	if len(absent) > 0 {
		msg += " was not found in namespace " + words.Or(absent) + " of " + e.host
	}
	for i, r := range e.refused {
		if i == 0 && len(absent) == 0 {
			msg += ": " + r
		} else {
			msg += "; " + r
		}
	}
	msg += e.wide
	if !e.forbidden {
		return msg
	}
	return msg + ": give the run's namespace, as the run printed it, with -n NAMESPACE"
}

// manyHomes: the run's id has a journal in several namespaces (shares of
// a fleet run in one cluster), and which is meant must be said.
type manyHomes struct {
	runID string
	homes []string
}

func (e *manyHomes) Error() string {
	return fmt.Sprintf("run %s has a journal in namespaces %s: give the one meant with -n NAMESPACE", e.runID, strings.Join(e.homes, ", "))
}

// exitOf is the exit code of a failed look for a run: a cluster that
// refused to be read is exit 1 (the run may be there), a run that is
// nowhere the credentials may read is bad input, exit 2.
func exitOf(err error) int {
	var nf *runNotFound
	var many *manyHomes
	var bad *kube.InvalidKubeconfig
	var noNS *kube.NamespaceMissing
	if errors.As(err, &nf) && !nf.forbidden || errors.As(err, &many) || errors.Is(err, kube.ErrNoKubeconfig) || errors.As(err, &bad) || errors.As(err, &noNS) {
		return exitInvalid
	}
	return exitFailed
}

// findRun opens the journal of runID where it may be (runPlaces); then,
// without --namespace, wherever the credentials may list journals
// (journal.Homes). It returns the journal and its namespace; an error
// other than the cluster's (unreachable, say) is returned as is.
func (c *cli) findRun(ctx context.Context, clients *kube.Clients, runID string, o *options, pipelineNS string) (journal.Journal, string, error) {
	nf := &runNotFound{runID: runID, host: "the cluster"}
	if clients.Config != nil {
		nf.host = clients.Config.Host
	}
	for _, p := range runPlaces(clients, o, pipelineNS) {
		j, err := runStore(clients, p.ns, o).Open(ctx, runID)
		switch {
		case err == nil:
			return j, p.ns, nil
		case errors.Is(err, journal.ErrNotFound):
			nf.absent = append(nf.absent, p)
		case apierrors.IsForbidden(err):
			nf.forbidden = true
			nf.refused = append(nf.refused, fmt.Sprintf("reading runs in namespace %s is forbidden to these credentials (%v)", p, err))
		default:
			return nil, "", err
		}
	}
	if o.namespace != "" {
		return nil, "", nf
	}
	homes, err := journal.Homes(ctx, clients, runID)
	switch {
	case errors.Is(err, journal.ErrForbidden):
		nf.forbidden = true
		nf.wide = "; " + err.Error()
	case err != nil:
		return nil, "", err
	case len(homes) == 0:
		nf.wide = ", nor in any other namespace there"
	case len(homes) > 1:
		return nil, "", &manyHomes{runID, homes}
	default:
		j, err := runStore(clients, homes[0], o).Open(ctx, runID)
		return j, homes[0], err
	}
	return nil, "", nf
}
