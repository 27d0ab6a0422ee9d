package summary

import (
	"errors"
	"strings"
	"testing"
	"unicode"

	"github.com/google/go-cmp/cmp"
	"github.com/ledgerform/ledgerform/api"
)

func ptr[T any](v T) *T { return &v }

// tree is a small category tree with the titles of the hand-built result.
var tree = &api.CategoryTree{Version: "uk_1", Categories: []api.Category{
	{ID: 85, ReadableTitle: "Salary", Type: "income"},
	{ID: 26, ReadableTitle: "Groceries", Type: "expense"},
	{ID: 44, ReadableTitle: "Restaurants", Type: "expense"},
	{ID: 94, ReadableTitle: "Payday loans", Type: "expense"},
}}

// handBuilt is a result of one GBP account over three months, February
// left empty, whose figures are worked out by hand in TestBuild_CashFlow.
func handBuilt() *api.Result {
	txs := []api.Transaction{
		{Date: "2026-01-05", Amount: 2000.00, CategoryID: 85, Info: ptr("SALARY ACME")},
		{Date: "2026-01-05", Amount: -45.10, CategoryID: 26, Partner: ptr("Tesco")},
		{Date: "2026-01-20", Amount: -0.10, CategoryID: 26},
		{Date: "2026-03-02", Amount: -300.00, CategoryID: 44},
		{Date: "2026-01-31", Amount: -0.20, CategoryID: 44}, // out of date order: sorted for the months
		{Date: "2026-03-28", Amount: 2000.00, CategoryID: 85},
	}
	return &api.Result{Status: "completed", SimpleScore: ptr(7), Categorisation: &api.Categorisation{
		CategoryTreeVersion: ptr("uk_1"),
		Accounts: []api.Account{{AccountNumber: ptr("GB01"), Bank: ptr("Bank"), Country: ptr("uk"),
			Holders: []api.Holder{{Name: ptr("A")}, {Name: ptr("B")}}, IsJointOwnership: ptr(true),
			Currencies: []api.Currency{{Code: ptr("GBP"), StartBalance: ptr(100.00), Transactions: txs}}}},
	}}
}

