package htmlreport

import (
	"encoding/json"
	"fmt"
	"io"
	"testing"

	"github.com/ledgerform/ledgerform/api"
	"github.com/ledgerform/ledgerform/summary"
)

// bigResult is a result of one account with n transactions over a year,
// in 40 categories: a large statement.
func bigResult(n int) *api.Result {
	txs := make([]api.Transaction, n)
	for i := range txs {
		amount := -float64(i%97) - 0.5
		cat := 100 + i%40
		if i%30 == 0 {
			amount, cat = 2500, 85
		}
		txs[i] = api.Transaction{Date: fmt.Sprintf("2026-%02d-%02d", 1+i*12/n, 1+i%28), Amount: amount, CategoryID: cat,
			Partner: ptr(fmt.Sprintf("Shop %d", i%200)), Info: ptr(fmt.Sprintf("CARD PAYMENT TO SHOP %d ON %d", i%200, i))}
	}
	return &api.Result{Status: "completed", SimpleScore: ptr(6), Categorisation: &api.Categorisation{
		CategoryTreeVersion: ptr("uk_1"),
		Accounts: []api.Account{{AccountNumber: ptr("GB01"), Country: ptr("uk"),
			Currencies: []api.Currency{{Code: ptr("GBP"), StartBalance: ptr(1000.00), Transactions: txs}}}},
	}}
}

// BenchmarkRender is the page of a 3,000-transaction summary; compare
// with BenchmarkDecodeOutput, decoding the output file it comes from.
func BenchmarkRender(b *testing.B) {
	s, err := summary.Build(bigResult(3000), summary.Options{Address: "report.big"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := Render(io.Discard, s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeOutput decodes the output file of the same result (the
// API's answer as JSON): the yardstick of BenchmarkRender.
func BenchmarkDecodeOutput(b *testing.B) {
	raw, err := json.MarshalIndent(map[string]any{"data": map[string]any{"attributes": bigResult(3000)}}, "", "  ")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			b.Fatal(err)
		}
	}
}
