package loadgen

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/cutoverhq/cutover/internal/demoapp/registry"
)

// RegistryTargets picks each request's instance from a registry's list of
// UP instances, round-robin, as a Eureka client does: the list is the
// cache's copy, refreshed every Cache.Refresh, so an instance marked DOWN
// keeps getting requests until the next refresh.
type RegistryTargets struct {
	Cache *registry.Cache
	// Path is appended to each instance's address ("/" if empty).
	Path string
	next atomic.Uint64
}

// NewRegistryTargets reads app's instances from the registry space at
// spaceURL (http://HOST:PORT/SPACE), refreshed every refresh (0: the
// registry package's default).
func NewRegistryTargets(spaceURL, app, path string, refresh time.Duration) *RegistryTargets {
	return &RegistryTargets{Cache: &registry.Cache{Client: &registry.Client{URL: spaceURL}, App: app, Refresh: refresh}, Path: path}
}

// Target implements Targets.
func (t *RegistryTargets) Target() (string, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	up, err := t.Cache.Up(ctx)
	if err != nil || len(up) == 0 {
		return "", false
	}
	path := t.Path
	if path == "" {
		path = "/"
	}
	in := up[int(t.next.Add(1)-1)%len(up)]
	return "http://" + in.Address + path, true
}
