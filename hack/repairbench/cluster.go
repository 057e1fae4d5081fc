package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// The label and container names the controller keys on (upstream's).
const (
	dataPlaneLabel = "linkerd.io/control-plane-ns"
	validator      = "linkerd-network-validator"
	image          = "registry.k8s.io/pause:3.10"
)

type cluster struct {
	client kubernetes.Interface
	p      params
	mu     sync.Mutex
	pods   map[string]*corev1.Pod // the measured node's pods, as last written
}

func (c *cluster) setup(ctx context.Context) error {
	if _, err := c.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: c.p.namespace}}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create namespace %s: %w", c.p.namespace, err)
	}
	for _, n := range []string{c.p.node, c.p.otherNode} {
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n, Labels: map[string]string{"repairbench": "true"}}}
		if _, err := c.client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create node %s: %w", n, err)
		}
	}
	c.pods = map[string]*corev1.Pod{}
	type job struct {
		name, node string
	}
	jobs := make(chan job)
	errs := make(chan error, c.p.concurrency)
	var wg sync.WaitGroup
	for range c.p.concurrency {
		wg.Go(func() {
			for j := range jobs {
				p, err := c.createPod(ctx, j.name, j.node)
				if err != nil {
					select {
					case errs <- err:
					default:
					}
					continue
				}
				if j.node == c.p.node {
					c.mu.Lock()
					c.pods[j.name] = p
					c.mu.Unlock()
				}
			}
		})
	}
	for i := range c.p.onNode + c.p.elsewhere {
		j := job{fmt.Sprintf("onnode-%05d", i), c.p.node}
		if i >= c.p.onNode {
			j = job{fmt.Sprintf("elsewhere-%05d", i-c.p.onNode), c.p.otherNode}
		}
		select {
		case jobs <- j:
		case err := <-errs:
			close(jobs)
			wg.Wait()
			return err
		}
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	return nil
}

// createPod creates a meshed pod bound to node and writes the status a
// kubelet writes once the validator has passed and the pod runs.
func (c *cluster) createPod(ctx context.Context, name, node string) (*corev1.Pod, error) {
	zero := int64(0)
	ann := map[string]string{}
	// An injected pod carries a dozen annotations; the controller's cache
	// must not keep them.
	for _, k := range []string{"linkerd.io/created-by", "linkerd.io/inject", "linkerd.io/proxy-version", "linkerd.io/trust-root-sha256",
		"config.linkerd.io/proxy-cpu-request", "viz.linkerd.io/tap-enabled", "linkerd.io/identity-mode"} {
		ann[k] = strings.Repeat("x", 64)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: c.p.namespace, Annotations: ann,
			Labels: map[string]string{dataPlaneLabel: "linkerd", "app": "repairbench", "linkerd.io/workload-ns": c.p.namespace}},
		Spec: corev1.PodSpec{
			NodeName:                      node,
			TerminationGracePeriodSeconds: &zero,
			Tolerations:                   []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
			InitContainers:                []corev1.Container{{Name: validator, Image: image}},
			Containers:                    []corev1.Container{{Name: "linkerd-proxy", Image: image}, {Name: "app", Image: image}},
		},
	}
	created, err := c.client.CoreV1().Pods(c.p.namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("create pod %s: %w", name, err)
	}
	now := metav1.Now()
	created.Status = corev1.PodStatus{
		Phase: corev1.PodRunning, HostIP: "192.0.2.1", PodIP: "198.51.100.7", StartTime: &now,
		InitContainerStatuses: []corev1.ContainerStatus{{Name: validator, Image: image, Ready: true,
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed", StartedAt: now, FinishedAt: now}}}},
		ContainerStatuses: []corev1.ContainerStatus{
			{Name: "linkerd-proxy", Image: image, Ready: true, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}},
			{Name: "app", Image: image, Ready: true, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}},
		},
	}
	out, err := c.client.CoreV1().Pods(c.p.namespace).UpdateStatus(ctx, created, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("write the status of pod %s: %w", name, err)
	}
	return out, nil
}

// fail writes the status a kubelet writes when the validator exited 95 and
// waits to be restarted.
func (c *cluster) fail(ctx context.Context, p *corev1.Pod) error {
	now := metav1.Now()
	p = p.DeepCopy()
	p.Status.Phase = corev1.PodPending
	p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: validator, Image: image, RestartCount: 1,
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 95, Reason: "Error", StartedAt: now, FinishedAt: now,
			ContainerID: "containerd://" + string(p.UID)}}}}
	_, err := c.client.CoreV1().Pods(c.p.namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
	return err
}

