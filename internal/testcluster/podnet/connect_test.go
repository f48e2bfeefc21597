package podnet

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// A tunnel asked for the pod IP 10.3.0.7 reaches the server on 127.3.0.7,
// as the apiserver's egress dialer asks it; an address nothing listens on
// is a 502 status line.
func TestServeConnect(t *testing.T) {
	srv, err := net.Listen("tcp", "127.3.0.7:0")
	if err != nil {
		t.Fatal(err)
	}
	go http.Serve(srv, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "pod "+r.URL.Path) }))
	defer srv.Close()
	sock := filepath.Join(t.TempDir(), "podnet.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go ServeConnect(l)

	_, port, _ := net.SplitHostPort(srv.Addr().String())
	connect := func(addr string) (*bufio.Reader, net.Conn, string) {
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", addr)
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		return br, c, resp.Status
	}
	br, c, status := connect("10.3.0.7:" + port)
	defer c.Close()
	if !strings.HasPrefix(status, "200") {
		t.Fatalf("CONNECT: %s", status)
	}
	fmt.Fprintf(c, "GET /actuator/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if string(body) != "pod /actuator/health" {
		t.Errorf("through the tunnel: %q", body)
	}
	_, c2, status := connect("10.3.0.8:" + port)
	defer c2.Close()
	if !strings.HasPrefix(status, "502") {
		t.Errorf("CONNECT to nothing: %s", status)
	}
}
