package queue

import (
	"context"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// hang is the guard against a test blocking for ever; no pass condition
// depends on it.
const hang = 10 * time.Second

// newQueue returns a queue that is shut down when the test ends.
func newQueue(t testing.TB, cfg Config) *Queue {
	q := New(cfg)
	t.Cleanup(q.ShutDown)
	return q
}

// get takes the next key, failing the test if none comes.
func get(t *testing.T, q *Queue) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	defer cancel()
	k, ok := q.Get(ctx)
	if !ok {
		t.Fatalf("Get: no key within %v", hang)
	}
	return k
}

// receive returns the next value from ch, failing the test with msg if
// none comes within hang.
func receive[T any](t *testing.T, ch <-chan T, msg string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(hang):
		t.Fatal(msg)
	}
	panic("unreachable")
}

// waitForGetters waits until a Get is blocked on q.
func waitForGetters(t *testing.T, q *Queue) {
	t.Helper()
	for deadline := time.Now().Add(hang); ; {
		q.mu.Lock()
		waiting := q.notify != nil
		q.mu.Unlock()
		if waiting {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no Get blocked on the queue")
		}
		time.Sleep(time.Millisecond)
	}
}

// dueOf returns key's due time: when it becomes ready if it is delayed,
// its pending delay if it is in flight.
func dueOf(t *testing.T, q *Queue, key string) time.Time {
	t.Helper()
	q.mu.Lock()
	defer q.mu.Unlock()
	it := q.items[key]
	if it == nil {
		t.Fatalf("%s is not in the queue", key)
	}
	return it.due
}

type keys struct{ ready, delayed, inflight []string }

func snapshot(q *Queue) keys {
	r, d, f := q.Keys()
	return keys{r, d, f}
}

func (k keys) equal(o keys) bool {
	return slices.Equal(k.ready, o.ready) && slices.Equal(k.delayed, o.delayed) && slices.Equal(k.inflight, o.inflight)
}

func checkKeys(t *testing.T, q *Queue, want keys) {
	t.Helper()
	if got := snapshot(q); !got.equal(want) {
		t.Fatalf("Keys() = %+v, want %+v", got, want)
	}
}

func TestQueue_Add(t *testing.T) {
	t.Run("dedup", func(t *testing.T) {
		q := newQueue(t, Config{})
		q.Add("a")
		q.Add("a")
		q.Add("a")
		if got, want := q.Len(), 1; got != want {
			t.Fatalf("Len() = %d, want %d", got, want)
		}
		if got, want := get(t, q), "a"; got != want {
			t.Fatalf("Get() = %q, want %q", got, want)
		}
		checkKeys(t, q, keys{inflight: []string{"a"}})
		q.Done("a")
		checkKeys(t, q, keys{})
	})

	t.Run("fifo", func(t *testing.T) {
		q := newQueue(t, Config{})
		for _, k := range []string{"c", "a", "b", "c", "a"} {
			q.Add(k)
		}
		for _, want := range []string{"c", "a", "b"} {
			if got := get(t, q); got != want {
				t.Fatalf("Get() = %q, want %q", got, want)
			}
		}
	})

	t.Run("in flight", func(t *testing.T) {
		q := newQueue(t, Config{})
		q.Add("a")
		k := get(t, q)
		q.Add(k)
		q.Add(k)
		// Not ready while in flight: no other worker can get it.
		checkKeys(t, q, keys{inflight: []string{"a"}})
		q.Done(k)
		checkKeys(t, q, keys{ready: []string{"a"}})
		if got := get(t, q); got != k {
			t.Fatalf("Get() = %q, want %q", got, k)
		}
		q.Done(k)
		// Back exactly once, however many Adds there were.
		checkKeys(t, q, keys{})
	})

	t.Run("delayed key becomes ready now", func(t *testing.T) {
		q := newQueue(t, Config{BaseDelay: time.Hour})
		q.AddAfter("a", time.Hour)
		q.AddRateLimited("b")
		checkKeys(t, q, keys{delayed: []string{"a", "b"}})
		q.Add("b")
		q.Add("a")
		checkKeys(t, q, keys{ready: []string{"a", "b"}})
		if got, want := get(t, q), "b"; got != want {
			t.Fatalf("Get() = %q, want %q (in order of becoming ready)", got, want)
		}
		if got, want := len(q.delayed), 0; got != want {
			t.Fatalf("heap holds %d items, want %d", got, want)
		}
	})

	t.Run("done of unknown key", func(t *testing.T) {
		q := newQueue(t, Config{})
		q.Add("a")
		q.Done("a") // ready, not in flight
		q.Done("b")
		checkKeys(t, q, keys{ready: []string{"a"}})
	})
}