// measure fails samples pods one at a time and times each until the watch
// reports it deleted.
func (c *cluster) measure(ctx context.Context) ([]time.Duration, error) {
	w, err := c.client.CoreV1().Pods(c.p.namespace).Watch(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + c.p.node})
	if err != nil {
		return nil, fmt.Errorf("watch the pods: %w", err)
	}
	defer w.Stop()
	deleted := make(chan string, 16)
	go func() {
		for ev := range w.ResultChan() {
			if p, ok := ev.Object.(*corev1.Pod); ok && ev.Type == watch.Deleted {
				deleted <- p.Name
			}
		}
		close(deleted)
	}()
	var out []time.Duration
	for i := range c.p.samples {
		name := fmt.Sprintf("onnode-%05d", i)
		c.mu.Lock()
		p := c.pods[name]
		c.mu.Unlock()
		t0 := time.Now()
		if err := c.fail(ctx, p); err != nil {
			return out, fmt.Errorf("fail pod %s: %w", name, err)
		}
		timeout := time.After(30 * time.Second)
	wait:
		for {
			select {
			case n, ok := <-deleted:
				if !ok {
					return out, fmt.Errorf("the watch ended")
				}
				if n == name {
					out = append(out, time.Since(t0))
					break wait
				}
			case <-timeout:
				return out, fmt.Errorf("pod %s not deleted within 30s of its exit-95 status", name)
			case <-ctx.Done():
				return out, ctx.Err()
			}
		}
		time.Sleep(c.p.interval)
	}
	return out, nil
}

// cleanup force-deletes the pods (no kubelet would ever confirm a graceful
// deletion), one request each from concurrent workers (a DeleteCollection
// of 10,000 pods outlasts the API server's request timeout), then the
// namespace and the nodes.
func (c *cluster) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	zero := int64(0)
	opts := metav1.DeleteOptions{GracePeriodSeconds: &zero}
	names := make(chan string)
	var failed sync.Once
	var wg sync.WaitGroup
	for range c.p.concurrency {
		wg.Go(func() {
			for n := range names {
				if err := c.client.CoreV1().Pods(c.p.namespace).Delete(ctx, n, opts); err != nil && !apierrors.IsNotFound(err) {
					failed.Do(func() { fmt.Println("cleanup: delete pod", n+":", err) })
				}
			}
		})
	}
	for i := range c.p.onNode {
		names <- fmt.Sprintf("onnode-%05d", i)
	}
	for i := range c.p.elsewhere {
		names <- fmt.Sprintf("elsewhere-%05d", i)
	}
	close(names)
	wg.Wait()
	if err := c.client.CoreV1().Namespaces().Delete(ctx, c.p.namespace, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		fmt.Println("cleanup: delete the namespace:", err)
	}
	for _, n := range []string{c.p.node, c.p.otherNode} {
		if err := c.client.CoreV1().Nodes().Delete(ctx, n, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			fmt.Println("cleanup: delete node", n+":", err)
		}
	}
	fmt.Println("cleanup: done")
}

// burst fails every pod of the node not sampled, from concurrent writers as
// the kubelet would after a node boot, and times until a list of the node's
// pods (polled every 50 ms) finds none of them left.
func (c *cluster) burst(ctx context.Context) (int, time.Duration, error) {
	var names []string
	for i := c.p.samples; i < c.p.onNode; i++ {
		names = append(names, fmt.Sprintf("onnode-%05d", i))
	}
	t0 := time.Now()
	jobs := make(chan string)
	var wg sync.WaitGroup
	for range c.p.concurrency {
		wg.Go(func() {
			for n := range jobs {
				c.mu.Lock()
				p := c.pods[n]
				c.mu.Unlock()
				if err := c.fail(ctx, p); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
					fmt.Println("burst: fail pod", n+":", err)
				}
			}
		})
	}
	for _, n := range names {
		jobs <- n
	}
	close(jobs)
	wg.Wait()
	deadline := time.Now().Add(5 * time.Minute)
	for {
		l, err := c.client.CoreV1().Pods(c.p.namespace).List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + c.p.node})
		if err != nil {
			return 0, 0, fmt.Errorf("list the pods: %w", err)
		}
		if len(l.Items) == 0 {
			return len(names), time.Since(t0), nil
		}
		if time.Now().After(deadline) {
			return 0, 0, fmt.Errorf("%d pods not deleted within 5 minutes", len(l.Items))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
