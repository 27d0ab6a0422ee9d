package nordigen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/ledgerform/ledgerform/api"
)

// tokenSource hands out the client-credentials access token, fetching a new
// one shortly before the old one expires. Expiry is measured on the
// monotonic clock from the moment the answer arrived, with expires_in, so
// the client's wall clock does not matter. Only one fetch runs at a time,
// however many goroutines ask: the others wait for it (or for their
// context). Safe for concurrent use.
type tokenSource struct {
	url      string
	id       string
	secret   Secret
	audience string
	rc       *retryablehttp.Client // without the auth transport

	sem    chan struct{} // held while fetching or reading the cache
	token  Secret
	expiry time.Time // with a monotonic reading
}

// earlyRefresh is how long before expiry a token is replaced: a tenth of
// its lifetime, at most five minutes.
func earlyRefresh(lifetime time.Duration) time.Duration { return min(lifetime/10, 5*time.Minute) }

// get returns a valid token.
func (ts *tokenSource) get(ctx context.Context) (Secret, error) {
	if err := ts.lock(ctx); err != nil {
		return Secret{}, err
	}
	defer ts.unlock()
	if !ts.token.IsZero() && time.Now().Before(ts.expiry) {
		return ts.token, nil
	}
	return ts.renew(ctx, false)
}

// refresh fetches a new token in one attempt, whatever the cache holds,
// and caches it: one step of Client.Probe, which must reach the token
// endpoint, not the cache. The token serves the requests that follow.
func (ts *tokenSource) refresh(ctx context.Context) error {
	if err := ts.lock(ctx); err != nil {
		return err
	}
	defer ts.unlock()
	_, err := ts.renew(ctx, true)
	return err
}

// renew fetches a token (once: in a single attempt) and caches it. The
// caller holds the lock.
func (ts *tokenSource) renew(ctx context.Context, once bool) (Secret, error) {
	tok, lifetime, err := ts.fetch(ctx, once)
	if err != nil {
		return Secret{}, err
	}
	ts.token, ts.expiry = tok, time.Now().Add(lifetime-earlyRefresh(lifetime))
	return tok, nil
}

// lock takes the cache and the right to fetch, or gives up when ctx ends.
func (ts *tokenSource) lock(ctx context.Context) error {
	select {
	case ts.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (ts *tokenSource) unlock() { <-ts.sem }

// invalidate forgets tok if it is the cached token, after a 401: the next
// get fetches a new one.
// If ctx ends first it gives up: the next get checks the token anyway.
func (ts *tokenSource) invalidate(ctx context.Context, tok Secret) {
	if ts.lock(ctx) != nil {
		return
	}
	defer ts.unlock()
	if ts.token == tok {
		ts.token = Secret{}
	}
}

// fetch asks the token endpoint for a token through the retry policy, or
// (once) in a single attempt.
func (ts *tokenSource) fetch(ctx context.Context, once bool) (Secret, time.Duration, error) {
	body, _ := json.Marshal(map[string]string{
		"grant_type":    "client_credentials",
		"client_id":     ts.id,
		"client_secret": ts.secret.Reveal(),
		"audience":      ts.audience,
	})
	req, err := retryablehttp.NewRequestWithContext(withState(ctx, &reqState{op: api.OpToken, once: once}), http.MethodPost, ts.url, body)
	if err != nil {
		return Secret{}, 0, fmt.Errorf("nordigen: token: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := ts.rc.Do(req)
	if err != nil {
		return Secret{}, 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Secret{}, 0, &api.TransportError{Op: api.OpToken, Attempts: 1, Err: err}
	}
	if resp.StatusCode != http.StatusOK {
		return Secret{}, 0, apiError(resp, raw, api.OpToken, 0)
	}
	var t struct {
		AccessToken string  `json:"access_token"`
		ExpiresIn   float64 `json:"expires_in"`
		TokenType   string  `json:"token_type"`
	}
	if err := json.Unmarshal(raw, &t); err != nil || t.AccessToken == "" || t.ExpiresIn <= 0 {
		// Never quote the body: it may hold a token.
		return Secret{}, 0, &api.ProtocolError{Op: api.OpToken, Err: fmt.Errorf("want access_token and a positive expires_in")}
	}
	return NewSecret(t.AccessToken), time.Duration(t.ExpiresIn * float64(time.Second)), nil
}

// apiError reads an error answer: the documented error array, or at the
// token endpoint the OAuth form {"error", "error_description"}, whose
// error becomes Code. It never quotes more than 512 bytes of a body that
// is neither, and nothing of such a body from the token endpoint.
func apiError(resp *http.Response, body []byte, op string, attempts int) *api.Error {
	e := &api.Error{Status: resp.StatusCode, Op: op, Attempts: attempts, Retry: retryAfter(resp)}
	// The documentation leaves the form of source's elements open: read it
	// as strings when it is, and never let it spoil the rest.
	var errs []struct {
		Title     string          `json:"title"`
		Detail    string          `json:"detail"`
		ErrorCode string          `json:"error-code"`
		Source    json.RawMessage `json:"source"`
	}
	if json.Unmarshal(body, &errs) == nil && len(errs) > 0 {
		e.Code, e.Title, e.Detail = errs[0].ErrorCode, errs[0].Title, errs[0].Detail
		if json.Unmarshal(errs[0].Source, &e.Source) != nil && len(errs[0].Source) > 0 && string(errs[0].Source) != "null" {
			e.Source = []string{string(errs[0].Source)}
		}
		return e
	}
	if op == api.OpToken {
		// The token endpoint answers in the OAuth form (RFC 6749 §5.2).
		// Only its two fields are read: the rest of an odd body could
		// echo the credentials.
		var oe struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		if json.Unmarshal(body, &oe) == nil && oe.Error != "" {
			e.Code, e.Detail = oe.Error, oe.Description
			if len(e.Detail) > 512 {
				e.Detail = e.Detail[:512]
			}
		}
		return e
	}
	snippet := bytes.TrimSpace(body)
	if len(snippet) > 512 {
		snippet = snippet[:512]
	}
	e.Detail = string(snippet)
	return e
}
