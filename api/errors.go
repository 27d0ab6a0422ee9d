package api

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Two questions are asked of an error of the client, by different callers,
// and their answers differ:
//
//   - IsPermanent (IsTransient is its complement): can sending the same
//     request again succeed? The retry policy of this client asks it, and
//     so does any caller that wonders whether to try again at all. A wrong
//     secret (401 from the token endpoint), a 403, a 404 or 410, a
//     certificate that does not verify, a plain-HTTP server behind an https
//     URL and an answer the client cannot read are all permanent: the same
//     request gets the same answer.
//   - IsRejected: did the API refuse what the request asks — the
//     statements' content or size, the operations, the country, the params
//     — so that only a different request can succeed? The reconciler asks
//     it to decide that a report is blocked until the user changes its
//     statement or spec. Credentials (401, 403, the token endpoint), TLS
//     and the network are fixed outside the manifests, forgotten ids (404,
//     410) by uploading again, and an unreadable answer is the server's
//     doing: none of them is rejected, and the reconciler tries them again
//     later however permanent they are.
//
// IsProcessingFailed is the reconciler's third question, of a result: did
// the processing of this id fail for good, so that only a new upload can
// give a result? IsUnreachable is the run's question: could a connection
// be made at all, or is the endpoint wrong or down for every report alike?

// The operations of a client: the Op of every error a client returns (and
// of the attempts package nordigen reports). They are a small fixed set, fit for a metric label.
const (
	OpToken        = "token" // the token endpoint: a client-credentials grant
	OpUpload       = "upload"
	OpProcess      = "process"
	OpResult       = "result"
	OpCategoryTree = "category_tree"
)

// Error codes the reconciler decides on (docs/api.md#error-codes).
const (
	CodeNotFound           = "NOT_FOUND"
	CodeGone               = "GONE"
	CodeAlreadyRequested   = "ANALYSIS_ALREADY_REQUESTED"
	CodeTimeoutProcessing  = "TIMEOUT_PROCESSING"
	CodeRateLimit          = "RATE_LIMIT"
	CodeExceededLimit      = "EXCEEDED_LIMIT"
	CodeUnknownError       = "UNKNOWN_ERROR"
	CodeServiceUnavailable = "SERVICE_UNAVAILABLE"
)

// An Error is an error answer of the API: its HTTP status and the first
// element of the documented error array. When the body is not that array,
// Code is empty and Detail holds the start of the body.
type Error struct {
	Status   int
	Code     string
	Title    string
	Detail   string
	Source   []string
	Op       string        // what the client was doing: one of the Op constants
	Attempts int           // how many times the request was sent
	Retry    time.Duration // the answer's Retry-After, if any
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("nordigen: ")
	if e.Op != "" {
		b.WriteString(e.Op + ": ")
	}
	fmt.Fprintf(&b, "%d %s", e.Status, http.StatusText(e.Status))
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	if len(e.Source) > 0 {
		fmt.Fprintf(&b, " (source: %s)", strings.Join(e.Source, ", "))
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " after %d attempts", e.Attempts)
	}
	return b.String()
}

// Permanent reports whether sending the same request again cannot succeed:
// a redirect (the client follows none), every 4xx but 408 and 429, and
// 501. TIMEOUT_PROCESSING (a 400) is not permanent: processing ran out of
// time, and a new upload may succeed. See IsPermanent and IsRejected.
func (e *Error) Permanent() bool {
	switch {
	case e.Code == CodeTimeoutProcessing:
		return false
	case e.Status == http.StatusRequestTimeout, e.Status == http.StatusTooManyRequests:
		return false
	case e.Status == http.StatusNotImplemented:
		return true
	default:
		return e.Status >= 300 && e.Status < 500
	}
}

// A TransportError is a request that never got an answer (a refused or
// reset connection, a timeout) after all its attempts. It is transient,
// except when the server's certificate does not verify.
type TransportError struct {
	Op       string
	Attempts int
	Err      error
	// Unreachable says that no connection to the API could be made at
	// all: the host name does not resolve, the connection is refused, the
	// TLS handshake fails (a plain-HTTP server behind an https URL, a
	// certificate that does not verify), or nothing answered a probe in
	// its time. See IsUnreachable.
	Unreachable bool
}

func (e *TransportError) Error() string {
	if e.Unreachable {
		return fmt.Sprintf("nordigen: %s: no connection after %d attempts: %v", e.Op, e.Attempts, e.Err)
	}
	return fmt.Sprintf("nordigen: %s: no answer after %d attempts: %v", e.Op, e.Attempts, e.Err)
}

func (e *TransportError) Unwrap() error { return e.Err }

// MaxUploadBytes is the documented limit of one upload: 10 MB for its
// files together, taken as MiB. Statements over it are refused before
// they are read.
const MaxUploadBytes = 10 << 20

// An UploadTooLargeError is an upload refused before any request: its files
// total more than the API accepts. It is permanent.
type UploadTooLargeError struct {
	Size, Limit int64
}

func (e *UploadTooLargeError) Error() string {
	return fmt.Sprintf("nordigen: upload: the files total %d bytes; the API accepts at most %d bytes (%d MiB) in one upload",
		e.Size, e.Limit, e.Limit>>20)
}

// A ProtocolError is a success answer the client cannot read. It is
// permanent: the same request would get the same answer.
type ProtocolError struct {
	Op  string
	Err error
}

