package testcluster

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cutoverhq/cutover/internal/testcluster/podnet"
	"github.com/cutoverhq/cutover/steps"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// The handlers of probes and lifecycle hooks, as the kubelet runs them but
// against a process on the host: the pod IP is the pod's loopback address
// (package podnet), and so is an empty host. exec handlers
// are not run on the host (a manifest's command was meant for the
// container's filesystem); the few the process pods understand are
// interpreted: sleep N (also under sh -c), true and false.

// handler is what a probe or a hook does.
type handler struct {
	httpGet   *corev1.HTTPGetAction
	tcpSocket *corev1.TCPSocketAction
	exec      []string
	sleep     *corev1.SleepAction
}

func probeHandler(p *corev1.Probe) handler {
	return handler{httpGet: p.HTTPGet, tcpSocket: p.TCPSocket, exec: execCommand(p.Exec)}
}

func hookHandler(h *corev1.LifecycleHandler) handler {
	return handler{httpGet: h.HTTPGet, tcpSocket: h.TCPSocket, exec: execCommand(h.Exec), sleep: h.Sleep}
}

func execCommand(e *corev1.ExecAction) []string {
	if e == nil {
		return nil
	}
	return e.Command
}

// run runs the handler for a container of the pod at ip; nil is success.
func (h handler) run(ctx context.Context, ip string, c *corev1.Container) error {
	switch {
	case h.sleep != nil:
		return steps.Sleep(ctx, time.Duration(h.sleep.Seconds)*time.Second)
	case h.httpGet != nil:
		return httpGetAction(ctx, h.httpGet, ip, c)
	case h.tcpSocket != nil:
		host := podnet.Local(h.tcpSocket.Host)
		if host == "" {
			host = ip
		}
		port, err := resolvePort(h.tcpSocket.Port, c)
		if err != nil {
			return err
		}
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return err
		}
		return conn.Close()
	case h.exec != nil:
		return execAction(ctx, h.exec)
	}
	return fmt.Errorf("no handler (grpc is not supported by process pods)")
}

func httpGetAction(ctx context.Context, a *corev1.HTTPGetAction, ip string, c *corev1.Container) error {
	port, err := resolvePort(a.Port, c)
	if err != nil {
		return err
	}
	host := podnet.Local(a.Host)
	if host == "" {
		host = ip
	}
	scheme := strings.ToLower(string(a.Scheme))
	if scheme == "" {
		scheme = "http"
	}
	path := a.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+net.JoinHostPort(host, strconv.Itoa(port))+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "kube-probe/process-pod")
	for _, h := range a.HTTPHeaders {
		if strings.EqualFold(h.Name, "Host") {
			req.Host = h.Value
			continue
		}
		req.Header.Add(h.Name, h.Value)
	}
	resp, err := probeClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 10<<10))
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return fmt.Errorf("HTTP probe failed with statuscode: %d", resp.StatusCode)
	}
	return nil
}

// probeClient is the kubelet's: no keep-alive, no redirects followed to
// other hosts, TLS not verified.
var probeClient = &http.Client{
	Transport: &http.Transport{DisableKeepAlives: true, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec // as the kubelet
}

// resolvePort turns a probe's port (a number or a container port's name)
// into a number.
func resolvePort(p intstr.IntOrString, c *corev1.Container) (int, error) {
	if p.Type == intstr.Int {
		return p.IntValue(), nil
	}
	if n, err := strconv.Atoi(p.StrVal); err == nil {
		return n, nil
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return int(cp.ContainerPort), nil
		}
	}
	return 0, fmt.Errorf("container %s has no port named %q", c.Name, p.StrVal)
}

