// Package queue is a de-duplicating work queue keyed by string, the queue
// of the ledgerform watch daemon: report addresses wait in it until one of
// the daemon's workers takes them. It follows client-go's rate-limited,
// delaying work queue, kept small.
//
// A key is in at most one of three places: ready (waiting to be handed
// out), delayed (waiting for a due time) or in flight (handed out by Get,
// not yet Done). The rules:
//
//   - De-duplicated. Adding a key that is already ready does nothing.
//   - A change beats a backoff. Add makes a delayed key ready at once:
//     an edited manifest deserves a prompt look, and backoff is only for
//     retries of the same work.
//   - One worker per key. Get never returns a key that is in flight. An
//     Add of a key in flight marks it dirty, and Done makes it ready
//     again, once however many Adds there were. An AddAfter or
//     AddRateLimited of a key in flight is remembered and applied at Done:
//     the key is then delayed until the due time that was computed when
//     it was called (ready at once if that time has passed). If the key
//     was also Added, the Add wins and the key is ready at once.
//   - The sooner due time wins. AddAfter never postpones a key that is due
//     sooner, and never delays a key that is ready.
//   - FIFO. Ready keys are handed out in the order they became ready.
//   - Urgent first. AddNow puts a key ahead of every key made ready
//     otherwise, behind the keys AddNow put there before it (they keep
//     their order): a delayed key comes out of its delay, a ready key
//     moves forward, a key in flight is put there at its Done. It is the
//     daemon's "reconcile now", and does not bypass the one-worker rule.
//   - Backoff per key. The n-th AddRateLimited since the last Forget
//     delays the key by d = min(MaxDelay, BaseDelay·2ⁿ⁻¹) with full jitter
//     in its upper half: a uniformly random duration in [d/2, d], so keys
//     that fail together do not come back together, yet none comes back
//     sooner than half its backoff. Forget (on success) resets the count. Failure counts outlive the key's stay in the queue: call
//     Forget for a key that succeeds or is removed.
//   - ShutDown is final. Every Get, blocked or future, returns ok=false at
//     once; ready and delayed keys are dropped (the daemon finds their
//     work again by planning when it next starts); later adds are
//     ignored. Keys in flight stay in flight until their Done.
//
// The parallelism bound is the number of workers the daemon runs; the
// queue's part is that no key is ever given to two of them at once.
//
// The delays live in one min-heap of due times, owned by one goroutine
// that New starts and ShutDown stops.
package queue

import (
	"container/heap"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/ledgerform/ledgerform/internal/backoff"
)

// Defaults for the zero fields of a Config.
const (
	DefaultBaseDelay = time.Second
	DefaultMaxDelay  = 5 * time.Minute
)

// Config configures a Queue. The zero Config is ready to use.
type Config struct {
	// BaseDelay is the backoff after the first failure; DefaultBaseDelay
	// when zero or negative.
	BaseDelay time.Duration
	// MaxDelay caps the backoff before jitter; DefaultMaxDelay when zero
	// or negative. The jittered delay lies in [d/2, d] for the capped d.
	MaxDelay time.Duration
	// Metrics receives instrumentation callbacks; it may be nil.
	Metrics *Metrics
}

// Metrics are optional callbacks for instrumentation (the daemon wires
// them to Prometheus); each may be nil. They are called with the queue's
// lock held, which keeps gauge updates in order: they must be quick and
// must not call the Queue.
type Metrics struct {
	// Depth is called with the number of ready keys (not delayed, not in
	// flight) whenever it changes.
	Depth func(n int)
	// Adds is called each time a key starts waiting: an Add or AddAfter of
	// a key that was neither waiting nor in flight, or a Done that puts
	// its key back. De-duplicated adds, and a delayed key coming due, are
	// not counted.
	Adds func()
	// Retries is called on every AddRateLimited.
	Retries func()
	// InFlight is called with the number of keys in flight whenever it
	// changes.
	InFlight func(n int)
	// QueueLatency is called by Get with the time from the key becoming
	// ready to Get returning it.
	QueueLatency func(d time.Duration)
}