func TestBuild_CashFlow(t *testing.T) {
	s, err := Build(handBuilt(), Options{Tree: tree})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Accounts) != 1 {
		t.Fatalf("accounts = %d, want 1", len(s.Accounts))
	}
	a := s.Accounts[0]
	// January: in 2000.00, out 45.10 + 0.10 + 0.20 = 45.40, net 1954.60,
	// end 100 + 1954.60 = 2054.60. February: nothing, end unchanged.
	// March: in 2000.00, out 300.00, net 1700.00, end 3754.60.
	want := []Month{
		{Month: "2026-01", MoneyIn: 2000, MoneyOut: 45.40, Net: 1954.60, EndBalance: ptr(2054.60), Transactions: 4},
		{Month: "2026-02", MoneyIn: 0, MoneyOut: 0, Net: 0, EndBalance: ptr(2054.60)},
		{Month: "2026-03", MoneyIn: 2000, MoneyOut: 300, Net: 1700, EndBalance: ptr(3754.60), Transactions: 2},
	}
	if d := cmp.Diff(want, a.Months); d != "" {
		t.Errorf("months (-want +got):\n%s", d)
	}
	for _, m := range a.Months {
		if m.Net != m.MoneyIn-m.MoneyOut {
			t.Errorf("%s: net %v != in %v - out %v", m.Month, m.Net, m.MoneyIn, m.MoneyOut)
		}
	}
	if a.MoneyIn != 4000 || a.MoneyOut != 345.40 || *a.StartBalance != 100 || *a.EndBalance != 3754.60 {
		t.Errorf("totals: in %v out %v start %v end %v", a.MoneyIn, a.MoneyOut, *a.StartBalance, *a.EndBalance)
	}
	// The balance at the end of each day: 100 + 2000 − 45.10 on the 5th,
	// − 0.10 on the 20th, − 0.20 on the 31st, − 300 in March, + 2000.
	wantBal := []BalancePoint{
		{"2026-01-05", 2054.90}, {"2026-01-20", 2054.80}, {"2026-01-31", 2054.60},
		{"2026-03-02", 1754.60}, {"2026-03-28", 3754.60},
	}
	if d := cmp.Diff(wantBal, a.Balance); d != "" {
		t.Errorf("balance (-want +got):\n%s", d)
	}
	// Spending: restaurants 300.20 of 345.40 (0.8691), groceries 45.20
	// (0.1309).
	wantSp := []CategoryAmount{
		{CategoryID: 44, Title: "Restaurants", Amount: 300.20, Count: 2, Share: 0.8691},
		{CategoryID: 26, Title: "Groceries", Amount: 45.20, Count: 2, Share: 0.1309},
	}
	if d := cmp.Diff(wantSp, a.Spending); d != "" {
		t.Errorf("spending (-want +got):\n%s", d)
	}
	if a.Number != "GB01" || !a.Joint || strings.Join(a.Holders, ",") != "A,B" || a.Currency != "GBP" {
		t.Errorf("account = %+v", a)
	}
	if s.Country != "uk" || s.Currency != "GBP" || *s.Score != 7 || !s.Titles.Available || s.Titles.Note != "" {
		t.Errorf("summary: country %q currency %q score %v titles %+v", s.Country, s.Currency, *s.Score, s.Titles)
	}
	if d := cmp.Diff([]string{"categorisation", "simple-score"}, s.Products); d != "" {
		t.Errorf("products (-want +got):\n%s", d)
	}
	if s.Income != nil || s.Loans != nil || s.Risk != nil {
		t.Errorf("sections of products the result does not have: %+v %+v %+v", s.Income, s.Loans, s.Risk)
	}
	// Transactions in the file's order, with titles.
	if len(s.Transactions) != 6 || s.Transactions[4].Date != "2026-01-31" || s.Transactions[0].Category != "Salary" ||
		s.Transactions[0].Description != "SALARY ACME" || s.Transactions[1].Partner != "Tesco" || s.Transactions[1].Account != "GB01" {
		t.Errorf("transactions = %+v", s.Transactions)
	}
}

