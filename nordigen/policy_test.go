package nordigen

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ledgerform/ledgerform/api"
)

func answer(status int, retryAfter string) *http.Response {
	h := http.Header{}
	if retryAfter != "" {
		h.Set("Retry-After", retryAfter)
	}
	return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader(""))}
}

func TestRetryAfter(t *testing.T) {
	future := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	past := time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)
	for _, tc := range []struct {
		header   string
		min, max time.Duration
	}{
		{"", 0, 0},
		{"5", 5 * time.Second, 5 * time.Second},
		{" 2 ", 2 * time.Second, 2 * time.Second},
		{"0", 0, 0},
		{"-1", 0, 0},
		{"soon", 0, 0},
		{future, 85 * time.Second, 90 * time.Second},
		{past, 0, 0},
	} {
		got := retryAfter(answer(429, tc.header))
		if got < tc.min || got > tc.max {
			t.Errorf("retryAfter(%q) = %v, want in [%v, %v]", tc.header, got, tc.min, tc.max)
		}
	}
	if got := retryAfter(nil); got != 0 {
		t.Errorf("retryAfter(nil) = %v", got)
	}
}

func TestRetryWait(t *testing.T) {
	lo, hi := 100*time.Millisecond, 2*time.Second
	for attempt := 0; attempt < 40; attempt++ {
		want := min(lo<<min(attempt, 30), hi)
		for range 20 {
			if d := retryWait(lo, hi, attempt, answer(503, "")); d < want/2 || d > want {
				t.Fatalf("retryWait(attempt %d) = %v, want in [%v, %v]", attempt, d, want/2, want)
			}
		}
	}
	// Retry-After is honoured, never shortened, and capped.
	if d := retryWait(lo, hi, 0, answer(429, "1")); d < time.Second || d > 1100*time.Millisecond {
		t.Errorf("retryWait with Retry-After 1 = %v, want in [1s, 1.1s]", d)
	}
	if d := retryWait(lo, hi, 0, answer(429, "86400")); d > hi+hi/10 {
		t.Errorf("retryWait with Retry-After 86400 = %v, want capped near %v", d, hi)
	}
}

