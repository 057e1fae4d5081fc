package cni

import (
	"fmt"
	"time"

	"github.com/containernetworking/cni/pkg/types"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// KubeContext is the kubeconfig context linkerd's installer writes for the
// plugin; upstream always selects it. We select it when it exists, else the
// kubeconfig's current context.
const KubeContext = "linkerd-cni-context"

// RESTConfig loads the kubeconfig at path (client-go's loader: TLS, tokens,
// token files, exec plugins) and bounds every request by timeout. Errors are
// CNI error 7 naming kubernetes.kubeconfig; they never include the file's
// credentials.
func RESTConfig(path string, timeout time.Duration) (*rest.Config, error) {
	if path == "" {
		return nil, types.NewError(types.ErrInvalidNetworkConfig,
			"kubernetes.kubeconfig is empty: the plugin needs a kubeconfig to read the pod from the Kubernetes API", "")
	}
	raw, err := clientcmd.LoadFromFile(path)
	if err != nil {
		return nil, types.NewError(types.ErrInvalidNetworkConfig, fmt.Sprintf("kubernetes.kubeconfig %q: %v", path, err), "")
	}
	overrides := &clientcmd.ConfigOverrides{}
	if _, ok := raw.Contexts[KubeContext]; ok {
		overrides.CurrentContext = KubeContext
	}
	cfg, err := clientcmd.NewDefaultClientConfig(*raw, overrides).ClientConfig()
	if err != nil {
		return nil, types.NewError(types.ErrInvalidNetworkConfig, fmt.Sprintf("kubernetes.kubeconfig %q: %v", path, err), "")
	}
	cfg.Timeout = timeout
	cfg.UserAgent = "proxy-init-cni"
	return cfg, nil
}

// NewAPI is the production API: the typed core/v1 client only, not the
// whole clientset.
func NewAPI(cfg *rest.Config) (API, error) {
	c, err := typedcorev1.NewForConfig(cfg)
	if err != nil {
		return nil, types.NewError(types.ErrInvalidNetworkConfig, "kubernetes.kubeconfig: "+err.Error(), "")
	}
	return CoreV1(c), nil
}
