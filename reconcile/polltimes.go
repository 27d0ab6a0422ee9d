package reconcile

import (
	"slices"
	"strings"
	"sync"
	"time"
)

// pollSamples is how many recent processing times a pollTimes keeps per
// set of operations.
const pollSamples = 32

// pollTimes learns how long this endpoint takes to process a request, per
// set of operations, so that the first poll of a new request comes when
// its result is likely ready instead of on a fixed schedule: a result
// costs about one GET, and is seen within a tenth of its processing time
// (or 200 ms) of being ready.
//
// Each report whose processing it saw requested adds one sample: the
// time from the request to the answer "completed" when that came at the
// first poll, taken a twentieth shorter (it may have been ready
// earlier: the estimate must be able to come down), and otherwise the
// midpoint between the last poll that said "not yet" and the one that
// said "completed". The estimate is the median of the recent samples, so
// that one slow report does not move it. Safe for concurrent use.
type pollTimes struct {
	mu      sync.Mutex
	samples map[string][]time.Duration // per operations key, a ring
	next    map[string]int             // where the ring's next sample goes
}

// opsKey is the key of a set of operations (sorted, as the spec keeps them).
func opsKey(ops []string) string { return strings.Join(ops, ",") }

// estimate returns the median of the recent samples for key, if any.
func (p *pollTimes) estimate(key string) (time.Duration, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.samples[key]
	if len(s) == 0 {
		return 0, false
	}
	sorted := slices.Clone(s)
	slices.Sort(sorted)
	return sorted[len(sorted)/2], true
}

// observe adds a sample for key.
func (p *pollTimes) observe(key string, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.samples == nil {
		p.samples, p.next = make(map[string][]time.Duration), make(map[string]int)
	}
	s := p.samples[key]
	if len(s) < pollSamples {
		p.samples[key] = append(s, d)
		return
	}
	s[p.next[key]] = d
	p.next[key] = (p.next[key] + 1) % pollSamples
}