func TestCheckRetry(t *testing.T) {
	for _, tc := range []struct {
		status int
		err    error
		retry  bool
	}{
		{429, nil, true}, {500, nil, true}, {502, nil, true}, {503, nil, true}, {504, nil, true},
		{400, nil, false}, {403, nil, false}, {404, nil, false}, {409, nil, false}, {410, nil, false},
		{422, nil, false}, {501, nil, false}, {200, nil, false}, {202, nil, false},
		{0, errors.New("connection reset by peer"), true},
		{0, &api.Error{Status: 401, Code: "AUTHENTICATION_FAILED"}, false},
	} {
		ctx := withOp(context.Background(), "test")
		var resp *http.Response
		if tc.err == nil {
			resp = answer(tc.status, "")
		}
		if got, _ := checkRetry(ctx, resp, tc.err); got != tc.retry {
			t.Errorf("checkRetry(%d, %v) = %v, want %v", tc.status, tc.err, got, tc.retry)
		}
	}

	ctx := withOp(context.Background(), "test")
	first, _ := checkRetry(ctx, answer(401, ""), nil)
	second, _ := checkRetry(ctx, answer(401, ""), nil)
	if !first || second {
		t.Errorf("401 then 401: retry %v then %v, want true then false", first, second)
	}
	if retry, _ := checkRetry(withOp(context.Background(), "token"), answer(401, ""), nil); retry {
		t.Error("a 401 from the token endpoint (wrong credentials) is retried")
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if retry, err := checkRetry(cancelled, nil, errors.New("x")); retry || err != context.Canceled {
		t.Errorf("cancelled context: retry %v, err %v", retry, err)
	}
}

// errorKinds is every kind of error the client returns, with what each
// predicate says of it: IsPermanent (the same request cannot succeed),
// IsRejected (only a different request can) and IsProcessingFailed.
var errorKinds = []struct {
	name                        string
	err                         error
	permanent, rejected, failed bool
}{
	{"nil", nil, false, false, false},
	{"unknown kind", errors.New("something else"), false, false, false},
	{"cancelled", context.Canceled, false, false, false},

	{"upload too large", &api.UploadTooLargeError{Size: 11 << 20, Limit: 10 << 20}, true, true, false},
	{"upload too large, wrapped", fmt.Errorf("upload: %w", &api.UploadTooLargeError{Size: 11 << 20, Limit: 10 << 20}), true, true, false},
	{"upload 400 NO_SUITABLE_PARSERS", &api.Error{Op: api.OpUpload, Status: 400, Code: "NO_SUITABLE_PARSERS"}, true, true, false},
	{"upload 400 PDF_PARSE_FAILURE", &api.Error{Op: api.OpUpload, Status: 400, Code: "PDF_PARSE_FAILURE"}, true, true, false},
	{"upload 400 API_REQUIRED_PARAMS_MISSING", &api.Error{Op: api.OpUpload, Status: 400, Code: "API_REQUIRED_PARAMS_MISSING"}, true, true, false},
	{"upload 400 without a code", &api.Error{Op: api.OpUpload, Status: 400}, true, true, false},
	{"upload 413", &api.Error{Op: api.OpUpload, Status: 413, Code: "REQUEST_TOO_LARGE"}, true, true, false},
	{"upload 415", &api.Error{Op: api.OpUpload, Status: 415}, true, true, false},
	{"upload 422", &api.Error{Op: api.OpUpload, Status: 422}, true, true, false},
	{"upload 400 EXCEEDED_LIMIT", &api.Error{Op: api.OpUpload, Status: 400, Code: api.CodeExceededLimit}, true, false, false},
	{"upload 400 RATE_LIMIT", &api.Error{Op: api.OpUpload, Status: 400, Code: api.CodeRateLimit}, true, false, false},
	{"upload 400, wrapped", fmt.Errorf("upload statement: %w", &api.Error{Op: api.OpUpload, Status: 400, Code: "NO_SUITABLE_PARSERS"}), true, true, false},
	{"process 400 UNSUPPORTED_COUNTRY_REQUESTED", &api.Error{Op: api.OpProcess, Status: 400, Code: "UNSUPPORTED_COUNTRY_REQUESTED"}, true, true, false},
	{"process 400 API_REQUIRED_PARAMS_MISSING", &api.Error{Op: api.OpProcess, Status: 400, Code: "API_REQUIRED_PARAMS_MISSING"}, true, true, false},
	{"process 422", &api.Error{Op: api.OpProcess, Status: 422}, true, true, false},
	{"process 400 ANALYSIS_ALREADY_REQUESTED", &api.Error{Op: api.OpProcess, Status: 400, Code: api.CodeAlreadyRequested}, true, false, false},
	{"process 400 TIMEOUT_PROCESSING", &api.Error{Op: api.OpProcess, Status: 400, Code: api.CodeTimeoutProcessing}, false, false, false},

	{"upload 401", &api.Error{Op: api.OpUpload, Status: 401}, true, false, false},
	{"process 403 FORBIDDEN", &api.Error{Op: api.OpProcess, Status: 403, Code: "FORBIDDEN"}, true, false, false},
	{"403, wrapped", fmt.Errorf("wrapped: %w", &api.Error{Op: api.OpUpload, Status: 403}), true, false, false},
	{"token 401", &api.Error{Op: api.OpToken, Status: 401, Code: "AUTHENTICATION_FAILED"}, true, false, false},
	{"token 400", &api.Error{Op: api.OpToken, Status: 400, Code: "API_REQUIRED_PARAMS_MISSING"}, true, false, false},
	{"token 403", &api.Error{Op: api.OpToken, Status: 403}, true, false, false},
	{"token 422", &api.Error{Op: api.OpToken, Status: 422}, true, false, false},
	{"token 503", &api.Error{Op: api.OpToken, Status: 503, Code: api.CodeServiceUnavailable}, false, false, false},
	{"token unreadable", &api.ProtocolError{Op: api.OpToken, Err: errors.New("want access_token")}, true, false, false},

	{"process 404 NOT_FOUND", &api.Error{Op: api.OpProcess, Status: 404, Code: api.CodeNotFound}, true, false, false},
	{"result 404 NOT_FOUND", &api.Error{Op: api.OpResult, Status: 404, Code: api.CodeNotFound}, true, false, false},
	{"result 410 GONE", &api.Error{Op: api.OpResult, Status: 410, Code: api.CodeGone}, true, false, false},
	{"upload 410", &api.Error{Op: api.OpUpload, Status: 410}, true, false, false},

	{"result 400 TIMEOUT_PROCESSING", &api.Error{Op: api.OpResult, Status: 400, Code: api.CodeTimeoutProcessing}, false, false, true},
	{"result 400 TIMEOUT_PROCESSING, wrapped", fmt.Errorf("result: %w", &api.Error{Op: api.OpResult, Status: 400, Code: api.CodeTimeoutProcessing}), false, false, true},
	{"result 500 UNKNOWN_ERROR", &api.Error{Op: api.OpResult, Status: 500, Code: api.CodeUnknownError}, false, false, false},
	{"result 400 another code", &api.Error{Op: api.OpResult, Status: 400, Code: "API_REQUIRED_PARAMS_MISSING"}, true, false, false},
	{"category tree 400", &api.Error{Op: api.OpCategoryTree, Status: 400, Code: "UNSUPPORTED_COUNTRY_REQUESTED"}, true, false, false},
	{"400 of no operation", &api.Error{Status: 400, Code: "NO_SUITABLE_PARSERS"}, true, false, false},

	{"upload 408", &api.Error{Op: api.OpUpload, Status: 408}, false, false, false},
	{"upload 429 RATE_LIMIT", &api.Error{Op: api.OpUpload, Status: 429, Code: api.CodeRateLimit}, false, false, false},
	{"process 500 UNKNOWN_ERROR", &api.Error{Op: api.OpProcess, Status: 500, Code: api.CodeUnknownError}, false, false, false},
	{"upload 502", &api.Error{Op: api.OpUpload, Status: 502}, false, false, false},
	{"upload 503 SERVICE_UNAVAILABLE", &api.Error{Op: api.OpUpload, Status: 503, Code: api.CodeServiceUnavailable}, false, false, false},
	{"upload 504", &api.Error{Op: api.OpUpload, Status: 504}, false, false, false},
	{"upload 501", &api.Error{Op: api.OpUpload, Status: 501}, true, false, false},
	{"upload 307 redirect", &api.Error{Op: api.OpUpload, Status: 307}, true, false, false},
	{"upload 405", &api.Error{Op: api.OpUpload, Status: 405, Code: "METHOD_NOT_ALLOWED"}, true, false, false},

	{"transport: reset", &api.TransportError{Op: api.OpUpload, Attempts: 9, Err: errors.New("connection reset by peer")}, false, false, false},
	{"transport: timeout", &api.TransportError{Op: api.OpProcess, Attempts: 9, Err: context.DeadlineExceeded}, false, false, false},
	{"TLS: unknown authority", &api.TransportError{Op: api.OpUpload, Attempts: 1, Err: x509.UnknownAuthorityError{}}, true, false, false},
	{"TLS: verification", &api.TransportError{Op: api.OpUpload, Attempts: 1, Err: &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}}, true, false, false},
	{"upload unreadable", &api.ProtocolError{Op: api.OpUpload, Err: errors.New("want data.attributes.request-id")}, true, false, false},
	{"process unreadable", &api.ProtocolError{Op: api.OpProcess, Err: errors.New("bad json")}, true, false, false},
}