func TestQueue_Get(t *testing.T) {
	t.Run("never two workers on one key", func(t *testing.T) {
		const workers, nkeys, rounds = 8, 16, 5000
		q := newQueue(t, Config{BaseDelay: time.Microsecond, MaxDelay: 50 * time.Microsecond})
		var busy [nkeys]atomic.Int32
		var handled atomic.Int64
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := 0; ; i++ {
					k, ok := q.Get(ctx)
					if !ok {
						return
					}
					n, _ := strconv.Atoi(k)
					if c := busy[n].Add(1); c != 1 {
						t.Errorf("key %s held by %d workers at once", k, c)
					}
					switch (i + w) % 5 {
					case 0:
						q.AddRateLimited(k)
					case 1:
						q.Add(k)
					case 2:
						q.AddAfter(k, time.Microsecond)
					case 3:
						q.Forget(k)
					}
					runtime.Gosched()
					busy[n].Add(-1)
					handled.Add(1)
					q.Done(k)
				}
			})
		}
		deadline := time.Now().Add(hang)
		for i := 0; handled.Load() < rounds; i++ {
			if time.Now().After(deadline) {
				t.Fatalf("only %d keys handled within %v", handled.Load(), hang)
			}
			q.Add(strconv.Itoa(i % nkeys))
			if i%nkeys == 0 {
				runtime.Gosched()
			}
		}
		cancel()
		wg.Wait()
	})

	t.Run("context cancelled", func(t *testing.T) {
		q := newQueue(t, Config{})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan bool)
		go func() {
			_, ok := q.Get(ctx)
			done <- ok
		}()
		waitForGetters(t, q)
		cancel()
		if receive(t, done, "Get did not return when its context was cancelled") {
			t.Fatal("Get returned a key from an empty queue")
		}
		// A worker whose context is done takes no work.
		q.Add("a")
		if _, ok := q.Get(ctx); ok {
			t.Fatal("Get with a cancelled context took a key")
		}
		checkKeys(t, q, keys{ready: []string{"a"}})
	})

	t.Run("woken by Add", func(t *testing.T) {
		q := newQueue(t, Config{})
		got := make(chan string)
		go func() {
			k, _ := q.Get(context.Background())
			got <- k
		}()
		waitForGetters(t, q)
		q.Add("a")
		if k := receive(t, got, "a blocked Get was not woken by Add"); k != "a" {
			t.Fatalf("Get() = %q, want a", k)
		}
	})
}

func TestQueue_AddRateLimited(t *testing.T) {
	t.Run("exponential, capped, jittered; Forget resets", func(t *testing.T) {
		base, limit := time.Hour, 4*time.Hour
		q := newQueue(t, Config{BaseDelay: base, MaxDelay: limit})
		// fail retries key as a worker does after a transient failure and
		// checks the delay it got.
		fail := func(wantRequeues int, d time.Duration) {
			t.Helper()
			q.Add("a")
			if k := get(t, q); k != "a" {
				t.Fatalf("Get() = %q, want a", k)
			}
			before := time.Now()
			q.AddRateLimited("a")
			after := time.Now()
			q.Done("a")
			checkKeys(t, q, keys{delayed: []string{"a"}})
			due := dueOf(t, q, "a")
			if lo, hi := before.Add(d-d/2), after.Add(d); due.Before(lo) || due.After(hi) {
				t.Fatalf("retry %d due in %v, want within [%v, %v]", wantRequeues, due.Sub(before), d/2, d)
			}
			if got := q.NumRequeues("a"); got != wantRequeues {
				t.Fatalf("NumRequeues() = %d, want %d", got, wantRequeues)
			}
		}
		fail(1, base)
		fail(2, 2*base)
		fail(3, 4*base)
		fail(4, limit)
		fail(5, limit)
		q.Forget("a")
		if got := q.NumRequeues("a"); got != 0 {
			t.Fatalf("NumRequeues() after Forget = %d, want 0", got)
		}
		fail(1, base)
	})

	t.Run("comes back", func(t *testing.T) {
		q := newQueue(t, Config{BaseDelay: time.Millisecond, MaxDelay: 4 * time.Millisecond})
		for i := range 4 {
			q.AddRateLimited("a")
			if got := get(t, q); got != "a" {
				t.Fatalf("retry %d: Get() = %q, want a", i, got)
			}
			q.Done("a")
		}
		if got, want := q.NumRequeues("a"), 4; got != want {
			t.Fatalf("NumRequeues() = %d, want %d", got, want)
		}
	})

	t.Run("ready key stays ready", func(t *testing.T) {
		q := newQueue(t, Config{})
		q.Add("a")
		q.AddRateLimited("a")
		checkKeys(t, q, keys{ready: []string{"a"}})
	})
}

