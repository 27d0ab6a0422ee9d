package daemon

import (
	"cmp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ledgerform/ledgerform/reconcile"
	"github.com/ledgerform/ledgerform/report"
	"github.com/ledgerform/ledgerform/state"
)

// The condition types, in the kstatus style: every report has Ready,
// Reconciling and Stalled; the daemon has Ready, EndpointReachable and
// ManifestsValid.
const (
	// Ready is True when a report is completed and up to date; for the
	// daemon, when /readyz answers 200.
	ConditionReady = "Ready"
	// Reconciling is True while a report has work: queued, in flight,
	// in backoff after a transient failure, or waiting for the API.
	ConditionReconciling = "Reconciling"
	// Stalled is True when a report makes no progress by itself: it is
	// blocked (the API refused it; only a change to its statements or
	// spec helps), its statement cannot be read, or it has failed
	// transiently Config.FailedAfter times in a row (it is still retried
	// then, and Reconciling stays True).
	ConditionStalled = "Stalled"
	// EndpointReachable is False during an outage of the API.
	ConditionEndpointReachable = "EndpointReachable"
	// ManifestsValid is False while a manifest does not load (the last
	// good manifests stay in force); the message holds its errors.
	ConditionManifestsValid = "ManifestsValid"
	// SourceReachable is False while the git source cannot be fetched
	// (watch --git only); the revision in force is still reconciled.
	ConditionSourceReachable = "SourceReachable"
)

// DefaultFailedAfter is how many transient failures in a row make a
// report Stalled and send its "failed" notification.
const DefaultFailedAfter = 5

// A Condition is one aspect of a report's or the daemon's state, as
// kstatus has it (hence the one camelCase key, lastTransitionTime).
type Condition struct {
	Type   string `json:"type"`
	Status string `json:"status"` // "True" or "False"
	// Reason is a CamelCase word, or the code of the error that caused it
	// (NO_SUITABLE_PARSERS, SERVICE_UNAVAILABLE, …).
	Reason  string `json:"reason"`
	Message string `json:"message,omitempty"`
	// LastTransitionTime is when Status last changed, as this daemon saw
	// it: a restart starts every condition afresh.
	LastTransitionTime time.Time `json:"lastTransitionTime"`
}

func cond(typ string, ok bool, reason, msg string) Condition {
	s := "False"
	if ok {
		s = "True"
	}
	return Condition{Type: typ, Status: s, Reason: reason, Message: msg}
}

// FindCondition returns the condition of type typ in cs, if any.
func FindCondition(cs []Condition, typ string) (Condition, bool) {
	for _, c := range cs {
		if c.Type == typ {
			return c, true
		}
	}
	return Condition{}, false
}

// transitions remembers the conditions last shown, to keep their
// transition times. Safe for concurrent use.
type transitions struct {
	mu   sync.Mutex
	last map[string][]Condition // by address; "" for the daemon
}

// stamp sets the transition time of each of next: the previous one if
// its status did not change, now otherwise.
func (t *transitions) stamp(key string, now time.Time, next []Condition) []Condition {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.last == nil {
		t.last = map[string][]Condition{}
	}
	for i, c := range next {
		next[i].LastTransitionTime = now
		if p, ok := FindCondition(t.last[key], c.Type); ok && p.Status == c.Status {
			next[i].LastTransitionTime = p.LastTransitionTime
		}
	}
	t.last[key] = append([]Condition(nil), next...)
	return next
}

// keep forgets every key not in keys (reports no longer shown).
func (t *transitions) keep(keys map[string]bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k := range t.last {
		if k != "" && !keys[k] {
			delete(t.last, k)
		}
	}
}

