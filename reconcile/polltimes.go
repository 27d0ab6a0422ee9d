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
// costs about one GET, and is seen within a twentieth of its processing
// time (or 100 ms) of being ready.
//
// Each report whose processing it saw requested adds one sample, timed
// by when each poll asked (not when its answer came, which a retry inside
// the client may delay). When the result came after a "not yet", the
// sample is the midpoint between the last "not yet" and the "completed", and that "not yet" is the
// lower bound: the processing took longer. When it came at the first
// poll, the result may have been ready well before: the sample is 85 %
// of that time, so that an estimate that came out high (a cold start's
// wide gap between polls) comes down in a few reports, but never below
// the lower bound, which itself fades by 2 % a report so that an
// endpoint that gets faster is followed. The estimate is the median of
// the recent samples, so that one slow report does not move it. Safe for
// concurrent use.
type pollTimes struct {
	mu      sync.Mutex
	samples map[string][]time.Duration // per operations key, a ring
	next    map[string]int             // where the ring's next sample goes
	lower   map[string]time.Duration   // the lower bound, per key
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

// observe adds what one result says: it was done at done (since its
// request), after notYet polls that said "not yet", the last of them at
// lastNotYet.
func (p *pollTimes) observe(key string, done time.Duration, notYet int, lastNotYet time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.samples == nil {
		p.samples, p.next, p.lower = make(map[string][]time.Duration), make(map[string]int), make(map[string]time.Duration)
	}
	var d time.Duration
	if notYet == 0 {
		d = max(done*85/100, p.lower[key])
		p.lower[key] = p.lower[key] * 98 / 100
	} else {
		d = (lastNotYet + done) / 2
		p.lower[key] = lastNotYet
	}
	s := p.samples[key]
	if len(s) < pollSamples {
		p.samples[key] = append(s, d)
		return
	}
	s[p.next[key]] = d
	p.next[key] = (p.next[key] + 1) % pollSamples
}
