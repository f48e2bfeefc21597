// Package demoapp is the application the test cluster's process-backed pods
// run (docs/design.md, "Test cluster data plane"): an HTTP server that
// answers with its version, has readiness and liveness endpoints and the
// Spring Boot actuator endpoints of the graceful-offline procedure, registers
// with the registry of package registry, and shuts down as a real server
// does on SIGTERM: unready, deregistered, no new connections, in-flight
// requests finished. Environment variables make it misbehave on purpose.
package demoapp

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Config is the demo server's configuration, read from the environment by
// ConfigFromEnv; the names are those of the Env* constants.
type Config struct {
	Version   string
	Host      string // the address every port binds (the pod IP)
	Ports     []int
	Pod       string // instance id in the registry
	App       string // application name in the registry
	Registry  string // the registry space's URL; empty: no registration
	Heartbeat time.Duration

	IgnoreSIGTERM     bool
	StartDelay        time.Duration // before listening: a slow start
	FailReadiness     bool
	FailLiveness      bool
	FailLivenessAfter time.Duration // liveness fails this long after the start
	ErrorRate         float64       // share of main-path requests answered 500
	Latency           time.Duration // added to every main-path request
	DrainTimeout      time.Duration // longest wait for in-flight requests on SIGTERM
}

// Environment variables of the demo server.
const (
	EnvVersion           = "VERSION"      // default: the tag of IMAGE
	EnvImage             = "IMAGE"        // the container image; its tag is the default version
	EnvHost              = "LISTEN_HOST"  // default 127.0.0.1
	EnvPorts             = "PORTS"        // comma-separated; default 8080
	EnvPod               = "POD_NAME"     // default: hostname-like "demo"
	EnvApp               = "APP_NAME"     // default "demo"
	EnvRegistry          = "REGISTRY_URL" // registry space URL (http://HOST:PORT/NAMESPACE)
	EnvHeartbeat         = "REGISTRY_HEARTBEAT"
	EnvIgnoreSIGTERM     = "IGNORE_SIGTERM"
	EnvStartDelay        = "START_DELAY"
	EnvFailReadiness     = "FAIL_READINESS"
	EnvFailLiveness      = "FAIL_LIVENESS"
	EnvFailLivenessAfter = "FAIL_LIVENESS_AFTER"
	EnvErrorRate         = "ERROR_RATE"
	EnvLatency           = "LATENCY"
	EnvDrainTimeout      = "DRAIN_TIMEOUT"
)

// ConfigFromEnv reads the configuration through getenv (os.Getenv).
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		Version: getenv(EnvVersion), Host: getenv(EnvHost), Pod: getenv(EnvPod), App: getenv(EnvApp),
		Registry: strings.TrimRight(getenv(EnvRegistry), "/"),
	}
	if c.Version == "" {
		c.Version = ImageTag(getenv(EnvImage))
	}
	if c.Host == "" {
		c.Host = "127.0.0.1"
	}
	if c.Pod == "" {
		c.Pod = "demo"
	}
	if c.App == "" {
		c.App = "demo"
	}
	var errs []string
	ports := getenv(EnvPorts)
	if ports == "" {
		ports = "8080"
	}
	for _, p := range strings.Split(ports, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 0 || n > 65535 {
			errs = append(errs, fmt.Sprintf("%s: %q is not a port", EnvPorts, p))
			continue
		}
		c.Ports = append(c.Ports, n)
	}
	durations := []struct {
		name string
		dst  *time.Duration
		def  time.Duration
	}{
		{EnvHeartbeat, &c.Heartbeat, time.Second},
		{EnvStartDelay, &c.StartDelay, 0},
		{EnvFailLivenessAfter, &c.FailLivenessAfter, 0},
		{EnvLatency, &c.Latency, 0},
		{EnvDrainTimeout, &c.DrainTimeout, 30 * time.Second},
	}
	for _, d := range durations {
		*d.dst = d.def
		if v := getenv(d.name); v != "" {
			x, err := time.ParseDuration(v)
			if err != nil || x < 0 {
				errs = append(errs, fmt.Sprintf("%s: %q is not a duration such as 2s", d.name, v))
				continue
			}
			*d.dst = x
		}
	}
	bools := []struct {
		name string
		dst  *bool
	}{
		{EnvIgnoreSIGTERM, &c.IgnoreSIGTERM}, {EnvFailReadiness, &c.FailReadiness}, {EnvFailLiveness, &c.FailLiveness},
	}
	for _, b := range bools {
		if v := getenv(b.name); v != "" {
			x, err := strconv.ParseBool(v)
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s: %q is not true or false", b.name, v))
				continue
			}
			*b.dst = x
		}
	}
	if v := getenv(EnvErrorRate); v != "" {
		x, err := strconv.ParseFloat(v, 64)
		if err != nil || x < 0 || x > 1 {
			errs = append(errs, fmt.Sprintf("%s: %q is not a number from 0 to 1", EnvErrorRate, v))
		}
		c.ErrorRate = x
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("demoapp: %s", strings.Join(errs, "; "))
	}
	return c, nil
}

// ImageTag is the tag of an image reference ("v0" without one): the demo
// server's version when VERSION is not set.
func ImageTag(image string) string {
	image, _, _ = strings.Cut(image, "@")
	if i := strings.LastIndexByte(image, ':'); i >= 0 && !strings.Contains(image[i:], "/") {
		return image[i+1:]
	}
	return "v0"
}