func TestBuild_BalanceFromEndOnly(t *testing.T) {
	res := handBuilt()
	cur := &res.Categorisation.Accounts[0].Currencies[0]
	cur.StartBalance, cur.EndBalance = nil, ptr(3754.60)
	s, err := Build(res, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := s.Accounts[0]
	if a.StartBalance == nil || *a.StartBalance != 100 || *a.Months[0].EndBalance != 2054.60 {
		t.Errorf("start balance derived from the end: %v, January ends %v; want 100, 2054.60", a.StartBalance, a.Months[0].EndBalance)
	}
	// Without a tree there are no titles, and the note says why.
	if s.Titles.Available || a.Spending[0].Title != "" || s.Transactions[0].Category != "" {
		t.Errorf("titles without a tree: %+v %q %q", s.Titles, a.Spending[0].Title, s.Transactions[0].Category)
	}

	cur.EndBalance = nil
	s, _ = Build(res, Options{})
	if a := s.Accounts[0]; a.StartBalance != nil || a.EndBalance != nil || a.Months[0].EndBalance != nil || len(a.Balance) != 0 {
		t.Errorf("no balance given, yet: %+v", a)
	}
}

func TestBuild_Insights(t *testing.T) {
	res := &api.Result{Status: "completed",
		Income: &api.IncomeInsights{AverageMonthlyIncome: ptr(2000.0), MonthlyRegularity: ptr(1.0),
			IncomeByCategory: map[string]api.CategoryIncome{
				"85":  {AverageMonthlyIncome: ptr(1500.0), NumberOfIncomePayments: ptr(3)},
				"20":  {AverageMonthlyIncome: ptr(500.0), NumberOfIncomePayments: ptr(2)},
				"919": {}, // no payments: not a source
			}},
		Loans: &api.LoansInsights{LoansByCategory: []api.LoanCategory{
			{CategoryID: api.LoanCategoryID{Expense: ptr("94"), Income: ptr("91")}, CategoryTitle: "Payday", NumberOfIncomingLoanSources: ptr(2), AverageMonthlyOutgoingLoanPayment: ptr(50.0)},
			{CategoryID: api.LoanCategoryID{Expense: ptr("97")}, CategoryTitle: "Mortgage", NumberOfOutgoingLoanSources: ptr(0)},
		}},
		Risk: &api.RiskInsights{
			Bailiffs:  &api.CountAndSum{AverageCountAMonth: ptr(1.0), AverageSumAMonth: ptr(99.0)},
			Gambling:  &api.Gambling{AverageSumAMonth: ptr(10.0), AverageCountAMonth: ptr(2.0), GamblingToAllExpenses: ptr(0.02)},
			Balance:   &api.Balance{NetCashFlow: ptr(-5.0), CalendarMonthEndBalance: ptr(10.0)},
			LoanFines: &api.CountAndSum{},
		}}
	s, err := Build(res, Options{Tree: tree, Currency: "EUR"})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"insights-income", "insights-loans", "insights-risk"}, s.Products); d != "" {
		t.Errorf("products (-want +got):\n%s", d)
	}
	src := s.Income.Sources
	if len(src) != 2 || src[0].CategoryID != 85 || src[0].Title != "Salary" || src[1].CategoryID != 20 || src[1].Title != "" {
		t.Errorf("sources = %+v; want 85 Salary, then 20 (untitled in this tree)", src)
	}
	lc := s.Loans.Categories
	if len(lc) != 1 || lc[0].Title != "Payday loans" || *lc[0].ExpenseCategoryID != 94 || *lc[0].IncomeCategoryID != 91 {
		t.Errorf("loan categories = %+v; want the active one, titled by the tree", lc)
	}
	if d := cmp.Diff([]string{FlagGambling, FlagBailiffs, FlagNegativeNetFlow}, s.Risk.Flags); d != "" {
		t.Errorf("flags (-want +got):\n%s", d)
	}
	if s.Risk.LoanFines != nil || s.Risk.Bailiffs.Sum != 99 {
		t.Errorf("risk: fines %+v bailiffs %+v", s.Risk.LoanFines, s.Risk.Bailiffs)
	}
	if s.Currency != "EUR" || s.Accounts != nil || s.Transactions != nil {
		t.Errorf("currency %q, accounts %v", s.Currency, s.Accounts)
	}
}

func TestBuild_NotCompleted(t *testing.T) {
	_, err := Build(&api.Result{Status: "processing"}, Options{})
	if !errors.Is(err, ErrNotCompleted) || !strings.Contains(err.Error(), `"processing"`) {
		t.Errorf("err = %v; want ErrNotCompleted naming the status", err)
	}
}

func TestBuild_TreeOfAnotherVersion(t *testing.T) {
	res := handBuilt()
	res.Categorisation.CategoryTreeVersion = ptr("uk_0")
	s, _ := Build(res, Options{Tree: tree})
	if !strings.Contains(s.Titles.Note, "uk_1") || !strings.Contains(s.Titles.Note, "uk_0") {
		t.Errorf("note = %q; want both versions named", s.Titles.Note)
	}
}

