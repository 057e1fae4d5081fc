package repair

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"
)

// TestActsOnExit95Only: of the node's pods, only the one whose validator
// last exited 95 and that is not being deleted is deleted, with grace
// period 0 and its UID as precondition.
func TestActsOnExit95Only(t *testing.T) {
	succeeded := newPod("succeeded-since", failed(95, 1))
	succeeded.Status.InitContainerStatuses[0].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0}}
	h := newHarness(t, Options{},
		newPod("broken", failed(95, 1)),
		newPod("other-exit", failed(1, 1)),
		newPod("going", failed(95, 1), deleting),
		newPod("no-status"),
		succeeded,
	)
	h.start()
	h.eventually("a delete", func() bool { return len(h.deletes()) >= 1 })
	h.settle()
	ds := h.deletes()
	if len(ds) != 1 {
		t.Fatalf("%d deletes, want 1: %+v", len(ds), ds)
	}
	d := ds[0]
	if d.GetNamespace() != "app" || d.GetName() != "broken" {
		t.Errorf("deleted %s/%s, want app/broken", d.GetNamespace(), d.GetName())
	}
	if g := d.DeleteOptions.GracePeriodSeconds; g == nil || *g != 0 {
		t.Errorf("grace period %v, want 0", g)
	}
	if p := d.DeleteOptions.Preconditions; p == nil || p.UID == nil || *p.UID != "uid-broken" {
		t.Errorf("preconditions %+v, want UID uid-broken", p)
	}
	if got := testutil.ToFloat64(h.m.PodsDeleted); got != 1 {
		t.Errorf("pods_deleted = %v, want 1", got)
	}
}

// TestWatchSelectors: the list and watch ask for this node's meshed pods
// only, as upstream does (the API server applies the selectors; the fake
// does not, so the request is what is checked).
func TestWatchSelectors(t *testing.T) {
	h := newHarness(t, Options{})
	h.start()
	var verbs []string
	for _, a := range h.client.Actions() {
		switch a := a.(type) {
		case k8stesting.ListActionImpl:
			verbs = append(verbs, "list")
			checkRestrictions(t, a.GetListRestrictions().Labels.String(), a.GetListRestrictions().Fields.String())
		case k8stesting.WatchActionImpl:
			verbs = append(verbs, "watch")
			checkRestrictions(t, a.GetWatchRestrictions().Labels.String(), a.GetWatchRestrictions().Fields.String())
		}
	}
	if strings.Join(verbs, ",") != "list,watch" {
		t.Errorf("requests %v, want list,watch", verbs)
	}
}

func checkRestrictions(t *testing.T, labels, fields string) {
	t.Helper()
	if labels != DataPlaneLabel {
		t.Errorf("label selector %q, want %q", labels, DataPlaneLabel)
	}
	if fields != "spec.nodeName="+testNode {
		t.Errorf("field selector %q, want spec.nodeName=%s", fields, testNode)
	}
}

// TestEventFields: the event is upstream's, on the pod.
func TestEventFields(t *testing.T) {
	h := newHarness(t, Options{ControllerPodName: "linkerd-cni-abcde"}, newPod("broken", failed(95, 3)))
	fixed := time.Date(2026, 12, 4, 17, 0, 0, 123456000, time.UTC)
	h.c.now = func() time.Time { return fixed }
	h.start()
	h.eventually("an event", func() bool { return len(h.events()) == 1 })
	ev := h.events()[0]
	want := map[string][2]string{
		"namespace":            {ev.Namespace, "app"},
		"name":                 {ev.Name, "broken.18ee1b8e7a976a00"},
		"reason":               {ev.Reason, "LinkerdCNINotConfigured"},
		"action":               {ev.Action, "Deleting"},
		"note":                 {ev.Note, "Deleting pod to create a new one with proper CNI config"},
		"type":                 {ev.Type, "Normal"},
		"reportingController":  {ev.ReportingController, "linkerd-cni-repair-controller"},
		"reportingInstance":    {ev.ReportingInstance, "linkerd-cni-abcde"},
		"regarding.kind":       {ev.Regarding.Kind, "Pod"},
		"regarding.apiVersion": {ev.Regarding.APIVersion, "v1"},
		"regarding.namespace":  {ev.Regarding.Namespace, "app"},
		"regarding.name":       {ev.Regarding.Name, "broken"},
		"regarding.uid":        {string(ev.Regarding.UID), "uid-broken"},
	}
	for k, v := range want {
		if v[0] != v[1] {
			t.Errorf("event %s = %q, want %q", k, v[0], v[1])
		}
	}
	if !ev.EventTime.Time.Equal(fixed) {
		t.Errorf("eventTime %v, want %v", ev.EventTime, fixed)
	}
	if ev.Related != nil || ev.Series != nil {
		t.Errorf("related %v, series %v: want none", ev.Related, ev.Series)
	}
}

