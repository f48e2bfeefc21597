package testcluster

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Process is a component the cluster started.
type Process struct {
	Name string `json:"name"`
	Pid  int    `json:"pid"`
	Exe  string `json:"exe"`
}

// Processes lists the components in start order.
func (c *Cluster) Processes() []Process {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Process
	for _, p := range c.procs {
		out = append(out, Process{Name: p.name, Pid: p.cmd.Process.Pid, Exe: p.cmd.Path})
	}
	return out
}

// Alive reports whether the process still runs the component's binary
// (and is not a zombie), so a recycled pid is never taken for it.
func (p Process) Alive() bool {
	if p.Pid <= 0 {
		return false
	}
	if stat, err := os.ReadFile("/proc/" + strconv.Itoa(p.Pid) + "/stat"); err == nil {
		// pid (comm) STATE ...
		if i := strings.LastIndexByte(string(stat), ')'); i > 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
			return false
		}
		if exe, err := os.Readlink("/proc/" + strconv.Itoa(p.Pid) + "/exe"); err == nil && p.Exe != "" {
			return strings.HasPrefix(exe, p.Exe)
		}
		return true
	} else if _, err := os.Stat("/proc/self"); err == nil {
		return false // procfs is there and the pid is not
	}
	return syscall.Kill(p.Pid, 0) == nil
}

// StopProcesses stops processes in reverse order: SIGTERM to the process
// group, SIGKILL after grace.
func StopProcesses(procs []Process, grace time.Duration) {
	for i := len(procs) - 1; i >= 0; i-- {
		p := procs[i]
		if !p.Alive() {
			continue
		}
		_ = syscall.Kill(-p.Pid, syscall.SIGTERM)
		deadline := time.Now().Add(grace)
		for p.Alive() && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if p.Alive() {
			_ = syscall.Kill(-p.Pid, syscall.SIGKILL)
			for j := 0; j < 100 && p.Alive(); j++ {
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
}
