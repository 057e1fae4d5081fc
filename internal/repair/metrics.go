package repair

import "github.com/prometheus/client_golang/prometheus"

// MetricsPrefix is upstream's prefix for every metric of the controller.
const MetricsPrefix = "linkerd_cni_repair_controller_"

// latencyBuckets are upstream's (client_golang's defaults, which upstream
// copied).
var latencyBuckets = prometheus.DefBuckets

// Metrics are upstream's metrics, under the names its Prometheus client
// exposes them (counters get _total; note pods_delete_timeout, singular, as
// upstream registers it), plus the in-place mode's own.
type Metrics struct {
	QueueOverflow         prometheus.Counter
	PodsDeleted           prometheus.Counter
	PodsDeleteLatency     prometheus.Histogram
	PodsDeleteErrors      prometheus.Counter
	PodsDeleteTimeouts    prometheus.Counter
	EventsPublishLatency  prometheus.Histogram
	EventsPublishErrors   prometheus.Counter
	EventsPublishTimeouts prometheus.Counter
	PodsRepaired          prometheus.Counter
	PodsRepairLatency     prometheus.Histogram
	PodsRepairErrors      prometheus.Counter
}

// NewMetrics creates the metrics and registers them with reg (nil: not
// registered, as in tests that read them directly).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: MetricsPrefix + name, Help: help})
	}
	h := func(name, help string) prometheus.Histogram {
		return prometheus.NewHistogram(prometheus.HistogramOpts{Name: MetricsPrefix + name, Help: help, Buckets: latencyBuckets})
	}
	m := &Metrics{
		QueueOverflow:         c("queue_overflow_total", "Incremented whenever the event processing queue overflows"),
		PodsDeleted:           c("pods_deleted_total", "Number of pods deleted by the controller"),
		PodsDeleteLatency:     h("pods_delete_latency_seconds", "Pod deletion latency distribution"),
		PodsDeleteErrors:      c("pods_delete_errors_total", "Incremented whenever the pod deletion call errors out"),
		PodsDeleteTimeouts:    c("pods_delete_timeout_total", "Incremented whenever the pod deletion call times out"),
		EventsPublishLatency:  h("events_publish_latency_seconds", "Events publish latency distribution"),
		EventsPublishErrors:   c("events_publish_errors_total", "Incremented whenever the event publishing call errors out"),
		EventsPublishTimeouts: c("events_publish_timeouts_total", "Incremented whenever the event publishing call times out"),
		PodsRepaired:          c("pods_repaired_total", "Number of pods whose rules the controller installed in place (--repair-mode=in-place)"),
		PodsRepairLatency:     h("pods_repair_latency_seconds", "In-place repair latency distribution: runtime lookup, API reads and rule installation"),
		PodsRepairErrors:      c("pods_repair_errors_total", "Incremented whenever an in-place repair fails"),
	}
	if reg != nil {
		for _, col := range []prometheus.Collector{
			m.QueueOverflow, m.PodsDeleted, m.PodsDeleteLatency, m.PodsDeleteErrors, m.PodsDeleteTimeouts,
			m.EventsPublishLatency, m.EventsPublishErrors, m.EventsPublishTimeouts,
			m.PodsRepaired, m.PodsRepairLatency, m.PodsRepairErrors,
		} {
			reg.MustRegister(col)
		}
	}
	return m
}
