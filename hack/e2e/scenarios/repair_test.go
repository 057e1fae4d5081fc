package scenarios

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/proxy-init/netlink-native/hack/e2e/cluster"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"
)

// repairRules are the chart's ClusterRole rules with
// repairController.enabled (deploy/charts/linkerd2-cni/templates/rbac.yaml,
// as linkerd2-cni's): the controller's kubeconfig grants nothing more.
var repairRules = []rbacv1.PolicyRule{
	{APIGroups: []string{""}, Resources: []string{"pods", "nodes", "namespaces", "services"}, Verbs: []string{"list", "get", "watch"}},
	{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"delete"}},
	{APIGroups: []string{"events.k8s.io"}, Resources: []string{"events"}, Verbs: []string{"create"}},
}

const repairReplicas = 2

// lockedBuffer collects a process's output for a failure message.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startRepairController runs proxy-init-cni-repair in the node's network
// and mount namespaces as root (in-place mode opens the pods' network
// namespaces and containerd's socket there), with the kubeconfig of a
// service account holding the chart's rules only. It is stopped (SIGTERM,
// by pid) when the test ends; its output is logged then.
func startRepairController(t *testing.T, extra ...string) {
	t.Helper()
	ctx := context.Background()
	kc, err := c.ServiceAccountKubeconfig(ctx, "e2e-repair", "linkerd-cni-repair", repairRules)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--kubeconfig", kc, "--node-name", cluster.NodeName, "--controller-pod-name", "e2e-repair-controller",
		"--admin-addr", "127.0.0.1:9990", "--log-level", "debug"}, extra...)
	cmd := c.Node().Command(ctx, imgs.RepairBinary(), args...)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the repair controller: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("the repair controller ended with %v", err)
			}
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Errorf("the repair controller did not end 10 s after SIGTERM")
		}
		if t.Failed() {
			t.Logf("repair controller output:\n%s", out.String())
		}
	})
}

// meshedDeployment creates a Deployment of meshed pods (validator,
// stand-in proxy, app) in namespace ns, as upstream's integration
// scenario does; it and its pods go when the test ends.
func meshedDeployment(t *testing.T, ns string) {
	t.Helper()
	pod := meshedCNIPod("repaired", ns, map[string]string{
		"config.linkerd.io/skip-inbound-ports":  fmt.Sprint(ctlPort),
		"config.linkerd.io/skip-outbound-ports": fmt.Sprint(skipOutPort),
	})
	pod.Spec.TerminationGracePeriodSeconds = ptr.To(int64(0))
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "repaired", Namespace: ns}, Spec: appsv1.DeploymentSpec{
		Replicas: ptr.To(int32(repairReplicas)),
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "repaired"}},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: pod.Labels, Annotations: pod.Annotations}, Spec: pod.Spec},
	}}
	if _, err := c.Client().AppsV1().Deployments(ns).Create(context.Background(), d, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create deployment: %v", err)
	}
	t.Cleanup(func() {
		_ = c.Client().AppsV1().Deployments(ns).Delete(context.Background(), "repaired", metav1.DeleteOptions{})
		l, _ := c.Client().CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
		if l != nil {
			for _, p := range l.Items {
				deletePod(t, ns, p.Name)
			}
		}
	})
}

// validator95 reports whether a pod's validator has exited 95 (now or as
// its last run).
func validator95(p *corev1.Pod) bool {
	for _, s := range p.Status.InitContainerStatuses {
		if s.Name != "linkerd-network-validator" {
			continue
		}
		for _, st := range []corev1.ContainerState{s.State, s.LastTerminationState} {
			if st.Terminated != nil && st.Terminated.ExitCode == 95 {
				return true
			}
		}
	}
	return false
}

func listPods(t *testing.T, ns string) []corev1.Pod {
	t.Helper()
	l, err := c.Client().CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list pods in %s: %v", ns, err)
	}
	return l.Items
}