// execAction interprets the exec commands process pods understand.
func execAction(ctx context.Context, cmd []string) error {
	if len(cmd) == 3 && isShell(cmd[0]) && cmd[1] == "-c" {
		cmd = strings.Fields(cmd[2])
	}
	if len(cmd) == 0 {
		return fmt.Errorf("empty exec command")
	}
	switch base(cmd[0]) {
	case "true":
		return nil
	case "false":
		return fmt.Errorf("command false exited with 1")
	case "sleep":
		if len(cmd) == 2 {
			if d, err := parseSleep(cmd[1]); err == nil {
				return steps.Sleep(ctx, d)
			}
		}
	}
	return fmt.Errorf("exec %q is not run by process pods (only sleep N, true and false; use httpGet or tcpSocket)", strings.Join(cmd, " "))
}

func isShell(s string) bool {
	switch base(s) {
	case "sh", "bash", "ash", "dash":
		return true
	}
	return false
}

func base(s string) string { return s[strings.LastIndexByte(s, '/')+1:] }

// parseSleep reads sleep(1)'s argument: seconds, fractions allowed, with an
// optional s, m, h or d suffix.
func parseSleep(s string) (time.Duration, error) {
	unit := time.Second
	switch {
	case strings.HasSuffix(s, "s"):
		s = strings.TrimSuffix(s, "s")
	case strings.HasSuffix(s, "m"):
		s, unit = strings.TrimSuffix(s, "m"), time.Minute
	case strings.HasSuffix(s, "h"):
		s, unit = strings.TrimSuffix(s, "h"), time.Hour
	case strings.HasSuffix(s, "d"):
		s, unit = strings.TrimSuffix(s, "d"), 24*time.Hour
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("sleep: invalid time interval %q", s)
	}
	return time.Duration(f * float64(unit)), nil
}

// prober runs one probe of a container at the probe's period and reports
// when its result flips, after successThreshold successes or
// failureThreshold failures in a row (the kubelet's rules and defaults,
// except a timeout of at least minProbeTimeout).
type prober struct {
	kind  string // readiness, liveness, startup
	probe *corev1.Probe
}

// run probes until ctx ends, calling report(true) and report(false) on
// flips; the first report is the first flip from the initial "unknown".
func (p prober) run(ctx context.Context, ip string, c *corev1.Container, report func(ok bool, err error)) {
	period := secondsOr(p.probe.PeriodSeconds, 10)
	timeout := max(secondsOr(p.probe.TimeoutSeconds, 1), minProbeTimeout)
	succNeeded := int(max(p.probe.SuccessThreshold, 1))
	failNeeded := int(p.probe.FailureThreshold)
	if failNeeded <= 0 {
		failNeeded = 3
	}
	// The kubelet probes on a ticker started before the container, so its
	// first probe comes within a period of the start, or at the initial
	// delay; probing at once would fail on a server not yet listening.
	first := time.Duration(p.probe.InitialDelaySeconds) * time.Second
	if first == 0 {
		first = period
	}
	if steps.Sleep(ctx, first) != nil {
		return
	}
	t := time.NewTicker(period)
	defer t.Stop()
	var state *bool
	succ, fail := 0, 0
	for {
		pctx, cancel := context.WithTimeout(ctx, timeout)
		err := probeHandler(p.probe).run(pctx, ip, c)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			succ, fail = succ+1, 0
			if succ >= succNeeded && (state == nil || !*state) {
				state = ptr.To(true)
				report(true, nil)
			}
		} else {
			succ, fail = 0, fail+1
			if fail >= failNeeded && (state == nil || *state) {
				state = ptr.To(false)
				report(false, err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// minProbeTimeout is the least time a probe is given. A kubelet's node
// serves its pods alone; here the probes run in the test process, sharing
// two cores with the control plane, the data plane, the load generators and
// other scenarios, and a stall of a few seconds there failed every probe
// of every pod at once (their 1 s default), taking all endpoints out of
// the Services whose traffic a scenario was counting. A dead server is
// refused at once, not timed out, so failures stay prompt; no scenario
// relies on a slow probe failing.
const minProbeTimeout = 5 * time.Second

func secondsOr(s, def int32) time.Duration {
	if s <= 0 {
		s = def
	}
	return time.Duration(s) * time.Second
}
