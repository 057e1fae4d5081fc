package repair

import (
	"context"
	"fmt"

	"github.com/proxy-init/netlink-native/internal/cni"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// clientsetAPI is cni.API over the controller's clientset. It lives here,
// not in internal/cni: the typed clientset would bring client-go's whole
// scheme into the plugin binary, which avoids it for start-up time.
type clientsetAPI struct {
	c kubernetes.Interface
	// uid, when set, is the pod being repaired: a pod of the same name
	// with another UID is refused, so that a new pod's annotations never
	// configure its predecessor's namespace.
	uid types.UID
}

var _ cni.API = clientsetAPI{}

// ErrPodReplaced is a pod read by name that is no longer the one repaired.
var ErrPodReplaced = fmt.Errorf("the pod was replaced by a new one of the same name")

func (a clientsetAPI) Pod(ctx context.Context, ns, name string) (*corev1.Pod, error) {
	p, err := a.c.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	if a.uid != "" && p.UID != a.uid {
		return nil, fmt.Errorf("pod %s/%s has UID %s, not %s: %w", ns, name, p.UID, a.uid, ErrPodReplaced)
	}
	return p, nil
}

func (a clientsetAPI) Namespace(ctx context.Context, name string) (*corev1.Namespace, error) {
	return a.c.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
}

func (a clientsetAPI) Service(ctx context.Context, ns, name string) (*corev1.Service, error) {
	return a.c.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
}
