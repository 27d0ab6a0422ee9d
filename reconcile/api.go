package reconcile

import (
	"context"

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
