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
		{0, &APIError{Status: 401, Code: "AUTHENTICATION_FAILED"}, false},
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

	{"upload too large", &UploadTooLargeError{Size: 11 << 20, Limit: 10 << 20}, true, true, false},
	{"upload too large, wrapped", fmt.Errorf("upload: %w", &UploadTooLargeError{Size: 11 << 20, Limit: 10 << 20}), true, true, false},
	{"upload 400 NO_SUITABLE_PARSERS", &APIError{Op: OpUpload, Status: 400, Code: "NO_SUITABLE_PARSERS"}, true, true, false},
	{"upload 400 PDF_PARSE_FAILURE", &APIError{Op: OpUpload, Status: 400, Code: "PDF_PARSE_FAILURE"}, true, true, false},
	{"upload 400 API_REQUIRED_PARAMS_MISSING", &APIError{Op: OpUpload, Status: 400, Code: "API_REQUIRED_PARAMS_MISSING"}, true, true, false},
	{"upload 400 without a code", &APIError{Op: OpUpload, Status: 400}, true, true, false},
	{"upload 413", &APIError{Op: OpUpload, Status: 413, Code: "REQUEST_TOO_LARGE"}, true, true, false},
	{"upload 415", &APIError{Op: OpUpload, Status: 415}, true, true, false},
	{"upload 422", &APIError{Op: OpUpload, Status: 422}, true, true, false},
	{"upload 400 EXCEEDED_LIMIT", &APIError{Op: OpUpload, Status: 400, Code: CodeExceededLimit}, true, false, false},
	{"upload 400 RATE_LIMIT", &APIError{Op: OpUpload, Status: 400, Code: CodeRateLimit}, true, false, false},
	{"upload 400, wrapped", fmt.Errorf("upload statement: %w", &APIError{Op: OpUpload, Status: 400, Code: "NO_SUITABLE_PARSERS"}), true, true, false},
	{"process 400 UNSUPPORTED_COUNTRY_REQUESTED", &APIError{Op: OpProcess, Status: 400, Code: "UNSUPPORTED_COUNTRY_REQUESTED"}, true, true, false},
	{"process 400 API_REQUIRED_PARAMS_MISSING", &APIError{Op: OpProcess, Status: 400, Code: "API_REQUIRED_PARAMS_MISSING"}, true, true, false},
	{"process 422", &APIError{Op: OpProcess, Status: 422}, true, true, false},
	{"process 400 ANALYSIS_ALREADY_REQUESTED", &APIError{Op: OpProcess, Status: 400, Code: CodeAlreadyRequested}, true, false, false},
	{"process 400 TIMEOUT_PROCESSING", &APIError{Op: OpProcess, Status: 400, Code: CodeTimeoutProcessing}, false, false, false},

	{"upload 401", &APIError{Op: OpUpload, Status: 401}, true, false, false},
	{"process 403 FORBIDDEN", &APIError{Op: OpProcess, Status: 403, Code: "FORBIDDEN"}, true, false, false},
	{"403, wrapped", fmt.Errorf("wrapped: %w", &APIError{Op: OpUpload, Status: 403}), true, false, false},
	{"token 401", &APIError{Op: OpToken, Status: 401, Code: "AUTHENTICATION_FAILED"}, true, false, false},
	{"token 400", &APIError{Op: OpToken, Status: 400, Code: "API_REQUIRED_PARAMS_MISSING"}, true, false, false},
	{"token 403", &APIError{Op: OpToken, Status: 403}, true, false, false},
	{"token 422", &APIError{Op: OpToken, Status: 422}, true, false, false},
	{"token 503", &APIError{Op: OpToken, Status: 503, Code: CodeServiceUnavailable}, false, false, false},
	{"token unreadable", &ProtocolError{Op: OpToken, Err: errors.New("want access_token")}, true, false, false},

	{"process 404 NOT_FOUND", &APIError{Op: OpProcess, Status: 404, Code: CodeNotFound}, true, false, false},
	{"result 404 NOT_FOUND", &APIError{Op: OpResult, Status: 404, Code: CodeNotFound}, true, false, false},
	{"result 410 GONE", &APIError{Op: OpResult, Status: 410, Code: CodeGone}, true, false, false},
	{"upload 410", &APIError{Op: OpUpload, Status: 410}, true, false, false},

	{"result 400 TIMEOUT_PROCESSING", &APIError{Op: OpResult, Status: 400, Code: CodeTimeoutProcessing}, false, false, true},
	{"result 400 TIMEOUT_PROCESSING, wrapped", fmt.Errorf("result: %w", &APIError{Op: OpResult, Status: 400, Code: CodeTimeoutProcessing}), false, false, true},
	{"result 500 UNKNOWN_ERROR", &APIError{Op: OpResult, Status: 500, Code: CodeUnknownError}, false, false, false},
	{"result 400 another code", &APIError{Op: OpResult, Status: 400, Code: "API_REQUIRED_PARAMS_MISSING"}, true, false, false},
	{"category tree 400", &APIError{Op: OpCategoryTree, Status: 400, Code: "UNSUPPORTED_COUNTRY_REQUESTED"}, true, false, false},
	{"400 of no operation", &APIError{Status: 400, Code: "NO_SUITABLE_PARSERS"}, true, false, false},

	{"upload 408", &APIError{Op: OpUpload, Status: 408}, false, false, false},
	{"upload 429 RATE_LIMIT", &APIError{Op: OpUpload, Status: 429, Code: CodeRateLimit}, false, false, false},
	{"process 500 UNKNOWN_ERROR", &APIError{Op: OpProcess, Status: 500, Code: CodeUnknownError}, false, false, false},
	{"upload 502", &APIError{Op: OpUpload, Status: 502}, false, false, false},
	{"upload 503 SERVICE_UNAVAILABLE", &APIError{Op: OpUpload, Status: 503, Code: CodeServiceUnavailable}, false, false, false},
	{"upload 504", &APIError{Op: OpUpload, Status: 504}, false, false, false},
	{"upload 501", &APIError{Op: OpUpload, Status: 501}, true, false, false},
	{"upload 307 redirect", &APIError{Op: OpUpload, Status: 307}, true, false, false},
	{"upload 405", &APIError{Op: OpUpload, Status: 405, Code: "METHOD_NOT_ALLOWED"}, true, false, false},

	{"transport: reset", &TransportError{Op: OpUpload, Attempts: 9, Err: errors.New("connection reset by peer")}, false, false, false},
	{"transport: timeout", &TransportError{Op: OpProcess, Attempts: 9, Err: context.DeadlineExceeded}, false, false, false},
	{"TLS: unknown authority", &TransportError{Op: OpUpload, Attempts: 1, Err: x509.UnknownAuthorityError{}}, true, false, false},
	{"TLS: verification", &TransportError{Op: OpUpload, Attempts: 1, Err: &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}}, true, false, false},
	{"upload unreadable", &ProtocolError{Op: OpUpload, Err: errors.New("want data.attributes.request-id")}, true, false, false},
	{"process unreadable", &ProtocolError{Op: OpProcess, Err: errors.New("bad json")}, true, false, false},
}

