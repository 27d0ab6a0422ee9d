package queue

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func get(t *testing.T, q *Queue) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	k, ok := q.Get(ctx)
	if !ok {
		t.Fatal("Get: nothing within 10s")
	}
	return k
}

func TestQueue_Dedup(t *testing.T) {
	q := New(Config{})
	defer q.ShutDown()
	q.Add("a")
	q.Add("a")
	q.Add("b")
	q.Add("a")
	if got := q.Len(); got != 2 {
		t.Fatalf("Len %d, want 2", got)
	}
	if k := get(t, q); k != "a" {
		t.Fatalf("first %q, want a (FIFO)", k)
	}
	if k := get(t, q); k != "b" {
		t.Fatalf("second %q, want b", k)
	}
	if q.Len() != 0 || q.InFlight() != 2 {
		t.Fatalf("Len %d InFlight %d", q.Len(), q.InFlight())
	}
}

func TestQueue_AddWhileInFlight(t *testing.T) {
	q := New(Config{})
	defer q.ShutDown()
	q.Add("a")
	k := get(t, q)
	q.Add(k)
	q.Add(k)
	if q.Len() != 0 {
		t.Fatal("a key in flight was handed out again")
	}
	q.Done(k)
	if q.Len() != 1 {
		t.Fatalf("after Done: Len %d, want 1 (dirty key back once)", q.Len())
	}
	get(t, q)
	q.Done(k)
	if q.Len() != 0 {
		t.Fatal("the key came back twice")
	}
}

func TestQueue_NeverTwoWorkersOnOneKey(t *testing.T) {
	q := New(Config{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond})
	defer q.ShutDown()
	var busy [10]atomic.Int32
	var handled atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				k, ok := q.Get(ctx)
				if !ok {
					return
				}
				var i int
				fmt.Sscanf(k, "k%d", &i)
				if n := busy[i].Add(1); n != 1 {
					t.Errorf("%s handed to %d workers at once", k, n)
				}
				if rand.N(4) == 0 {
					q.AddRateLimited(k)
				}
				busy[i].Add(-1)
				handled.Add(1)
				q.Done(k)
			}
		})
	}
	for handled.Load() < 2000 {
		q.Add(fmt.Sprintf("k%d", rand.N(10)))
		if rand.N(8) == 0 {
			time.Sleep(10 * time.Microsecond)
		}
	}
	cancel()
	wg.Wait()
}

func TestQueue_Backoff(t *testing.T) {
	base, limit := 10*time.Millisecond, 100*time.Millisecond
	for n, want := range []time.Duration{10, 20, 40, 80, 100, 100} {
		if got := backoff(base, limit, n); got != want*time.Millisecond {
			t.Errorf("backoff(%d) = %v, want %v", n, got, want*time.Millisecond)
		}
	}
	if got := backoff(time.Second, time.Minute, 200); got != time.Minute {
		t.Errorf("backoff after 200 failures = %v, want the cap", got)
	}
	for range 1000 {
		if j := jitter(80 * time.Millisecond); j < 40*time.Millisecond || j > 80*time.Millisecond {
			t.Fatalf("jitter(80ms) = %v, outside [40ms, 80ms]", j)
		}
	}
	q := New(Config{BaseDelay: time.Millisecond, MaxDelay: 4 * time.Millisecond})
	defer q.ShutDown()
	q.AddRateLimited("a")
	q.AddRateLimited("a")
	if q.NumRequeues("a") != 2 {
		t.Fatalf("NumRequeues %d, want 2", q.NumRequeues("a"))
	}
	get(t, q) // it comes back once its delay is over
	q.Forget("a")
	if q.NumRequeues("a") != 0 {
		t.Fatal("Forget did not reset the count")
	}
}

func TestQueue_DelaysAndAdd(t *testing.T) {
	q := New(Config{})
	defer q.ShutDown()
	q.AddAfter("a", time.Hour)
	if q.Len() != 0 || q.Delayed() != 1 {
		t.Fatalf("Len %d Delayed %d", q.Len(), q.Delayed())
	}
	q.AddAfter("a", time.Millisecond) // sooner wins
	if k := get(t, q); k != "a" {
		t.Fatal(k)
	}
	q.Done("a")
	q.AddAfter("b", time.Hour)
	q.Add("b") // a change makes it ready now
	if q.Len() != 1 || q.Delayed() != 0 {
		t.Fatalf("after Add of a delayed key: Len %d Delayed %d", q.Len(), q.Delayed())
	}
	// A retry while in flight waits for Done; an Add while in flight wins.
	k := get(t, q)
	q.AddRateLimited(k)
	q.Done(k)
	if q.Len() != 0 || q.Delayed() != 1 {
		t.Fatalf("retry in flight: Len %d Delayed %d", q.Len(), q.Delayed())
	}
}

func TestQueue_ShutDown(t *testing.T) {
	q := New(Config{})
	q.Add("a")
	q.AddAfter("b", time.Hour)
	got := make(chan bool)
	go func() {
		q.Get(context.Background()) // takes a
		_, ok := q.Get(context.Background())
		got <- ok
	}()
	time.Sleep(10 * time.Millisecond)
	q.ShutDown()
	q.ShutDown()
	select {
	case ok := <-got:
		if ok {
			t.Fatal("Get returned a key after ShutDown")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ShutDown did not wake Get")
	}
	if _, ok := q.Get(context.Background()); ok {
		t.Fatal("Get after ShutDown")
	}
	q.Add("c")
	if q.Len() != 0 {
		t.Fatal("Add after ShutDown queued")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, ok := New(Config{}).Get(ctx); ok {
		t.Fatal("Get with a cancelled context")
	}
}

func TestQueue_Metrics(t *testing.T) {
	var depth, inflight, adds, retries atomic.Int64
	q := New(Config{BaseDelay: time.Millisecond, Metrics: &Metrics{
		Depth: func(n int) { depth.Store(int64(n)) }, InFlight: func(n int) { inflight.Store(int64(n)) },
		Adds: func() { adds.Add(1) }, Retries: func() { retries.Add(1) },
	}})
	defer q.ShutDown()
	q.Add("a")
	q.Add("a")
	q.Add("b")
	if depth.Load() != 2 || adds.Load() != 2 {
		t.Fatalf("depth %d adds %d, want 2 and 2", depth.Load(), adds.Load())
	}
	k := get(t, q)
	if depth.Load() != 1 || inflight.Load() != 1 {
		t.Fatalf("depth %d in flight %d, want 1 and 1", depth.Load(), inflight.Load())
	}
	q.AddRateLimited(k)
	q.Done(k)
	if retries.Load() != 1 || inflight.Load() != 0 {
		t.Fatalf("retries %d in flight %d", retries.Load(), inflight.Load())
	}
}

func BenchmarkAddGetDone(b *testing.B) {
	q := New(Config{})
	defer q.ShutDown()
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		q.Add("k")
		k, _ := q.Get(ctx)
		q.Done(k)
	}
}