func TestIsPermanent(t *testing.T) {
	for _, tc := range errorKinds {
		if got := api.IsPermanent(tc.err); got != tc.permanent {
			t.Errorf("api.IsPermanent(%s) = %v, want %v", tc.name, got, tc.permanent)
		}
		if got, want := api.IsTransient(tc.err), tc.err != nil && !tc.permanent; got != want {
			t.Errorf("api.IsTransient(%s) = %v, want %v", tc.name, got, want)
		}
	}
}

func TestIsRejected(t *testing.T) {
	for _, tc := range errorKinds {
		if got := api.IsRejected(tc.err); got != tc.rejected {
			t.Errorf("api.IsRejected(%s) = %v, want %v", tc.name, got, tc.rejected)
		}
	}
}

func TestIsProcessingFailed(t *testing.T) {
	for _, tc := range errorKinds {
		if got := api.IsProcessingFailed(tc.err); got != tc.failed {
			t.Errorf("api.IsProcessingFailed(%s) = %v, want %v", tc.name, got, tc.failed)
		}
	}
}

func TestIsNotFound_IsGone_IsAlreadyRequested(t *testing.T) {
	if !api.IsGone(&api.Error{Status: 410, Code: api.CodeGone, Op: api.OpResult}) || api.IsGone(&api.Error{Status: 404, Op: api.OpResult}) ||
		api.IsGone(&api.Error{Status: 410, Op: api.OpToken}) {
		t.Error("IsGone")
	}
	if !api.IsNotFound(&api.Error{Status: 404, Code: api.CodeNotFound, Op: api.OpProcess}) || api.IsNotFound(&api.Error{Status: 410, Op: api.OpResult}) ||
		api.IsNotFound(&api.Error{Status: 404, Op: api.OpToken}) || api.IsNotFound(&api.Error{Status: 404, Op: api.OpUpload}) {
		t.Error("IsNotFound")
	}
	if !api.IsAlreadyRequested(&api.Error{Status: 400, Code: api.CodeAlreadyRequested}) || api.IsAlreadyRequested(&api.Error{Status: 400}) {
		t.Error("IsAlreadyRequested")
	}
}