// lingeringDeletes makes deletes succeed without removing the pod, as a pod
// with a finalizer lingers: the controller must not delete it again for the
// same failure.
func lingeringDeletes(h *harness) {
	h.client.PrependReactor("delete", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, nil
	})
}

// TestNotTwiceForOneFailure: status updates of the same validator restart
// (as the kubelet writes several) are one failure; a new restart that fails
// again is a new one; and a new pod of the same name is a new pod.
func TestNotTwiceForOneFailure(t *testing.T) {
	p := newPod("broken", failed(95, 1))
	h := newHarness(t, Options{}, p)
	lingeringDeletes(h)
	h.start()
	h.eventually("the first delete", func() bool { return len(h.deletes()) == 1 })
	for range 3 {
		p.ResourceVersion = ""
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: "Other", Status: "True"})
		h.updateStatus(p)
	}
	h.settle()
	if n := len(h.deletes()); n != 1 {
		t.Fatalf("%d deletes after status updates of the same restart, want 1", n)
	}
	p.Status.InitContainerStatuses[0].RestartCount = 2
	h.updateStatus(p)
	h.eventually("a delete for the next restart", func() bool { return len(h.deletes()) == 2 })
	h.settle()
	if n := len(h.deletes()); n != 2 {
		t.Fatalf("%d deletes, want 2", n)
	}
	if got := testutil.ToFloat64(h.m.PodsDeleted); got != 2 {
		t.Errorf("pods_deleted = %v, want 2", got)
	}
}

// TestReplacedPodNotDeleted: when the name belongs to a new pod by the time
// the delete arrives, the API refuses it on the UID precondition (emulated
// here as the API server does it); the controller counts an error, records
// no event and does not retry.
func TestReplacedPodNotDeleted(t *testing.T) {
	h := newHarness(t, Options{}, newPod("broken", failed(95, 1)))
	h.client.PrependReactor("delete", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		d := a.(k8stesting.DeleteActionImpl)
		if p := d.DeleteOptions.Preconditions; p != nil && p.UID != nil && *p.UID != "uid-new" {
			return true, nil, apierrors.NewConflict(schema.GroupResource{Resource: "pods"}, d.Name,
				errors.New("Precondition failed: UID in precondition: "+string(*p.UID)+", UID in object meta: uid-new"))
		}
		return false, nil, nil
	})
	h.start()
	h.eventually("a delete", func() bool { return len(h.deletes()) == 1 })
	h.settle()
	if n := len(h.deletes()); n != 1 {
		t.Errorf("%d deletes, want 1 (a refused precondition is not retried)", n)
	}
	if _, err := h.client.CoreV1().Pods("app").Get(context.Background(), "broken", metav1.GetOptions{}); err != nil {
		t.Errorf("the pod is gone: %v", err)
	}
	assertCounts(t, h, counts{deleteErrors: 1})
	if n := len(h.events()); n != 0 {
		t.Errorf("%d events, want none", n)
	}
}

// TestDeleteRetries: errors and time-outs are counted per attempt, and the
// delete is retried up to MaxRetries.
func TestDeleteRetries(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want counts
	}{
		{"error", apierrors.NewInternalError(errors.New("etcd down")), counts{deleteErrors: 3}},
		{"timeout", context.DeadlineExceeded, counts{deleteTimeouts: 3}},
		{"server timeout", apierrors.NewTimeoutError("slow", 1), counts{deleteTimeouts: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{MaxRetries: 2}, newPod("broken", failed(95, 1)))
			h.client.PrependReactor("delete", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
				return true, nil, tc.err
			})
			h.start()
			h.eventually("three attempts", func() bool { return len(h.deletes()) == 3 })
			h.settle()
			if n := len(h.deletes()); n != 3 {
				t.Errorf("%d attempts, want 3 (1 + MaxRetries)", n)
			}
			assertCounts(t, h, tc.want)
		})
	}
}

// TestEventFailures: a failed or timed-out event is counted and not
// retried; the pod is deleted all the same.
func TestEventFailures(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want counts
	}{
		{"error", apierrors.NewForbidden(schema.GroupResource{Group: "events.k8s.io", Resource: "events"}, "x", errors.New("no RBAC")), counts{deleted: 1, eventErrors: 1}},
		{"timeout", context.DeadlineExceeded, counts{deleted: 1, eventTimeouts: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{}, newPod("broken", failed(95, 1)))
			attempts := 0
			h.client.PrependReactor("create", "events", func(k8stesting.Action) (bool, runtime.Object, error) {
				attempts++
				return true, nil, tc.err
			})
			h.start()
			h.eventually("a delete", func() bool { return len(h.deletes()) == 1 })
			h.settle()
			assertCounts(t, h, tc.want)
			if attempts != 1 {
				t.Errorf("%d event attempts, want 1", attempts)
			}
		})
	}
}

