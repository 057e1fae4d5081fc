package repair

import (
	"strconv"
	"time"

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
// validator run that exited 95. A failure is acted on at most once: the
// kubelet reports one run several times (terminated; then waiting in
// CrashLoopBackOff with it as lastState; then, once restarted, running
// with it still as lastState and the restart count up by one), and all of
// those are the same run. The run is named by its container ID, which the
// runtime never reuses; a status without one (tests, or a runtime that
// leaves it out) falls back to its finish time, then to the restart count.
type failure struct {
	UID string
	Run string
	// RestartCount is logged.
	RestartCount int32
}

// validatorFailure reports whether pod needs repair: not being deleted, and
// its validator's latest run exited 95 (the current state when the kubelet
// has not restarted it yet, else the last state) and has not been followed
// by a successful run (the plugin came in place before the retry, or a
// repair worked): upstream would delete such a pod again whenever it
// restarts and relists, as its lastState still says 95.
func validatorFailure(pod *corev1.Pod) (failure, bool) {
	if pod.DeletionTimestamp != nil {
		return failure{}, false
	}
	for i := range pod.Status.InitContainerStatuses {
		st := &pod.Status.InitContainerStatuses[i]
		if st.Name != ValidatorName {
			continue
		}
		term := st.State.Terminated
		if term == nil {
			term = st.LastTerminationState.Terminated
		}
		if term == nil || term.ExitCode != ValidatorExitNotConfigured {
			return failure{}, false
		}
		run := term.ContainerID
		if run == "" && !term.FinishedAt.IsZero() {
			run = "finished " + term.FinishedAt.UTC().Format(time.RFC3339Nano)
		}
		if run == "" {
			run = "restart " + strconv.Itoa(int(st.RestartCount))
		}
		return failure{UID: string(pod.UID), Run: run, RestartCount: st.RestartCount}, true
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

// trimState keeps the exit code, container ID and finish time of a
// termination (the message and reason can be long).
func trimState(s corev1.ContainerState) corev1.ContainerState {
	var out corev1.ContainerState
	if t := s.Terminated; t != nil {
		out.Terminated = &corev1.ContainerStateTerminated{ExitCode: t.ExitCode, FinishedAt: t.FinishedAt, ContainerID: t.ContainerID}
	}
	if s.Running != nil {
		out.Running = &corev1.ContainerStateRunning{}
	}
	if s.Waiting != nil {
		out.Waiting = &corev1.ContainerStateWaiting{}
	}
	return out
}
