package testcluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"k8s.io/client-go/rest"

	"github.com/cutoverhq/cutover/internal/testcluster/dataplane"
)

// DataPlaneFile is the name, in the cluster's directory, of the data
// plane's address file (dataplane.Addrs as JSON).
const DataPlaneFile = "dataplane.json"

// EnvDataPlaneDelay overrides the shared cluster's propagation delay (a Go
// duration; "0s" or negative: none). EnvDataPlane "off" starts no data plane.
const (
	EnvDataPlaneDelay = "CUTOVER_DATAPLANE_DELAY"
	EnvDataPlane      = "CUTOVER_DATAPLANE"
)

// startDataPlane starts the service proxies and the router in this
// process; its log is logs/dataplane.log.
func (c *Cluster) startDataPlane(ctx context.Context, delay time.Duration) error {
	dp, err := StartDataPlane(ctx, c.Dir(), c.RESTConfig(), delay)
	c.dataPlane = dp
	return err
}

// StartDataPlane starts a data plane for the cluster whose files are in dir
// (address file dir/dataplane.json, log dir/logs/dataplane.log). The
// detached developer cluster runs it in a process of its own.
func StartDataPlane(ctx context.Context, dir string, cfg *rest.Config, delay time.Duration) (*dataplane.DataPlane, error) {
	logPath := filepath.Join(dir, "logs", "dataplane.log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	dp, err := dataplane.Start(ctx, dataplane.Options{
		Config: cfg, Delay: delay, AddrFile: filepath.Join(dir, DataPlaneFile),
		Logf: func(format string, args ...any) {
			fmt.Fprintf(f, time.Now().Format("15:04:05.000 ")+format+"\n", args...)
		},
	})
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("testcluster: data plane: %w", err)
	}
	return dp, nil
}

func (c *Cluster) stopDataPlane() {
	if c.dataPlane != nil {
		c.dataPlane.Stop()
	}
}

// DataPlane is the cluster's data plane, nil unless Options.DataPlane.
func (c *Cluster) DataPlane() *dataplane.DataPlane { return c.dataPlane }

// startSharedDataPlane starts the shared cluster's data plane unless
// $CUTOVER_DATAPLANE is "off", with the delay of $CUTOVER_DATAPLANE_DELAY
// ("0s": none), and stops the cluster if that fails.
func startSharedDataPlane(ctx context.Context, c *Cluster) error {
	if os.Getenv(EnvDataPlane) == "off" {
		return nil
	}
	var delay time.Duration
	if v := os.Getenv(EnvDataPlaneDelay); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			c.Stop()
			return fmt.Errorf("testcluster: %s=%q: %v", EnvDataPlaneDelay, v, err)
		}
		delay = d
		if d <= 0 {
			delay = -1 // none
		}
	}
	if err := c.startDataPlane(ctx, delay); err != nil {
		c.Stop()
		return err
	}
	return nil
}

// Environment variables the cluster command sets when the data plane runs.
const (
	// EnvRouterAddr is the router's host:port.
	EnvRouterAddr = "ROUTER_ADDR"
	// EnvDataPlaneAddrs is the path of the address file (DataPlaneFile).
	EnvDataPlaneAddrs = "DATAPLANE_ADDRS"
)

// setDataPlaneEnv gives a scenario the data plane's addresses.
func setDataPlaneEnv(ts *testscript.TestScript, c *Cluster) {
	if dp := c.DataPlane(); dp != nil {
		ts.Setenv(EnvRouterAddr, dp.RouterAddr())
		ts.Setenv(EnvDataPlaneAddrs, filepath.Join(c.Dir(), DataPlaneFile))
	}
}
