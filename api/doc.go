// Package api is the vocabulary of the Nordigen report API that the client
// (package nordigen) and the reconciler (package reconcile) share: the
// requests and answers they exchange, the operations, the error kinds and
// the questions asked of an error (IsPermanent, IsRejected,
// IsProcessingFailed, …). It holds data and rules only, no HTTP client:
// the reconciler and the daemon depend on it without depending on how
// requests are sent, retried or authenticated. docs/api.md describes the
// API as the code relies on it.
package api
