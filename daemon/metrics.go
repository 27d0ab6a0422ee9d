package daemon

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/ledgerform/ledgerform/internal/queue"
)

// Metrics are the daemon's Prometheus series, in a registry of their own.
// Make them with NewMetrics; they are safe for concurrent use.
type Metrics struct {
	reg         *prometheus.Registry
	reconciles  *prometheus.CounterVec   // {action, outcome}
	duration    *prometheus.HistogramVec // {action}
	depth       prometheus.Gauge
	adds        prometheus.Counter
	retries     prometheus.Counter
	inFlight    prometheus.Gauge
	queueWait   prometheus.Histogram
	apiCalls    *prometheus.CounterVec   // {endpoint, code}
	apiDuration *prometheus.HistogramVec // {endpoint}
	lastSuccess prometheus.Gauge
	manifestsOK prometheus.Gauge
	resyncs     *prometheus.CounterVec // {reason}
	// sourceFetches counts the fetches of a git source by result (ok,
	// error); gitHooks the push webhook's requests by result.
	sourceFetches, gitHooks *prometheus.CounterVec
	reports                 *prometheus.GaugeVec   // {phase}
	notified                *prometheus.CounterVec // {notifier, result}

	noAnswer chan struct{} // an attempt got no answer: the daemon checks the API (endpoint.run)
}

// NewMetrics returns the daemon's series, registered in a new registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg:      prometheus.NewRegistry(),
		noAnswer: make(chan struct{}, 1),
		reconciles: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ledgerform_reconcile_total",
			Help: "Reconciles of one report, by planned action and outcome (success, error, requeue, blocked)."}, []string{"action", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ledgerform_reconcile_duration_seconds",
			Help:    "How long reconciling one report took, by planned action.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300}}, []string{"action"}),
		depth: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ledgerform_queue_depth",
			Help: "Reports waiting for a worker, not counting those in backoff."}),
		adds: prometheus.NewCounter(prometheus.CounterOpts{Name: "ledgerform_queue_adds_total",
			Help: "Reports added to the work queue."}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{Name: "ledgerform_queue_retries_total",
			Help: "Reports put back in the queue with a backoff after a transient failure."}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ledgerform_work_in_flight",
			Help: "Reports being worked on."}),
		queueWait: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ledgerform_queue_wait_seconds",
			Help:    "Time from a report becoming ready in the queue to a worker taking it.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10)}),
		apiCalls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ledgerform_api_requests_total",
			Help: "HTTP requests to the API, retries included, by endpoint and status code (\"error\" when no answer came)."}, []string{"endpoint", "code"}),
		apiDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ledgerform_api_request_duration_seconds",
			Help:    "How long one HTTP request to the API took, retries counted one by one, by endpoint.",
			Buckets: prometheus.ExponentialBuckets(0.005, 4, 8)}, []string{"endpoint"}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ledgerform_last_success_timestamp_seconds",
			Help: "When a full reconcile last ended with every report worked on (Unix time)."}),
		manifestsOK: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ledgerform_manifests_valid",
			Help: "1 when the manifests on disk load; 0 when the last good ones are in force."}),
		sourceFetches: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ledgerform_source_fetches_total",
			Help: "Fetches of the git source (watch --git), by result (ok, error)."}, []string{"result"}),
		gitHooks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ledgerform_git_webhooks_total",
			Help: "Requests to POST /hooks/git, by result (accepted, unsigned, bad-signature, limited, disabled, too-large)."}, []string{"result"}),
		resyncs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ledgerform_resyncs_total",
			Help: "Full resyncs, by reason (start, periodic, sighup, events-lost, manifest)."}, []string{"reason"}),
		reports: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ledgerform_reports",
			Help: "Recorded reports by phase, as of the last full resync."}, []string{"phase"}),
		notified: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ledgerform_notifications_total",
			Help: "Notifications by notifier and result (sent, failed, dropped, limited, unsigned; see package notify)."}, []string{"notifier", "result"}),
	}
	m.reg.MustRegister(m.reconciles, m.duration, m.depth, m.adds, m.retries, m.inFlight, m.queueWait,
		m.apiCalls, m.apiDuration, m.lastSuccess, m.manifestsOK, m.resyncs, m.sourceFetches, m.gitHooks, m.reports, m.notified,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *Metrics) countNotification(notifier, result string) {
	m.notified.WithLabelValues(notifier, result).Inc()
}

func (m *Metrics) queueHooks() *queue.Metrics {
	return &queue.Metrics{
		Depth:        func(n int) { m.depth.Set(float64(n)) },
		Adds:         m.adds.Inc,
		Retries:      m.retries.Inc,
		InFlight:     func(n int) { m.inFlight.Set(float64(n)) },
		QueueLatency: func(d time.Duration) { m.queueWait.Observe(d.Seconds()) },
	}
}

// ObserveAPI counts one HTTP attempt of the API client, retries
// included: its operation (token, upload, process, result, …), its HTTP
// status (0 when no answer came) and how long it took. Hand it to the
// client's per-attempt hook; it is safe for concurrent use, and never
// blocks. An attempt without an answer also has the daemon check at once
// whether the API can still be reached, rather than after the request's
// retries.
func (m *Metrics) ObserveAPI(op string, status int, d time.Duration) {
	code := "error"
	if status > 0 {
		code = strconv.Itoa(status)
	} else {
		select {
		case m.noAnswer <- struct{}{}:
		default: // a check is due already
		}
	}
	m.apiCalls.WithLabelValues(op, code).Inc()
	m.apiDuration.WithLabelValues(op).Observe(d.Seconds())
}
