package repair

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ReportingController is the event's reportingController, upstream's.
const ReportingController = "linkerd-cni-repair-controller"

// The events the controller records on a pod: upstream's for a deletion,
// ours for an in-place repair.
const (
	ReasonNotConfigured   = "LinkerdCNINotConfigured"
	ActionDeleting        = "Deleting"
	NoteDeleting          = "Deleting pod to create a new one with proper CNI config"
	ReasonRepairedInPlace = "LinkerdCNIRepairedInPlace"
	ActionRepairing       = "Repairing"
	NoteRepairedInPlace   = "Installed the pod's proxy rules from the node; the kubelet re-runs linkerd-network-validator"
)

type eventKind struct{ reason, action, note string }

var (
	eventDeleted  = eventKind{ReasonNotConfigured, ActionDeleting, NoteDeleting}
	eventRepaired = eventKind{ReasonRepairedInPlace, ActionRepairing, NoteRepairedInPlace}
)

// newEvent is the events.k8s.io/v1 event about pod, named and filled as
// client-go's and kube-rs's recorders do (name <pod>.<unix nanoseconds in
// hex>, in the pod's namespace).
func newEvent(pod *corev1.Pod, k eventKind, instance string, now time.Time) *eventsv1.Event {
	return &eventsv1.Event{
		ObjectMeta: metav1.ObjectMeta{
			Name:      fmt.Sprintf("%s.%x", pod.Name, now.UnixNano()),
			Namespace: pod.Namespace,
		},
		EventTime:           metav1.NewMicroTime(now),
		ReportingController: ReportingController,
		ReportingInstance:   instance,
		Action:              k.action,
		Reason:              k.reason,
		Note:                k.note,
		Type:                corev1.EventTypeNormal,
		Regarding: corev1.ObjectReference{
			APIVersion:      "v1",
			Kind:            "Pod",
			Namespace:       pod.Namespace,
			Name:            pod.Name,
			UID:             pod.UID,
			ResourceVersion: pod.ResourceVersion,
		},
	}
}

// publish creates the event with one request, bounded by timeout. It does
// not use client-go's tools/events broadcaster: that one sends from a
// goroutine of its own and never tells the caller how a send went, so
// upstream's events_publish_* metrics (latency, errors, timeouts) could not
// be counted. One event per action needs none of its aggregation.
func publish(ctx context.Context, kube Kube, ev *eventsv1.Event, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := kube.CreateEvent(ctx, ev)
	if err != nil {
		return fmt.Errorf("create event %s/%s about the pod: %w", ev.Namespace, ev.Name, err)
	}
	return nil
}
