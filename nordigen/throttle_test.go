package nordigen

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// scripted answers each request with the next status of its script.
type scripted struct {
	statuses []int
	i        int
}

func (s *scripted) RoundTrip(req *http.Request) (*http.Response, error) {
	st := s.statuses[s.i%len(s.statuses)]
	s.i++
	resp := &http.Response{StatusCode: st, Header: http.Header{}, Body: http.NoBody, Request: req}
	if st == http.StatusTooManyRequests {
		resp.Header.Set("Retry-After", "1")
	}
	return resp, nil
}

// TestThrottle_NoiseIsNotALimit: 429s scattered among successes (one in
// seven, as an API that answers some requests 429 whatever the rate) never
// pause every worker, and the rate stays at least what the server allowed;
// 429s that come together pause every worker and lower the rate.
func TestThrottle_NoiseIsNotALimit(t *testing.T) {
	ok, tooMany := http.StatusOK, http.StatusTooManyRequests
	for _, tc := range []struct {
		name      string
		limit     rate.Limit
		script    []int
		wantPause bool
	}{
		{"noise, no limit", rate.Inf, []int{ok, ok, ok, tooMany, ok, ok, ok}, false},
		{"noise under a limit", 1000, []int{ok, ok, ok, tooMany, ok, ok, ok}, false},
		{"two in a row is still noise", rate.Inf, []int{ok, ok, ok, ok, tooMany, tooMany, ok, ok, ok, ok, ok, ok}, false},
		{"three in a row is still noise", rate.Inf, []int{ok, ok, ok, ok, ok, ok, tooMany, tooMany, tooMany, ok, ok, ok, ok, ok, ok, ok}, false},
		{"five in a row is still noise", rate.Inf, append(make12(ok), tooMany, tooMany, tooMany, tooMany, tooMany), false},
		{"a limit", 1000, []int{ok, ok, ok, ok, tooMany, tooMany, tooMany, tooMany, tooMany, tooMany}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &scripted{statuses: tc.script}
			th := &throttle{next: s, limiter: rate.NewLimiter(tc.limit, 8), max: tc.limit, cap: time.Minute}
			paused := false
			for range 3 * len(tc.script) {
				if th.pauseLeft() > 0 {
					paused = true
					break
				}
				resp, err := th.RoundTrip(httptest.NewRequest("GET", "http://api.test/x", nil))
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
			}
			if paused != tc.wantPause {
				t.Errorf("paused every worker: %v, want %v (rate now %v)", paused, tc.wantPause, th.limiter.Limit())
			}
			if !tc.wantPause && th.limiter.Limit() < 1 {
				t.Errorf("noise brought the rate down to %v", th.limiter.Limit())
			}
		})
	}
}

// TestThrottle_EarlyRetryOfNoise: a request's first 429 among successes,
// with a short Retry-After, is retried after the short noise wait, within
// the budget successes earn; its second 429 waits the Retry-After; 429s
// that make a limit, a long Retry-After, an empty budget or early retries
// turned off get no early retry.
func TestThrottle_EarlyRetryOfNoise(t *testing.T) {
	ok, tooMany := http.StatusOK, http.StatusTooManyRequests
	const noiseWait = 200 * time.Millisecond
	// send sends one request of st through th and returns the wait the
	// retry policy would take after its answer.
	send := func(t *testing.T, th *throttle, st *reqState) (int, time.Duration) {
		t.Helper()
		req := httptest.NewRequest("GET", "http://api.test/x", nil).WithContext(withState(context.Background(), st))
		resp, err := th.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, retryWait(time.Millisecond, time.Minute, 0, resp)
	}
	newThrottle := func(script []int, wait time.Duration) *throttle {
		return &throttle{next: &scripted{statuses: script}, limiter: rate.NewLimiter(rate.Inf, 8), max: rate.Inf, cap: time.Minute, noiseWait: wait}
	}

	t.Run("noise", func(t *testing.T) {
		th := newThrottle([]int{ok, ok, ok, ok, ok, ok, ok, ok, ok, ok, ok, ok, tooMany, tooMany, tooMany}, noiseWait)
		for range 12 { // earn three tokens
			send(t, th, &reqState{})
		}
		st := &reqState{}
		if code, d := send(t, th, st); code != tooMany || d > noiseWait || d < noiseWait/2 {
			t.Errorf("first 429: status %d, wait %v; want 429 and %v–%v", code, d, noiseWait/2, noiseWait)
		}
		if code, d := send(t, th, st); code != tooMany || d > 2*noiseWait || d < noiseWait {
			t.Errorf("the same request's second 429: status %d, wait %v; want 429 and %v–%v", code, d, noiseWait, 2*noiseWait)
		}
		if code, d := send(t, th, st); code != tooMany || d < time.Second {
			t.Errorf("the same request's third 429: status %d, wait %v; want its Retry-After, 1s or more", code, d)
		}
		if th.earlyN != 2 {
			t.Errorf("%d early retries granted, want 2", th.earlyN)
		}
	})
	t.Run("no budget", func(t *testing.T) {
		th := newThrottle([]int{ok, ok, tooMany}, noiseWait)
		send(t, th, &reqState{})
		send(t, th, &reqState{})
		if _, d := send(t, th, &reqState{}); d < time.Second {
			t.Errorf("a 429 after two successes (half a token) waits %v, want its Retry-After", d)
		}
	})
	t.Run("off", func(t *testing.T) {
		th := newThrottle([]int{ok, ok, ok, ok, ok, ok, ok, ok, tooMany}, 0)
		for range 8 {
			send(t, th, &reqState{})
		}
		if _, d := send(t, th, &reqState{}); d < time.Second {
			t.Errorf("with early retries off a 429 waits %v, want its Retry-After", d)
		}
	})
	t.Run("a limit", func(t *testing.T) {
		script := []int{}
		for range 40 {
			script = append(script, ok)
		}
		script = append(script, tooMany, tooMany, tooMany, tooMany, tooMany, tooMany)
		th := newThrottle(script, noiseWait)
		for range 40 { // the budget is full
			send(t, th, &reqState{})
		}
		early := 0
		for range 6 {
			if _, d := send(t, th, &reqState{}); d < time.Second {
				early++
			}
		}
		// The first five are noise for all the throttle can tell; the
		// sixth makes a limit: a pause, the budget emptied.
		if early != 5 || th.pauseLeft() <= 0 || th.budget != 0 {
			t.Errorf("429s in a row: %d early retries, pause %v, budget %v; want 5, a pause, 0", early, th.pauseLeft(), th.budget)
		}
	})
}

// make12 is twelve of st.
func make12(st int) []int {
	s := make([]int, 12)
	for i := range s {
		s[i] = st
	}
	return s
}
