package statement

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readFile returns testdata/name as an uploaded file of that name.
func readFile(t testing.TB, name string) File {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return File{Name: name, Data: data}
}

// describe prints a statement one account, then one transaction, a line;
// "-" stands for a nil field.
func describe(st *Statement) string {
	var b strings.Builder
	for _, a := range st.Accounts {
		fmt.Fprintf(&b, "%s[%d] nr=%s holder=%s id=%s bank=%s cur=%s balance=%s..%s period=%s..%s\n",
			a.File, a.Index, show(a.Number), show(a.HolderName), show(a.HolderID), show(a.Bank),
			show(a.Currency), show(a.StartBalance), show(a.EndBalance), show(a.PeriodStart), show(a.PeriodEnd))
		for _, t := range a.Transactions {
			fmt.Fprintf(&b, "  %s %s partner=%q info=%q id=%s\n", t.Date, t.Amount, t.Partner, t.Info, show(t.TransactionID))
		}
	}
	return b.String()
}

func show[T any](p *T) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprint(*p)
}

// exampleWant and nullsWant are what describe prints for
// testdata/example.json (the official example) and testdata/nulls.json.
const (
	exampleWant = `example.json[0] nr=GB29IBAN20160604201923 holder=Alex Watson id=h-1 bank=Some Bank cur=GBP balance=2016.46..2750.86 period=2019-08-01..2019-08-15
  2019-08-01 -15.45 partner="Local Groceries" info="PURCHASE 201620190406111 15.45GBP" id=arbritary-unique-id1
  2019-08-05 900.80 partner="Job Ltd" info="SALARY 201620190406222 900.80GBP" id=arbritary-unique-id2
  2019-08-07 200.00 partner="Freelance Agency Ltd" info="ROYALTIES 201620190406333 200.00GBP" id=arbritary-unique-id3
  2019-08-11 -50.45 partner="Gas Station" info="PURCHASE 201620190406444 50.45GBP" id=arbritary-unique-id4
  2019-08-15 -300.50 partner="Loan Bank" info="MORTGAGE PAYMENT, AGREEMENT A201664 300.50GBP" id=arbritary-unique-id5
`
	nullsWant = `nulls.json[0] nr=- holder=- id=- bank=- cur=- balance=-..- period=-..-
  2026-03-01 -1.00 partner="" info="" id=-
`
)

// goodInputs are statements Parse accepts; want is their describe output.
var goodInputs = []struct {
	name  string
	files func(t testing.TB) []File
	want  string
}{
	{
		name:  "official example",
		files: func(t testing.TB) []File { return []File{readFile(t, "example.json")} },
		want:  exampleWant,
	},
	{
		name: "several files in order",
		files: func(t testing.TB) []File {
			return []File{readFile(t, "two-accounts.json"), readFile(t, "nulls.json"), readFile(t, "example.json")}
		},
		want: `two-accounts.json[0] nr=GB11SAVE00000000000001 holder=Priya Patel & Sam Patel id=- bank=- cur=GBP balance=-..- period=-..-
  2026-01-02 12.50 partner="Sam Patel" info="TRANSFER" id=-
two-accounts.json[1] nr=GB22CARD00000000000002 holder=Alex Watson id=- bank=- cur=EUR balance=-..- period=-..-
` + nullsWant + exampleWant,
	},
	{
		name:  "nulls for optional fields",
		files: func(t testing.TB) []File { return []File{readFile(t, "nulls.json")} },
		want:  nullsWant,
	},
	{
		name:  "unknown fields ignored",
		files: func(t testing.TB) []File { return []File{readFile(t, "unknown-fields.json")} },
		want: `unknown-fields.json[0] nr=- holder=- id=- bank=- cur=- balance=-..- period=-..-
  2026-04-30 7.00 partner="" info="" id=-
`,
	},
	{
		name: "UTF-8 byte-order mark",
		files: func(testing.TB) []File {
			return []File{{"bom.json", []byte("\xEF\xBB\xBF{\"account_list\": [{\"holder_name\": \"Zoë Brontë\", \"transaction_list\": []}]}")}}
		},
		want: "bom.json[0] nr=- holder=Zoë Brontë id=- bank=- cur=- balance=-..- period=-..-\n",
	},
	{
		name:  "amounts rounded to cents",
		files: func(t testing.TB) []File { return []File{readFile(t, "rounding.json")} },
		want: `rounding.json[0] nr=- holder=- id=- bank=- cur=- balance=2016.46..0.00 period=-..-
  2026-05-01 0.01 partner="" info="" id=-
  2026-05-01 -0.01 partner="" info="" id=-
  2026-05-01 100.00 partner="" info="" id=-
  2026-05-01 0.01 partner="" info="" id=-
  2026-05-01 1.01 partner="" info="" id=-
  2026-05-01 -1.01 partner="" info="" id=-
  2026-05-01 0.00 partner="" info="" id=-
  2026-05-01 -0.05 partner="" info="" id=-
  2026-05-01 366.40 partner="" info="" id=-
  2026-05-01 100000000000.00 partner="" info="" id=-
  2026-05-01 -100000000000.00 partner="" info="" id=-
  2026-05-01 0.00 partner="" info="" id=-
`,
	},
	{
		name: "empty transaction_list",
		files: func(testing.TB) []File {
			return []File{{"empty.json", []byte(`{"account_list": [{"account_nr": "1", "transaction_list": []}]}`)}}
		},
		want: "empty.json[0] nr=1 holder=- id=- bank=- cur=- balance=-..- period=-..-\n",
	},
	{
		name: "period of one day, CRLF and surrounding space",
		files: func(testing.TB) []File {
			return []File{{"crlf.json", []byte("\r\n\t {\r\n\"account_list\": [{\"period_start\": \"2026-02-28\", \"period_end\": \"2026-02-28\",\r\n\"transaction_list\": []}]}\r\n ")}}
		},
		want: "crlf.json[0] nr=- holder=- id=- bank=- cur=- balance=-..- period=2026-02-28..2026-02-28\n",
	},
	{
		name: "leap day",
		files: func(testing.TB) []File {
			return []File{{"leap.json", []byte(`{"account_list": [{"transaction_list": [{"date": "2024-02-29", "sum": -3.2}]}]}`)}}
		},
		want: "leap.json[0] nr=- holder=- id=- bank=- cur=- balance=-..- period=-..-\n  2024-02-29 -3.20 partner=\"\" info=\"\" id=-\n",
	},
}

