package demoapp

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Listen binds every port of cfg on cfg.Host, after StartDelay (a slow
// start: nothing listens meanwhile). It returns early if ctx ends.
func Listen(ctx context.Context, cfg Config) ([]net.Listener, error) {
	if cfg.StartDelay > 0 {
		select {
		case <-time.After(cfg.StartDelay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	var ls []net.Listener
	for _, p := range cfg.Ports {
		l, err := net.Listen("tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(p)))
		if err != nil {
			for _, l := range ls {
				l.Close()
			}
			return nil, err
		}
		ls = append(ls, l)
	}
	return ls, nil
}

// Serve serves the App on ls until ctx ends (SIGTERM), then shuts down as
// a real server does: readiness fails, the instance leaves the registry,
// the listeners close (new connections are refused) and in-flight requests
// finish, for up to DrainTimeout. logf receives a line per lifecycle step.
func (a *App) Serve(ctx context.Context, ls []net.Listener, logf func(string, ...any)) error {
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, len(ls))
	for _, l := range ls {
		go func() { errc <- srv.Serve(l) }()
	}
	a.ready.Store(true)
	hbCtx, stopHeartbeat := context.WithCancel(context.Background())
	var hb sync.WaitGroup
	hb.Add(1)
	go func() {
		defer hb.Done()
		a.reg.heartbeat(hbCtx, a.cfg.Heartbeat, logf)
	}()
	logf("version %s serving on %s:%v", a.cfg.Version, a.cfg.Host, a.cfg.Ports)

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	begin := time.Now()
	a.ready.Store(false)
	stopHeartbeat()
	hb.Wait()
	cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	if cerr := a.reg.cancel(cctx); cerr != nil {
		logf("registry cancel: %v", cerr)
	}
	cancel()
	dctx, cancel := context.WithTimeout(context.Background(), a.cfg.DrainTimeout)
	defer cancel()
	if serr := srv.Shutdown(dctx); serr != nil {
		logf("drain: %v after %s", serr, time.Since(begin).Round(time.Millisecond))
		return serr
	}
	logf("drained in %s; %d requests served", time.Since(begin).Round(time.Millisecond), a.served.Load())
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
