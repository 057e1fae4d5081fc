// Package cluster boots a real single-node Kubernetes offline, entirely
// inside namespaces it creates, for the end-to-end scenarios under hack/e2e.
//
// Binaries builds kube-apiserver, kube-controller-manager, kube-scheduler,
// kubelet, kubectl (Kubernetes v1.37.2), etcd (v3.7.3) and helm (v4) from
// the Go module proxy into a cache directory once (see CacheDir). Start then
// creates a network namespace and a private mount namespace (the "node"),
// held by one long-lived process, and runs etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler, containerd (Debian's) and kubelet
// in both. Inside, a tmpfs covers /run and bind mounts cover /var/lib,
// /var/log and the host-global sysctls kubelet would write, so the host's
// network namespace, /run, /var/lib, /var/log and sysctls never change; the
// node IP lives on a bridge without ports. Stop (also on SIGINT/SIGTERM via
// StopOnSignal, and Sweep for what a killed earlier run left) ends every
// process by pid, the pods' containers through the cgroups it created, and
// removes those cgroups and the run directory; the namespaces disappear with
// their last process.
//
// Everything reaches the cluster from inside the node: Cluster.Client and
// RESTConfig dial through the node's network namespace, Node.Command runs a
// program in the node's namespaces, Node.DialContext and Node.Listen open
// sockets there, and InNetNS runs a function in any network namespace (a
// pod's: PodNetNS). A test never sends traffic from the host's namespace.
//
//	c, err := cluster.Start(ctx, cluster.Options{Images: refs})
//	defer c.Stop()
//	pods := c.Client().CoreV1().Pods("default")
//	kubeconfig, err := c.ServiceAccountKubeconfig(ctx, "linkerd-cni", "linkerd-cni", rules)
//	err = c.WriteCNIConfig(conflist) // containerd's conf dir, c.CNIConfDir()
//	conn, err := c.Node().DialContext(ctx, "tcp", podIP+":8080")
//
// Options.ControlPlaneOnly boots etcd, kube-apiserver and (unless
// NoControllerManager) kube-controller-manager only, for API-level tests.
package cluster
