package nordigen_test

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ledgerform/ledgerform/api"
	"github.com/ledgerform/ledgerform/engine"
	"github.com/ledgerform/ledgerform/nordigen"
)

// closedPort returns the URL of a loopback port that nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	return "http://" + l.Addr().String()
}

// TestClient_Probe_Unreachable: an endpoint no connection can be made to
// is told apart from one that answers, within the probe's budget, after a
// few attempts at most, naming the cause.
func TestClient_Probe_Unreachable(t *testing.T) {
	e := startEngine(t, engine.Config{})
	untrusted := httptest.NewUnstartedServer(http.NotFoundHandler())
	untrusted.Config.ErrorLog = log.New(io.Discard, "", 0)
	untrusted.StartTLS()
	t.Cleanup(untrusted.Close)
	for _, tc := range []struct {
		name, base, cause string
		attempts          int
	}{
		{"connection refused", closedPort(t), "connection refused", nordigen.ProbeAttempts},
		{"https to a plain-HTTP server", "https://" + strings.TrimPrefix(e.URL, "http://"), "HTTP response to HTTPS client", 1},
		{"a name that does not resolve", "http://nosuch.invalid", "lookup nosuch.invalid", nordigen.ProbeAttempts},
		{"a certificate that does not verify", untrusted.URL, "certificate", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newClient(t, e, tc.base, nil)
			start := time.Now()
			err := c.Probe(context.Background())
			took := time.Since(start)
			var te *api.TransportError
			if !errors.As(err, &te) || !api.IsUnreachable(err) {
				t.Fatalf("Probe = %v, want an unreachable transport error", err)
			}
			if !strings.Contains(err.Error(), tc.cause) || !strings.Contains(err.Error(), strings.TrimPrefix(tc.base, "https://")) {
				t.Errorf("Probe = %q, want the endpoint and %q in it", err, tc.cause)
			}
			if te.Op != api.OpToken || te.Attempts != tc.attempts {
				t.Errorf("%s after %d attempts, want the token request after %d", te.Op, te.Attempts, tc.attempts)
			}
			if took > nordigen.ProbeBudget {
				t.Errorf("the probe took %s, over its budget of %s", took, nordigen.ProbeBudget)
			}
		})
	}
}

// TestClient_Probe_Answers: an endpoint that answers is reachable, whatever
// the answer; a wrong secret or an outage is the token endpoint's answer,
// asked once, and a token that came serves the next request.
func TestClient_Probe_Answers(t *testing.T) {
	e := startEngine(t, engine.Config{})
	t.Run("a token", func(t *testing.T) {
		c := newClient(t, e, e.URL, nil)
		tokens := metric(t, e, "token", "200")
		if err := c.Probe(context.Background()); err != nil {
			t.Fatalf("Probe = %v, want nil", err)
		}
		if _, err := c.CategoryTree(context.Background(), "uk"); err != nil {
			t.Fatal(err)
		}
		if got := metric(t, e, "token", "200") - tokens; got != 1 {
			t.Errorf("%v token requests for a probe and a call, want 1", got)
		}
	})
	t.Run("a wrong secret", func(t *testing.T) {
		c := newClient(t, e, e.URL, func(cfg *nordigen.Config) { cfg.ClientSecret = nordigen.NewSecret("wrong") })
		refused := metric(t, e, "token", "401")
		err := c.Probe(context.Background())
		var ae *api.Error
		if !errors.As(err, &ae) || ae.Status != 401 || ae.Op != api.OpToken || !api.IsPermanent(err) || api.IsUnreachable(err) {
			t.Fatalf("Probe = %v, want the token endpoint's permanent 401", err)
		}
		if got := metric(t, e, "token", "401") - refused; got != 1 {
			t.Errorf("%v token requests, want 1", got)
		}
	})
	t.Run("an outage", func(t *testing.T) {
		p := newProxy(t, e.URL, func(r *http.Request) int { return http.StatusServiceUnavailable })
		c := newClient(t, e, p.srv.URL, nil)
		err := c.Probe(context.Background())
		if !api.IsTransient(err) || api.IsUnreachable(err) {
			t.Fatalf("Probe = %v, want a transient answer", err)
		}
		if n := p.requests("/oauth/token"); n != 1 {
			t.Errorf("%d token requests, want 1: the answer is what the probe asks for", n)
		}
	})
}

// TestIsUnreachable_Requests: the failure of any call is unreachable when no
// connection could be made, its token's included; a connection that breaks
// is not.
func TestIsUnreachable_Requests(t *testing.T) {
	e := startEngine(t, engine.Config{})
	refused := closedPort(t)
	short := func(cfg *nordigen.Config) { cfg.RetryMax = 1 }
	t.Run("the API refused", func(t *testing.T) {
		c := newClient(t, e, refused, func(cfg *nordigen.Config) { short(cfg); cfg.TokenURL = e.URL + "/oauth/token" })
		if _, err := c.CategoryTree(context.Background(), "uk"); !api.IsUnreachable(err) || !api.IsTransient(err) {
			t.Errorf("CategoryTree = %v, want unreachable and transient", err)
		}
	})
	t.Run("its token refused", func(t *testing.T) {
		c := newClient(t, e, refused, short)
		if _, err := c.CategoryTree(context.Background(), "uk"); !api.IsUnreachable(err) {
			t.Errorf("CategoryTree = %v, want unreachable", err)
		}
	})
	t.Run("https to a plain-HTTP server, not retried", func(t *testing.T) {
		var conns atomic.Int32
		plain := httptest.NewUnstartedServer(http.NotFoundHandler())
		plain.Config.ConnState = func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns.Add(1)
			}
		}
		plain.Start()
		t.Cleanup(plain.Close)
		https := "https://" + strings.TrimPrefix(plain.URL, "http://")
		c := newClient(t, e, https, func(cfg *nordigen.Config) { cfg.TokenURL = e.URL + "/oauth/token" })
		_, err := c.CategoryTree(context.Background(), "uk")
		if !api.IsUnreachable(err) || !api.IsPermanent(err) || api.IsRejected(err) {
			t.Errorf("CategoryTree = %v, want unreachable and permanent, not rejected", err)
		}
		if n := conns.Load(); n != 1 {
			t.Errorf("%d connections, want 1", n)
		}
	})
	t.Run("reset connections", func(t *testing.T) {
		reset := startEngine(t, engine.Config{Faults: engine.Faults{ResetRate: 1}})
		c := newClient(t, reset, reset.URL, short)
		err := c.Probe(context.Background())
		var te *api.TransportError
		if !errors.As(err, &te) || api.IsUnreachable(err) {
			t.Errorf("Probe = %v, want a transport error that is not unreachable", err)
		}
	})
}
