package dataplane

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// stubListener is a listener that only has an address: the address file
// needs nothing else.
type stubListener struct{ addr *net.TCPAddr }

func (l stubListener) Accept() (net.Conn, error) { return nil, errors.New("stub") }
func (l stubListener) Close() error              { return nil }
func (l stubListener) Addr() net.Addr            { return l.addr }

// The Service informer's handler and Start both write the address file,
// from goroutines of their own; a reader must only ever find a whole
// document, and the last write must hold the newest addresses.
func TestWriteAddrsConcurrently(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "dataplane.json")
	d := &DataPlane{opts: Options{AddrFile: file}, logf: t.Logf,
		router: &router{addr: "127.1.0.1:80"}, proxies: map[serviceKey]*serviceProxy{}}

	const writers, rounds = 4, 100
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				// Names of varying length make documents of varying
				// size: a shorter one written over a longer one would
				// leave the longer one's tail behind.
				k := serviceKey{"ns", fmt.Sprintf("svc-%d-%s", w, strings.Repeat("x", i%40))}
				d.mu.Lock()
				if i%3 == 2 {
					delete(d.proxies, k)
				} else {
					d.proxies[k] = &serviceProxy{key: k, ports: []servicePort{{Name: "http", Port: 80}},
						listeners: []net.Listener{stubListener{&net.TCPAddr{IP: net.IPv4(127, 1, byte(w), byte(i)), Port: 80}}}}
				}
				d.mu.Unlock()
				d.writeAddrs()
			}
		}()
	}
	done := make(chan struct{})
	readErr := make(chan error, 1)
	go func() {
		defer close(readErr)
		reads := 0
		for {
			select {
			case <-done:
				t.Logf("%d reads while writing", reads)
				return
			default:
			}
			if _, err := ReadAddrs(file); err != nil && !errors.Is(err, fs.ErrNotExist) {
				readErr <- err
				return
			}
			reads++
		}
	}()
	wg.Wait()
	close(done)
	if err := <-readErr; err != nil {
		t.Fatalf("a reader found a broken address file while it was being written: %v", err)
	}

	got, err := ReadAddrs(file)
	if err != nil {
		t.Fatalf("address file after the writes: %v", err)
	}
	if want := d.Addrs(); !reflect.DeepEqual(got, want) {
		t.Errorf("address file after the writes is not the newest state:\n got %v\nwant %v", got, want)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "dataplane.json" {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}
