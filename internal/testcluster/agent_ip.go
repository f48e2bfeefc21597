package testcluster

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
)

// ipAllocator hands out the loopback addresses of process pods,
// 127.2.0.0–127.95.255.255: their pod IPs (package podnet) stay clear of
// the data plane's 127.1, the Services' 10.96 and kwok's 10.244. It starts
// at a random address so that
// test clusters running side by side on one machine rarely meet, and
// skipping any address whose ports are taken. An address is never handed
// out twice by one allocator: a connection still open to an old pod never
// reaches its successor.
type ipAllocator struct {
	mu   sync.Mutex
	next uint32
}

const (
	ipFirst = 127<<24 | 2<<16 | 1
	ipLast  = 127<<24 | 95<<16 | 255<<8 | 254
)

func newIPAllocator() *ipAllocator {
	return &ipAllocator{next: ipFirst + rand.Uint32N(ipLast-ipFirst)}
}

// allocate returns a free address on which every port can be bound.
func (a *ipAllocator) allocate(ports []int) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for tries := 0; tries < 1000; tries++ {
		n := a.next
		a.next++
		if a.next > ipLast {
			a.next = ipFirst
		}
		if last := n & 0xff; last == 0 || last == 255 {
			continue
		}
		ip := net.IPv4(byte(n>>24), byte(n>>16), byte(n>>8), byte(n)).String()
		if bindable(ip, ports) {
			return ip, nil
		}
	}
	return "", fmt.Errorf("testcluster: no free loopback address for ports %v", ports)
}

func bindable(ip string, ports []int) bool {
	for _, p := range ports {
		l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(p)))
		if err != nil {
			return false
		}
		l.Close()
	}
	return true
}
