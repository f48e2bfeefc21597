package testcluster

import (
	"syscall"
)

// sysProcAttr puts a component in its own process group. attached components
// also get SIGKILL when the thread that started them dies (Pdeathsig), so a
// killed test binary leaves nothing behind; detached ones (the developer's
// long-running cluster) start a new session instead.
func sysProcAttr(detached bool) *syscall.SysProcAttr {
	if detached {
		return &syscall.SysProcAttr{Setsid: true}
	}
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
