package state_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/ledgerform/ledgerform/state"
)

func ExampleOpen() {
	work, _ := os.MkdirTemp("", "ledgerform-example")
	defer os.RemoveAll(work)

	s, err := state.Open(filepath.Join(work, ".ledgerform"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	// Durable when Put returns: record the step before the next remote call.
	if err := s.Put(state.Record{Address: "report.alex", Phase: state.Uploaded, UploadID: "u-1"}); err != nil {
		fmt.Println(err)
		return
	}
	r, _ := s.Get("report.alex")
	fmt.Println(r.Address, r.Phase, r.UploadID, s.Serial())
	// Output: report.alex uploaded u-1 1
}
