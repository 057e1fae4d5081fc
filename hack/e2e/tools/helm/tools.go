//go:build tools

// Package helm pins Helm v4 for cluster.Binaries, which builds
// helm.sh/helm/v4/cmd/helm from this module into the binary cache. It is a
// module of its own because Helm raises versions of modules Kubernetes
// v1.37.2 shares (protobuf, logrus, ...): beside the Kubernetes build in
// hack/e2e it would invalidate that build's Go cache.
package helm

import _ "helm.sh/helm/v4/cmd/helm"
