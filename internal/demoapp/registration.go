package demoapp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/cutoverhq/cutover/internal/demoapp/registry"
)

// registration is the App's entry in the registry: registered once the
// server listens, renewed every Heartbeat, its status set by the actuator
// endpoints, cancelled on shutdown (as a Eureka client does). Without a
// registry URL it only remembers the status.
type registration struct {
	client *registry.Client
	inst   registry.Instance

	mu sync.Mutex
	st string
}

func newRegistration(cfg Config) *registration {
	r := &registration{st: registry.StatusUp}
	if cfg.Registry != "" {
		r.client = &registry.Client{URL: cfg.Registry}
	}
	port := 0
	if len(cfg.Ports) > 0 {
		port = cfg.Ports[0]
	}
	r.inst = registry.Instance{App: cfg.App, ID: cfg.Pod, Address: net.JoinHostPort(cfg.Host, strconv.Itoa(port)), Version: cfg.Version}
	return r
}

func (r *registration) status() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.st
}

func (r *registration) register(ctx context.Context) error {
	if r.client == nil {
		return nil
	}
	in := r.inst
	in.Status = r.status()
	return r.client.Register(ctx, in)
}

// setStatus records status and pushes it to the registry.
func (r *registration) setStatus(ctx context.Context, status string) error {
	r.mu.Lock()
	r.st = status
	r.mu.Unlock()
	if r.client == nil {
		return nil
	}
	err := r.client.SetStatus(ctx, r.inst.App, r.inst.ID, status)
	if errors.Is(err, registry.ErrUnknown) {
		err = r.register(ctx)
	}
	if err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	return nil
}

// heartbeat registers, then renews every interval until ctx ends; an
// instance the registry forgot registers again with its current status.
func (r *registration) heartbeat(ctx context.Context, every time.Duration, logf func(string, ...any)) {
	if r.client == nil {
		return
	}
	registered := false
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		var err error
		if registered {
			err = r.client.Renew(ctx, r.inst.App, r.inst.ID)
		}
		if !registered || errors.Is(err, registry.ErrUnknown) {
			if err = r.register(ctx); err == nil {
				registered = true
				logf("registered %s/%s at %s as %s", r.inst.App, r.inst.ID, r.inst.Address, r.status())
			}
		}
		if err != nil && ctx.Err() == nil {
			logf("registry: %v", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// cancel removes the instance from the registry.
func (r *registration) cancel(ctx context.Context) error {
	if r.client == nil {
		return nil
	}
	return r.client.Cancel(ctx, r.inst.App, r.inst.ID)
}
