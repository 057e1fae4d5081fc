package cni

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
)

// CoreV1 adapts a typed core/v1 client (client-go's fake clientset's) to
// API, for the unit tests of the decisions.
func CoreV1(c typedcorev1.CoreV1Interface) API { return coreV1{c} }

type coreV1 struct{ c typedcorev1.CoreV1Interface }

func (a coreV1) Pod(ctx context.Context, ns, name string) (*corev1.Pod, error) {
	return a.c.Pods(ns).Get(ctx, name, metav1.GetOptions{})
}

func (a coreV1) Namespace(ctx context.Context, name string) (*corev1.Namespace, error) {
	return a.c.Namespaces().Get(ctx, name, metav1.GetOptions{})
}

func (a coreV1) Service(ctx context.Context, ns, name string) (*corev1.Service, error) {
	return a.c.Services(ns).Get(ctx, name, metav1.GetOptions{})
}
