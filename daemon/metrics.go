package daemon

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ledgerform/ledgerform/internal/queue"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the daemon's Prometheus series, in a registry of its own.
type metrics struct {
	reg         *prometheus.Registry
	reconciles  *prometheus.CounterVec   // {action, outcome}
	duration    *prometheus.HistogramVec // {action}
	depth       prometheus.Gauge
	adds        prometheus.Counter
	retries     prometheus.Counter
	inFlight    prometheus.Gauge
	queueWait   prometheus.Histogram
	apiCalls    *prometheus.CounterVec // {endpoint, code}
	lastSuccess prometheus.Gauge
	manifestsOK prometheus.Gauge
	resyncs     *prometheus.CounterVec // {reason}
	reports     *prometheus.GaugeVec   // {phase}
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
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
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ledgerform_last_success_timestamp_seconds",
			Help: "When a full reconcile last ended with every report worked on (Unix time)."}),
		manifestsOK: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ledgerform_manifests_valid",
			Help: "1 when the manifests on disk load; 0 when the last good ones are in force."}),
		resyncs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ledgerform_resyncs_total",
			Help: "Full resyncs, by reason (start, periodic, sighup, events-lost, manifest)."}, []string{"reason"}),
		reports: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ledgerform_reports",
			Help: "Recorded reports by phase, as of the last full resync."}, []string{"phase"}),
	}
	m.reg.MustRegister(m.reconciles, m.duration, m.depth, m.adds, m.retries, m.inFlight, m.queueWait,
		m.apiCalls, m.lastSuccess, m.manifestsOK, m.resyncs, m.reports,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) queueHooks() *queue.Metrics {
	return &queue.Metrics{
		Depth:        func(n int) { m.depth.Set(float64(n)) },
		Adds:         m.adds.Inc,
		Retries:      m.retries.Inc,
		InFlight:     func(n int) { m.inFlight.Set(float64(n)) },
		QueueLatency: func(d time.Duration) { m.queueWait.Observe(d.Seconds()) },
	}
}

// instrument counts every request to the API under the retry layer, so
// that each attempt is one count, by endpoint and status.
func (m *metrics) instrument(next http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := next.RoundTrip(r)
		code := "error"
		if err == nil {
			code = strconv.Itoa(resp.StatusCode)
		}
		m.apiCalls.WithLabelValues(endpointOf(r), code).Inc()
		return resp, err
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// endpointOf names the API endpoint of a request, for a label with a
// bounded set of values.
func endpointOf(r *http.Request) string {
	p := r.URL.Path
	switch {
	case strings.HasSuffix(p, "/oauth/token"):
		return "token"
	case strings.Contains(p, "/v2/report/process/"):
		return "process"
	case strings.HasSuffix(p, "/v2/report") && r.Method == http.MethodPost:
		return "upload"
	case strings.Contains(p, "/v2/report/"):
		return "result"
	case strings.Contains(p, "/v2/category-tree/"):
		return "category_tree"
	}
	return "other"
}