func TestQueue_AddAfter(t *testing.T) {
	t.Run("sooner wins", func(t *testing.T) {
		q := newQueue(t, Config{})
		q.AddAfter("a", time.Hour)
		first := dueOf(t, q, "a")
		q.AddAfter("a", 2*time.Hour)
		if got := dueOf(t, q, "a"); !got.Equal(first) {
			t.Fatalf("a later AddAfter moved the due time by %v", got.Sub(first))
		}
		q.AddAfter("a", 30*time.Minute)
		if got := dueOf(t, q, "a"); !got.Before(first) {
			t.Fatalf("a sooner AddAfter did not move the due time: %v later", got.Sub(first))
		}
		checkKeys(t, q, keys{delayed: []string{"a"}})
		q.AddAfter("a", time.Millisecond)
		if got := get(t, q); got != "a" {
			t.Fatalf("Get() = %q, want a", got)
		}
	})

	t.Run("zero is Add", func(t *testing.T) {
		q := newQueue(t, Config{})
		q.AddAfter("a", time.Hour)
		q.AddAfter("a", 0)
		checkKeys(t, q, keys{ready: []string{"a"}})
		q.AddAfter("a", time.Hour)
		checkKeys(t, q, keys{ready: []string{"a"}})
	})

	t.Run("in flight: delay starts at Done", func(t *testing.T) {
		q := newQueue(t, Config{})
		q.Add("a")
		get(t, q)
		q.AddAfter("a", 2*time.Hour)
		q.AddAfter("a", time.Hour)
		q.AddAfter("a", 3*time.Hour)
		checkKeys(t, q, keys{inflight: []string{"a"}})
		due := dueOf(t, q, "a")
		q.Done("a")
		checkKeys(t, q, keys{delayed: []string{"a"}})
		if got := dueOf(t, q, "a"); !got.Equal(due) || time.Until(got) > time.Hour {
			t.Fatalf("due in %v, want the soonest, within an hour", time.Until(got))
		}
	})

	t.Run("in flight: Add wins", func(t *testing.T) {
		q := newQueue(t, Config{})
		q.Add("a")
		get(t, q)
		q.AddRateLimited("a")
		q.Add("a")
		q.Done("a")
		checkKeys(t, q, keys{ready: []string{"a"}})
	})

	t.Run("in flight: delay over by Done", func(t *testing.T) {
		q := newQueue(t, Config{})
		q.Add("a")
		get(t, q)
		q.AddAfter("a", time.Millisecond)
		time.Sleep(2 * time.Millisecond) // at least that long
		q.Done("a")
		checkKeys(t, q, keys{ready: []string{"a"}})
	})

	t.Run("due in order", func(t *testing.T) {
		q := newQueue(t, Config{})
		// Holding the lock keeps the timer from making any ready before
		// all three are in, however slow the machine.
		q.mu.Lock()
		q.addAfter("c", 3*time.Millisecond)
		q.addAfter("a", time.Millisecond)
		q.addAfter("b", 2*time.Millisecond)
		q.mu.Unlock()
		for _, want := range []string{"a", "b", "c"} {
			if got := get(t, q); got != want {
				t.Fatalf("Get() = %q, want %q", got, want)
			}
		}
	})
}

