package repair

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// samePod is the cni.API an in-place repair hands to cni.Program: the
// controller's Kube, refusing a pod of the same name with another UID, so
// that a new pod's annotations never configure its predecessor's
// namespace.
type samePod struct {
	Kube
	uid types.UID
}

// ErrPodReplaced is a pod read by name that is no longer the one repaired.
var ErrPodReplaced = errors.New("the pod was replaced by a new one of the same name")

func (a samePod) Pod(ctx context.Context, ns, name string) (*corev1.Pod, error) {
	p, err := a.Kube.Pod(ctx, ns, name)
	if err != nil {
		return nil, err
	}
	if p.UID != a.uid {
		return nil, fmt.Errorf("pod %s/%s has UID %s, not %s: %w", ns, name, p.UID, a.uid, ErrPodReplaced)
	}
	return p, nil
}
