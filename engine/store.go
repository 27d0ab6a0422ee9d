package engine

import (
	"sync"
	"time"

	"github.com/ledgerform/ledgerform/engine/statement"
)

// An upload is a parsed statement waiting for its one processing request.
type upload struct {
	id      string
	expires time.Time
	size    int64
	stmt    *statement.Statement // nil once handed to its report
	report  string               // the processing request id, once requested
}

// phase is where a report is in processing.
type phase int

const (
	queued phase = iota
	processing
	done // completed or failed, visible from readyAt on
)

// A report is one processing request and, once done, its answer.
type report struct {
	id       string
	uploadID string
	expires  time.Time
	req      processRequest
	stmt     *statement.Statement // dropped when done
	phase    phase
	readyAt  time.Time // a done report reads as processing until then
	body     []byte    // the complete answer, once done without error
	failure  *apiError // the answer, once done with an error
	size     int64
}

// store holds uploads and reports until they expire, then remembers their
// ids for as long again so that they answer GONE rather than NOT_FOUND.
// It is safe for concurrent use.
type store struct {
	mu        sync.Mutex
	retention time.Duration
	uploads   map[string]*upload
	reports   map[string]*report
	gone      map[string]tombstone
	bytes     int64
	onExpire  func(*report) // called for a report that expires before it is done
}

func newStore(retention time.Duration) *store {
	return &store{
		retention: retention,
		uploads:   make(map[string]*upload),
		reports:   make(map[string]*report),
		gone:      make(map[string]tombstone),
	}
}

// usage returns the number of records and their bytes.
func (s *store) usage() (int, int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.uploads) + len(s.reports), s.bytes
}

// addUpload records u unless the quota is used up.
func (s *store) addUpload(u *upload, maxRecords int, maxBytes int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.uploads)+len(s.reports) >= maxRecords || s.bytes+u.size > maxBytes {
		return false
	}
	s.uploads[u.id] = u
	s.bytes += u.size
	return true
}

// A tombstone remembers an expired id until forget.
type tombstone struct {
	forget time.Time
	upload bool // an upload id, not a processing id
}

// lookup states what an id is now.
type lookup int

const (
	unknownID lookup = iota
	isUpload
	isReport
	isGone       // an expired processing id
	isGoneUpload // an expired upload id
)

// find returns what id is at now, and the upload or report it names. It
// expires and forgets records itself, so that its answer depends on now
// alone and never on when the sweeper last ran. The caller must hold s.mu.
func (s *store) find(id string, now time.Time) (lookup, *upload, *report) {
	if u, ok := s.uploads[id]; ok {
		if now.Before(u.expires) {
			return isUpload, u, nil
		}
		s.expireUpload(u)
	} else if r, ok := s.reports[id]; ok {
		if now.Before(r.expires) {
			return isReport, nil, r
		}
		s.expireReport(r)
	}
	ts, ok := s.gone[id]
	switch {
	case !ok:
		return unknownID, nil, nil
	case !now.Before(ts.forget):
		delete(s.gone, id)
		return unknownID, nil, nil
	case ts.upload:
		return isGoneUpload, nil, nil
	}
	return isGone, nil, nil
}

func (s *store) expireUpload(u *upload) {
	delete(s.uploads, u.id)
	s.bytes -= u.size
	s.gone[u.id] = tombstone{forget: u.expires.Add(s.retention), upload: true}
}

func (s *store) expireReport(r *report) {
	delete(s.reports, r.id)
	s.bytes -= r.size
	s.gone[r.id] = tombstone{forget: r.expires.Add(s.retention)}
	if r.phase != done && s.onExpire != nil {
		s.onExpire(r)
	}
}

// sweep expires every record past its time and forgets old ids.
func (s *store) sweep(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.uploads {
		if !now.Before(u.expires) {
			s.expireUpload(u)
		}
	}
	for _, r := range s.reports {
		if !now.Before(r.expires) {
			s.expireReport(r)
		}
	}
	for id, ts := range s.gone {
		if !now.Before(ts.forget) {
			delete(s.gone, id)
		}
	}
}