func TestQueue_ShutDown(t *testing.T) {
	base := runtime.NumGoroutine()
	q := New(Config{})
	q.Add("a")
	q.Add("b")
	q.AddAfter("c", time.Hour)
	if got := get(t, q); got != "a" {
		t.Fatalf("Get() = %q, want a", got)
	}
	const getters = 4
	ok := make(chan bool, getters)
	for range getters {
		go func() {
			q.Get(context.Background()) // b, for one of them
			_, k := q.Get(context.Background())
			ok <- k
		}()
	}
	waitForGetters(t, q)
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(q.ShutDown)
	}
	wg.Wait()
	q.ShutDown()
	for range getters {
		if receive(t, ok, "ShutDown did not wake a blocked Get") {
			t.Fatal("Get returned a key after ShutDown")
		}
	}
	// Waiting keys are dropped, later adds ignored; keys in flight may
	// still be done.
	q.Add("d")
	q.AddAfter("e", time.Millisecond)
	q.AddRateLimited("f")
	checkKeys(t, q, keys{inflight: []string{"a", "b"}})
	q.Add("a")
	q.Done("a")
	q.Done("b")
	checkKeys(t, q, keys{})
	if _, k := q.Get(context.Background()); k {
		t.Fatal("Get returned a key after ShutDown")
	}

	for deadline := time.Now().Add(hang); runtime.NumGoroutine() > base; {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines left over, %d before", runtime.NumGoroutine(), base)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestQueue_Metrics(t *testing.T) {
	var (
		mu                     sync.Mutex
		depth, inflight        []int
		adds, retries, latency int
		latencies              []time.Duration
	)
	record := func(s *[]int) func(int) {
		return func(n int) { mu.Lock(); *s = append(*s, n); mu.Unlock() }
	}
	count := func(n *int) func() {
		return func() { mu.Lock(); *n++; mu.Unlock() }
	}
	q := newQueue(t, Config{BaseDelay: time.Hour, Metrics: &Metrics{
		Depth:        record(&depth),
		InFlight:     record(&inflight),
		Adds:         count(&adds),
		Retries:      count(&retries),
		QueueLatency: func(d time.Duration) { mu.Lock(); latencies = append(latencies, d); latency++; mu.Unlock() },
	}})
	check := func(wantDepth, wantInflight []int, wantAdds, wantRetries, wantLatency int) {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		if !slices.Equal(depth, wantDepth) || !slices.Equal(inflight, wantInflight) ||
			adds != wantAdds || retries != wantRetries || latency != wantLatency {
			t.Fatalf("depth %v in flight %v adds %d retries %d latency %d,\nwant depth %v in flight %v adds %d retries %d latency %d",
				depth, inflight, adds, retries, latency, wantDepth, wantInflight, wantAdds, wantRetries, wantLatency)
		}
	}

	q.Add("a")
	q.Add("a") // de-duplicated: not counted
	q.Add("b")
	check([]int{1, 2}, nil, 2, 0, 0)

	get(t, q) // a
	check([]int{1, 2, 1}, []int{1}, 2, 0, 1)

	q.Add("a")            // dirty
	q.AddRateLimited("a") // pending, but the Add wins at Done
	check([]int{1, 2, 1}, []int{1}, 2, 1, 1)

	q.Done("a") // back, ready
	check([]int{1, 2, 1, 2}, []int{1, 0}, 3, 1, 1)

	get(t, q) // b
	get(t, q) // a
	check([]int{1, 2, 1, 2, 1, 0}, []int{1, 0, 1, 2}, 3, 1, 3)

	q.AddRateLimited("b") // delayed at Done
	q.Done("b")
	q.Done("a")
	check([]int{1, 2, 1, 2, 1, 0}, []int{1, 0, 1, 2, 1, 0}, 4, 2, 3)

	q.Add("b") // ready now, not counted again
	get(t, q)
	check([]int{1, 2, 1, 2, 1, 0, 1, 0}, []int{1, 0, 1, 2, 1, 0, 1}, 4, 2, 4)

	q.ShutDown()
	check([]int{1, 2, 1, 2, 1, 0, 1, 0, 0}, []int{1, 0, 1, 2, 1, 0, 1}, 4, 2, 4)
	mu.Lock()
	defer mu.Unlock()
	for _, d := range latencies {
		if d < 0 {
			t.Errorf("QueueLatency(%v), want a duration >= 0", d)
		}
	}
}

