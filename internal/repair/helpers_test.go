package repair

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/proxy-init/netlink-native/internal/repair/clientset"
	"github.com/proxy-init/netlink-native/internal/testns"

	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

const testNode = "node-a"

// podOpt shapes a test pod.
type podOpt func(*corev1.Pod)

// failed gives the pod a validator whose last termination exited code, at
// restart count n, now waiting to be restarted (CrashLoopBackOff).
func failed(code int32, n int32) podOpt {
	return func(p *corev1.Pod) {
		p.Status.InitContainerStatuses = []corev1.ContainerStatus{{
			Name:                 ValidatorName,
			RestartCount:         n,
			State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: "Error"}},
		}}
	}
}

func deleting(p *corev1.Pod) {
	now := metav1.Now()
	p.DeletionTimestamp = &now
}

func newPod(name string, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "app", UID: types.UID("uid-" + name), ResourceVersion: "1",
			Labels: map[string]string{DataPlaneLabel: "linkerd"},
		},
		Spec: corev1.PodSpec{
			NodeName:       testNode,
			InitContainers: []corev1.Container{{Name: ValidatorName}},
			Containers:     []corev1.Container{{Name: "linkerd-proxy"}, {Name: "app"}},
		},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

// harness runs a controller on a fake clientset until the test ends.
type harness struct {
	t      *testing.T
	client *fake.Clientset
	c      *Controller
	m      *Metrics
	logs   *testns.Buffer
}

// newHarness creates the controller; setup may add reactors before it
// starts; start runs it.
func newHarness(t *testing.T, opts Options, objs ...*corev1.Pod) *harness {
	t.Helper()
	var ros []runtime.Object
	for _, p := range objs {
		ros = append(ros, p)
	}
	client := fake.NewClientset(ros...)
	h := &harness{t: t, client: client, m: NewMetrics(nil), logs: &testns.Buffer{}}
	opts.NodeName = testNode
	if opts.ControllerPodName == "" {
		opts.ControllerPodName = "linkerd-cni-xyz12"
	}
	opts.Metrics = h.m
	opts.Logger = slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := New(clientset.Adapt(client), opts)
	if err != nil {
		t.Fatal(err)
	}
	h.c = c
	return h
}

func (h *harness) start() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.c.Run(ctx); close(done) }()
	h.t.Cleanup(func() {
		cancel()
		<-done
		if h.t.Failed() {
			h.t.Logf("controller log:\n%s", h.logs.String())
		}
	})
	h.eventually("the controller is ready", h.c.Ready)
}

// eventually polls cond for up to 10 s.
func (h *harness) eventually(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// settle waits for the queue to drain and stay drained: what the
// controller was going to do, it has done.
func (h *harness) settle() {
	h.t.Helper()
	h.eventually("the queue drains", func() bool { return h.c.queue.Len() == 0 })
	time.Sleep(150 * time.Millisecond)
	h.eventually("the queue drains again", func() bool { return h.c.queue.Len() == 0 })
}

// deletes are the pod delete actions the client received.
func (h *harness) deletes() []k8stesting.DeleteActionImpl {
	var out []k8stesting.DeleteActionImpl
	for _, a := range h.client.Actions() {
		if d, ok := a.(k8stesting.DeleteActionImpl); ok && d.GetResource().Resource == "pods" {
			out = append(out, d)
		}
	}
	return out
}

// events are the events.k8s.io/v1 events created.
func (h *harness) events() []*eventsv1.Event {
	var out []*eventsv1.Event
	for _, a := range h.client.Actions() {
		if c, ok := a.(k8stesting.CreateActionImpl); ok && c.GetResource().Resource == "events" {
			if c.GetResource().Group != "events.k8s.io" {
				h.t.Errorf("event created in API group %q, want events.k8s.io", c.GetResource().Group)
			}
			out = append(out, c.GetObject().(*eventsv1.Event))
		}
	}
	return out
}

// updateStatus writes the pod's status as the kubelet does.
func (h *harness) updateStatus(p *corev1.Pod) {
	h.t.Helper()
	if _, err := h.client.CoreV1().Pods(p.Namespace).UpdateStatus(context.Background(), p, metav1.UpdateOptions{}); err != nil {
		h.t.Fatal(err)
	}
}

func counterValue(c interface{ Write(*dto.Metric) error }) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}

var testTime = time.Date(2026, 12, 4, 17, 0, 0, 0, time.UTC)