// reportConditions derives a report's conditions from what /status shows
// of it and how many times in a row it failed transiently.
func reportConditions(rs ReportStatus, failures, failedAfter int, outage error) []Condition {
	e := rs.LastError
	stalled := cond(ConditionStalled, false, "Progressing", "")
	var reconciling Condition
	switch {
	case rs.Work == "in-flight" && outage != nil:
		reconciling = cond(ConditionReconciling, true, "WaitingForAPI", "the API cannot be used: "+outage.Error())
	case rs.Work == "in-flight":
		reconciling = cond(ConditionReconciling, true, "InProgress", "being worked on")
	case rs.Work == "backoff":
		reconciling = cond(ConditionReconciling, true, "RetryBackoff", "failed transiently; retried after a backoff")
	case rs.Work == "queued" && outage != nil:
		reconciling = cond(ConditionReconciling, true, "WaitingForAPI", "queued until the API can be used")
	case rs.Work == "queued":
		reconciling = cond(ConditionReconciling, true, "Queued", "waiting for a worker")
	case rs.Phase == state.Pending || rs.Phase == state.Uploaded || rs.Phase == state.Processing:
		reconciling = cond(ConditionReconciling, true, "InProgress", "recorded "+string(rs.Phase)+"; resumed by the next plan")
	default:
		reconciling = cond(ConditionReconciling, false, "Idle", "")
	}
	ready := cond(ConditionReady, false, reconciling.Reason, reconciling.Message)
	switch {
	case e != nil && e.Permanent:
		msg := e.Message + "; blocked until its statements or spec change (or apply --replace)"
		stalled = cond(ConditionStalled, true, reasonOf(e, "Blocked"), msg)
		ready = cond(ConditionReady, false, reasonOf(e, "Blocked"), msg)
	case e != nil && e.Step == "plan" && e.Code == reconcile.CodeStatement: // cannot be planned (see ReportStatus)
		msg := e.Message + "; waits for the statement to change"
		stalled = cond(ConditionStalled, true, "StatementUnreadable", msg)
		ready = cond(ConditionReady, false, "StatementUnreadable", msg)
	case failures >= failedAfter && e != nil:
		msg := e.Message + "; failed " + strconv.Itoa(failures) + " times in a row, still retried with backoff"
		stalled = cond(ConditionStalled, true, reasonOf(e, "RetriesFailing"), msg)
		ready = cond(ConditionReady, false, reasonOf(e, "RetriesFailing"), msg)
	case e != nil && rs.Work != "":
		ready = cond(ConditionReady, false, reasonOf(e, reconciling.Reason), e.Message)
	case rs.Phase == state.Completed && !reconciling.isTrue():
		ready = cond(ConditionReady, true, "Completed", "")
		stalled = cond(ConditionStalled, false, "Completed", "")
	case e != nil && !reconciling.isTrue():
		// Failed, and not queued (a restart will plan it again).
		ready = cond(ConditionReady, false, reasonOf(e, "Failed"), e.Message)
	}
	return []Condition{ready, reconciling, stalled}
}

func (c Condition) isTrue() bool { return c.Status == "True" }

func reasonOf(e *state.Failure, fallback string) string {
	if e.Code != "" {
		return e.Code
	}
	return fallback
}

// addConditions fills in, on a status being built, every report's
// conditions, observed digest, attempts and next retry, and the daemon's
// own conditions.
func (d *Daemon) addConditions(s *Status) {
	now := time.Now()
	outage := d.endpoint.outage()
	failedAfter := d.failedAfter()
	shown := map[string]bool{}
	for i := range s.Reports {
		rs := &s.Reports[i]
		shown[rs.Address] = true
		if r, ok := d.cfg.Store.Get(report.Address(rs.Address)); ok {
			rs.ObservedDigest, rs.Attempts = r.Digest, r.Attempts
		}
		if due, ok := d.q.Due(rs.Address); ok {
			t := due.UTC()
			rs.NextRetry = &t
		}
		rs.Conditions = d.conds.stamp(rs.Address, now, reportConditions(*rs, d.q.NumRequeues(rs.Address), failedAfter, outage))
	}
	d.conds.keep(shown)

	ready, reasons := d.readiness()
	var ds []Condition
	if ready {
		ds = append(ds, cond(ConditionReady, true, "Ready", ""))
	} else {
		ds = append(ds, cond(ConditionReady, false, "NotReady", strings.Join(reasons, "; ")))
	}
	switch e := s.Endpoint; {
	case e == nil:
		ds = append(ds, cond(ConditionEndpointReachable, true, "NotYetNeeded", "no remote work has needed the API yet"))
	case e.Reachable:
		ds = append(ds, cond(ConditionEndpointReachable, true, "Reachable", ""))
	default:
		ds = append(ds, cond(ConditionEndpointReachable, false, "Unreachable", e.Error))
	}
	if s.Manifests.Valid {
		ds = append(ds, cond(ConditionManifestsValid, true, "Loaded", revisionNote(s.Source)))
	} else if len(s.Manifests.Errors) > 0 {
		msg := strings.Join(s.Manifests.Errors, "\n")
		if src := s.Source; src != nil && src.Invalid != "" {
			msg = "revision " + src.Invalid + " does not load; " + cmp.Or(src.Revision, "no revision") + " stays in force:\n" + msg
		}
		ds = append(ds, cond(ConditionManifestsValid, false, "ManifestInvalid", msg))
	} else {
		ds = append(ds, cond(ConditionManifestsValid, false, "NotLoaded", "no manifest has loaded yet"))
	}
	switch src := s.Source; {
	case src == nil:
	case src.Reachable:
		ds = append(ds, cond(ConditionSourceReachable, true, "Fetched", ""))
	default:
		ds = append(ds, cond(ConditionSourceReachable, false, "Unreachable", src.Error))
	}
	ds = append(ds, d.stateCondition()...)
	s.Conditions = d.conds.stamp("", now, ds)
}

// revisionNote names the revision in force, with a source.
func revisionNote(src *SourceStatus) string {
	if src == nil || src.Revision == "" {
		return ""
	}
	return "revision " + src.Revision
}

func (d *Daemon) failedAfter() int {
	if d.cfg.FailedAfter > 0 {
		return d.cfg.FailedAfter
	}
	return DefaultFailedAfter
}
