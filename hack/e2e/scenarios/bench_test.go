package scenarios

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/proxy-init/netlink-native/hack/e2e/cluster"
	"github.com/proxy-init/netlink-native/hack/e2e/images"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
)

// BenchmarkPodStart measures pod start on the real node, apply (Create
// returned) to Ready, in E2E_BENCH interleaved rounds (default 15; b.N is
// not used: one run of the benchmark is the whole measurement), and prints
// medians as markdown and JSON. It is a measurement, not an assertion, and
// a benchmark so that the scenarios' `go test` never runs or skips it:
//
//	cd hack/e2e && E2E_BENCH=15 go test -count=1 -run '^$' -bench '^BenchmarkPodStart$' -benchtime 1x ./scenarios/
//
// Kinds: an unmeshed pod with the plain bridge conflist; the same pod with
// our plugin chained (what the plugin costs a pod it leaves alone); a
// meshed pod in CNI mode (validator, proxy, app); a meshed pod in
// init-container mode (linkerd-init, proxy, app) with the plain conflist.
func BenchmarkPodStart(b *testing.B) {
	rounds, _ := strconv.Atoi(os.Getenv("E2E_BENCH"))
	if rounds <= 0 {
		rounds = 15
	}
	ctx := context.Background()
	kc, err := c.ServiceAccountKubeconfig(ctx, "linkerd-cni", "linkerd-cni", linkerdCNIRules)
	if err != nil {
		b.Fatal(err)
	}
	withPlugin := cluster.CNIConfig(pluginConf(kc))
	plain := cluster.DefaultCNIConfig()
	defer setCNIConfig(b, plain, nil, []string{cniPluginName})
	unmeshed := func(name string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
			Spec: corev1.PodSpec{Containers: []corev1.Container{proxyLike(), appContainer()}}}
	}
	initPod := func(name string) *corev1.Pod {
		meta := injectorMeta(name, nil)
		meta.Namespace = "default"
		return &corev1.Pod{ObjectMeta: meta, Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{initContainer(images.ProxyInitNetAdmin, 65534)},
			Containers:     []corev1.Container{proxyContainer(), appContainer()}}}
	}
	cniPod := func(name string) *corev1.Pod {
		return meshedCNIPod(name, "default", map[string]string{"config.linkerd.io/skip-inbound-ports": fmt.Sprint(ctlPort)})
	}
	type kind struct {
		name string
		conf []byte
		pod  func(string) *corev1.Pod
	}
	kinds := []kind{
		{"unmeshed, plain conflist", plain, unmeshed},
		{"meshed, init-container mode", plain, initPod},
		{"unmeshed, proxy-init-cni chained", withPlugin, unmeshed},
		{"meshed, CNI mode", withPlugin, cniPod},
	}
	samples := map[string][]float64{}
	for r := 0; r < rounds; r++ {
		// Alternate the order of the two groups and within them, so that no
		// kind always runs first after a configuration change.
		order := []int{0, 1, 2, 3}
		if r%2 == 1 {
			order = []int{3, 2, 1, 0}
		}
		for _, i := range order {
			k := kinds[i]
			setCNIConfig(b, k.conf, wantFor(k.conf), unwantedFor(k.conf))
			name := fmt.Sprintf("bench-%d-%d", r, i)
			pod := k.pod(name)
			d, err := startToReady(ctx, pod)
			deletePod(b, "default", name)
			if err != nil {
				b.Fatalf("%s: %v", k.name, err)
			}
			// The next pod starts on a quiet node: the API object is gone
			// before the sandbox's teardown (CNI DEL) is, and a pod started
			// beside that teardown took up to a third longer, depending
			// only on its place in the round.
			if err := c.WaitSandboxesStopped(ctx, string(pod.UID)); err != nil {
				b.Fatal(err)
			}
			samples[k.name] = append(samples[k.name], d.Seconds()*1000)
		}
	}
	type row struct {
		Kind     string  `json:"kind"`
		Runs     int     `json:"runs"`
		MedianMS float64 `json:"median_ms"`
		MinMS    float64 `json:"min_ms"`
		MaxMS    float64 `json:"max_ms"`
		Ratio    float64 `json:"ratio_to_unmeshed_plain"`
	}
	var rows []row
	base := median(samples[kinds[0].name])
	fmt.Printf("\n| pod kind | runs | apply to Ready, median ms | min | max | ratio to unmeshed (plain) |\n|---|---|---|---|---|---|\n")
	for _, k := range kinds {
		v := samples[k.name]
		m := median(v)
		rows = append(rows, row{k.name, len(v), m, slices.Min(v), slices.Max(v), m / base})
		fmt.Printf("| %s | %d | %.0f | %.0f | %.0f | %.3f |\n", k.name, len(v), m, slices.Min(v), slices.Max(v), m/base)
	}
	// What a ratio can resolve: the same kind's medians over the rounds of
	// each order (forward, reverse) differ by this much with nothing
	// changed between them.
	var even, odd []float64
	for i, v := range samples[kinds[0].name] {
		if i%2 == 0 {
			even = append(even, v)
		} else {
			odd = append(odd, v)
		}
	}
	if len(odd) > 0 {
		fmt.Printf("\nResolution: the unmeshed (plain) medians of the forward and of the reverse rounds differ by %.1f%%.\n", 100*math.Abs(median(even)-median(odd))/base)
	}
	j, _ := json.Marshal(rows)
	fmt.Printf("\n%s\n", j)
}

// proxyLike is the stand-in proxy under another name: the same containers
// as a meshed pod, but not meshed (the plugin keys on linkerd-proxy).
func proxyLike() corev1.Container {
	p := proxyContainer()
	p.Name = "sidecar"
	return p
}

func wantFor(conf []byte) []string {
	if string(conf) == string(cluster.DefaultCNIConfig()) {
		return nil
	}
	return []string{cniPluginName}
}

func unwantedFor(conf []byte) []string {
	if string(conf) == string(cluster.DefaultCNIConfig()) {
		return []string{cniPluginName}
	}
	return nil
}

// startToReady creates pod (setting its UID to the created one) and returns
// the time from Create's return to the Ready condition seen on a watch
// opened before.
func startToReady(ctx context.Context, pod *corev1.Pod) (time.Duration, error) {
	pod.Spec.TerminationGracePeriodSeconds = new(int64)
	pods := c.Client().CoreV1().Pods(pod.Namespace)
	w, err := pods.Watch(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", pod.Name).String()})
	if err != nil {
		return 0, err
	}
	defer w.Stop()
	created, err := pods.Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		return 0, err
	}
	pod.UID = created.UID
	start := time.Now()
	timeout := time.After(90 * time.Second)
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				return 0, fmt.Errorf("the watch of %s ended", pod.Name)
			}
			if ev.Type != watch.Modified && ev.Type != watch.Added {
				continue
			}
			if p, ok := ev.Object.(*corev1.Pod); ok {
				if ready, err := cluster.PodReady(p); err != nil {
					return 0, err
				} else if ready {
					return time.Since(start), nil
				}
			}
		case <-timeout:
			return 0, fmt.Errorf("%s not Ready after 90 s", pod.Name)
		}
	}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
