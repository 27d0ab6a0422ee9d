package nordigen

import (
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

func (s *scripted) RoundTrip(*http.Request) (*http.Response, error) {
	st := s.statuses[s.i%len(s.statuses)]
	s.i++
	resp := &http.Response{StatusCode: st, Header: http.Header{}, Body: http.NoBody}
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
		{"a limit", 1000, []int{ok, ok, ok, ok, tooMany, tooMany, tooMany, tooMany}, true},
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
