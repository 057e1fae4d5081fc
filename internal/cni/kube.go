package cni

import (
	"context"
	"fmt"
	"time"

	"github.com/containernetworking/cni/pkg/types"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
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

// NewAPI is the production API: a REST client for core/v1 alone, decoding
// with a scheme that knows core/v1 and nothing else. The typed core/v1
// client would import client-go's whole scheme (every API group, registered
// at start-up by every invocation, VERSION included) for three GETs; see the
// README for the figures.
func NewAPI(cfg *rest.Config) (API, error) {
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("register core/v1: %w", err)
	}
	c := rest.CopyConfig(cfg)
	c.APIPath = "/api"
	c.GroupVersion = &corev1.SchemeGroupVersion
	c.NegotiatedSerializer = serializer.NewCodecFactory(scheme).WithoutConversion()
	rc, err := rest.RESTClientFor(c)
	if err != nil {
		return nil, types.NewError(types.ErrInvalidNetworkConfig, "kubernetes.kubeconfig: "+err.Error(), "")
	}
	return restAPI{rc}, nil
}

type restAPI struct{ rc *rest.RESTClient }

func (a restAPI) Pod(ctx context.Context, ns, name string) (*corev1.Pod, error) {
	var p corev1.Pod
	return &p, a.rc.Get().Namespace(ns).Resource("pods").Name(name).Do(ctx).Into(&p)
}

func (a restAPI) Namespace(ctx context.Context, name string) (*corev1.Namespace, error) {
	var n corev1.Namespace
	return &n, a.rc.Get().Resource("namespaces").Name(name).Do(ctx).Into(&n)
}

func (a restAPI) Service(ctx context.Context, ns, name string) (*corev1.Service, error) {
	var s corev1.Service
	return &s, a.rc.Get().Namespace(ns).Resource("services").Name(name).Do(ctx).Into(&s)
}