func (e *ProtocolError) Error() string {
	return fmt.Sprintf("nordigen: %s: unreadable answer: %v", e.Op, e.Err)
}
func (e *ProtocolError) Unwrap() error { return e.Err }

// IsPermanent reports whether err says that sending the same request again
// is pointless: a permanent Error (see Error.Permanent), a
// certificate that does not verify, an UploadTooLargeError or a
// ProtocolError. Everything else — other transport failures, 408, 429,
// 5xx, TIMEOUT_PROCESSING, errors of unknown kind, nil — is not. A
// cancelled context is neither: callers check ctx.Err first. It is the
// retry layer's question; whether the user must change the request is
// IsRejected's.
func IsPermanent(err error) bool {
	var ae *Error
	if errors.As(err, &ae) {
		return ae.Permanent()
	}
	if PermanentTransport(err) {
		return true
	}
	var tl *UploadTooLargeError
	var pe *ProtocolError
	return errors.As(err, &tl) || errors.As(err, &pe)
}

// IsTransient reports whether err may go away if the request is sent again
// later: a non-nil error that is not permanent.
func IsTransient(err error) bool { return err != nil && !IsPermanent(err) }

// IsRejected reports whether the API refused the request for what it asks
// — the statements' content or size, the operations, the country or the
// params — so that only a different request can succeed: the reconciler
// blocks the report until its statement or spec changes.
//
// It is true for an UploadTooLargeError, and for an Error of an upload
// or a process request with status 400, 413, 415 or 422, except for the
// codes that are not about the request's content: TIMEOUT_PROCESSING,
// ANALYSIS_ALREADY_REQUESTED, RATE_LIMIT and EXCEEDED_LIMIT (a quota of
// records that frees as older ones expire). It is false for everything
// else: 401 and 403 and every error of the token endpoint (credentials are
// fixed outside the manifests), 404 and 410 (a forgotten id: the
// reconciler starts again), 408, 429 and 5xx, errors of the result and
// category tree requests, transport and TLS errors (the network or the
// configuration), a ProtocolError (the server's answer, not the request),
// errors of unknown kind and nil.
func IsRejected(err error) bool {
	var tl *UploadTooLargeError
	if errors.As(err, &tl) {
		return true
	}
	var ae *Error
	if !errors.As(err, &ae) || (ae.Op != OpUpload && ae.Op != OpProcess) {
		return false
	}
	switch ae.Status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType,
		http.StatusUnprocessableEntity:
	default:
		return false
	}
	switch ae.Code {
	case CodeTimeoutProcessing, CodeAlreadyRequested, CodeRateLimit, CodeExceededLimit:
		return false
	}
	return true
}

// IsQuota reports whether err is the API's answer that its quota of
// processing records is used up (EXCEEDED_LIMIT). It is not the request's
// fault and frees as older records expire: worth trying again, but only
// after minutes, not seconds.
func IsQuota(err error) bool {
	var ae *Error
	return errors.As(err, &ae) && ae.Code == CodeExceededLimit
}

// IsProcessingFailed reports whether the result request said that the
// processing of its id failed for good (400 TIMEOUT_PROCESSING): polling
// again will not help, and a result needs a new upload. A 500
// UNKNOWN_ERROR of a result is not a failed processing: it cannot be told
// from an outage, so the reconciler keeps polling.
func IsProcessingFailed(err error) bool {
	var ae *Error
	return errors.As(err, &ae) && ae.Op == OpResult && ae.Status == http.StatusBadRequest &&
		ae.Code == CodeTimeoutProcessing
}

func hasCode(err error, code string) bool {
	var ae *Error
	return errors.As(err, &ae) && ae.Code == code
}

// IsNotFound reports whether the API does not know the id of a process
// or result request (404). A 404 of any other call (the token endpoint
// behind a misrouted gateway, say) says nothing about an id, and is not.
func IsNotFound(err error) bool { return idAnswer(err, http.StatusNotFound) }

// IsGone reports whether the data of the id of a process or result
// request has expired (410 GONE): the statement must be uploaded again. A
// 410 of any other call is not.
func IsGone(err error) bool { return idAnswer(err, http.StatusGone) }

// idAnswer reports whether err is an answer with status to a request that
// names an id: process (an upload id) or result (a processing id).
func idAnswer(err error, status int) bool {
	var ae *Error
	return errors.As(err, &ae) && ae.Status == status && (ae.Op == OpProcess || ae.Op == OpResult)
}

// IsUnreachable reports whether err says that no connection to the API
// could be made at all (see TransportError.Unreachable): a wrong endpoint,
// or a service that is down, rather than an API that answered with an
// error or a connection that broke. Nothing a report asks for can succeed
// until it is fixed, so it concerns the whole run, not one report; it is
// transient all the same (a service comes back up), unless a certificate
// does not verify (PermanentTransport).
func IsUnreachable(err error) bool {
	var te *TransportError
	return errors.As(err, &te) && te.Unreachable
}

// IsAlreadyRequested reports whether operations were already requested for
// the upload (400 ANALYSIS_ALREADY_REQUESTED). The earlier processing id is
// not recoverable: start again from a new upload.
func IsAlreadyRequested(err error) bool { return hasCode(err, CodeAlreadyRequested) }

// PermanentTransport reports whether a failure to get an answer will recur
// however often it is tried: the server's TLS certificate does not verify,
// or the server does not speak TLS at all (a plain-HTTP server behind an
// https URL).
func PermanentTransport(err error) bool {
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	return errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci) ||
		errors.Is(err, http.ErrSchemeMismatch)
}
