package podnet

import "testing"

func TestMapping(t *testing.T) {
	for local, pod := range map[string]string{
		"127.2.0.1": "10.2.0.1", "127.254.3.4": "10.254.3.4",
		"127.1.0.1": "127.1.0.1", "127.0.0.1": "127.0.0.1", // the data plane's and the host's stay local
	} {
		if got := PodIP(local); got != pod {
			t.Errorf("PodIP(%s) = %s, want %s", local, got, pod)
		}
	}
	for pod, local := range map[string]string{
		"10.2.0.1": "127.2.0.1", "10.244.0.7": "127.244.0.7",
		"10.1.0.1": "10.1.0.1", "10.0.0.5": "10.0.0.5", "192.168.1.1": "192.168.1.1", "fd00::1": "fd00::1", "x": "x",
	} {
		if got := Local(pod); got != local {
			t.Errorf("Local(%s) = %s, want %s", pod, got, local)
		}
	}
}
