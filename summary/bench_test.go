package summary

import (
	"fmt"
	"io"
	"testing"

	"github.com/ledgerform/ledgerform/api"
)

// bigResult is a completed categorisation of one account over a year,
// n transactions spread over 40 categories, in date order as the API
// lists them, or not.
func bigResult(n int, sorted bool) *api.Result {
	txs := make([]api.Transaction, n)
	for i := range txs {
		day := i%28 + 1
		if sorted {
			day = (i*336/n)%28 + 1
		}
		amount := -float64(i%5000) / 100
		if i%10 == 0 {
			amount = 1234.56
		}
		txs[i] = api.Transaction{Date: fmt.Sprintf("2026-%02d-%02d", i*12/n+1, day), Amount: amount, CategoryID: 100 + i%40,
			Info: ptr("CARD PAYMENT"), Partner: ptr("Shop")}
	}
	return &api.Result{Status: "completed", Categorisation: &api.Categorisation{CategoryTreeVersion: ptr("uk_1"),
		Accounts: []api.Account{{AccountNumber: ptr("GB01"), Currencies: []api.Currency{{Code: ptr("GBP"), StartBalance: ptr(100.0), Transactions: txs}}}}}}
}

// BenchmarkBuild is the summary of a 10,000-transaction result; the text
// and CSV benchmarks render it.
func BenchmarkBuild(b *testing.B) {
	for _, sorted := range []bool{true, false} {
		b.Run(map[bool]string{true: "in-date-order", false: "shuffled"}[sorted], func(b *testing.B) {
			res := bigResult(10000, sorted)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Build(res, Options{Tree: tree}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkWriteText(b *testing.B) {
	s, _ := Build(bigResult(10000, true), Options{Tree: tree})
	b.ReportAllocs()
	for b.Loop() {
		s.WriteText(io.Discard)
	}
}

func BenchmarkWriteCSV(b *testing.B) {
	s, _ := Build(bigResult(10000, true), Options{Tree: tree})
	b.ReportAllocs()
	for b.Loop() {
		s.WriteCSV(io.Discard)
	}
}
