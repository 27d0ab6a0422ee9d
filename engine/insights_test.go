package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ledgerform/ledgerform/api"
	"github.com/ledgerform/ledgerform/nordigen"
	lfreport "github.com/ledgerform/ledgerform/report"
)

// allOperations asks for every product of the three example statements.
const allOperations = `{"country":"uk","operations":["categorisation","insights-income","insights-loans","insights-risk","simple-score"]}`

// exampleFile reads an example statement of examples/statements.
func exampleFile(t testing.TB, name string) file {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "examples", "statements", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return file{name + ".json", b}
}

// runReport uploads files, requests body and returns the completed result.
func (c *testClient) runReport(body string, files ...file) answer {
	c.t.Helper()
	pr := c.process(c.uploadID(files...), body)
	if pr.status != http.StatusAccepted {
		c.t.Fatalf("process: %d %s", pr.status, pr.body)
	}
	res := c.poll(attr(c.t, pr, "request-id"))
	if res.status != http.StatusOK {
		c.t.Fatalf("result: %d %s", res.status, res.body)
	}
	return res
}

// products returns the analytics of a result keyed as in the expected
// files: the three insights keywords and "simple-score".
func products(t testing.TB, a answer) map[string]any {
	t.Helper()
	var body struct {
		Data struct {
			Attributes struct {
				Insights    map[string]any `json:"insights"`
				SimpleScore any            `json:"simple-score"`
			} `json:"attributes"`
		} `json:"data"`
	}
	dec := json.NewDecoder(bytes.NewReader(a.body))
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil {
		t.Fatal(err)
	}
	out := map[string]any{"simple-score": body.Data.Attributes.SimpleScore}
	for k, v := range body.Data.Attributes.Insights {
		out[k] = v
	}
	return out
}

