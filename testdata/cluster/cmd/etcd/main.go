// Command etcd is etcd's own main, built from the version pinned in this
// module's go.mod, so the test control plane needs nothing but Go.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
