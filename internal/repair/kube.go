package repair

import (
	"context"

	"github.com/proxy-init/netlink-native/internal/cni"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// Kube is the slice of the Kubernetes API the controller uses: NewKube's
// REST client in the binary, or clientset.Adapt over any
// kubernetes.Interface (client-go's fake in tests, a real clientset in the
// e2e tests). It is an interface of its own, not kubernetes.Interface,
// because importing the typed clientset registers every API group's types
// at start-up: the binary would be 52 MB, 30 MiB of it resident before
// the first pod (see docs/repair-controller.md).
type Kube interface {
	// Pod, Namespace and Service are what the CNI plugin reads (in-place
	// mode runs its decisions).
	cni.API
	ListPods(ctx context.Context, opts metav1.ListOptions) (*corev1.PodList, error)
	WatchPods(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error)
	DeletePod(ctx context.Context, namespace, name string, opts metav1.DeleteOptions) error
	CreateEvent(ctx context.Context, ev *eventsv1.Event) error
}