// compareJSON reports every difference between got and want, key by key;
// numbers are equal when their decimal values are ("366.4" is "366.40").
func compareJSON(t testing.TB, path string, got, want any) {
	t.Helper()
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			t.Errorf("%s = %v, want an object", path, got)
			return
		}
		keys := map[string]bool{}
		for k := range w {
			keys[k] = true
		}
		for k := range g {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			gv, gok := g[k]
			wv, wok := w[k]
			switch {
			case !gok:
				t.Errorf("%s.%s is missing (want %v)", path, k, wv)
			case !wok:
				t.Errorf("%s.%s = %v is not expected", path, k, gv)
			default:
				compareJSON(t, path+"."+k, gv, wv)
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			t.Errorf("%s = %v, want %d elements", path, got, len(w))
			return
		}
		for i := range w {
			compareJSON(t, fmt.Sprintf("%s[%d]", path, i), g[i], w[i])
		}
	case json.Number:
		g, ok := got.(json.Number)
		gr, gok := new(big.Rat).SetString(string(g))
		wr, _ := new(big.Rat).SetString(string(w))
		if !ok || !gok || gr.Cmp(wr) != 0 {
			t.Errorf("%s = %v, want %v", path, got, w)
		}
	default:
		if got != want {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
}

func readExpected(t testing.TB, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("insights", "testdata", name+".expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestInsights_Examples runs every operation on the three example
// statements over HTTP and matches the answer, key by key, against the
// figures computed by hand in insights/testdata (handcalc.py and the
// arithmetic beside each expected file).
func TestInsights_Examples(t *testing.T) {
	c := startEngine(t, Config{})
	for _, name := range []string{"salaried-alex-2026", "payday-gambling-jordan-2026", "joint-two-currency-patel-2026"} {
		t.Run(name, func(t *testing.T) {
			c.t = t
			res := c.runReport(allOperations, exampleFile(t, name))
			got := products(t, res)
			compareJSON(t, name, got, readExpected(t, name))
			// json.Number keeps the text of each number as the engine wrote it.
			text, _ := json.Marshal(got)
			if bytes.Contains(text, []byte("0000000")) || bytes.Contains(text, []byte("999999")) {
				t.Errorf("the answer holds an unrounded number:\n%s", text)
			}
		})
	}
}

// TestInsights_Scores checks the simple scores against what the examples
// are described to be (examples/statements/README.md): high for the
// salaried statement, low for the payday-and-gambling one.
func TestInsights_Scores(t *testing.T) {
	c := startEngine(t, Config{})
	score := func(name string) int {
		v, _ := products(t, c.runReport(allOperations, exampleFile(t, name)))["simple-score"].(json.Number).Int64()
		return int(v)
	}
	if got := score("salaried-alex-2026"); got < 8 {
		t.Errorf("salaried: simple-score = %d, want 8 or more", got)
	}
	if got := score("payday-gambling-jordan-2026"); got > 3 {
		t.Errorf("payday and gambling: simple-score = %d, want 3 or less", got)
	}
}

// TestInsights_OnlyRequestedProducts: a request for one product answers
// that product alone.
func TestInsights_OnlyRequestedProducts(t *testing.T) {
	c := startEngine(t, Config{})
	res := c.runReport(`{"country":"uk","operations":["insights-loans"]}`, exampleFile(t, "salaried-alex-2026"))
	var body struct {
		Data struct {
			Attributes map[string]json.RawMessage `json:"attributes"`
		} `json:"data"`
	}
	json.Unmarshal(res.body, &body)
	a := body.Data.Attributes
	if _, ok := a["categorisation"]; ok {
		t.Errorf("categorisation present though not requested")
	}
	if _, ok := a["simple-score"]; ok {
		t.Errorf("simple-score present though not requested")
	}
	var ins map[string]json.RawMessage
	json.Unmarshal(a["insights"], &ins)
	if len(ins) != 1 || ins["insights-loans"] == nil {
		t.Errorf("insights = %s, want insights-loans alone", a["insights"])
	}
	res = c.runReport(`{"country":"uk","operations":["simple-score"]}`, exampleFile(t, "salaried-alex-2026"))
	body.Data.Attributes = nil
	json.Unmarshal(res.body, &body)
	if _, ok := body.Data.Attributes["insights"]; ok {
		t.Errorf("insights present though only simple-score was requested: %s", res.body)
	}
}

// TestInsights_Params exercises every param through the API.
func TestInsights_Params(t *testing.T) {
	c := startEngine(t, Config{})
	patel := exampleFile(t, "joint-two-currency-patel-2026")
	jordan := exampleFile(t, "payday-gambling-jordan-2026")

	t.Run("drop_joint_accounts leaves nothing", func(t *testing.T) {
		c.t = t
		a := c.process(c.uploadID(patel), `{"country":"uk","operations":["insights-income"],"params":{"drop_joint_accounts":true}}`)
		e := expectError(t, a, http.StatusBadRequest, CodeParamsMissing)
		if len(e.Source) != 1 || e.Source[0] != "params.drop_joint_accounts" || !strings.Contains(e.Detail, "joint") {
			t.Errorf("error = %+v, want one naming params.drop_joint_accounts", e)
		}
	})
	t.Run("drop_joint_accounts with categorisation alone is no error", func(t *testing.T) {
		c.t = t
		c.runReport(`{"country":"uk","operations":["categorisation"],"params":{"drop_joint_accounts":true}}`, patel)
	})
	t.Run("drop_shared_accounts keeps a personal account", func(t *testing.T) {
		c.t = t
		got := products(t, c.runReport(`{"country":"uk","operations":["insights-income"],"params":{"drop_shared_accounts":true,"drop_joint_accounts":true}}`, jordan))
		want := readExpected(t, "payday-gambling-jordan-2026")
		compareJSON(t, "income", got["insights-income"], want["insights-income"])
	})
	t.Run("currency without a rate", func(t *testing.T) {
		c.t = t
		a := c.process(c.uploadID(patel), `{"country":"uk","operations":["insights-risk"],"params":{"currency":"XAU"}}`)
		e := expectError(t, a, http.StatusBadRequest, CodeParamsMissing)
		if len(e.Source) != 1 || e.Source[0] != "params.currency" || !strings.Contains(e.Detail, "XAU") {
			t.Errorf("error = %+v, want one naming params.currency and XAU", e)
		}
	})
	t.Run("currency EUR converts the GBP amounts", func(t *testing.T) {
		c.t = t
		got := products(t, c.runReport(`{"country":"uk","operations":["insights-risk"],"params":{"currency":"eur"}}`, patel))
		want := readExpected(t, "joint-two-currency-patel-2026-eur")
		compareJSON(t, "risk", got["insights-risk"], want["insights-risk"])
	})
	t.Run("period", func(t *testing.T) {
		c.t = t
		got := products(t, c.runReport(`{"country":"uk","operations":["insights-income","insights-loans","insights-risk","simple-score"],"params":{"period":3}}`, jordan))
		compareJSON(t, "period 3", got, readExpected(t, "payday-gambling-jordan-2026-period3"))
	})
	t.Run("income and expense definitions", func(t *testing.T) {
		c.t = t
		got := products(t, c.runReport(`{"country":"uk","operations":["insights-income"],"params":{"income_definition":[85],"expense_definition":[97]}}`,
			exampleFile(t, "salaried-alex-2026")))
		in := got["insights-income"].(map[string]any)
		if keys := in["income_by_category"].(map[string]any); len(keys) != 1 || keys["85"] == nil {
			t.Errorf("income_by_category = %v, want only \"85\"", keys)
		}
		// Salary alone: 3 × 3398.41 + 3 × 3412.87 = 20433.84 over 6 months;
		// the mortgage alone is mandatory: 6 × 1146.32.
		if got, want := fmt.Sprint(in["average_monthly_income"]), "3405.64"; got != want {
			t.Errorf("average_monthly_income = %s, want %s", got, want)
		}
		if got, want := fmt.Sprint(in["average_monthly_discretionary_income"]), "2259.32"; got != want {
			t.Errorf("average_monthly_discretionary_income = %s, want %s", got, want)
		}
		defs, _ := json.Marshal(in["definitions"])
		if got, want := string(defs), `{"expenses":[{"category_id":"97","title":"Mortgage"}],"income":[{"category_id":"85","title":"Salary"}]}`; got != want {
			t.Errorf("definitions = %s, want %s", got, want)
		}
	})
}

// TestInsights_NordigenClient decodes every product with the API client.
func TestInsights_NordigenClient(t *testing.T) {
	e, err := StartEmbedded(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	cl, err := nordigen.New(nordigen.Config{BaseURL: e.URL, ClientID: e.ClientID, ClientSecret: nordigen.NewSecret(e.ClientSecret)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f := exampleFile(t, "payday-gambling-jordan-2026")
	up, err := cl.Upload(ctx, api.File{Name: f.name, Data: f.data})
	if err != nil {
		t.Fatal(err)
	}
	period, currency := 6, "GBP"
	pr, err := cl.Process(ctx, up.RequestID, api.ProcessRequest{Country: "uk",
		Operations: []string{"categorisation", "insights-income", "insights-loans", "insights-risk", "simple-score"},
		Params:     &lfreport.Params{Period: &period, Currency: &currency}})
	if err != nil {
		t.Fatal(err)
	}
	var res *api.Result
	for {
		if res, err = cl.Result(ctx, pr.RequestID); err != nil {
			t.Fatal(err)
		}
		if res.Done() {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if res.Categorisation == nil || res.Income == nil || res.Loans == nil || res.Risk == nil || res.SimpleScore == nil {
		t.Fatalf("a product is missing: %+v", res)
	}
	if s := *res.SimpleScore; s < 1 || s > 10 {
		t.Errorf("simple-score = %d, want 1 to 10", s)
	}
	in := res.Income
	if in.CalendarMonths == nil || *in.CalendarMonths != 5 || in.LastIncompleteMonth == nil || *in.LastIncompleteMonth.Month != "2026-10" {
		t.Errorf("income months = %v, last incomplete %+v; want 5 and 2026-10", in.CalendarMonths, in.LastIncompleteMonth)
	}
	if ci, ok := in.IncomeByCategory["2547"]; !ok || ci.NumberOfIncomePayments == nil || *ci.NumberOfIncomePayments == 0 {
		t.Errorf("income_by_category[\"2547\"] (Work on Demand) = %+v, want payments", ci)
	}
	if in.Definitions == nil || len(in.Definitions.Income) != 16 || in.Definitions.Income[0].CategoryID != "5" {
		t.Errorf("definitions = %+v, want the 16 default income categories, ids as strings", in.Definitions)
	}
	var payday *api.LoanCategory
	for i, lc := range res.Loans.LoansByCategory {
		if lc.CategoryID.Expense != nil && *lc.CategoryID.Expense == "94" {
			payday = &res.Loans.LoansByCategory[i]
		}
	}
	if payday == nil || payday.CategoryID.Income == nil || *payday.CategoryID.Income != "91" || payday.CategoryTitle != "Payday loans" {
		t.Errorf("loans_by_category lacks Payday loans 94/91: %+v", res.Loans.LoansByCategory)
	}
	r := res.Risk
	if r.Gambling == nil || r.Gambling.RatioOfBetting == nil || r.Bailiffs == nil || r.Bailiffs.AverageCountAMonth == nil ||
		r.Balance == nil || r.Balance.StatementEndBalance == nil || *r.Balance.StatementEndBalance != -640.34 || r.Cash == nil {
		t.Errorf("risk insights incomplete: %+v", r)
	}
}
