package nordigen_test

import (
	"github.com/ledgerform/ledgerform/nordigen"
	"github.com/ledgerform/ledgerform/reconcile"
)

// The client is what the reconciler asks for.
var _ reconcile.API = (*nordigen.Client)(nil)
