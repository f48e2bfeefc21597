package dataplane

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"syscall"
)

// allocator hands out loopback addresses of 127.1.0.0/16, one per Service
// (and one for the router). Several data planes may run on one machine (one
// per test binary): an address whose port is taken by another is skipped.
type allocator struct {
	mu    sync.Mutex
	inUse map[string]bool
	next  uint32 // offset in the /16 of the next address to try
}

func newAllocator() *allocator { return &allocator{inUse: map[string]bool{}, next: 1} }

const allocSize = 1 << 16

// bind finds an address not in use by this data plane on which every port
// can be listened on, and returns its listeners (in the order of ports).
// A port of 0 takes any free port.
func (a *allocator) bind(ports []int32) (string, []net.Listener, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for tries := 0; tries < allocSize; tries++ {
		off := a.next
		a.next = (a.next + 1) % allocSize
		if off&0xff == 0 || off&0xff == 0xff {
			continue
		}
		ip := fmt.Sprintf("127.1.%d.%d", off>>8, off&0xff)
		if a.inUse[ip] {
			continue
		}
		ls, err := listenAll(ip, ports)
		if errors.Is(err, syscall.EADDRINUSE) {
			continue
		}
		if err != nil {
			return "", nil, err
		}
		a.inUse[ip] = true
		return ip, ls, nil
	}
	return "", nil, errors.New("dataplane: no free address in 127.1.0.0/16")
}

func (a *allocator) release(ip string) {
	a.mu.Lock()
	delete(a.inUse, ip)
	a.mu.Unlock()
}

func listenAll(ip string, ports []int32) ([]net.Listener, error) {
	var ls []net.Listener
	for _, p := range ports {
		l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(int(p))))
		if errors.Is(err, syscall.EACCES) {
			// Not root: a privileged port becomes any free one (the
			// lookups give the real address).
			l, err = net.Listen("tcp", net.JoinHostPort(ip, "0"))
		}
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
