package engine

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are a Server's Prometheus collectors, in a registry of its own so
// that several servers in one process (tests) do not share counts.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	reports  *prometheus.CounterVec
}

func newMetrics(s *Server) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ledgerform_engine_requests_total",
			Help: "API requests answered, by endpoint and HTTP status (\"reset\" for a connection closed by fault injection).",
		}, []string{"endpoint", "code"}),
		reports: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ledgerform_engine_reports_total",
			Help: "Report processing requests by outcome: queued, completed, failed, expired.",
		}, []string{"outcome"}),
	}
	records := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "ledgerform_engine_records",
		Help: "Uploads and reports held, within the retention time.",
	}, func() float64 { n, _ := s.store.usage(); return float64(n) })
	stored := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "ledgerform_engine_stored_bytes",
		Help: "Bytes of statements and results held.",
	}, func() float64 { _, b := s.store.usage(); return float64(b) })
	queue := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "ledgerform_engine_queue_depth",
		Help: "Reports waiting for a processing worker.",
	}, func() float64 { return float64(len(s.queue)) })
	m.reg.MustRegister(m.requests, m.reports, records, stored, queue,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, o := range []string{"queued", "completed", "failed", "expired"} {
		m.reports.WithLabelValues(o) // present at zero, so rates work from the start
	}
	return m
}
