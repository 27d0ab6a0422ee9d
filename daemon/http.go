package daemon

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ledgerform/ledgerform/reconcile"
	"github.com/ledgerform/ledgerform/state"
)

// Handler serves the daemon's endpoints:
//
//	/healthz  200 while the daemon runs (it does not depend on the API)
//	/readyz   200 after the first full reconcile while the API can be used; 503 with the reasons otherwise
//	/metrics  Prometheus
//	/status   JSON: readiness, the manifests' errors, the API's reachability, the queue, and every report's phase and last error
//	/hooks/git  POST: a signed push webhook fetches the git source at once (githook.go)
//	/         the same for people, as a self-refreshing page; /page?address=ADDR a report's HTML page (page.go)
func (d *Daemon) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ready, reasons := d.readiness()
		code := http.StatusOK
		if !ready {
			code = http.StatusServiceUnavailable
		}
		writeJSON(w, code, map[string]any{"ready": ready, "reasons": reasons})
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(d.metrics.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, d.Status())
	})
	mux.HandleFunc("POST /hooks/git", d.gitHook) // githook.go
	mux.HandleFunc("GET /{$}", d.serveStatusPage)
	mux.HandleFunc("GET /page", d.serveReportPage)
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func (d *Daemon) readiness() (bool, []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	reasons := []string{}
	if d.set == nil {
		reasons = append(reasons, "no manifest has loaded yet")
	}
	if !d.ready {
		reasons = append(reasons, "the first full reconcile is not done")
	}
	if err := d.endpoint.outage(); err != nil {
		reasons = append(reasons, "the API cannot be used: "+err.Error())
	}
	if err := d.health.outage(); err != nil {
		reasons = append(reasons, "the state cannot be used: "+err.Error())
	}
	return len(reasons) == 0, reasons
}

// Status is the document of /status.
type Status struct {
	Ready       bool            `json:"ready"`
	LastSuccess *time.Time      `json:"last_success,omitempty"`
	Manifests   ManifestStatus  `json:"manifests"`
	Endpoint    *EndpointStatus `json:"endpoint,omitempty"` // nil until remote work first needed the API
	Source      *SourceStatus   `json:"source,omitempty"`   // the git source (watch --git); nil without one
	Queue       QueueStatus     `json:"queue"`
	Reports     []ReportStatus  `json:"reports"`
	// Conditions are the daemon's: Ready, EndpointReachable and
	// ManifestsValid (see conditions.go).
	Conditions []Condition `json:"conditions"`
}

// EndpointStatus says whether the API can be used. While it cannot, the
// workers take no work and the API is probed with backoff.
type EndpointStatus struct {
	// Reachable is false during an outage: no connection could be made,
	// or the API refused the client.
	Reachable bool       `json:"reachable"`
	Error     string     `json:"error,omitempty"` // the outage's latest cause
	Since     *time.Time `json:"since,omitempty"` // when the outage began
}

// ManifestStatus says whether the manifests on disk load.
type ManifestStatus struct {
	Valid bool `json:"valid"`
	// Errors are the problems of the manifests on disk, file:line:col
	// first; while there are any, the last good manifests are in force.
	Errors []string `json:"errors"`
	// Held is why deletions are held back, if they are.
	Held string `json:"held,omitempty"`
}

// QueueStatus counts the work queue.
type QueueStatus struct {
	Ready    int `json:"ready"`
	Delayed  int `json:"delayed"`
	InFlight int `json:"in_flight"`
}

