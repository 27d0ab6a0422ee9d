package reconcile

import (
	"testing"

	"github.com/ledgerform/ledgerform/state"
	"github.com/ledgerform/ledgerform/state/storetest"
)

// The file store is the reconciler's Store.
var _ Store = (*state.Store)(nil)

// The double the reconcile tests run against keeps the Store contract:
// what the tests see is what apply and the daemon run with.
func TestTestStore_contract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return newTestStore(t) })
}
