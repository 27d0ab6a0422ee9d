// Package queue is the work queue of the ledgerform watch daemon: keys
// (report addresses) wait in it until a worker takes them, in the manner
// of client-go's rate-limited work queue, kept small.
//
// Semantics:
//
//   - De-duplicated: a key waits at most once. Adding a key that is
//     already waiting does nothing; adding a key that waits with a delay
//     makes it ready now (a change deserves a prompt look; backoff is for
//     retries only).
//   - One worker per key: Get never returns a key that is in flight.
//     Adding a key while it is in flight marks it dirty; Done then makes
//     it ready again, once. A retry (AddRateLimited) of a key in flight
//     is kept as a delay that starts when Done is called, unless the key
//     was also Added, which wins.
//   - FIFO among ready keys, by the time they became ready.
//   - Backoff per key: the n-th consecutive AddRateLimited waits
//     min(MaxDelay, BaseDelay·2ⁿ⁻¹), jittered to a uniformly random point
//     of its upper half, [d/2, d]. Forget (after a success) starts the
//     count again.
//   - ShutDown makes every Get return false at once, now and later;
//     waiting keys are dropped (the daemon's next start finds their work
//     again by planning). Keys in flight may still call Done.
//
// The delays are kept in a heap owned by one goroutine, started by New
// and stopped by ShutDown.
package queue

import (
	"container/heap"
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// Defaults of a Config's zero fields.
const (
	DefaultBaseDelay = time.Second
	DefaultMaxDelay  = 5 * time.Minute
)

// Config configures a Queue.
type Config struct {
	BaseDelay time.Duration // the first backoff (DefaultBaseDelay)
	MaxDelay  time.Duration // the cap of the backoff (DefaultMaxDelay)
	Metrics   *Metrics      // optional
}

// Metrics are optional callbacks for instrumentation; each may be nil.
// They are called with the queue's lock held: keep them quick.
type Metrics struct {
	Depth        func(n int)           // the number of ready keys changed
	Adds         func()                // a key became waiting (not counting de-duplicated adds)
	Retries      func()                // AddRateLimited was called
	InFlight     func(n int)           // the number of keys in flight changed
	QueueLatency func(d time.Duration) // a key was handed out this long after it became ready
}

// Queue is a de-duplicating work queue. It is safe for concurrent use.
type Queue struct {
	cfg Config
	m   Metrics

	mu       sync.Mutex
	cond     chan struct{} // closed and replaced when a key becomes ready or on shutdown
	ready    []string      // FIFO
	readyAt  map[string]time.Time
	delayed  map[string]time.Time // key → due time
	inflight map[string]bool
	dirty    map[string]bool          // Added while in flight
	retry    map[string]time.Duration // AddRateLimited while in flight: delay to apply at Done
	failures map[string]int
	heap     dueHeap
	wake     chan struct{} // pokes the timer goroutine
	down     bool
	stopped  chan struct{}
}

// New returns a queue and starts its timer goroutine; ShutDown stops it.
func New(cfg Config) *Queue {
	if cfg.BaseDelay <= 0 {
		cfg.BaseDelay = DefaultBaseDelay
	}
	if cfg.MaxDelay <= 0 {
		cfg.MaxDelay = DefaultMaxDelay
	}
	q := &Queue{cfg: cfg, cond: make(chan struct{}), readyAt: map[string]time.Time{}, delayed: map[string]time.Time{},
		inflight: map[string]bool{}, dirty: map[string]bool{}, retry: map[string]time.Duration{}, failures: map[string]int{},
		wake: make(chan struct{}, 1), stopped: make(chan struct{})}
	if cfg.Metrics != nil {
		q.m = *cfg.Metrics
	}
	go q.timers()
	return q
}

// Add makes key ready now, unless it is already ready; if it is in
// flight, it becomes ready again when Done is called.
func (q *Queue) Add(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.add(key)
}

func (q *Queue) add(key string) {
	switch {
	case q.down:
	case q.inflight[key]:
		q.dirty[key] = true
	case q.isReady(key):
	default:
		_, wasDelayed := q.delayed[key]
		delete(q.delayed, key)
		q.makeReady(key, !wasDelayed)
	}
}

func (q *Queue) isReady(key string) bool { _, ok := q.readyAt[key]; return ok }

func (q *Queue) makeReady(key string, counted bool) {
	q.ready = append(q.ready, key)
	q.readyAt[key] = time.Now()
	if counted && q.m.Adds != nil {
		q.m.Adds()
	}
	q.depth()
	close(q.cond)
	q.cond = make(chan struct{})
}

func (q *Queue) depth() {
	if q.m.Depth != nil {
		q.m.Depth(len(q.ready))
	}
}

// AddAfter makes key ready after d, or sooner if it is already due
// sooner; a ready key stays ready. For a key in flight the delay starts
// when Done is called.
func (q *Queue) AddAfter(key string, d time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.addAfter(key, d)
}

func (q *Queue) addAfter(key string, d time.Duration) {
	switch {
	case q.down:
	case d <= 0:
		q.add(key)
	case q.inflight[key]:
		if old, ok := q.retry[key]; !ok || d < old {
			q.retry[key] = d
		}
	case q.isReady(key):
	default:
		due := time.Now().Add(d)
		if old, ok := q.delayed[key]; ok && !due.Before(old) {
			return
		}
		if _, ok := q.delayed[key]; !ok && q.m.Adds != nil {
			q.m.Adds()
		}
		q.delayed[key] = due
		heap.Push(&q.heap, due1{key, due})
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
}

// AddRateLimited puts key back after its backoff, and counts a failure.
func (q *Queue) AddRateLimited(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := q.failures[key]
	q.failures[key] = n + 1
	if q.m.Retries != nil {
		q.m.Retries()
	}
	q.addAfter(key, jitter(backoff(q.cfg.BaseDelay, q.cfg.MaxDelay, n)))
}

// backoff is the delay before the retry that follows n earlier ones.
func backoff(base, limit time.Duration, n int) time.Duration {
	d := base
	for range n {
		d *= 2
		if d >= limit || d <= 0 {
			return limit
		}
	}
	return min(d, limit)
}

// jitter draws uniformly from [d/2, d], so that keys failing together do
// not come back together.
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1)
}