// waitAllFailed95 waits until the namespace has repairReplicas pods, each
// with its validator's exit 95, and returns their UIDs.
func waitAllFailed95(t *testing.T, ns string) map[types.UID]string {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	var pods []corev1.Pod
	for time.Now().Before(deadline) {
		pods = listPods(t, ns)
		uids := map[types.UID]string{}
		for _, p := range pods {
			if p.DeletionTimestamp == nil && validator95(&p) {
				uids[p.UID] = p.Name
			}
		}
		if len(uids) >= repairReplicas {
			return uids
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("not %d pods with the validator's exit 95 after 90 s:\n%s", repairReplicas, podsReport(pods))
	return nil
}

func podsReport(pods []corev1.Pod) string {
	var s []string
	for i := range pods {
		s = append(s, podReport(&pods[i]))
	}
	return strings.Join(s, "\n")
}

// waitAllReady waits until the namespace holds exactly repairReplicas
// pods, all Ready with the validator's last run exited 0, and returns them.
func waitAllReady(t *testing.T, ns string, timeout time.Duration) []corev1.Pod {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var pods []corev1.Pod
	for time.Now().Before(deadline) {
		pods = listPods(t, ns)
		ready := 0
		for i := range pods {
			p := &pods[i]
			ok, _ := cluster.PodReady(p)
			ic := p.Status.InitContainerStatuses
			if ok && p.DeletionTimestamp == nil && len(ic) == 1 && ic[0].State.Terminated != nil && ic[0].State.Terminated.ExitCode == 0 {
				ready++
			}
		}
		if ready == repairReplicas && len(pods) == repairReplicas {
			return pods
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("the Deployment's pods are not all Ready with the validator passed after %s:\n%s", timeout, podsReport(pods))
	return nil
}

// eventsFor returns the events.k8s.io events of ns with reason, keyed by
// the regarded pod's UID.
func eventsFor(t *testing.T, ns, reason string) map[types.UID]string {
	t.Helper()
	l, err := c.Client().EventsV1().Events(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list events in %s: %v", ns, err)
	}
	m := map[types.UID]string{}
	for _, e := range l.Items {
		if e.Reason == reason && e.Regarding.Kind == "Pod" {
			m[e.Regarding.UID] = fmt.Sprintf("%s %s %q by %s/%s", e.Type, e.Action, e.Note, e.ReportingController, e.ReportingInstance)
		}
	}
	return m
}

// podRecorder watches a namespace's pods from before they exist and
// records every pod whose validator exited 95 and every pod deleted: in
// delete mode the controller deletes a failed pod within milliseconds,
// before a poll would see it.
type podRecorder struct {
	mu      sync.Mutex
	failed  map[types.UID]string
	deleted map[types.UID]string
}

func recordPods(t *testing.T, ns string) *podRecorder {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w, err := c.Client().CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		cancel()
		t.Fatalf("watch pods in %s: %v", ns, err)
	}
	r := &podRecorder{failed: map[types.UID]string{}, deleted: map[types.UID]string{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			r.mu.Lock()
			if validator95(p) {
				r.failed[p.UID] = p.Name
			}
			if ev.Type == watch.Deleted {
				r.deleted[p.UID] = p.Name
			}
			r.mu.Unlock()
		}
	}()
	t.Cleanup(func() { w.Stop(); cancel(); <-done })
	return r
}

// snapshot returns copies of the failed and deleted sets.
func (r *podRecorder) snapshot() (failed, deleted map[types.UID]string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.failed), maps.Clone(r.deleted)
}

// TestRepairController is upstream's integration scenario
// (cni-repair-controller/integration): meshed pods of a Deployment start
// before the CNI DaemonSet is in, their validator exits 95, the repair
// controller acts, and once the installer has put the plugin in the chain
// every pod ends Ready and redirected. delete: the controller deletes the
// failed pods, their replacements start. in-place: the same pods recover,
// never deleted.
func TestRepairController(t *testing.T) {
	t.Run("delete", func(t *testing.T) {
		const ns = "e2e-repair-delete"
		setCNIConfig(t, cluster.DefaultCNIConfig(), nil, []string{pluginType, cniPluginName})
		startRepairController(t)
		createNamespace(t, ns, nil)
		rec := recordPods(t, ns)
		meshedDeployment(t, ns)
		// The controller deletes each failed pod: wait until repairReplicas
		// pods failed and were deleted (their replacements fail too, until
		// the plugin is in).
		var failed map[types.UID]string
		deadline := time.Now().Add(90 * time.Second)
		for {
			f, d := rec.snapshot()
			failed = map[types.UID]string{}
			for uid, name := range f {
				if _, ok := d[uid]; ok {
					failed[uid] = name
				}
			}
			if len(failed) >= repairReplicas {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after 90 s, %d pod(s) had the validator's exit 95 and %d were deleted (failed and deleted: %v), want %d failed pods deleted:\n%s",
					len(f), len(d), failed, repairReplicas, podsReport(listPods(t, ns)))
			}
			time.Sleep(100 * time.Millisecond)
		}
		// The event may follow the deletion by a moment: wait for one per
		// deleted pod (a fixed second raced a loaded node).
		var ev map[types.UID]string
		for evDeadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			ev = eventsFor(t, ns, "LinkerdCNINotConfigured")
			missing := 0
			for uid := range failed {
				if _, ok := ev[uid]; !ok {
					missing++
				}
			}
			if missing == 0 || time.Now().After(evDeadline) {
				break
			}
		}
		for uid, name := range failed {
			if e, ok := ev[uid]; !ok {
				t.Errorf("no LinkerdCNINotConfigured event for the deleted pod %s", name)
			} else {
				t.Logf("event for %s: %s", name, e)
			}
		}
		// The DaemonSet comes in late; the replacements then start.
		installChart(t)
		pods := waitAllReady(t, ns, 120*time.Second)
		for _, p := range pods {
			if _, old := failed[p.UID]; old {
				t.Errorf("pod %s Ready is one that failed: it should have been replaced", p.Name)
			}
			checkRedirected(t, p.Status.PodIP, skipOutPort)
		}
	})

	t.Run("in-place", func(t *testing.T) {
		const ns = "e2e-repair-inplace"
		setCNIConfig(t, cluster.DefaultCNIConfig(), nil, []string{pluginType, cniPluginName})
		createNamespace(t, ns, nil)
		rec := recordPods(t, ns)
		meshedDeployment(t, ns)
		failed := waitAllFailed95(t, ns)
		startRepairController(t, "--repair-mode=in-place", "--cni-config", c.CNIConfDir(),
			"--cri-socket", "unix://"+filepath.Join(c.Dir(), "containerd.sock"))
		installChart(t)
		pods := waitAllReady(t, ns, 120*time.Second)
		var names []string
		for _, p := range pods {
			if _, same := failed[p.UID]; !same {
				t.Errorf("pod %s (UID %s) is not one of the failed pods: in-place mode must not delete them", p.Name, p.UID)
			}
			names = append(names, p.Name)
			checkRedirected(t, p.Status.PodIP, skipOutPort)
		}
		sort.Strings(names)
		t.Logf("the same pods recovered: %v", names)
		ev := eventsFor(t, ns, "LinkerdCNIRepairedInPlace")
		for uid, name := range failed {
			if e, ok := ev[uid]; !ok {
				t.Errorf("no LinkerdCNIRepairedInPlace event for pod %s", name)
			} else {
				t.Logf("event for %s: %s", name, e)
			}
		}
		if ev := eventsFor(t, ns, "LinkerdCNINotConfigured"); len(ev) > 0 {
			t.Errorf("in-place mode recorded deletions: %v", ev)
		}
		if _, d := rec.snapshot(); len(d) > 0 {
			t.Errorf("pods deleted in in-place mode: %v", d)
		}
	})
}
