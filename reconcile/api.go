package reconcile

import (
	"context"
	"time"

	"github.com/ledgerform/ledgerform/api"
	"github.com/ledgerform/ledgerform/report"
	"github.com/ledgerform/ledgerform/state"
)

// API is what the reconciler needs from the report API. *nordigen.Client
// implements it; so does anything that speaks the same protocol.
type API interface {
	Upload(ctx context.Context, files ...api.File) (*api.Upload, error)
	Process(ctx context.Context, uploadID string, req api.ProcessRequest) (*api.Processing, error)
	Result(ctx context.Context, processID string) (*api.Result, error)
	// Probe tells within seconds whether the API can be used at all: nil;
	// an error for which api.IsUnreachable holds when no connection can
	// be made; or the API's answer (a permanent one when it refuses the
	// client: wrong credentials). Reconciler.Reach asks it.
	Probe(ctx context.Context) error
}

// Store is what the reconciler needs from the state: *state.Store
// implements it. Put and Delete are durable when they return. A Store
// keeps copies: a record passed to Put or returned by Get or Records
// shares no memory with the store (View's may). Every implementation must pass the
// contract suite of package state/storetest.
type Store interface {
	Get(address report.Address) (state.Record, bool)
	// View is Get without the copy, for planning: the record may be the
	// store's own and must not be changed; it does not change either
	// (a Put stores a new one).
	View(address report.Address) (*state.Record, bool)
	Records() []state.Record     // sorted by address
	Addresses() []report.Address // sorted
	Len() int
	Put(r state.Record) error
	Delete(address report.Address) error
}

// A Holder is a Store whose changes are fenced by leases that other
// processes may take once they expire (a shared state: package
// state/pgstore). Before a remote call that must not be made twice (the
// processing request: the API has no idempotency key, and answers a
// second one for the same upload with ANALYSIS_ALREADY_REQUESTED), the
// reconciler asks Hold to renew the report's lease in a committed write,
// and bounds the call by the instant it returns: a call that has not
// ended by then is given up, so no other process can take the lease
// while it may still be on its way. An error means no call: the report
// stops there and is tried again from what is recorded. The zero instant
// is no bound: a Store of that kind opened as the only writer.
type Holder interface {
	Hold(ctx context.Context, address report.Address) (until time.Time, err error)
}
