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
// Reconciling (Reconciler.Reconcile) takes one planned change through one
// linear step machine,
//
//  1. record pending (the spec, the files' fingerprints)
//  2. upload the statements     → record the upload id     (uploaded)
//  3. request the operations    → record the processing id (processing)
//  4. poll with backoff until the result is ready
//  5. write the output atomically → record its fingerprint  (completed)
//
// and records every transition before the next remote call. It is the one
// place that decides a report's fate: its Outcome carries a Verdict —
// done, transient (try again after a backoff), blocked (only a change to
// the statements or the spec helps), interrupted (the context ended; the
// record stays in its phase) or fatal (the state cannot be written: stop).
// Apply is a bounded pool of workers over Reconcile for a whole plan; the
// daemon plans one address at a time and acts on the verdict alone.
// After step 5, a report with html: true gets its HTML page, rendered from
// the output by the Reconciler's PageRenderer and written beside it; the
// page follows its output through moves, restores and prunes, and a page
// alone missing or out of date is the Render action, with no remote call
// (pages.go). The state does not record pages.
// Reconciler.Import adopts a processing request made outside ledgerform:
// it records the report at step 3 with that request's id and goes on from
// step 4, as Reconcile resumes a report.
//
// An upload whose processing was requested by a run that died before
// recording the processing id answers ANALYSIS_ALREADY_REQUESTED; the
// report then starts again from a new upload, as the engine contract
// says (docs/engine-contract.md, row 5): the earlier processing id is never
// guessed. Once a processing id is recorded it is polled to the end and
// never requested again, unless the API says it is gone or forgotten, that
// its processing failed for good (TIMEOUT_PROCESSING), or it answers
// nothing but errors until the poll deadline. A 5xx, a 429 or a network
// failure while polling is an outage, polled through with backoff.
//
// Failures are transient (the network, 429, 5xx, credentials, the poll
// deadline, a local file, no connection) or blocking (Blocking: the API
// refused the statement or the request, api.IsRejected); a blocking
// failure makes the report blocked until its statements or spec change or
// it is replaced by force. The reconciler connects to the API only when a
// change first needs it (Reconciler.Connect), so a run with no remote work
// needs neither credentials nor an engine. Before the first change, Apply
// checks that the API can be used at all (Reconciler.Reach): an endpoint
// that is wrong or down, or credentials it refuses, stop the run with one
// error before any report is started, instead of failing every report
// alike after its retries.
package reconcile
