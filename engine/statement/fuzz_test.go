package statement

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, fails only with a *ParseError
// that names the file, and otherwise returns accounts whose dates and
// amounts keep the package's promises.
func FuzzParse(f *testing.F) {
	for _, tt := range goodInputs {
		for _, file := range tt.files(f) {
			f.Add(file.Data)
		}
	}
	for _, tt := range badInputs {
		f.Add([]byte(tt.data))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const file = "fuzz.json"
		st, err := Parse([]File{{Name: file, Data: data}})
		if err != nil {
			pe, ok := err.(*ParseError)
			if !ok {
				t.Fatalf("Parse error %T %v, want a *ParseError", err, err)
			}
			if st != nil {
				t.Errorf("Parse returned a statement with its error %v", err)
			}
			if got, want := pe.Error(), file+": "; !strings.HasPrefix(got, want) {
				t.Errorf("Error() = %q, want it to start with %q", got, want)
			}
			return
		}
		if len(st.Accounts) == 0 {
			t.Fatal("Parse returned no accounts and no error")
		}
		inBound := func(m Money) bool { return -maxAmount <= m && m <= maxAmount }
		for _, a := range st.Accounts {
			for _, m := range []*Money{a.StartBalance, a.EndBalance} {
				if m != nil && !inBound(*m) {
					t.Errorf("account %d: balance %s beyond ±100 billion", a.Index, m)
				}
			}
			if a.PeriodStart != nil && a.PeriodEnd != nil && *a.PeriodEnd < *a.PeriodStart {
				t.Errorf("account %d: period %s..%s ends before it starts", a.Index, a.PeriodStart, a.PeriodEnd)
			}
			for j, tx := range a.Transactions {
				d, err := ParseDate(tx.Date.String())
				if err != nil {
					t.Errorf("account %d transaction %d: date %d formats as %q: %v", a.Index, j, int32(tx.Date), tx.Date, err)
				} else if d != tx.Date {
					t.Errorf("account %d transaction %d: date %d formats as %q, which parses as %d", a.Index, j, int32(tx.Date), tx.Date, int32(d))
				}
				if !inBound(tx.Amount) {
					t.Errorf("account %d transaction %d: amount %s beyond ±100 billion", a.Index, j, tx.Amount)
				}
			}
		}
		if _, err := json.Marshal(st); err != nil {
			t.Errorf("json.Marshal(statement): %v", err)
		}
	})
}

// BenchmarkParse parses a 10 MiB statement, the largest upload the engine
// accepts.
func BenchmarkParse(b *testing.B) {
	const size = 10 << 20
	var buf bytes.Buffer
	buf.WriteString(`{"account_list": [`)
	for a := 0; buf.Len() < size-4096; a++ {
		if a > 0 {
			buf.WriteString(",")
		}
		fmt.Fprintf(&buf, `{"account_nr": "GB29IBAN2016060420%04d", "holder_name": "Priya Patel & Sam Patel", "bank_name": "Some Bank", "currency": "GBP", "start_balance": 2016.46, "end_balance": 2750.86, "period_start": "2019-01-01", "period_end": "2026-12-31", "transaction_list": [`, a)
		for i := 0; i < 10000 && buf.Len() < size-4096; i++ {
			if i > 0 {
				buf.WriteString(",")
			}
			fmt.Fprintf(&buf, "\n"+`{"date": "2026-%02d-%02d", "partner": "Local Groceries", "info": "PURCHASE 2016201904%05d %d.%02dGBP", "transaction_id": "id-%d-%d", "sum": -%d.%02d}`,
				1+i%12, 1+i%28, i, i%500, i%100, a, i, i%500, i%100)
		}
		buf.WriteString("]}")
	}
	buf.WriteString("]}")
	data := buf.Bytes()
	files := []File{{Name: "large.json", Data: data}}
	if _, err := Parse(files); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(files); err != nil {
			b.Fatal(err)
		}
	}
}