// TestQueueOverflow: with the queue full, a failing pod is dropped and
// counted (it comes back at its next restart).
func TestQueueOverflow(t *testing.T) {
	h := newHarness(t, Options{QueueCapacity: 1, Workers: 1},
		newPod("a", failed(95, 1)), newPod("b", failed(95, 1)), newPod("c", failed(95, 1)))
	h.start()
	h.eventually("a delete", func() bool { return len(h.deletes()) >= 1 })
	h.settle()
	assertCounts(t, h, counts{deleted: 1, overflow: 2})
}

// TestMetricsExposition: the names, help and types upstream's Prometheus
// client exposes, with values after one deletion.
func TestMetricsExposition(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := newHarness(t, Options{}, newPod("broken", failed(95, 1)))
	h.c.m = NewMetrics(reg)
	h.start()
	h.eventually("an event", func() bool { return len(h.events()) == 1 })
	h.settle()
	const want = `
# HELP linkerd_cni_repair_controller_events_publish_errors_total Incremented whenever the event publishing call errors out
# TYPE linkerd_cni_repair_controller_events_publish_errors_total counter
linkerd_cni_repair_controller_events_publish_errors_total 0
# HELP linkerd_cni_repair_controller_events_publish_timeouts_total Incremented whenever the event publishing call times out
# TYPE linkerd_cni_repair_controller_events_publish_timeouts_total counter
linkerd_cni_repair_controller_events_publish_timeouts_total 0
# HELP linkerd_cni_repair_controller_pods_delete_errors_total Incremented whenever the pod deletion call errors out
# TYPE linkerd_cni_repair_controller_pods_delete_errors_total counter
linkerd_cni_repair_controller_pods_delete_errors_total 0
# HELP linkerd_cni_repair_controller_pods_delete_timeout_total Incremented whenever the pod deletion call times out
# TYPE linkerd_cni_repair_controller_pods_delete_timeout_total counter
linkerd_cni_repair_controller_pods_delete_timeout_total 0
# HELP linkerd_cni_repair_controller_pods_deleted_total Number of pods deleted by the controller
# TYPE linkerd_cni_repair_controller_pods_deleted_total counter
linkerd_cni_repair_controller_pods_deleted_total 1
# HELP linkerd_cni_repair_controller_queue_overflow_total Incremented whenever the event processing queue overflows
# TYPE linkerd_cni_repair_controller_queue_overflow_total counter
linkerd_cni_repair_controller_queue_overflow_total 0
`
	names := []string{
		"linkerd_cni_repair_controller_events_publish_errors_total", "linkerd_cni_repair_controller_events_publish_timeouts_total",
		"linkerd_cni_repair_controller_pods_delete_errors_total", "linkerd_cni_repair_controller_pods_delete_timeout_total",
		"linkerd_cni_repair_controller_pods_deleted_total", "linkerd_cni_repair_controller_queue_overflow_total",
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	for name, n := range map[string]uint64{
		"linkerd_cni_repair_controller_pods_delete_latency_seconds":    1,
		"linkerd_cni_repair_controller_events_publish_latency_seconds": 1,
		"linkerd_cni_repair_controller_pods_repair_latency_seconds":    0,
	} {
		if got := histogramCount(t, reg, name); got != n {
			t.Errorf("%s count = %d, want %d", name, got, n)
		}
	}
}

func histogramCount(t *testing.T, reg *prometheus.Registry, name string) uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			h := mf.GetMetric()[0].GetHistogram()
			if len(h.GetBucket()) != len(prometheus.DefBuckets) {
				t.Errorf("%s has %d buckets, want upstream's %d", name, len(h.GetBucket()), len(prometheus.DefBuckets))
			}
			return h.GetSampleCount()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// counts are the counters' expected values (zero unless set).
type counts struct {
	deleted, deleteErrors, deleteTimeouts, eventErrors, eventTimeouts, overflow, repaired, repairErrors float64
}

func assertCounts(t *testing.T, h *harness, want counts) {
	t.Helper()
	got := counts{
		deleted: testutil.ToFloat64(h.m.PodsDeleted), deleteErrors: testutil.ToFloat64(h.m.PodsDeleteErrors),
		deleteTimeouts: testutil.ToFloat64(h.m.PodsDeleteTimeouts), eventErrors: testutil.ToFloat64(h.m.EventsPublishErrors),
		eventTimeouts: testutil.ToFloat64(h.m.EventsPublishTimeouts), overflow: testutil.ToFloat64(h.m.QueueOverflow),
		repaired: testutil.ToFloat64(h.m.PodsRepaired), repairErrors: testutil.ToFloat64(h.m.PodsRepairErrors),
	}
	if got != want {
		t.Errorf("counters %+v, want %+v", got, want)
	}
}