// Forget clears key's failures: its next retry starts at BaseDelay.
func (q *Queue) Forget(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.failures, key)
}

// NumRequeues returns key's consecutive failures.
func (q *Queue) NumRequeues(key string) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.failures[key]
}

// Get waits for a ready key, marks it in flight and returns it; ok is
// false when ctx is done or the queue is shut down.
func (q *Queue) Get(ctx context.Context) (key string, ok bool) {
	for {
		q.mu.Lock()
		if q.down {
			q.mu.Unlock()
			return "", false
		}
		if len(q.ready) > 0 {
			key = q.ready[0]
			q.ready = q.ready[1:]
			if q.m.QueueLatency != nil {
				q.m.QueueLatency(time.Since(q.readyAt[key]))
			}
			delete(q.readyAt, key)
			q.inflight[key] = true
			q.depth()
			q.inFlight()
			q.mu.Unlock()
			return key, true
		}
		wait := q.cond
		q.mu.Unlock()
		select {
		case <-ctx.Done():
			return "", false
		case <-wait:
		}
	}
}

func (q *Queue) inFlight() {
	if q.m.InFlight != nil {
		q.m.InFlight(len(q.inflight))
	}
}

// Done ends the work on key. If key was added meanwhile it is ready
// again; if it was retried meanwhile, its delay starts now.
func (q *Queue) Done(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.inflight[key] {
		return
	}
	delete(q.inflight, key)
	q.inFlight()
	d, retried := q.retry[key]
	delete(q.retry, key)
	switch {
	case q.dirty[key]:
		delete(q.dirty, key)
		q.add(key)
	case retried:
		q.addAfter(key, d)
	}
}

// Len returns the number of ready keys.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.ready)
}

// Delayed returns the number of keys waiting for their delay.
func (q *Queue) Delayed() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.delayed)
}

// InFlight returns the number of keys being worked on.
func (q *Queue) InFlight() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.inflight)
}

// Keys returns the ready, delayed and in-flight keys, each sorted.
func (q *Queue) Keys() (ready, delayed, inflight []string) {
	q.mu.Lock()
	ready = slices.Clone(q.ready)
	for k := range q.delayed {
		delayed = append(delayed, k)
	}
	for k := range q.inflight {
		inflight = append(inflight, k)
	}
	q.mu.Unlock()
	slices.Sort(ready)
	slices.Sort(delayed)
	slices.Sort(inflight)
	return ready, delayed, inflight
}

// ShutDown makes every Get return false, drops the waiting keys and stops
// the timer goroutine. It is idempotent.
func (q *Queue) ShutDown() {
	q.mu.Lock()
	if q.down {
		q.mu.Unlock()
		return
	}
	q.down = true
	q.ready, q.readyAt, q.delayed = nil, map[string]time.Time{}, map[string]time.Time{}
	close(q.cond)
	q.cond = make(chan struct{})
	q.depth()
	q.mu.Unlock()
	close(q.wake)
	<-q.stopped
}

// timers makes delayed keys ready when they are due.
func (q *Queue) timers() {
	defer close(q.stopped)
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		q.mu.Lock()
		now := time.Now()
		for q.heap.Len() > 0 && !q.heap[0].due.After(now) {
			e := heap.Pop(&q.heap).(due1)
			// Stale entries (the key was made ready, or got a sooner
			// due time) are skipped.
			if due, ok := q.delayed[e.key]; ok && due.Equal(e.due) {
				delete(q.delayed, e.key)
				q.makeReady(e.key, false)
			}
		}
		next := time.Hour
		if q.heap.Len() > 0 {
			next = q.heap[0].due.Sub(now)
		}
		q.mu.Unlock()
		t.Reset(next)
		select {
		case _, ok := <-q.wake:
			if !ok {
				return
			}
		case <-t.C:
		}
	}
}

type due1 struct {
	key string
	due time.Time
}

// dueHeap orders delayed keys by due time.
type dueHeap []due1

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h dueHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)        { *h = append(*h, x.(due1)) }
func (h *dueHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