// Queue is a de-duplicating work queue keyed by string. Its methods are
// safe for concurrent use. Create one with New and stop it with ShutDown.
type Queue struct {
	base, limit time.Duration
	m           Metrics

	mu       sync.Mutex
	items    map[string]*item // every ready, delayed and in-flight key
	ready    []*item          // FIFO, the urgent ones first
	urgent   int              // how many of ready, at its front, came by AddNow
	delayed  dueHeap
	inflight int
	failures map[string]int
	notify   chan struct{} // closed when a key becomes ready or on shutdown; nil when nobody waits
	down     bool

	wake    chan struct{} // tells the timer goroutine the earliest due time may have changed
	stop    chan struct{} // closed by ShutDown
	stopped chan struct{} // closed by the timer goroutine on exit
}

type state uint8

const (
	stateReady state = iota
	stateDelayed
	stateInFlight
)

type item struct {
	key     string
	state   state
	readyAt time.Time // ready: when it became ready
	due     time.Time // delayed: when it becomes ready; in flight: a pending delay, or zero
	dirty   bool      // in flight: Added meanwhile
	urgent  bool      // in flight: AddNow'ed meanwhile (dirty too)
	index   int       // delayed: position in the heap
}

// New returns an empty queue and starts the goroutine that moves delayed
// keys to ready. Call ShutDown to stop it.
func New(cfg Config) *Queue {
	q := &Queue{
		base:     cfg.BaseDelay,
		limit:    cfg.MaxDelay,
		items:    make(map[string]*item),
		failures: make(map[string]int),
		wake:     make(chan struct{}, 1),
		stop:     make(chan struct{}),
		stopped:  make(chan struct{}),
	}
	if q.base <= 0 {
		q.base = DefaultBaseDelay
	}
	if q.limit <= 0 {
		q.limit = DefaultMaxDelay
	}
	if cfg.Metrics != nil {
		q.m = *cfg.Metrics
	}
	go q.run()
	return q
}

// Add makes key ready now. It does nothing if key is already ready; a
// delayed key becomes ready now; a key in flight becomes ready again when
// Done is called.
func (q *Queue) Add(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.down {
		return
	}
	it := q.items[key]
	switch {
	case it == nil:
		q.makeReady(q.track(key), time.Now())
	case it.state == stateDelayed:
		heap.Remove(&q.delayed, it.index)
		q.makeReady(it, time.Now())
	case it.state == stateInFlight:
		it.dirty = true
	}
}

// AddNow makes key ready ahead of every key made ready by Add, AddAfter
// or AddRateLimited, and behind those made ready by AddNow before it. A
// delayed key becomes ready now; a ready key moves forward (it stays where
// it is if AddNow put it there already); a key in flight is made ready so
// when Done is called.
func (q *Queue) AddNow(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.down {
		return
	}
	it := q.items[key]
	switch {
	case it == nil:
		q.makeUrgent(q.track(key), time.Now())
	case it.state == stateDelayed:
		heap.Remove(&q.delayed, it.index)
		q.makeUrgent(it, time.Now())
	case it.state == stateReady:
		if i := slices.Index(q.ready, it); i >= q.urgent {
			q.ready = slices.Delete(q.ready, i, i+1)
			q.ready = slices.Insert(q.ready, q.urgent, it)
			q.urgent++
		}
	case it.state == stateInFlight:
		it.dirty, it.urgent = true, true
	}
}

