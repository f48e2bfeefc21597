package main

import (
	"errors"
	"io/fs"

	"k8s.io/client-go/tools/clientcmd"
)

// checkKubeconfig refuses a --kubeconfig that does not exist or does not
// parse: it is bad input (exit 2, the file named), not a cluster that
// failed (client-go would say so only at the first request, as exit 1).
func (c *cli) checkKubeconfig(o *options) bool {
	if o.kubeconfig == "" {
		return true
	}
	_, err := clientcmd.LoadFromFile(o.kubeconfig)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		c.errorf("--kubeconfig %s: no such file", o.kubeconfig)
		return false
	case err != nil:
		c.errorf("--kubeconfig %s: not a kubeconfig: %v", o.kubeconfig, err)
		return false
	}
	return true
}
