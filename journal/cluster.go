package journal

import (
	"context"
	"errors"
	"fmt"
	"sort"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cutoverhq/cutover/kube"
)

// Backends of NewClusterStore.
const (
	BackendSecret    = "secret"
	BackendConfigMap = "configmap"
)

// NewClusterStore returns the store of a namespace whose new runs are
// written with backend (BackendSecret, the default when empty, or
// BackendConfigMap) while Open, List and Prune find runs in both, Secrets
// first: `status`, `history` and `undo` keep working on journals written
// before the switch to Secrets. A store that is not the chosen backend and
// that the credentials may not read (Forbidden) is passed over, so a
// service account allowed only Secrets still lists its runs.
func NewClusterStore(c *kube.Clients, namespace, backend string) (Store, error) {
	switch backend {
	case "":
		backend = BackendSecret
	case BackendSecret, BackendConfigMap:
	default:
		return nil, fmt.Errorf("unknown journal backend %q: want %q or %q", backend, BackendSecret, BackendConfigMap)
	}
	return &clusterStore{
		backend: backend,
		secrets: secretStoreFor(c, namespace),
		cms:     newConfigMapStore(c.Typed, namespace),
	}, nil
}

type clusterStore struct {
	backend string
	secrets *secretStore
	cms     *cmStore
}

func (c *clusterStore) Create(ctx context.Context, m Meta) (Journal, error) {
	if c.backend == BackendConfigMap {
		return c.cms.Create(ctx, m)
	}
	return c.secrets.Create(ctx, m)
}

// passOver says whether err, from the store of backend, is a reason to
// look in the other store rather than to fail.
func (c *clusterStore) passOver(backend string, err error) bool {
	return backend != c.backend && apierrors.IsForbidden(err)
}

func (c *clusterStore) Open(ctx context.Context, runID string) (Journal, error) {
	j, err := c.secrets.Open(ctx, runID)
	if err == nil || !errors.Is(err, ErrNotFound) && !c.passOver(BackendSecret, err) {
		return j, err
	}
	j2, err2 := c.cms.Open(ctx, runID)
	switch {
	case err2 == nil:
		return j2, nil
	case errors.Is(err2, ErrNotFound) || c.passOver(BackendConfigMap, err2):
		return nil, err
	}
	return nil, err2
}

func (c *clusterStore) List(ctx context.Context) ([]Meta, error) {
	return metas(c.runs(ctx))
}

// Prune looks only in the chosen backend: it runs after every run, and one
// List is all it may cost. Runs in the other format (ConfigMap journals
// from before the switch to Secrets) are pruned by a run with that backend
// (--state configmap).
func (c *clusterStore) Prune(ctx context.Context, pipeline string, keep int) ([]string, error) {
	if c.backend == BackendConfigMap {
		return prune(ctx, pipeline, keep, c.cms.runs)
	}
	return prune(ctx, pipeline, keep, c.secrets.runs)
}