func TestAmount(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{{0, "0.00"}, {1.5, "1.50"}, {-0.004, "0.00"}, {-1234.56, "-1,234.56"}, {1234567.891, "1,234,567.89"}} {
		if got := amount(&tc.v); got != tc.want {
			t.Errorf("amount(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

// TestWriteText_ControlCharacters: a statement's text (account number,
// bank, holders) reaches a terminal through show, so its control
// characters and bidirectional overrides are written as visible escapes,
// never as the bytes that would clear the screen, retitle the window or
// reorder the line.
func TestWriteText_ControlCharacters(t *testing.T) {
	res := handBuilt()
	a := &res.Categorisation.Accounts[0]
	a.AccountNumber = ptr("GB\x1b[2J01")
	a.Bank = ptr("B\u009bank\xff")
	a.Holders = []api.Holder{{Name: ptr("Bob\x1b]0;pwned\x07")}, {Name: ptr("Eve\u202etxt.exe")}}
	s, err := Build(res, Options{Tree: tree})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := s.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, r := range out {
		if r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)) {
			t.Errorf("the text has the control character %U:\n%s", r, out)
		}
	}
	for _, want := range []string{`GB\x1b[2J01`, `B\u009bank\xff`, `Bob\x1b]0;pwned\x07`, `Eve\u202etxt.exe`} {
		if !strings.Contains(out, want) {
			t.Errorf("the text lacks %s:\n%s", want, out)
		}
	}
}

// Without a tree the titles are the result's own: transactions first, then
// the income definitions, then the loan categories; an id none of them
// names stays untitled, and the note says where the titles came from.
func TestBuild_TitlesFromTheResult(t *testing.T) {
	res := handBuilt()
	txs := res.Categorisation.Accounts[0].Currencies[0].Transactions
	txs[0].Title = "Salary (tx)"
	txs[3].Title = "Eating out"
	res.Income = &api.IncomeInsights{
		Definitions: &api.Definitions{
			Income:   []api.DefinedCategory{{CategoryID: "85", Title: "Salary (definition)"}, {CategoryID: "20", Title: "Benefits"}},
			Expenses: []api.DefinedCategory{{CategoryID: "26", Title: "Groceries (definition)"}},
		},
		IncomeByCategory: map[string]api.CategoryIncome{
			"85": {AverageMonthlyIncome: ptr(1500.0), NumberOfIncomePayments: ptr(3)},
			"20": {AverageMonthlyIncome: ptr(500.0), NumberOfIncomePayments: ptr(2)},
			"33": {AverageMonthlyIncome: ptr(5.0), NumberOfIncomePayments: ptr(1)},
		}}
	res.Loans = &api.LoansInsights{LoansByCategory: []api.LoanCategory{
		{CategoryID: api.LoanCategoryID{Expense: ptr("94"), Income: ptr("33")}, CategoryTitle: "Payday", NumberOfIncomingLoanSources: ptr(1)},
	}}
	s, err := Build(res, Options{TreeNote: "category titles unavailable: no cached category tree for uk uk_1, and no API to fetch it from"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Titles.Available || s.Titles.Source != SourceResult ||
		!strings.Contains(s.Titles.Note, "the result's own") || !strings.Contains(s.Titles.Note, "no cached category tree for uk uk_1") {
		t.Errorf("titles = %+v; want the result's own, and why no tree", s.Titles)
	}
	if got := s.Transactions[0].Category; got != "Salary (tx)" {
		t.Errorf("transaction 0 = %q; want its own title", got)
	}
	// 26 is named by no transaction: the definition names it. 44's first
	// titled transaction is the fourth.
	if s.Transactions[1].Category != "Groceries (definition)" || s.Transactions[4].Category != "Eating out" {
		t.Errorf("transactions = %+v", s.Transactions)
	}
	sp := map[int]string{}
	for _, c := range s.Accounts[0].Spending {
		sp[c.CategoryID] = c.Title
	}
	if sp[26] != "Groceries (definition)" || sp[44] != "Eating out" {
		t.Errorf("spending titles = %v", sp)
	}
	src := map[int]string{}
	for _, c := range s.Income.Sources {
		src[c.CategoryID] = c.Title
	}
	if src[85] != "Salary (tx)" || src[20] != "Benefits" || src[33] != "Payday" {
		t.Errorf("income source titles = %v; want the transaction's, the definition's, the loan's", src)
	}
	if lc := s.Loans.Categories; len(lc) != 1 || lc[0].Title != "Payday" {
		t.Errorf("loan categories = %+v", lc)
	}

	// A result that names nothing: ids, and the tree's reason alone.
	bare := handBuilt()
	s, _ = Build(bare, Options{TreeNote: "category titles unavailable: x"})
	if s.Titles.Source != "" || s.Titles.Note != "category titles unavailable: x" || s.Transactions[0].Category != "" {
		t.Errorf("a result without titles: %+v, %q", s.Titles, s.Transactions[0].Category)
	}
}
