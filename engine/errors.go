package engine

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// Error codes of the API (docs/api.md#error-codes), plus the ones the
// engine adds where the documentation has none (docs/engine-contract.md,
// rows 2 and 13; METHOD_NOT_ALLOWED is in the package doc).
const (
	CodeParamsMissing      = "API_REQUIRED_PARAMS_MISSING"
	CodeTimeoutProcessing  = "TIMEOUT_PROCESSING"
	CodeAlreadyRequested   = "ANALYSIS_ALREADY_REQUESTED"
	CodePDFParseFailure    = "PDF_PARSE_FAILURE"
	CodeRateLimit          = "RATE_LIMIT"
	CodeExceededLimit      = "EXCEEDED_LIMIT"
	CodeNoSuitableParsers  = "NO_SUITABLE_PARSERS"
	CodeUnknownError       = "UNKNOWN_ERROR"
	CodeNotFound           = "NOT_FOUND"
	CodeGone               = "GONE"
	CodeUnsupportedCountry = "UNSUPPORTED_COUNTRY_REQUESTED"
	CodeServiceUnavailable = "SERVICE_UNAVAILABLE"
	CodeForbidden          = "FORBIDDEN"
	// Engine only.
	CodeAuthenticationFailed = "AUTHENTICATION_FAILED"
	CodeRequestTooLarge      = "REQUEST_TOO_LARGE"
	CodeMethodNotAllowed     = "METHOD_NOT_ALLOWED"
)

// apiError is one element of the documented error array.
type apiError struct {
	Title     string   `json:"title"`
	Detail    string   `json:"detail"`
	ErrorCode string   `json:"error-code"`
	Source    []string `json:"source"`
	status    int
	// oauth is the OAuth error code to answer at the token endpoint; when
	// empty, writeOAuthError derives one from the status.
	oauth string
	// retryAfter, when positive, is sent as Retry-After in seconds.
	retryAfter int
}

func (e *apiError) Error() string { return e.ErrorCode + ": " + e.Detail }

// fail builds an error answer; source names the fields at fault.
func fail(status int, code, detail string, source ...string) *apiError {
	if source == nil {
		source = []string{}
	}
	return &apiError{Title: http.StatusText(status), Detail: detail, ErrorCode: code, Source: source, status: status}
}

// writeError writes e as the documented error array.
func writeError(w http.ResponseWriter, e *apiError) {
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="ledgerform-engine"`)
	}
	writeJSON(w, e.status, []*apiError{e})
}

// The OAuth error codes of RFC 6749 §5.2 (and §4.1.2.1 for the two the
// token endpoint borrows for an outage) that the token endpoint answers.
const (
	oauthInvalidRequest     = "invalid_request"
	oauthInvalidClient      = "invalid_client"
	oauthUnsupportedGrant   = "unsupported_grant_type"
	oauthAccessDenied       = "access_denied"
	oauthServerError        = "server_error"
	oauthTemporarilyUnavail = "temporarily_unavailable"
)

// writeOAuthError writes e in the OAuth form the token endpoint answers:
// {"error": code, "error_description": detail}, with e's status and
// Retry-After.
func writeOAuthError(w http.ResponseWriter, e *apiError) {
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	code := e.oauth
	if code == "" {
		switch {
		case e.status == http.StatusUnauthorized:
			code = oauthInvalidClient
		case e.status == http.StatusTooManyRequests, e.status == http.StatusServiceUnavailable:
			code = oauthTemporarilyUnavail
		case e.status >= 500:
			code = oauthServerError
		default:
			code = oauthInvalidRequest
		}
	}
	writeJSON(w, e.status, struct {
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
	}{code, e.Detail})
}

// writeJSON writes v as the response body with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil { // only our own types are written: this is a bug
		status = http.StatusInternalServerError
		body, _ = json.Marshal([]*apiError{fail(status, CodeUnknownError, "encoding the response failed")})
	}
	writeBody(w, status, body)
}

func writeBody(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(body)
}