// AddAfter makes key ready once d has passed, or now if d <= 0. A key that
// is ready stays ready, and a delayed key keeps its due time if that is
// sooner. For a key in flight the delay is applied when Done is called,
// still counted from now.
func (q *Queue) AddAfter(key string, d time.Duration) {
	if d <= 0 {
		q.Add(key)
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.addAfter(key, d)
}

func (q *Queue) addAfter(key string, d time.Duration) {
	if q.down {
		return
	}
	due := time.Now().Add(d)
	it := q.items[key]
	switch {
	case it == nil:
		q.delay(q.track(key), due)
	case it.state == stateDelayed:
		if due.Before(it.due) {
			it.due = due
			heap.Fix(&q.delayed, it.index)
			q.poke()
		}
	case it.state == stateInFlight:
		if it.due.IsZero() || due.Before(it.due) {
			it.due = due
		}
	}
}

// AddRateLimited counts a failure of key and adds it after its backoff:
// the n-th call since the last Forget delays it by min(MaxDelay,
// BaseDelay·2ⁿ⁻¹), jittered into [d/2, d]. The rules of AddAfter apply:
// a ready key stays ready.
func (q *Queue) AddRateLimited(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.down {
		return
	}
	n := q.failures[key]
	q.failures[key] = n + 1
	if q.m.Retries != nil {
		q.m.Retries()
	}
	q.addAfter(key, backoff.Jitter(backoff.Exponential(q.base, q.limit, n)))
}

// Forget resets key's failure count, so that its next AddRateLimited
// waits BaseDelay again. It does not touch a key that is waiting.
func (q *Queue) Forget(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.failures, key)
}

// NumRequeues returns the number of AddRateLimited calls for key since it
// was last forgotten.
func (q *Queue) NumRequeues(key string) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.failures[key]
}

// Get blocks until a key is ready, marks it in flight and returns it with
// ok true. The caller must call Done with the key when it has finished.
// Get returns ok false, without taking a key, once ctx is done or the
// queue is shut down.
func (q *Queue) Get(ctx context.Context) (key string, ok bool) {
	q.mu.Lock()
	for {
		if q.down || ctx.Err() != nil {
			q.mu.Unlock()
			return "", false
		}
		if len(q.ready) > 0 {
			break
		}
		if q.notify == nil {
			q.notify = make(chan struct{})
		}
		wait := q.notify
		q.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-wait:
		}
		q.mu.Lock()
	}
	defer q.mu.Unlock()
	it := q.ready[0]
	q.ready[0] = nil
	q.ready = q.ready[1:]
	q.urgent = max(q.urgent-1, 0)
	it.state = stateInFlight
	q.inflight++
	if q.m.QueueLatency != nil {
		q.m.QueueLatency(time.Since(it.readyAt))
	}
	q.depth()
	q.inFlightChanged()
	return it.key, true
}

// Done ends the work on key, which must have come from Get. If key was
// added while in flight it is put back: ready now if it was Added or its
// pending delay has passed, delayed otherwise. Done of a key that is not in
// flight does nothing.
func (q *Queue) Done(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	it := q.items[key]
	if it == nil || it.state != stateInFlight {
		return
	}
	q.inflight--
	q.inFlightChanged()
	dirty, urgent, due := it.dirty, it.urgent, it.due
	it.dirty, it.urgent, it.due = false, false, time.Time{}
	now := time.Now()
	switch {
	case q.down || !dirty && due.IsZero():
		delete(q.items, key)
	case urgent:
		q.added()
		q.makeUrgent(it, now)
	case dirty || !due.After(now):
		q.added()
		q.makeReady(it, now)
	default:
		q.added()
		q.delay(it, due)
	}
}

// Due returns when key is next due: for a delayed key its due time, for
// a key in flight the delay that Done will apply (an AddAfter or
// AddRateLimited made meanwhile). ok is false for a key that is ready,
// in flight with nothing pending, or not in the queue.
func (q *Queue) Due(key string) (due time.Time, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	it := q.items[key]
	if it == nil || it.state == stateReady || it.due.IsZero() {
		return time.Time{}, false
	}
	return it.due, true
}

// Len returns the number of ready keys.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.ready)
}

// Delayed returns the number of keys waiting for a due time.
func (q *Queue) Delayed() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.delayed)
}

// InFlight returns the number of keys handed out by Get and not yet Done.
func (q *Queue) InFlight() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.inflight
}

