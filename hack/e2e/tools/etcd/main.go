// Command etcd is etcd v3.7.3's server, built from the Go module proxy (its
// etcdmain package) so that the real-cluster tests need no etcd package.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