func (c *clusterStore) runs(ctx context.Context) ([]storedRun, error) {
	var out []storedRun
	seen := map[string]bool{}
	for _, b := range []struct {
		name string
		runs func(context.Context) ([]storedRun, error)
	}{{BackendSecret, c.secrets.runs}, {BackendConfigMap, c.cms.runs}} {
		rs, err := b.runs(ctx)
		if err != nil {
			if c.passOver(b.name, err) {
				continue
			}
			return nil, err
		}
		for _, r := range rs {
			if r.orphan || !seen[r.meta.RunID] {
				seen[r.meta.RunID] = true
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// storedRun is a run (or an orphaned continuation part) as a store lists
// it, with what deletes it.
type storedRun struct {
	meta   Meta
	orphan bool // parts left of a run whose part 1 is gone
	remove func(context.Context) error
}

func metas(rs []storedRun, err error) ([]Meta, error) {
	if err != nil {
		return nil, err
	}
	var out []Meta
	for _, r := range rs {
		if !r.orphan {
			out = append(out, r.meta)
		}
	}
	newestFirst(out)
	return out, nil
}

func newestFirst(ms []Meta) {
	sort.SliceStable(ms, func(a, b int) bool {
		if !ms[a].Started.Equal(ms[b].Started) {
			return ms[a].Started.After(ms[b].Started)
		}
		return ms[a].RunID > ms[b].RunID
	})
}

// errChanged is what a run's remove returns when the run changed since it
// was listed (it was resumed, or undone): it is not deleted.
var errChanged = errors.New("changed since it was listed")

// prune deletes the runs of pipeline beyond the keep newest finished
// ones, and every orphaned part. A run whose status is "running" (or
// unknown) is never deleted and does not count: its journal is how it is
// resumed or undone. Deleted run ids are returned, oldest last.
func prune(ctx context.Context, pipeline string, keep int, runs func(context.Context) ([]storedRun, error)) ([]string, error) {
	if keep < 1 {
		return nil, fmt.Errorf("pruning the runs of %s: keep %d runs; it must be at least 1", pipeline, keep)
	}
	rs, err := runs(ctx)
	if err != nil {
		return nil, err
	}
	var finished []storedRun
	var errs []error
	for _, r := range rs {
		switch {
		case r.orphan:
			if err := r.remove(ctx); err != nil && !errors.Is(err, errChanged) {
				errs = append(errs, err)
			}
		case r.meta.Pipeline == pipeline && r.meta.Status != StatusRunning && r.meta.Status != "":
			finished = append(finished, r)
		}
	}
	sort.SliceStable(finished, func(a, b int) bool {
		ma, mb := finished[a].meta, finished[b].meta
		if !ma.Started.Equal(mb.Started) {
			return ma.Started.After(mb.Started)
		}
		return ma.RunID > mb.RunID
	})
	var deleted []string
	for i := keep; i < len(finished); i++ {
		err := finished[i].remove(ctx)
		switch {
		case err == nil:
			deleted = append(deleted, finished[i].meta.RunID)
		case !errors.Is(err, errChanged):
			errs = append(errs, err)
		}
	}
	return deleted, errors.Join(errs...)
}

// kobj is a journal object (Secret or ConfigMap) as a list shows it.
type kobj struct {
	name string
	uid  types.UID
	rv   string
	run  string
	part bool
	meta Meta // of part 1
}

type deleteFunc func(ctx context.Context, name string, pre metav1.Preconditions) error

// group turns one list of a namespace's journal objects into runs. Taken
// from one list, it is a consistent view: a part whose run is absent is an
// orphan (its run was deleted), never a part of a run created since, as
// part 1 is always written first. Deletes carry the UID listed, so an
// object deleted and re-created since is not removed, and part 1 also its
// resourceVersion, so a run written since (resumed, undone) is kept; part
// 1 goes first, so a run is either whole or gone as a run.
func group(objs []kobj, del deleteFunc) []storedRun {
	partsOf := map[string][]kobj{}
	runs := map[string]kobj{}
	for _, o := range objs {
		if o.part {
			partsOf[o.run] = append(partsOf[o.run], o)
		} else {
			runs[o.run] = o
		}
	}
	removeParts := func(ctx context.Context, ps []kobj) error {
		var errs []error
		for _, p := range ps {
			uid := p.uid
			err := transient(ctx, func(ctx context.Context) error {
				return del(ctx, p.name, metav1.Preconditions{UID: &uid})
			})
			if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				errs = append(errs, fmt.Errorf("deleting %s of run %s: %w", p.name, p.run, err))
			}
		}
		return errors.Join(errs...)
	}
	var out []storedRun
	for run, o := range runs {
		ps := partsOf[run]
		out = append(out, storedRun{meta: o.meta, remove: func(ctx context.Context) error {
			uid, rv := o.uid, o.rv
			err := transient(ctx, func(ctx context.Context) error {
				return del(ctx, o.name, metav1.Preconditions{UID: &uid, ResourceVersion: &rv})
			})
			switch {
			case apierrors.IsConflict(err):
				return fmt.Errorf("run %s (%s): %w", run, o.name, errChanged)
			case err != nil && !apierrors.IsNotFound(err):
				return fmt.Errorf("deleting run %s (%s): %w", run, o.name, err)
			}
			return removeParts(ctx, ps)
		}})
	}
	for run, ps := range partsOf {
		if _, ok := runs[run]; !ok {
			out = append(out, storedRun{meta: Meta{RunID: run}, orphan: true, remove: func(ctx context.Context) error {
				return removeParts(ctx, ps)
			}})
		}
	}
	return out
}