func TestSecret_PrintsRedacted(t *testing.T) {
	s := NewSecret("hunter2")
	type holder struct {
		ID     string
		Secret Secret
	}
	h := holder{"id", s}
	var out strings.Builder
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3s"} {
		fmt.Fprintf(&out, verb+" "+verb+"\n", s, h)
	}
	j, _ := json.Marshal(h)
	out.Write(j)
	slog.New(slog.NewTextHandler(&out, nil)).Info("x", "secret", s, "holder", h)
	slog.New(slog.NewJSONHandler(&out, nil)).Info("x", "secret", s, "holder", h)
	if strings.Contains(out.String(), "hunter2") {
		t.Errorf("the secret leaked:\n%s", out.String())
	}
	if s.Reveal() != "hunter2" {
		t.Error("Reveal lost the value")
	}
}

func TestUpload_SizeRefusedBeforeSending(t *testing.T) {
	c, err := New(Config{BaseURL: "http://127.0.0.1:1", ClientID: "a", ClientSecret: NewSecret("b"), MaxUploadBytes: 10})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Upload(context.Background(), api.File{Name: "a", Data: make([]byte, 6)}, api.File{Name: "b", Data: make([]byte, 5)})
	var tl *api.UploadTooLargeError
	if !errors.As(err, &tl) || tl.Size != 11 || tl.Limit != 10 {
		t.Fatalf("api.Upload = %v, want api.UploadTooLargeError{11, 10}", err)
	}
}

func TestNew_Config(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{ClientSecret: NewSecret("s")}, "client id and a client secret are required"},
		{Config{ClientID: "i"}, "client id and a client secret are required"},
		{Config{ClientID: "i", ClientSecret: NewSecret("s"), BaseURL: "ftp://x"}, "not an http(s) URL"},
		{Config{ClientID: "i", ClientSecret: NewSecret("s"), TokenURL: "::"}, "token URL"},
	} {
		if _, err := New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want %q", tc.cfg, err, tc.want)
		}
	}
	c, err := New(Config{ClientID: "i", ClientSecret: NewSecret("s")})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.base.String(); got != DefaultBaseURL {
		t.Errorf("default base URL = %q, want the real service %q", got, DefaultBaseURL)
	}
}
