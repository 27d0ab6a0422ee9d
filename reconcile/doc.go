// Package reconcile turns the desired reports of the manifests and the
// recorded ones of the state into a plan, and applies it against the API.
//
// Planning (NewPlan) reads every desired report's statement files —
// re-hashing a file only when its size, modification time or inode differ
// from the record's — and gives each report one action of DESIGN.md with
// its reasons and a structured diff of its spec (go-cmp, through a
// Reporter; cmp.Diff's text is never shown). A report is identified by its
// Digest: the SHA-256 of its statements' contents, operations, country and
// params. A changed digest is a replace; the same digest is a resume, a
// retry, blocked, a restore, a move or nothing, by the recorded phase and
// the output file.
//
// Applying (Applier.Apply) runs one linear step machine per report,
//
//  1. record pending (the spec, the files' fingerprints)
//  2. upload the statements     → record the upload id     (uploaded)
//  3. request the operations    → record the processing id (processing)
//  4. poll with backoff until the result is ready
//  5. write the output atomically → record its fingerprint  (completed)
//
// and records every transition before the next remote call. An upload
// whose processing was requested by a run that died before recording the
// processing id answers ANALYSIS_ALREADY_REQUESTED; the report then starts
// again from a new upload, as the API contract says (the earlier
// processing id is never guessed). Once a processing id is recorded it is
// polled to the end and never requested again, unless the API says it is
// gone or its processing failed.
//
// Failures are transient (network, 429, 5xx, the poll deadline, a local
// file) or permanent (the API refused the statement or the request); a
// permanent failure makes the report blocked until its statements or spec
// change or it is replaced by force. A cancelled context is not a failure:
// the report stays in its phase and the next run resumes it.
package reconcile
