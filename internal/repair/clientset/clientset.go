// Package clientset adapts a kubernetes.Interface (a real clientset, or
// client-go's fake) to the repair controller's Kube, for tests and for
// programs that already hold a clientset. The binary does not use it: the
// typed clientset registers every API group's types at start-up (see
// repair.Kube).
package clientset

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/watchlist"
)

// Kube is a kubernetes.Interface with the methods of repair.Kube.
type Kube struct{ C kubernetes.Interface }

// Adapt wraps c: repair.New(clientset.Adapt(c), opts).
func Adapt(c kubernetes.Interface) *Kube { return &Kube{C: c} }

func (k *Kube) ListPods(ctx context.Context, opts metav1.ListOptions) (*corev1.PodList, error) {
	return k.C.CoreV1().Pods(metav1.NamespaceAll).List(ctx, opts)
}

func (k *Kube) WatchPods(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	return k.C.CoreV1().Pods(metav1.NamespaceAll).Watch(ctx, opts)
}

func (k *Kube) DeletePod(ctx context.Context, namespace, name string, opts metav1.DeleteOptions) error {
	return k.C.CoreV1().Pods(namespace).Delete(ctx, name, opts)
}

func (k *Kube) CreateEvent(ctx context.Context, ev *eventsv1.Event) error {
	_, err := k.C.EventsV1().Events(ev.Namespace).Create(ctx, ev, metav1.CreateOptions{})
	return err
}

func (k *Kube) Pod(ctx context.Context, namespace, name string) (*corev1.Pod, error) {
	return k.C.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
}

func (k *Kube) Namespace(ctx context.Context, name string) (*corev1.Namespace, error) {
	return k.C.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
}

func (k *Kube) Service(ctx context.Context, namespace, name string) (*corev1.Service, error) {
	return k.C.CoreV1().Services(namespace).Get(ctx, name, metav1.GetOptions{})
}

// IsWatchListSemanticsUnSupported passes on what the wrapped client says
// (client-go's fake cannot stream an initial list), so that the informer
// lists instead.
func (k *Kube) IsWatchListSemanticsUnSupported() bool {
	return watchlist.DoesClientNotSupportWatchListSemantics(k.C)
}