// ReportStatus is one report.
type ReportStatus struct {
	Address string      `json:"address"`
	Phase   state.Phase `json:"phase"`
	Work    string      `json:"work,omitempty"` // queued, backoff or in-flight
	// LastError is the record's last failure; or, not recorded, why the
	// report cannot be planned (a statement missing or unreadable: code
	// STATEMENT_UNREADABLE, step plan; the record stays as it was until
	// the statement is back); or, for a report in flight during an outage
	// of the API, the outage (code NO_CONNECTION): what it waits on.
	LastError *state.Failure `json:"last_error,omitempty"`
	// Suspended is set while the manifests suspend the report (suspend:
	// true on it or its drop): nothing is done to it.
	Suspended bool      `json:"suspended,omitempty"`
	Updated   time.Time `json:"updated"`
	// Revision is the revision of the manifests the report was last
	// applied from (its record's; watch --git).
	Revision string `json:"revision,omitempty"`
	// ObservedDigest and Attempts are the record's (absent before it is
	// recorded); NextRetry is when the queue hands the report out again,
	// while it is in backoff.
	ObservedDigest string     `json:"observed_digest,omitempty"`
	Attempts       int        `json:"attempts,omitempty"`
	NextRetry      *time.Time `json:"next_retry,omitempty"`
	// Conditions are Ready, Reconciling and Stalled (see conditions.go).
	Conditions []Condition `json:"conditions"`
	// Lease is the report's lease, when daemons share the state
	// (Config.Leases) and one holds it: its owner (host:pid:id) and expiry.
	Lease *state.Lease `json:"lease,omitempty"`
}

// Status returns the daemon's status now.
func (d *Daemon) Status() Status {
	d.refreshForStatus()
	ready, delayed, inflight := d.q.Keys()
	work := map[string]string{}
	for _, k := range ready {
		work[k] = "queued"
	}
	for _, k := range delayed {
		work[k] = "backoff"
	}
	for _, k := range inflight {
		work[k] = "in-flight"
	}
	s := Status{Queue: QueueStatus{Ready: len(ready), Delayed: len(delayed), InFlight: len(inflight)}, Reports: []ReportStatus{}}
	d.mu.Lock()
	set := d.set
	s.Ready = d.ready
	if !d.lastSync.IsZero() {
		t := d.lastSync.UTC()
		s.LastSuccess = &t
	}
	s.Manifests.Valid = d.loadErr == nil && d.set != nil
	s.Manifests.Errors = []string{}
	if d.loadErr != nil {
		s.Manifests.Errors = strings.Split(d.loadErr.Error(), "\n")
	}
	if d.holdErr != nil {
		s.Manifests.Held = d.holdErr.Error()
	}
	unplanned := map[string]*state.Failure{}
	for a, err := range d.unplanned {
		unplanned[string(a)] = &state.Failure{Message: err.Error(), Code: reconcile.CodeStatement, Step: "plan"}
	}
	d.mu.Unlock()
	s.Endpoint = d.endpoint.status()
	s.Source = d.sourceStatus()
	var waiting *state.Failure
	if err := d.endpoint.outage(); err != nil {
		waiting = &state.Failure{Message: err.Error(), Code: reconcile.CodeConnect}
	}
	for _, r := range d.cfg.Store.Records() {
		a := string(r.Address)
		rs := ReportStatus{Address: a, Phase: r.Phase, Work: work[a], LastError: r.LastError, Updated: r.Updated, Revision: r.Revision}
		rs.Suspended = set != nil && set.Suspended(r.Address)
		switch {
		case unplanned[a] != nil:
			rs.LastError = unplanned[a]
		case rs.Work == "in-flight" && waiting != nil:
			rs.LastError = waiting
		}
		s.Reports = append(s.Reports, rs)
		delete(work, a)
		delete(unplanned, a)
	}
	// Reports not recorded yet show as pending: new ones queued, and new
	// ones that cannot be planned.
	for a := range unplanned {
		if _, ok := work[a]; !ok {
			work[a] = ""
		}
	}
	for _, k := range slices.Sorted(maps.Keys(work)) {
		s.Reports = append(s.Reports, ReportStatus{Address: k, Phase: state.Pending, Work: work[k], LastError: unplanned[k]})
	}
	d.addLeases(&s)
	d.addConditions(&s)
	return s
}
