package engine

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/ledgerform/ledgerform/engine/statement"
)

// BenchmarkCategorise_Example measures a whole categorisation of the
// salaried example statement: parse, categorise every transaction and
// render the product as JSON, as a worker does.
func BenchmarkCategorise_Example(b *testing.B) {
	data, err := os.ReadFile("../examples/statements/salaried-alex-2026.json")
	if err != nil {
		b.Fatal(err)
	}
	files := []statement.File{{Name: "alex.json", Data: data}}
	cat, err := Categorise("uk", files)
	if err != nil {
		b.Fatal(err)
	}
	n := len(cat.Accounts[0].Currencies[0].Transactions)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		cat, _ := Categorise("uk", files)
		if _, err := json.Marshal(cat); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "txn/s")
}

// BenchmarkQuickStart measures one report through the engine over loopback
// HTTP: upload, process, poll until completed (no processing time), with
// the token fetched once.
func BenchmarkQuickStart(b *testing.B) {
	c := startEngine(b, Config{})
	f := file{"alex.json", readFile(b, "../examples/statements/salaried-alex-2026.json")}
	c.login()
	for b.Loop() {
		if a := c.poll(c.processID(c.uploadID(f))); a.status != 200 {
			b.Fatalf("result: %d", a.status)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reports/s")
}

func readFile(b testing.TB, name string) []byte {
	data, err := os.ReadFile(name)
	if err != nil {
		b.Fatal(err)
	}
	return data
}