func TestIsPermanent(t *testing.T) {
	for _, tc := range errorKinds {
		if got := IsPermanent(tc.err); got != tc.permanent {
			t.Errorf("IsPermanent(%s) = %v, want %v", tc.name, got, tc.permanent)
		}
		if got, want := IsTransient(tc.err), tc.err != nil && !tc.permanent; got != want {
			t.Errorf("IsTransient(%s) = %v, want %v", tc.name, got, want)
		}
	}
}

func TestIsRejected(t *testing.T) {
	for _, tc := range errorKinds {
		if got := IsRejected(tc.err); got != tc.rejected {
			t.Errorf("IsRejected(%s) = %v, want %v", tc.name, got, tc.rejected)
		}
	}
}

func TestIsProcessingFailed(t *testing.T) {
	for _, tc := range errorKinds {
		if got := IsProcessingFailed(tc.err); got != tc.failed {
			t.Errorf("IsProcessingFailed(%s) = %v, want %v", tc.name, got, tc.failed)
		}
	}
}

func TestIsNotFound_IsGone_IsAlreadyRequested(t *testing.T) {
	if !IsGone(&APIError{Status: 410, Code: CodeGone}) || IsGone(&APIError{Status: 404}) {
		t.Error("IsGone")
	}
	if !IsNotFound(&APIError{Status: 404, Code: CodeNotFound}) || IsNotFound(&APIError{Status: 410}) {
		t.Error("IsNotFound")
	}
	if !IsAlreadyRequested(&APIError{Status: 400, Code: CodeAlreadyRequested}) || IsAlreadyRequested(&APIError{Status: 400}) {
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
	_, err = c.Upload(context.Background(), File{Name: "a", Data: make([]byte, 6)}, File{Name: "b", Data: make([]byte, 5)})
	var tl *UploadTooLargeError
	if !errors.As(err, &tl) || tl.Size != 11 || tl.Limit != 10 {
		t.Fatalf("Upload = %v, want UploadTooLargeError{11, 10}", err)
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
