package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/proxy-init/netlink-native/internal/testns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// injectedPod is a meshed pod as an API server returns it, about the size
// of a real injected one (annotations, managed fields, full status), so
// that the controller's cache is measured with realistic objects.
func injectedPod(i int) corev1.Pod {
	ann := map[string]string{}
	for j := range 12 {
		ann[fmt.Sprintf("config.linkerd.io/key-%02d", j)] = strings.Repeat("v", 80)
	}
	fields := `{"f:metadata":{"f:annotations":{` + strings.Repeat(`"f:x":{},`, 120) + `"f:y":{}}}}`
	now := metav1.Now()
	running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}
	return corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: fmt.Sprintf("web-%05d", i), Namespace: "app", UID: types.UID(fmt.Sprintf("uid-%08d-0000-0000-0000-000000000000", i)), ResourceVersion: strconv.Itoa(100 + i),
			Labels:          map[string]string{"linkerd.io/control-plane-ns": "linkerd", "app": "web", "pod-template-hash": "5d8f7c9b6"},
			Annotations:     ann,
			ManagedFields:   []metav1.ManagedFieldsEntry{{Manager: "kubelet", Operation: "Update", FieldsType: "FieldsV1", FieldsV1: metav1.NewFieldsV1(fields)}},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-5d8f7c9b6", UID: "rs-uid"}},
		},
		Spec: corev1.PodSpec{
			NodeName:       "node-a",
			InitContainers: []corev1.Container{{Name: "linkerd-network-validator", Image: "cr.l5d.io/linkerd/proxy:edge", Args: []string{"--log-format", "plain", "--connect-addr", "1.1.1.1:20001"}}},
			Containers: []corev1.Container{
				{Name: "linkerd-proxy", Image: "cr.l5d.io/linkerd/proxy:edge", Env: []corev1.EnvVar{{Name: "LINKERD2_PROXY_LOG", Value: strings.Repeat("x", 400)}}},
				{Name: "app", Image: "example/web:1"},
			},
		},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning, PodIP: "198.51.100.7", HostIP: "192.0.2.1", StartTime: &now,
			Conditions: []corev1.PodCondition{{Type: "Ready", Status: "True"}, {Type: "Initialized", Status: "True"}},
			InitContainerStatuses: []corev1.ContainerStatus{{Name: "linkerd-network-validator", Ready: true,
				State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed"}}}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "linkerd-proxy", Ready: true, State: running}, {Name: "app", Ready: true, State: running}},
		},
	}
}

// BenchmarkControllerRSS measures the controller's resident memory with N
// meshed pods on its node (1,000 by default; REPAIR_RSS_PODS overrides),
// against a baseline run with none, and reports both (MiB) and the cost per
// pod (KiB). The API server filters by node, so the cluster's other pods
// never reach the controller; its cache keeps a few fields per pod. It is a
// benchmark, not a test: the figures vary by machine and assert nothing.
func BenchmarkControllerRSS(b *testing.B) {
	if !testns.InNodeNamespace() {
		testns.RequireRoot(b)
		b.Skip("runs in the node namespace TestMain makes")
	}
	n := 1000
	if v := os.Getenv("REPAIR_RSS_PODS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 0 {
			b.Fatalf("REPAIR_RSS_PODS=%q: must be a pod count", v)
		}
	}
	var base, loaded float64
	for b.Loop() {
		base = measureRSS(b, 0)
		loaded = measureRSS(b, n)
	}
	b.ReportMetric(base/(1<<20), "MiB-idle")
	b.ReportMetric(loaded/(1<<20), "MiB-loaded")
	b.ReportMetric((loaded-base)/1024/float64(max(n, 1)), "KiB/pod")
	b.Logf("%d meshed pods on the node; pod JSON %d bytes each", n, podSize())
}

func podSize() int {
	b, _ := json.Marshal(injectedPod(0))
	return len(b)
}

// measureRSS runs the binary against a fake API listing n pods and returns
// the median of five VmRSS samples taken after it is ready.
func measureRSS(t testing.TB, n int) float64 {
	t.Helper()
	items := make([]string, n)
	for i := range n {
		b, err := json.Marshal(injectedPod(i))
		if err != nil {
			t.Fatal(err)
		}
		items[i] = string(b)
	}
	api := &fakeAPI{release: make(chan struct{}), podsJSON: strings.Join(items, ",")}
	close(api.release)
	srv := httptest.NewServer(api)
	defer srv.Close()
	kubeconfig := writeKubeconfig(t, t.TempDir(), srv.URL, "")
	admin := freePort(t)
	cmd := exec.Command(binary, append(required, "--kubeconfig", kubeconfig, "--admin-addr", admin, "--log-level", "warn")...)
	cmd.Env = []string{"HOME=" + t.TempDir()}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	waitFor(t, "/ready", func() bool { c, _ := get("http://" + admin + "/ready"); return c == 200 })
	var samples []float64
	for range 5 {
		time.Sleep(200 * time.Millisecond)
		samples = append(samples, vmRSS(t, cmd.Process.Pid))
	}
	slices.Sort(samples)
	return samples[2]
}

func vmRSS(t testing.TB, pid int) float64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb * 1024
		}
	}
	t.Fatal("no VmRSS")
	return 0
}