// Keys returns a snapshot of the ready, delayed and in-flight keys, each
// sorted, for the daemon's /status page.
func (q *Queue) Keys() (ready, delayed, inflight []string) {
	q.mu.Lock()
	for k, it := range q.items {
		switch it.state {
		case stateReady:
			ready = append(ready, k)
		case stateDelayed:
			delayed = append(delayed, k)
		case stateInFlight:
			inflight = append(inflight, k)
		}
	}
	q.mu.Unlock()
	slices.Sort(ready)
	slices.Sort(delayed)
	slices.Sort(inflight)
	return ready, delayed, inflight
}

// ShutDown drops the ready and delayed keys, makes every Get return ok
// false at once, and stops the timer goroutine, returning once it has
// exited. Keys in flight may still be passed to Done. ShutDown is
// idempotent.
func (q *Queue) ShutDown() {
	q.mu.Lock()
	if !q.down {
		q.down = true
		for _, it := range q.ready {
			delete(q.items, it.key)
		}
		for _, it := range q.delayed {
			delete(q.items, it.key)
		}
		clear(q.ready)
		q.ready, q.urgent = nil, 0
		q.delayed = nil
		q.depth()
		q.broadcast()
		close(q.stop)
	}
	q.mu.Unlock()
	<-q.stopped
}

// run moves delayed keys to ready when they are due, until ShutDown.
func (q *Queue) run() {
	defer close(q.stopped)
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-q.stop:
			return
		case <-q.wake:
		case <-t.C:
		}
		q.mu.Lock()
		now := time.Now()
		for len(q.delayed) > 0 && !q.delayed[0].due.After(now) {
			q.makeReady(heap.Pop(&q.delayed).(*item), now)
		}
		if len(q.delayed) > 0 {
			t.Reset(q.delayed[0].due.Sub(now))
		} else {
			t.Stop()
		}
		q.mu.Unlock()
	}
}

// track returns a new item for key, which the queue did not hold, counted
// as an add; the caller puts it among the ready or the delayed keys. q.mu
// must be held.
func (q *Queue) track(key string) *item {
	it := &item{key: key}
	q.items[key] = it
	q.added()
	return it
}

// makeReady appends it to the ready keys. q.mu must be held.
func (q *Queue) makeReady(it *item, now time.Time) {
	it.state = stateReady
	it.readyAt = now
	it.due = time.Time{}
	q.ready = append(q.ready, it)
	q.depth()
	q.broadcast()
}

// makeUrgent puts it among the ready keys, behind the other urgent ones.
// q.mu must be held.
func (q *Queue) makeUrgent(it *item, now time.Time) {
	it.state = stateReady
	it.readyAt = now
	it.due = time.Time{}
	q.ready = slices.Insert(q.ready, q.urgent, it)
	q.urgent++
	q.depth()
	q.broadcast()
}

// delay puts it among the delayed keys. q.mu must be held.
func (q *Queue) delay(it *item, due time.Time) {
	it.state = stateDelayed
	it.due = due
	heap.Push(&q.delayed, it)
	q.poke()
}

// poke tells the timer goroutine to look at the heap again.
func (q *Queue) poke() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// broadcast wakes every blocked Get. q.mu must be held.
func (q *Queue) broadcast() {
	if q.notify != nil {
		close(q.notify)
		q.notify = nil
	}
}

func (q *Queue) added() {
	if q.m.Adds != nil {
		q.m.Adds()
	}
}

func (q *Queue) depth() {
	if q.m.Depth != nil {
		q.m.Depth(len(q.ready))
	}
}

func (q *Queue) inFlightChanged() {
	if q.m.InFlight != nil {
		q.m.InFlight(q.inflight)
	}
}

// dueHeap is a min-heap of delayed items by due time; each item knows its
// index, so that an Add can take it out and a sooner AddAfter can move it.
type dueHeap []*item

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h dueHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *dueHeap) Push(x any) {
	it := x.(*item)
	it.index = len(*h)
	*h = append(*h, it)
}
func (h *dueHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	it.index = -1
	return it
}
