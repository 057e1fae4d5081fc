// Package deploy holds what runs proxy-init in a cluster: the offline image
// recipe (Containerfile, image.sh, run by `make image`), an example pod
// (init-container.yaml), and the tests that run the images under real
// container runtimes: a podman pod whose init container installs the rules
// and whose validator checks them, and runc with Kubernetes' capability
// sets; and the CNI DaemonSet: its image (target cni, IMAGE-cni:latest),
// its Helm chart (charts/linkerd2-cni, rendered by the tests in charts/) and a
// test that runs the installer image as the chart does. The package has no
// code of its own.
package deploy
