// Command pause is the pod sandbox's process for the real-cluster tests: it
// holds the pod's namespaces, reaps any child reparented to it, and exits 0
// on SIGTERM or SIGINT. Image pulls are impossible offline, so this stands in
// for registry.k8s.io/pause; it is static, so the image is FROM scratch.
package main

import (
	"os"
	"os/signal"

	"golang.org/x/sys/unix"
)

func main() {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, unix.SIGTERM, unix.SIGINT, unix.SIGCHLD)
	for s := range sigs {
		if s != unix.SIGCHLD {
			os.Exit(0)
		}
		// Reap every exited child: one SIGCHLD may stand for several.
		for {
			var ws unix.WaitStatus
			pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
