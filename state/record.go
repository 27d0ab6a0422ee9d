package state

import (
	"time"

	"github.com/ledgerform/ledgerform/report"
)

// Phase is where a report is in its life: pending → uploaded → processing
// → completed, or failed from any of them.
type Phase string

// The phases of a report.
const (
	Pending    Phase = "pending"    // the desired spec is recorded; nothing sent yet
	Uploaded   Phase = "uploaded"   // UploadID is known
	Processing Phase = "processing" // ProcessID is known
	Completed  Phase = "completed"  // the output is written (Record.Output)
	Failed     Phase = "failed"     // LastError says why; the ids say how far it got
)

// Spec is the normalised desired spec of a report, as recorded.
type Spec struct {
	Statements []string       `json:"statements"`
	Operations []string       `json:"operations"`
	Country    string         `json:"country"`
	Params     *report.Params `json:"params,omitempty"`
	Output     string         `json:"output"`
}

// File is the fingerprint of one statement file when it was last read.
type File struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	MTime  int64  `json:"mtime_ns"`
	Inode  uint64 `json:"inode,omitempty"`
	SHA256 string `json:"sha256"`
}

// Failure is the last error of a report.
type Failure struct {
	Code      string `json:"code,omitempty"` // the API's error code, or a local one
	Message   string `json:"message"`
	Permanent bool   `json:"permanent"`
	Step      string `json:"step,omitempty"` // upload, process, poll, write, …
}

// Record is everything the state knows about one report.
type Record struct {
	Address   report.Address `json:"address"`
	Spec      Spec           `json:"spec"`
	Digest    string         `json:"digest"` // sha256 over Spec (without Output) and the files' SHA256s
	Files     []File         `json:"files"`
	Phase     Phase          `json:"phase"`
	UploadID  string         `json:"upload_id,omitempty"`
	ProcessID string         `json:"process_id,omitempty"`
	Attempts  int            `json:"attempts,omitempty"`
	LastError *Failure       `json:"last_error,omitempty"`
	// Output is the fingerprint of the output file as last written (its
	// Path is Spec.Output at the time); nil until the report completes.
	Output *File `json:"output,omitempty"`
	// Endpoint names the API the request ids and the result came from
	// (the base URL without user information, or "embedded"); empty when
	// unknown (a record written before version 4, or by a caller that did
	// not say). Results are reused only within one endpoint.
	Endpoint string `json:"endpoint,omitempty"`
	// ReusedFrom is the report whose completed result the output was
	// copied from, with no remote call (the reconciler's reuse action):
	// the ids are that report's. Empty when this report's own requests
	// produced it.
	ReusedFrom report.Address `json:"reused_from,omitempty"`
	Updated    time.Time      `json:"updated"`
	// Revision is the revision of the manifests the report was last
	// applied from (a git commit, with watch --git); "" for manifests
	// read from the working directory.
	Revision string `json:"revision,omitempty"`
}
