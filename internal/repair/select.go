package repair

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Names upstream's controller keys on.
const (
	// DataPlaneLabel is on every pod the proxy injector meshed: the label
	// selector of the watch.
	DataPlaneLabel = "linkerd.io/control-plane-ns"
	// ValidatorName is the init container that checks the pod's rules.
	ValidatorName = "linkerd-network-validator"
	// ValidatorExitNotConfigured is the validator's exit code when the
	// pod's traffic is not redirected (95, EOPNOTSUPP, as upstream).
	ValidatorExitNotConfigured = 95
)

// failure is what the controller acts on: the pod (by UID) and the
// validator restart whose exit 95 it saw. A pod is acted on at most once
// per failure: a later status update for the same restart is the same
// failure, a new restart that fails again is a new one.
type failure struct {
	UID          string
	RestartCount int32
}

// validatorFailure reports whether pod needs repair: not being deleted, and
// its validator's last termination was exit 95. A validator that has since
// completed successfully (the plugin came in place before the next retry,
// or a repair worked) is no failure, though its lastState still says 95:
// upstream would delete such a pod whenever it restarts and relists.
func validatorFailure(pod *corev1.Pod) (failure, bool) {
	if pod.DeletionTimestamp != nil {
		return failure{}, false
	}
	for i := range pod.Status.InitContainerStatuses {
		st := &pod.Status.InitContainerStatuses[i]
		if st.Name != ValidatorName {
			continue
		}
		last := st.LastTerminationState.Terminated
		if last == nil || last.ExitCode != ValidatorExitNotConfigured {
			return failure{}, false
		}
		if now := st.State.Terminated; now != nil && now.ExitCode == 0 {
			return failure{}, false
		}
		return failure{UID: string(pod.UID), RestartCount: st.RestartCount}, true
	}
	return failure{}, false
}

// trim keeps only what the controller reads of a pod (the informer's
// transform), so that its cache of a node's pods stays small: identity,
// deletion, and the validator's status; no spec, labels, annotations or
// managed fields.
func trim(obj any) (any, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		// A DeletedFinalStateUnknown tombstone, or another type: as is.
		return obj, nil
	}
	out := &corev1.Pod{
		TypeMeta: pod.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name:              pod.Name,
			Namespace:         pod.Namespace,
			UID:               pod.UID,
			ResourceVersion:   pod.ResourceVersion,
			DeletionTimestamp: pod.DeletionTimestamp,
		},
	}
	for _, st := range pod.Status.InitContainerStatuses {
		if st.Name == ValidatorName {
			out.Status.InitContainerStatuses = []corev1.ContainerStatus{{
				Name:                 st.Name,
				RestartCount:         st.RestartCount,
				State:                trimState(st.State),
				LastTerminationState: trimState(st.LastTerminationState),
			}}
			break
		}
	}
	return out, nil
}

// trimState keeps the exit code and finish time of a termination (the
// message and reason can be long).
func trimState(s corev1.ContainerState) corev1.ContainerState {
	var out corev1.ContainerState
	if t := s.Terminated; t != nil {
		out.Terminated = &corev1.ContainerStateTerminated{ExitCode: t.ExitCode, FinishedAt: t.FinishedAt}
	}
	if s.Running != nil {
		out.Running = &corev1.ContainerStateRunning{}
	}
	if s.Waiting != nil {
		out.Waiting = &corev1.ContainerStateWaiting{}
	}
	return out
}
