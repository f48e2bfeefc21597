package podnet

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// The apiserver's pod and service proxies (GET
// /api/v1/namespaces/NS/pods/NAME:PORT/proxy/PATH) dial the pod IP, which
// nothing here listens on. The test cluster's apiserver is therefore given an
// egress selector whose "cluster" network is an HTTP CONNECT proxy on a unix
// socket (what konnectivity is in a real cluster), served by ServeConnect:
// each tunnel dials Local of the address asked for. See docs/design.md,
// "Test cluster data plane".

// EgressConfig is the apiserver's --egress-selector-config-file sending the
// cluster network through the CONNECT proxy on the unix socket sock.
func EgressConfig(sock string) string {
	return `apiVersion: apiserver.k8s.io/v1beta1
kind: EgressSelectorConfiguration
egressSelections:
- name: cluster
  connection:
    proxyProtocol: HTTPConnect
    transport:
      uds:
        udsName: ` + sock + "\n"
}

// ServeConnect answers CONNECT HOST:PORT on l by dialing Local(HOST):PORT
// and copying both ways, until l is closed.
func ServeConnect(l net.Listener) error {
	for {
		c, err := l.Accept()
		if err != nil {
			return err
		}
		go tunnel(c)
	}
}

func tunnel(c net.Conn) {
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	if req.Method != http.MethodConnect {
		_, _ = io.WriteString(c, "HTTP/1.1 405 Method Not Allowed\r\n\r\n")
		return
	}
	host, port, err := net.SplitHostPort(req.Host)
	if err != nil {
		_, _ = io.WriteString(c, "HTTP/1.1 400 Bad Request\r\n\r\n")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	up, err := (&net.Dialer{}).DialContext(ctx, "tcp", net.JoinHostPort(Local(host), port))
	cancel()
	if err != nil {
		// The apiserver reports the status line: the pod's proxy answers 503.
		_, _ = io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\n\r\n")
		return
	}
	defer up.Close()
	_ = c.SetReadDeadline(time.Time{})
	if _, err := io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		// What the client sent along with CONNECT is in br's buffer.
		_, _ = io.Copy(up, br)
		if tc, ok := up.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
	}()
	_, _ = io.Copy(c, up)
	if uc, ok := c.(*net.UnixConn); ok {
		_ = uc.CloseWrite()
	}
	wg.Wait()
}
