package repair

import (
	"context"
	"errors"
	"log/slog"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// deletePod is ModeDelete's action, upstream's: delete the pod with grace
// period 0 (its containers cannot work without their rules, so there is
// nothing to drain), then record the event. The UID precondition makes the
// API refuse if the name now belongs to a new pod, which must not be
// deleted for its predecessor's failure. It reports whether to retry.
func (c *Controller) deletePod(ctx context.Context, pod *corev1.Pod, log *slog.Logger) bool {
	grace := int64(0)
	uid := pod.UID
	start := c.now()
	dctx, cancel := context.WithTimeout(ctx, c.opts.DeleteTimeout)
	err := c.kube.DeletePod(dctx, pod.Namespace, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: &grace,
		Preconditions:      &metav1.Preconditions{UID: &uid},
	})
	cancel()
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return false // shutting down: the call was cut, not failed
	case isTimeout(err):
		c.m.PodsDeleteTimeouts.Inc()
		log.Warn("pod deletion timed out; will retry", "timeout", c.opts.DeleteTimeout.String())
		return true
	case apierrors.IsNotFound(err):
		c.m.PodsDeleteErrors.Inc()
		log.Info("pod already gone", "error", err)
		return false
	case apierrors.IsConflict(err):
		c.m.PodsDeleteErrors.Inc()
		log.Info("pod not deleted: its name now belongs to a new pod", "error", err)
		return false
	default:
		c.m.PodsDeleteErrors.Inc()
		log.Warn("error deleting pod; will retry", "error", err)
		return true
	}
	c.m.PodsDeleteLatency.Observe(c.now().Sub(start).Seconds())
	c.m.PodsDeleted.Inc()
	log.Info("deleted pod: its linkerd-network-validator exited 95 (the CNI plugin had not programmed it); its owner creates a new one")
	c.record(ctx, pod, eventDeleted, log)
	return false
}

// record publishes the event, counting as upstream does; a failure is
// logged, not retried (the action it reports is done).
func (c *Controller) record(ctx context.Context, pod *corev1.Pod, k eventKind, log *slog.Logger) {
	start := c.now()
	err := publish(ctx, c.kube, newEvent(pod, k, c.opts.ControllerPodName, start), c.opts.EventTimeout)
	switch {
	case err == nil:
		c.m.EventsPublishLatency.Observe(c.now().Sub(start).Seconds())
	case ctx.Err() != nil:
		// Shutting down: the call was cut, not failed.
	case isTimeout(err):
		c.m.EventsPublishTimeouts.Inc()
		log.Warn("event publishing timed out", "reason", k.reason, "timeout", c.opts.EventTimeout.String())
	default:
		c.m.EventsPublishErrors.Inc()
		log.Warn("error publishing event", "reason", k.reason, "error", err)
	}
}

// isTimeout is a call cut by its deadline, or the API server's own time-out.
func isTimeout(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || apierrors.IsTimeout(err) || apierrors.IsServerTimeout(err)
}
