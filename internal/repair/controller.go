package repair

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// Controller watches one node's meshed pods and repairs those whose
// validator exited 95. Create it with New, start it with Run.
type Controller struct {
	kube     Kube
	opts     Options
	log      *slog.Logger
	m        *Metrics
	informer cache.SharedIndexInformer
	handler  cache.ResourceEventHandlerRegistration
	queue    workqueue.TypedRateLimitingInterface[item]
	ready    atomic.Bool
	now      func() time.Time

	mu sync.Mutex
	// done maps a pod's UID to the validator run last acted on, so that a
	// failure is acted on once; an entry goes with its pod.
	done map[types.UID]string
}

// item is a queued pod: its key, and its UID so that a new pod of the same
// name is never taken for it.
type item struct {
	Namespace, Name string
	UID             types.UID
}

// New creates a controller on kube (NewKube's REST client, or
// clientset.Adapt over a kubernetes.Interface) for opts.NodeName. Bad
// options are ErrOptions.
func New(kube Kube, opts Options) (*Controller, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Controller{
		kube: kube,
		opts: o,
		log:  o.Logger,
		m:    o.Metrics,
		now:  time.Now,
		done: map[types.UID]string{},
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.DefaultTypedControllerRateLimiter[item](),
			workqueue.TypedRateLimitingQueueConfig[item]{Name: "linkerd-cni-repair"}),
	}
	// Only this node's meshed pods, as upstream watches; no periodic
	// resync (a failing pod's crash loop updates its status anyway). The
	// informer relists by itself when a watch expires or the API server
	// restarts.
	selectors := func(lo *metav1.ListOptions) {
		lo.LabelSelector = DataPlaneLabel
		lo.FieldSelector = "spec.nodeName=" + o.NodeName
	}
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, lo metav1.ListOptions) (runtime.Object, error) {
			selectors(&lo)
			return kube.ListPods(ctx, lo)
		},
		WatchFuncWithContext: func(ctx context.Context, lo metav1.ListOptions) (watch.Interface, error) {
			selectors(&lo)
			return kube.WatchPods(ctx, lo)
		},
	}
	// kube tells the reflector, as client-go's fake clientset does, when
	// it cannot stream the initial list (WatchList).
	c.informer = cache.NewSharedIndexInformer(cache.ToListWatcherWithWatchListSemantics(lw, kube), &corev1.Pod{}, 0, cache.Indexers{})
	if err := c.informer.SetTransform(trim); err != nil {
		return nil, fmt.Errorf("set the pod informer's transform: %w", err)
	}
	if c.handler, err = c.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.observe,
		UpdateFunc: func(_, obj any) { c.observe(obj) },
		DeleteFunc: c.forget,
	}); err != nil {
		return nil, fmt.Errorf("watch pods: %w", err)
	}
	return c, nil
}

// Run watches and repairs until ctx ends, then waits for the workers. It
// has no error to return: the informer retries a failing API server by
// itself, and a failed repair is logged, counted and retried.
func (c *Controller) Run(ctx context.Context) {
	defer c.queue.ShutDown()
	c.log.Info("watching pods", "node", c.opts.NodeName, "labelSelector", DataPlaneLabel, "mode", string(c.opts.Mode))
	go c.informer.RunWithContext(ctx)
	// client-go says why a list fails only at klog's V(2): say at warn that
	// the controller is waiting, so an unreachable or refusing API server
	// is not silent at the default level.
	go c.warnUntilSynced(ctx, 10*time.Second)
	// Synced once the handler has seen every pod of the first list, so
	// that "ready" means every pod already failing is queued.
	if !cache.WaitForCacheSync(ctx.Done(), c.handler.HasSynced) {
		// Stopped before the first list came (the informer retries an
		// unreachable API server until then): a shutdown, not a failure.
		c.log.Info("stopped before the pod list was read", "cause", context.Cause(ctx).Error())
		return
	}
	// The first list decoded every pod in full before the transform
	// trimmed it: hand that garbage back to the kernel now, instead of
	// keeping it resident until the heap next doubles (a node's thousand
	// pods are ~20 MiB of it, twice the rest of the process).
	debug.FreeOSMemory()
	c.ready.Store(true)
	c.log.Info("pod cache synced", "pods", len(c.informer.GetStore().ListKeys()))
	var wg sync.WaitGroup
	for range c.opts.Workers {
		wg.Go(func() {
			for c.processNext(ctx) {
			}
		})
	}
	<-ctx.Done()
	c.queue.ShutDown()
	wg.Wait()
}

// Ready reports whether the pod cache has synced (the admin server's
// /ready).
func (c *Controller) Ready() bool { return c.ready.Load() }

// observe queues a pod that needs repair and was not repaired for this
// failure yet. A full queue drops it (counted): the pod's next crash-loop
// restart brings it back, as upstream relies on.
func (c *Controller) observe(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	f, ok := validatorFailure(pod)
	if !ok || c.handled(f) {
		return
	}
	if c.queue.Len() >= c.opts.QueueCapacity {
		c.m.QueueOverflow.Inc()
		c.log.Debug("dropped pod: queue full", "pod", pod.Namespace+"/"+pod.Name)
		return
	}
	c.queue.Add(item{pod.Namespace, pod.Name, pod.UID})
}

// forget drops a deleted pod's record.
func (c *Controller) forget(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	if pod, ok := obj.(*corev1.Pod); ok {
		c.mu.Lock()
		delete(c.done, pod.UID)
		c.mu.Unlock()
	}
}

func (c *Controller) handled(f failure) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	run, ok := c.done[types.UID(f.UID)]
	return ok && run == f.Run
}

func (c *Controller) markHandled(f failure) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.done[types.UID(f.UID)] = f.Run
}

// processNext acts on one queued pod; false when the queue is shut down.
func (c *Controller) processNext(ctx context.Context) bool {
	it, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(it)
	retry := c.process(ctx, it)
	if retry && c.queue.NumRequeues(it) < c.opts.MaxRetries && ctx.Err() == nil {
		c.queue.AddRateLimited(it)
		return true
	}
	c.queue.Forget(it)
	return true
}

// process re-reads the pod from the cache (it may have changed or gone
// since it was queued) and acts on it; it reports whether to retry.
func (c *Controller) process(ctx context.Context, it item) bool {
	obj, exists, err := c.informer.GetIndexer().GetByKey(it.Namespace + "/" + it.Name)
	if err != nil || !exists {
		return false
	}
	pod := obj.(*corev1.Pod)
	if pod.UID != it.UID {
		return false // a new pod of the same name: it is queued on its own if it fails
	}
	f, ok := validatorFailure(pod)
	if !ok || c.handled(f) {
		return false
	}
	log := c.log.With("pod", pod.Namespace+"/"+pod.Name, "uid", string(pod.UID), "validatorRestarts", f.RestartCount, "validatorRun", f.Run)
	var retry bool
	switch c.opts.Mode {
	case ModeInPlace:
		retry = c.repairInPlace(ctx, pod, log)
	default:
		retry = c.deletePod(ctx, pod, log)
	}
	if !retry {
		c.markHandled(f)
	}
	return retry
}

// warnUntilSynced logs every period until the first list has been handled.
func (c *Controller) warnUntilSynced(ctx context.Context, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	start := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if c.handler.HasSynced() {
				return
			}
			c.log.Warn("still waiting for the first pod list from the API server (client-go says why at --log-level debug)",
				"waited", time.Since(start).Round(time.Second).String())
		}
	}
}
