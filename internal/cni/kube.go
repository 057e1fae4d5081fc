package cni

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/containernetworking/cni/pkg/types"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/intstr"
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

// NewAPI is the production API: client-go's REST client for core/v1, with a
// scheme that knows only the API's Status answers (the objects themselves
// are decoded by get). The typed core/v1 client would import client-go's
// whole scheme (every API group, registered at start-up by every
// invocation, VERSION included) for three GETs, and registering even
// core/v1's types is a start-up cost every invocation pays (docs/cni.md,
// "Start-up", has the figures).
func NewAPI(cfg *rest.Config) (API, error) {
	scheme := runtime.NewScheme()
	metav1.AddToGroupVersion(scheme, corev1.SchemeGroupVersion)
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

// get reads one object's JSON through the REST client (its transport,
// credentials and error decoding, so API errors stay *errors.StatusError)
// and decodes only the fields the plugin reads into out, after checking
// that the answer is an object of kind (a 200 answer of {}, null or another
// kind would otherwise read as a pod with no linkerd-proxy container, and a
// meshed pod would start unmeshed). Decoding a whole
// corev1.Pod makes encoding/json walk the Pod's large type tree, which a
// fresh process (every CNI invocation) pays in full: most of an unmeshed
// ADD, against next to nothing for the few fields here (docs/cni.md,
// "Start-up", and bench/REPORT.md, section 7, have the figures).
func (a restAPI) get(ctx context.Context, out any, kind, ns, resource, name string) error {
	res := a.rc.Get().NamespaceIfScoped(ns, ns != "").Resource(resource).Name(name).Do(ctx)
	// Error, unlike Raw's error, decodes the API's Status answer.
	if err := res.Error(); err != nil {
		return err
	}
	body, err := res.Raw()
	if err != nil {
		return err
	}
	var tm struct {
		Kind string `json:"kind"`
	}
	if err := json.Unmarshal(body, &tm); err != nil {
		return fmt.Errorf("decode the %s: %w", resource, err)
	}
	if tm.Kind != kind {
		return &WrongKindError{Want: kind, Got: tm.Kind}
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("decode the %s: %w", resource, err)
	}
	return nil
}

// WrongKindError is a successful API answer that is not the object asked
// for.
type WrongKindError struct{ Want, Got string }

func (e *WrongKindError) Error() string {
	return fmt.Sprintf("the API answered with kind %q, not a %s", e.Got, e.Want)
}

// meta is the part of an object's metadata the plugin reads.
type meta struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

func (m meta) objectMeta() metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: m.Name, Namespace: m.Namespace, Labels: m.Labels, Annotations: m.Annotations}
}

type named struct {
	Name string `json:"name"`
}

func containers(ns []named) []corev1.Container {
	out := make([]corev1.Container, len(ns))
	for i, n := range ns {
		out[i].Name = n.Name
	}
	return out
}

func (a restAPI) Pod(ctx context.Context, ns, name string) (*corev1.Pod, error) {
	var p struct {
		Metadata meta `json:"metadata"`
		Spec     struct {
			Containers     []named `json:"containers"`
			InitContainers []named `json:"initContainers"`
		} `json:"spec"`
	}
	if err := a.get(ctx, &p, "Pod", ns, "pods", name); err != nil {
		return nil, err
	}
	return &corev1.Pod{ObjectMeta: p.Metadata.objectMeta(), Spec: corev1.PodSpec{
		Containers: containers(p.Spec.Containers), InitContainers: containers(p.Spec.InitContainers),
	}}, nil
}

func (a restAPI) Namespace(ctx context.Context, name string) (*corev1.Namespace, error) {
	var n struct {
		Metadata meta `json:"metadata"`
	}
	if err := a.get(ctx, &n, "Namespace", "", "namespaces", name); err != nil {
		return nil, err
	}
	return &corev1.Namespace{ObjectMeta: n.Metadata.objectMeta()}, nil
}

func (a restAPI) Service(ctx context.Context, ns, name string) (*corev1.Service, error) {
	var s struct {
		Metadata meta `json:"metadata"`
		Spec     struct {
			Ports []struct {
				Port       int32              `json:"port"`
				TargetPort intstr.IntOrString `json:"targetPort"`
			} `json:"ports"`
		} `json:"spec"`
	}
	if err := a.get(ctx, &s, "Service", ns, "services", name); err != nil {
		return nil, err
	}
	svc := &corev1.Service{ObjectMeta: s.Metadata.objectMeta()}
	for _, p := range s.Spec.Ports {
		svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{Port: p.Port, TargetPort: p.TargetPort})
	}
	return svc, nil
}