func TestParse(t *testing.T) {
	for _, tt := range goodInputs {
		t.Run(tt.name, func(t *testing.T) {
			st, err := Parse(tt.files(t))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got, want := describe(st), tt.want; got != want {
				t.Errorf("Parse:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// withAccount returns a statement whose second account has the given
// fields, so that errors in it are at account_list[1].
func withAccount(fields string) string {
	return `{"account_list": [{"transaction_list": []}, {` + fields + `}]}`
}

// withTx returns a statement whose second account's third transaction is
// tx, so that errors in it are at account_list[1].transaction_list[2].
func withTx(tx string) string {
	const good = `{"date": "2026-01-01", "sum": 1}`
	return withAccount(`"transaction_list": [` + good + `, ` + good + `, ` + tx + `]`)
}

// badInputs are files Parse refuses: the kind and path of the error, and
// a part of its message.
var badInputs = []struct {
	name string
	data string
	kind ErrorKind
	path string
	msg  string
}{
	{"not UTF-8", "{\"account_list\": [\n  {\"holder_name\": \"Jos\xE9\"}]}", NotUTF8, "", "not UTF-8: invalid byte 0xE9 at line 2, column 23"},
	{"not UTF-8 at the start", "\xC0\x80{}", NotUTF8, "", "invalid byte 0xC0 at line 1, column 1"},
	{"UTF-16 little-endian", "\xFF\xFE{\x00}\x00", NotUTF8, "", "UTF-16"},
	{"UTF-16 big-endian", "\xFE\xFF\x00{\x00}", NotUTF8, "", "UTF-16"},
	{"empty file", "", NotJSON, "", "the file is empty"},
	{"only space", " \r\n\t", NotJSON, "", "the file is empty"},
	{"only a byte-order mark", "\xEF\xBB\xBF", NotJSON, "", "the file is empty"},
	{"not JSON", "{\n  \"account_list\": [\n    x\n  ]\n}", NotJSON, "", "not JSON: invalid character 'x' looking for beginning of value at line 3, column 5"},
	{"not JSON on the first line", `{"account_list" []}`, NotJSON, "", "at line 1, column 17"},
	{"CSV", "date,sum\n2026-01-01,5\n", NotJSON, "", "at line 1, column 1"},
	{"truncated", `{"account_list": [`, NotJSON, "", "unexpected end of JSON input"},
	{"two values", `{"account_list": []} {}`, NotJSON, "", "at line 1, column 22"},
	{"PDF", "%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj", PDF, "", "a PDF statement"},
	{"PDF after whitespace", "\r\n \t%PDF-1.4\n", PDF, "", "a PDF statement"},
	{"top level an array", `[{"account_list": []}]`, NotStatement, "the top level", "is a JSON array; want an object"},
	{"top level a string", `"account_list"`, NotStatement, "the top level", "is a JSON string; want an object"},
	{"top level null", `null`, NotStatement, "account_list", "missing"},
	{"account_list missing", `{"accounts": [{"transaction_list": []}]}`, NotStatement, "account_list", "missing"},
	{"account_list null", `{"account_list": null}`, NotStatement, "account_list", "missing"},
	{"account_list empty", `{"account_list": []}`, NotStatement, "account_list", "empty"},
	{"account_list an object", `{"account_list": {"0": {"transaction_list": []}}}`, NotStatement, "account_list", "is a JSON object; want an array"},
	{"account_list a number", `{"account_list": 1}`, NotStatement, "account_list", "is a JSON number; want an array"},
	{"account not an object", `{"account_list": [{"transaction_list": []}, "GB29"]}`, NotStatement, "account_list[1]", "is a JSON string; want an object"},
	{"transaction_list missing", withAccount(`"holder_name": "Alex Watson"`), NotStatement, "account_list[1].transaction_list", "missing"},
	{"transaction_list null", withAccount(`"transaction_list": null`), NotStatement, "account_list[1].transaction_list", "missing"},
	{"transaction_list an object", withAccount(`"transaction_list": {}`), NotStatement, "account_list[1].transaction_list", "is a JSON object; want an array"},
	{"transaction_list a string", withAccount(`"transaction_list": "none"`), NotStatement, "account_list[1].transaction_list", "is a JSON string; want an array"},
	{"transaction not an object", withTx(`[]`), NotStatement, "account_list[1].transaction_list[2]", "is a JSON array; want an object"},
	{"transaction null", withTx(`null`), NotStatement, "account_list[1].transaction_list[2].date", "missing"},
	{"date missing", withTx(`{"sum": 1}`), NotStatement, "account_list[1].transaction_list[2].date", "missing"},
	{"date null", withTx(`{"date": null, "sum": 1}`), NotStatement, "account_list[1].transaction_list[2].date", "missing"},
	{"date day first", withTx(`{"date": "30/01/2026", "sum": 1}`), NotStatement, "account_list[1].transaction_list[2].date", `"30/01/2026" is not a YYYY-MM-DD date`},
	{"date without zeros", withTx(`{"date": "2026-1-2", "sum": 1}`), NotStatement, "account_list[1].transaction_list[2].date", "is not a YYYY-MM-DD date"},
	{"date with a time", withTx(`{"date": "2026-01-02T00:00:00Z", "sum": 1}`), NotStatement, "account_list[1].transaction_list[2].date", "is not a YYYY-MM-DD date"},
	{"date impossible", withTx(`{"date": "2026-02-30", "sum": 1}`), NotStatement, "account_list[1].transaction_list[2].date", `"2026-02-30" is not a YYYY-MM-DD date`},
	{"date not a leap day", withTx(`{"date": "2025-02-29", "sum": 1}`), NotStatement, "account_list[1].transaction_list[2].date", "is not a YYYY-MM-DD date"},
	{"date a number", withTx(`{"date": 20260101, "sum": 1}`), NotStatement, "account_list[1].transaction_list[2].date", "is a JSON number; want a string"},
	{"sum missing", withTx(`{"date": "2026-01-01"}`), NotStatement, "account_list[1].transaction_list[2].sum", "missing"},
	{"sum null", withTx(`{"date": "2026-01-01", "sum": null}`), NotStatement, "account_list[1].transaction_list[2].sum", "missing"},
	{"sum a string", withTx(`{"date": "2026-01-01", "sum": "12.5"}`), NotStatement, "account_list[1].transaction_list[2].sum", `"12.5" is not a number`},
	{"sum a bool", withTx(`{"date": "2026-01-01", "sum": true}`), NotStatement, "account_list[1].transaction_list[2].sum", "true is not a number"},
	{"sum an object", withTx(`{"date": "2026-01-01", "sum": {"amount": 1}}`), NotStatement, "account_list[1].transaction_list[2].sum", "is not a number"},
	{"sum over the bound", withTx(`{"date": "2026-01-01", "sum": 100000000000.01}`), NotStatement, "account_list[1].transaction_list[2].sum", "out of range"},
	{"sum under the bound", withTx(`{"date": "2026-01-01", "sum": -1e12}`), NotStatement, "account_list[1].transaction_list[2].sum", "out of range"},
	{"sum beyond float64", withTx(`{"date": "2026-01-01", "sum": 1e400}`), NotStatement, "account_list[1].transaction_list[2].sum", "out of range"},
	{"start_balance over the bound", withAccount(`"start_balance": 2e11, "transaction_list": []`), NotStatement, "account_list[1].start_balance", "out of range"},
	{"end_balance a string", withAccount(`"end_balance": "2750.86", "transaction_list": []`), NotStatement, "account_list[1].end_balance", "is not a number"},
	{"currency two letters", withAccount(`"currency": "GB", "transaction_list": []`), NotStatement, "account_list[1].currency", `"GB" is not a three-letter ISO 4217 code`},
	{"currency four letters", withAccount(`"currency": "GBPS", "transaction_list": []`), NotStatement, "account_list[1].currency", "ISO 4217"},
	{"currency a symbol", withAccount(`"currency": "£", "transaction_list": []`), NotStatement, "account_list[1].currency", "ISO 4217"},
	{"currency with a digit", withAccount(`"currency": "GB1", "transaction_list": []`), NotStatement, "account_list[1].currency", "ISO 4217"},
	{"currency a number", withAccount(`"currency": 826, "transaction_list": []`), NotStatement, "account_list[1].currency", "is a JSON number; want a string"},
	{"period_end before period_start", withAccount(`"period_start": "2026-02-01", "period_end": "2026-01-31", "transaction_list": []`), NotStatement, "account_list[1].period_end", "2026-01-31 is before period_start 2026-02-01"},
	{"period_start impossible", withAccount(`"period_start": "2026-04-31", "transaction_list": []`), NotStatement, "account_list[1].period_start", "is not a YYYY-MM-DD date"},
	{"partner a number", withTx(`{"date": "2026-01-01", "sum": 1, "partner": 5}`), NotStatement, "account_list[1].transaction_list[2].partner", "is a JSON number; want a string"},
	{"info an object", withTx(`{"date": "2026-01-01", "sum": 1, "info": {}}`), NotStatement, "account_list[1].transaction_list[2].info", "is a JSON object; want a string"},
	{"transaction_id a number", withTx(`{"date": "2026-01-01", "sum": 1, "transaction_id": 7}`), NotStatement, "account_list[1].transaction_list[2].transaction_id", "is a JSON number; want a string"},
	{"holder_name an array", withAccount(`"holder_name": ["Priya Patel", "Sam Patel"], "transaction_list": []`), NotStatement, "account_list[1].holder_name", "is a JSON array; want a string"},
}

func TestParse_badInput(t *testing.T) {
	for _, tt := range badInputs {
		t.Run(tt.name, func(t *testing.T) {
			const file = "upload-1.json"
			st, err := Parse([]File{{Name: file, Data: []byte(tt.data)}})
			if err == nil {
				t.Fatalf("Parse = %s, want an error", describe(st))
			}
			if st != nil {
				t.Errorf("Parse returned a statement with its error %v", err)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse error %T %v, want a *ParseError", err, err)
			}
			if got, want := pe.Kind, tt.kind; got != want {
				t.Errorf("Kind = %d, want %d (%v)", got, want, err)
			}
			if got, want := pe.Path, tt.path; got != want {
				t.Errorf("Path = %q, want %q (%v)", got, want, err)
			}
			if got, want := pe.File, file; got != want {
				t.Errorf("File = %q, want %q", got, want)
			}
			if got, want := err.Error(), file+": "; !strings.HasPrefix(got, want) {
				t.Errorf("Error() = %q, want it to start with %q", got, want)
			}
			if got, want := err.Error(), tt.msg; !strings.Contains(got, want) {
				t.Errorf("Error() = %q, want it to contain %q", got, want)
			}
			if tt.path != "" {
				if got, want := err.Error(), file+": "+tt.path+": "; !strings.HasPrefix(got, want) {
					t.Errorf("Error() = %q, want it to start with %q", got, want)
				}
			}
		})
	}
}

func TestParse_badSecondFile(t *testing.T) {
	files := []File{
		readFile(t, "example.json"),
		{Name: "statement-march.json", Data: []byte(withTx(`{"date": "2026-03-01", "sum": "12.5"}`))},
		{Name: "never-read.pdf", Data: []byte("%PDF-1.7")},
	}
	_, err := Parse(files)
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("Parse error %v, want a *ParseError", err)
	}
	if got, want := pe.File, "statement-march.json"; got != want {
		t.Errorf("File = %q, want %q", got, want)
	}
	if got, want := err.Error(), `statement-march.json: account_list[1].transaction_list[2].sum: "12.5" is not a number`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestParse_noFiles(t *testing.T) {
	st, err := Parse(nil)
	if err != nil {
		t.Fatalf("Parse(nil): %v", err)
	}
	if got, want := len(st.Accounts), 0; got != want {
		t.Errorf("len(Accounts) = %d, want %d", got, want)
	}
}
