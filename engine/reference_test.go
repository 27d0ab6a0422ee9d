package engine

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ledgerform/ledgerform/engine/statement"
)

// Tests of the places where the engine once differed from the API
// reference (issue 17); docs/engine-contract.md quotes the reference
// beside each.

// TestCategorise_PeriodIsTransactionDates: period_start and period_end are
// "Date of the first parsed transaction" and "Date of the last parsed
// transaction", not an echo of the statement's own period; an account
// without transactions has neither.
func TestCategorise_PeriodIsTransactionDates(t *testing.T) {
	st := `{"account_list":[
	  {"account_nr":"A1","period_start":"2019-08-01","period_end":"2019-08-31","transaction_list":[
	    {"date":"2019-08-20","sum":-2.5,"partner":"Tesco"},
	    {"date":"2019-08-03","sum":900,"partner":"Job Ltd","info":"SALARY"},
	    {"date":"2019-08-11","sum":-50,"partner":"Gas Station"}]},
	  {"account_nr":"A2","period_start":"2019-08-01","period_end":"2019-08-31","transaction_list":[]}]}`
	cat, err := Categorise("uk", []statement.File{{Name: "s.json", Data: []byte(st)}})
	if err != nil {
		t.Fatal(err)
	}
	show := func(d *statement.Date) string {
		if d == nil {
			return "null"
		}
		return d.String()
	}
	for i, want := range []string{"2019-08-03 2019-08-20", "null null"} {
		a := cat.Accounts[i]
		if got := show(a.PeriodStart) + " " + show(a.PeriodEnd); got != want {
			t.Errorf("account %d: period = %s, want %s", i, got, want)
		}
	}
	// The insights still measure months over the declared period: August
	// is one complete month.
	ls := ledgers(cat)
	if got, want := fmt.Sprint(show(ls[0].PeriodStart), " ", show(ls[0].PeriodEnd)), "2019-08-01 2019-08-31"; got != want {
		t.Errorf("insights period = %s, want %s (the declared one)", got, want)
	}
}

// TestToken_OAuthErrors: the token endpoint answers its errors in the
// OAuth form the reference expects of the real service ("error",
// "error_description"), not the report API's error array.
func TestToken_OAuthErrors(t *testing.T) {
	c := startEngine(t, Config{})
	for _, tc := range []struct {
		name   string
		do     func() answer
		status int
		code   string
		desc   string
	}{
		{"wrong secret", func() answer { return c.tokenRequest(c.e.ClientID, "guess") },
			401, "invalid_client", "wrong client_id or client_secret"},
		{"wrong audience", func() answer {
			return c.do("POST", "/oauth/token", "application/json", []byte(`{"grant_type":"client_credentials","client_id":"`+
				c.e.ClientID+`","client_secret":"`+c.e.ClientSecret+`","audience":"https://elsewhere"}`), false)
		}, 401, "access_denied", "audience must be"},
		{"missing fields", func() answer {
			return c.do("POST", "/oauth/token", "application/json", []byte(`{"grant_type":"client_credentials"}`), false)
		}, 400, "invalid_request", "missing client_id, client_secret, audience"},
		{"not JSON", func() answer { return c.do("POST", "/oauth/token", "application/json", []byte(`{`), false) },
			400, "invalid_request", "not a JSON object"},
		{"wrong grant", func() answer {
			return c.do("POST", "/oauth/token", "application/x-www-form-urlencoded",
				[]byte("grant_type=password&client_id=a&client_secret=b&audience=c"), false)
		}, 400, "unsupported_grant_type", "grant_type must be client_credentials"},
		{"wrong method", func() answer { return c.do("GET", "/oauth/token", "", nil, false) },
			405, "invalid_request", "use POST"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.do()
			e := expectOAuthError(t, a, tc.status, tc.code)
			if !strings.Contains(e.ErrorDescription, tc.desc) {
				t.Errorf("error_description = %q, want it to contain %q", e.ErrorDescription, tc.desc)
			}
			if strings.HasPrefix(strings.TrimSpace(string(a.body)), "[") {
				t.Errorf("answer is the report API's error array:\n%s", a.body)
			}
		})
	}
}

// TestCategorise_QuickStartExample: the seed's example statement gets the
// categories the README's quick start shows: 84 (under 26 Groceries), 85,
// 23, 44 for the "Gas Station" purchase, and 5239 (under 97 Mortgage and 79
// Loans; 81 would also do) for the mortgage line.
func TestCategorise_QuickStartExample(t *testing.T) {
	cat, err := Categorise("uk", []statement.File{{Name: "example.json", Data: readTestdata(t, "alex-watson-2019-08.json")}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tx := range cat.Accounts[0].Currencies[0].Transactions {
		got = append(got, fmt.Sprint(tx.CategoryID))
	}
	if g, want := strings.Join(got, " "), "84 85 23 44 5239"; g != want {
		t.Errorf("categories = %s, want %s", g, want)
	}
}