func BenchmarkAddGetDone(b *testing.B) {
	q := newQueue(b, Config{})
	ctx := context.Background()
	for b.Loop() {
		q.Add("k")
		k, _ := q.Get(ctx)
		q.Done(k)
	}
}

// BenchmarkAddGetDoneParallel has every goroutine add, get and finish its
// own keys, so that the lock, not the data, is shared.
func BenchmarkAddGetDoneParallel(b *testing.B) {
	q := newQueue(b, Config{})
	ctx := context.Background()
	var id atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		prefix := strconv.FormatInt(id.Add(1), 10) + "/"
		for i := 0; pb.Next(); i++ {
			q.Add(prefix + strconv.Itoa(i%64))
			k, _ := q.Get(ctx)
			q.Done(k)
		}
	})
}

func TestQueue_AddNow(t *testing.T) {
	order := func(t *testing.T, q *Queue, want ...string) {
		t.Helper()
		for _, w := range want {
			if got := get(t, q); got != w {
				t.Fatalf("Get() = %q, want %q", got, w)
			}
		}
	}

	t.Run("ahead of ready keys, in order", func(t *testing.T) {
		q := newQueue(t, Config{})
		q.Add("a")
		q.Add("b")
		q.AddNow("x")
		q.AddNow("y")
		q.AddNow("b") // ready: moves forward, behind x and y
		q.AddNow("x") // already urgent: stays
		q.Add("c")
		order(t, q, "x", "y", "b", "a", "c")
	})

	t.Run("delayed key comes out of its backoff", func(t *testing.T) {
		q := newQueue(t, Config{BaseDelay: time.Hour})
		q.Add("a")
		q.AddRateLimited("b")
		q.AddNow("b")
		checkKeys(t, q, keys{ready: []string{"a", "b"}})
		order(t, q, "b", "a")
		if got, want := len(q.delayed), 0; got != want {
			t.Fatalf("heap holds %d items, want %d", got, want)
		}
	})

	t.Run("in flight: after its Done, ahead of the others", func(t *testing.T) {
		q := newQueue(t, Config{BaseDelay: time.Hour})
		q.Add("a")
		k := get(t, q)
		q.Add("b")
		q.AddNow(k)
		q.AddRateLimited(k) // the work failed: AddNow still wins over the backoff
		// One worker per key: not handed out while in flight.
		checkKeys(t, q, keys{ready: []string{"b"}, inflight: []string{"a"}})
		q.Done(k)
		order(t, q, "a", "b")
		q.Done("a")
		q.Done("b")
		checkKeys(t, q, keys{})
	})

	t.Run("after shut down", func(t *testing.T) {
		q := newQueue(t, Config{})
		q.ShutDown()
		q.AddNow("a")
		checkKeys(t, q, keys{})
	})
}

func TestQueue_Due(t *testing.T) {
	q := newQueue(t, Config{BaseDelay: time.Hour, MaxDelay: time.Hour})
	if _, ok := q.Due("a"); ok {
		t.Error("Due of a key not in the queue: ok")
	}
	q.Add("a")
	if _, ok := q.Due("a"); ok {
		t.Error("Due of a ready key: ok")
	}
	before := time.Now()
	q.AddRateLimited("b")
	due, ok := q.Due("b")
	if !ok || due.Before(before.Add(30*time.Minute)) || due.After(time.Now().Add(time.Hour)) {
		t.Errorf("Due of a delayed key = %v, %v; want within its jittered backoff [30m, 1h]", due, ok)
	}
	if k := get(t, q); k != "a" {
		t.Fatalf("Get = %q", k)
	}
	if _, ok := q.Due("a"); ok {
		t.Error("Due of a key in flight with nothing pending: ok")
	}
	q.AddAfter("a", time.Hour)
	if due, ok := q.Due("a"); !ok || due.Before(before.Add(time.Hour)) {
		t.Errorf("Due of a key in flight with a pending delay = %v, %v; want its due time", due, ok)
	}
}
