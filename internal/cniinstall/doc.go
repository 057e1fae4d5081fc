// Package cniinstall is the node side of the CNI plugin: what linkerd-cni's
// installer (upstream's cni-install) does, on a node's CNI directories
// mounted into a container. It copies the plugin binaries to the host's CNI
// bin directory, writes the kubeconfig the plugin reads (the service
// account's token and CA), appends the configured entry to every conflist
// in the host's CNI net directory, keeps all of that in place while the pod
// network and the kubelet rewrite their files (inotify, through fsnotify),
// and on shutdown removes exactly what it added.
//
// Every file it writes, and every file it changes back, is written to a
// temporary file in the same directory and renamed over the target, so a
// container runtime reading the directory never sees half a file, and a
// process killed at any moment leaves every conflist valid.
package cniinstall
