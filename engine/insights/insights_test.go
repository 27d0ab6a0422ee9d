package insights

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ledgerform/ledgerform/engine/categorise"
	"github.com/ledgerform/ledgerform/engine/statement"
)

// Categories of the UK tree used below.
const (
	salary    = 85
	interest  = 7
	groceries = 84 // Supermarkets, under 26 Groceries
	betting   = 4406
	payday    = 94
	paydayIn  = 91
	cashOut   = 83
	mortgage  = 5239 // Loan bank, under 97 Mortgage
)

func tree() *categorise.Tree { return categorise.UK().Tree() }

func date(s string) statement.Date {
	d, err := statement.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func datep(s string) *statement.Date { d := date(s); return &d }

func cents(m int64) *statement.Money { v := statement.Money(m); return &v }

func txn(day string, amount int64, cat int, partner string) Transaction {
	return Transaction{Date: date(day), Amount: statement.Money(amount), CategoryID: cat, Partner: partner}
}

func ledger(currency, from, to string, start int64, txs ...Transaction) Ledger {
	return Ledger{Currency: currency, PeriodStart: datep(from), PeriodEnd: datep(to), StartBalance: cents(start), Transactions: txs}
}

func compute(tb testing.TB, opt Options, ls ...Ledger) *Report {
	tb.Helper()
	r, err := Compute(tree(), ls, opt, "GBP")
	if err != nil {
		tb.Fatalf("Compute: %v", err)
	}
	return r
}

// show renders a figure as the API writes it: "null" or the JSON value.
func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// check compares rendered figures with the wanted text.
func check(tb testing.TB, figures map[string]any, want map[string]string) {
	tb.Helper()
	for k, w := range want {
		if got := show(figures[k]); got != w {
			tb.Errorf("%s = %s, want %s", k, got, w)
		}
	}
}

func TestCompute_OneDay(t *testing.T) {
	// 2026-03-10 only: no complete month, so the window is empty and March
	// is the last incomplete month, with the day's salary received.
	r := compute(t, Options{}, ledger("GBP", "2026-03-10", "2026-03-10", 10000,
		txn("2026-03-10", 100000, salary, "Job Ltd"), txn("2026-03-10", -2000, groceries, "Tesco")))
	in := r.Income
	check(t, map[string]any{
		"calendar_months": in.CalendarMonths, "average_monthly_income": in.AverageMonthlyIncome,
		"average_monthly_discretionary_income": in.AverageMonthlyDiscretionary, "monthly_regularity": in.MonthlyRegularity,
		"monthly_stability": in.MonthlyStability, "monthly_trend": in.MonthlyTrend, "debt_to_income_ratio": in.DebtToIncomeRatio,
		"days_since_last_income_payment":       in.DaysSinceLastIncomePayment,
		"average_days_between_income_payments": in.AverageDaysBetweenIncomePayments,
		"last_incomplete_month":                in.LastIncompleteMonth, "income_by_category.85": in.IncomeByCategory["85"],
		"income_by_category.5": in.IncomeByCategory["5"],
		"balance":              r.Risk.Balance, "loans.average": r.Loans.AverageMonthlyOutgoingLoanPayment,
		"gambling_to_all_expenses": r.Risk.Gambling.GamblingToAllExpenses, "stable_monthly_cash_deposits": r.Risk.Cash.StableMonthlyCashDeposits,
	}, map[string]string{
		"calendar_months": "0", "average_monthly_income": "null", "average_monthly_discretionary_income": "null",
		"monthly_regularity": "null", "monthly_stability": "null", "monthly_trend": "null", "debt_to_income_ratio": "null",
		"days_since_last_income_payment": "0", "average_days_between_income_payments": "null",
		"last_incomplete_month": `{"expected_remaining_income":null,"month":"2026-03","received_income":1000.00,"remaining_monthly_discretionary_income":null}`,
		"income_by_category.85": `{"average_income_payment":1000.00,"average_monthly_income":null,"days_since_last_income_payment":0,"median_income_payment":1000.00,"number_of_income_payments":1}`,
		"income_by_category.5":  `{"average_income_payment":null,"average_monthly_income":null,"days_since_last_income_payment":null,"median_income_payment":null,"number_of_income_payments":null}`,
		// 100.00 + 1000.00 − 20.00 = 1080.00; no window, so no calendar-month figures.
		"balance":       `{"calendar_month_end_balance":null,"calendar_month_start_balance":null,"net_cash_flow":null,"statement_end_balance":1080.00,"statement_start_balance":100.00}`,
		"loans.average": "null", "gambling_to_all_expenses": "null", "stable_monthly_cash_deposits": "null",
	})
	// short history −2, no income in the (empty) window −3.
	if got, want := r.Score, 5; got != want {
		t.Errorf("score = %d, want %d (rules %v)", got, want, Rules(r.Income, r.Risk))
	}
}

func TestCompute_NoIncome(t *testing.T) {
	// Three complete months of groceries (100.00 each) and one 10.00 bet.
	r := compute(t, Options{}, ledger("GBP", "2026-01-01", "2026-03-31", 100000,
		txn("2026-01-05", -10000, groceries, "Tesco"), txn("2026-02-05", -10000, groceries, "Tesco"),
		txn("2026-02-06", -1000, betting, "Bet365"), txn("2026-03-05", -10000, groceries, "Tesco")))
	in, g := r.Income, r.Risk.Gambling
	check(t, map[string]any{
		"calendar_months": in.CalendarMonths, "calendar_months_with_income": in.CalendarMonthsWithIncome,
		"average_monthly_income": in.AverageMonthlyIncome, "average_monthly_discretionary_income": in.AverageMonthlyDiscretionary,
		"monthly_regularity": in.MonthlyRegularity, "monthly_stability": in.MonthlyStability, "monthly_trend": in.MonthlyTrend,
		"debt_to_income_ratio": in.DebtToIncomeRatio, "days_since_last_income_payment": in.DaysSinceLastIncomePayment,
		"last_incomplete_month": in.LastIncompleteMonth, "gambling": g, "cash_withdrawal_to_income": r.Risk.Cash.CashWithdrawalToIncome,
		"net_cash_flow": r.Risk.Balance.NetCashFlow,
	}, map[string]string{
		"calendar_months": "3", "calendar_months_with_income": "0", "average_monthly_income": "0.00",
		// (0 − 300.00) / 3
		"average_monthly_discretionary_income": "-100.00",
		"monthly_regularity":                   "0", "monthly_stability": "null", "monthly_trend": "null",
		"debt_to_income_ratio": "null", "days_since_last_income_payment": "null",
		// 0 + max(0, 0 − 0) − max(0, 300.00 / 3)
		"last_incomplete_month": `{"expected_remaining_income":0.00,"month":"2026-04","received_income":0.00,"remaining_monthly_discretionary_income":-100.00}`,
		// 1 bet in 3 months: 0.33 a month, 10.00 / 3 = 3.33; 10.00 / 310.00 = 0.032258…; 1 of 3 months; all betting;
		// 2026-03-31 − 2026-02-06 = 53 days.
		"gambling":                  `{"average_count_a_month":0.33,"average_sum_a_month":3.33,"days_since_last_transaction":53,"gambling_to_all_expenses":0.0323,"monthly_regularity_of_gambling":0.3333,"ratio_of_betting":1,"ratio_of_casino":0,"ratio_of_lottery":0}`,
		"cash_withdrawal_to_income": "null", "net_cash_flow": "-310.00",
	})
	// no income −3, gambling ≥ 0.01 −1, net cash flow < 0 −1.
	if got, want := r.Score, 5; got != want {
		t.Errorf("score = %d, want %d (rules %v)", got, want, Rules(r.Income, r.Risk))
	}
}

func TestCompute_OnlyIncome(t *testing.T) {
	r := compute(t, Options{}, ledger("GBP", "2026-01-01", "2026-02-28", 0,
		txn("2026-01-25", 200000, salary, "Job Ltd"), txn("2026-02-25", 200000, salary, "Job Ltd")))
	in := r.Income
	check(t, map[string]any{
		"average_monthly_income": in.AverageMonthlyIncome, "debt_to_income_ratio": in.DebtToIncomeRatio,
		"monthly_stability": in.MonthlyStability, "monthly_trend": in.MonthlyTrend, "monthly_regularity": in.MonthlyRegularity,
		"average_days_between_income_payments": in.AverageDaysBetweenIncomePayments,
		"days_since_last_income_payment":       in.DaysSinceLastIncomePayment,
		"last_incomplete_month":                in.LastIncompleteMonth,
		"gambling_to_all_expenses":             r.Risk.Gambling.GamblingToAllExpenses,
		"cash_withdrawal_to_expenses":          r.Risk.Cash.CashWithdrawalToExpenses,
		"cash_deposit_to_income":               r.Risk.Cash.CashDepositToIncome,
		"loans_ratio":                          r.Loans.LoansByCategory[0].RatioOfOutgoingLoanCategoryToLoans,
		"balance":                              r.Risk.Balance,
	}, map[string]string{
		"average_monthly_income": "2000.00", "debt_to_income_ratio": "0", "monthly_stability": "1",
		"monthly_trend": "0", "monthly_regularity": "1",
		// 2026-02-25 − 2026-01-25 = 31 days, one gap; 2026-02-28 − 2026-02-25 = 3.
		"average_days_between_income_payments": "31", "days_since_last_income_payment": "3",
		"last_incomplete_month":    `{"expected_remaining_income":2000.00,"month":"2026-03","received_income":0.00,"remaining_monthly_discretionary_income":2000.00}`,
		"gambling_to_all_expenses": "null", "cash_withdrawal_to_expenses": "null", "cash_deposit_to_income": "0",
		"loans_ratio": "null",
		"balance":     `{"calendar_month_end_balance":4000.00,"calendar_month_start_balance":0.00,"net_cash_flow":4000.00,"statement_end_balance":4000.00,"statement_start_balance":0.00}`,
	})
	// short history −2 only.
	if got, want := r.Score, 8; got != want {
		t.Errorf("score = %d, want %d (rules %v)", got, want, Rules(r.Income, r.Risk))
	}
}

func TestCompute_SeveralCurrencies(t *testing.T) {
	gbp := ledger("GBP", "2026-01-01", "2026-01-31", 50000, txn("2026-01-28", 100000, salary, "Job Ltd"))
	eur := ledger("EUR", "2026-01-01", "2026-01-31", 20000,
		txn("2026-01-10", 10000, salary, "Trabajo SL"), txn("2026-01-11", -1001, groceries, "Mercadona"))
	usd := ledger("USD", "2026-01-01", "2026-01-31", 0, txn("2026-01-15", 1000, interest, ""))
	for _, c := range []struct {
		currency                                     string
		income, discretionary, startBalance, netCash string
	}{
		// EUR → GBP × 0.85: 100.00 → 85.00, −10.01 → −8.5085 → −8.51, start 200.00 → 170.00;
		// USD → GBP × 0.75: 10.00 → 7.50.
		{"", "1092.50", "1083.99", "670.00", "1083.99"},
		// GBP → EUR ÷ 0.85: 1000.00 → 1176.470… → 1176.47, 500.00 → 588.24;
		// USD → EUR × 0.75 / 0.85: 10.00 → 8.8235… → 8.82.
		{"EUR", "1285.29", "1275.28", "788.24", "1275.28"},
		// GBP → USD ÷ 0.75: 1000.00 → 1333.33, 500.00 → 666.67;
		// EUR → USD × 0.85 / 0.75: 100.00 → 113.33, −10.01 → −11.3446… → −11.34, 200.00 → 226.67.
		{"USD", "1456.66", "1445.32", "893.34", "1445.32"},
	} {
		r := compute(t, Options{Currency: c.currency}, gbp, eur, usd)
		in, b := r.Income, r.Risk.Balance
		check(t, map[string]any{
			c.currency + " income": in.AverageMonthlyIncome, c.currency + " discretionary": in.AverageMonthlyDiscretionary,
			c.currency + " start": b.StatementStartBalance, c.currency + " net": b.NetCashFlow,
		}, map[string]string{
			c.currency + " income": c.income, c.currency + " discretionary": c.discretionary,
			c.currency + " start": c.startBalance, c.currency + " net": c.netCash,
		})
	}

	var pe *ParamError
	_, err := Compute(tree(), []Ledger{gbp, ledger("XAU", "2026-01-01", "2026-01-31", 0)}, Options{}, "GBP")
	if !errors.As(err, &pe) || pe.Param != "currency" || !strings.Contains(pe.Msg, "XAU") {
		t.Errorf("a ledger in XAU: err = %v, want a currency ParamError naming XAU", err)
	}
	_, err = Compute(tree(), []Ledger{gbp}, Options{Currency: "ZZZ"}, "GBP")
	if !errors.As(err, &pe) || pe.Param != "currency" || !strings.Contains(pe.Msg, "ZZZ") {
		t.Errorf("currency ZZZ: err = %v, want a currency ParamError naming ZZZ", err)
	}
	// Amounts already in the requested currency need no rate.
	if _, err := Compute(tree(), []Ledger{ledger("XAU", "2026-01-01", "2026-01-31", 0)}, Options{Currency: "XAU"}, "GBP"); err != nil {
		t.Errorf("XAU in XAU: %v", err)
	}
}

func TestCompute_Period(t *testing.T) {
	var txs []Transaction
	for m, amount := range []int64{100000, 110000, 120000, 130000} { // Jan to Apr
		txs = append(txs, txn(fmt.Sprintf("2026-%02d-25", m+1), amount, salary, "Job Ltd"))
	}
	l := ledger("GBP", "2026-01-01", "2026-04-30", 0, txs...)
	all := compute(t, Options{}, l)
	longer := compute(t, Options{Period: 24}, l)
	if a, b := show(all), show(longer); a != b {
		t.Errorf("period 24 on a 4-month statement differs from the default:\n%s\n%s", b, a)
	}
	if got := all.Income.CalendarMonths; got != 4 {
		t.Errorf("calendar_months = %d, want 4", got)
	}
	last2 := compute(t, Options{Period: 2}, l)
	in := last2.Income
	check(t, map[string]any{
		"calendar_months": in.CalendarMonths, "average_monthly_income": in.AverageMonthlyIncome,
		"monthly_trend": in.MonthlyTrend, "payments": in.IncomeByCategory["85"].NumberOfIncomePayments,
		"balance": last2.Risk.Balance,
	}, map[string]string{
		// March and April: (1200.00 + 1300.00) / 2; slope 100.00 / mean 1250.00 = 0.08.
		"calendar_months": "2", "average_monthly_income": "1250.00", "monthly_trend": "0.08", "payments": "2",
		// The window starts on 2026-03-01, after 1000.00 + 1100.00 came in.
		"balance": `{"calendar_month_end_balance":4600.00,"calendar_month_start_balance":2100.00,"net_cash_flow":2500.00,"statement_end_balance":4600.00,"statement_start_balance":0.00}`,
	})
}

func TestCompute_DropFilters(t *testing.T) {
	joint := ledger("GBP", "2026-01-01", "2026-01-31", 0, txn("2026-01-25", 100000, salary, "Job Ltd"))
	joint.Joint = true
	shared := ledger("GBP", "2026-01-01", "2026-01-31", 0, txn("2026-01-25", 50000, salary, "Job Ltd"))
	shared.Shared = true

	for _, c := range []struct {
		opt    Options
		ls     []Ledger
		param  string
		detail string
	}{
		{Options{DropJoint: true}, []Ledger{joint}, "drop_joint_accounts", "every account of the statement is joint"},
		{Options{DropShared: true}, []Ledger{shared}, "drop_shared_accounts", "every account of the statement is shared"},
		{Options{DropShared: true, DropJoint: true}, []Ledger{joint, shared}, "drop_shared_accounts", "joint or shared"},
		{Options{}, nil, "drop_joint_accounts", "no account"},
	} {
		err := Check(c.ls, c.opt, "GBP")
		var pe *ParamError
		if !errors.As(err, &pe) || pe.Param != c.param || !strings.Contains(pe.Msg, c.detail) {
			t.Errorf("%+v: err = %v, want a ParamError on %s saying %q", c.opt, err, c.param, c.detail)
		}
	}
	r := compute(t, Options{DropJoint: true}, joint, shared)
	if got, want := show(r.Income.AverageMonthlyIncome), "500.00"; got != want {
		t.Errorf("drop joint: average_monthly_income = %s, want %s (the shared account alone)", got, want)
	}
}

func TestCompute_Loans(t *testing.T) {
	r := compute(t, Options{}, ledger("GBP", "2026-01-01", "2026-02-28", 0,
		txn("2026-01-02", 30000, paydayIn, "Lending Stream"),
		txn("2026-01-20", -10000, payday, "LENDING-STREAM"),
		txn("2026-02-03", 20000, paydayIn, "Moneyboat"),
		txn("2026-02-20", -10000, payday, "Lending Stream"),
		txn("2026-02-21", -5000, payday, "Moneyboat"),
		txn("2026-01-01", -80000, mortgage, "Nationwide"),
		txn("2026-02-01", -80000, mortgage, "Nationwide")))
	lo := r.Loans
	titles := make([]string, len(lo.LoansByCategory))
	var pd, mg LoanCategory
	for i, lc := range lo.LoansByCategory {
		titles[i] = lc.CategoryTitle
		switch lc.CategoryTitle {
		case "Payday loans":
			pd = lc
		case "Mortgage":
			mg = lc
		}
	}
	if got, want := strings.Join(titles, ", "), "Fines, Other loans, Payday loans, Buy now pay later, Car finance, Credit cards, Mortgage, Student loan"; got != want {
		// The documented example's order first (Fines, Other loans, Payday
		// loans), then the others by title.
		t.Errorf("loans_by_category titles = %s, want %s", got, want)
	}
	check(t, map[string]any{
		"average": lo.AverageMonthlyOutgoingLoanPayment, "in sources": lo.NumberOfIncomingLoanSources,
		"out sources": lo.NumberOfOutgoingLoanSources, "days since": lo.DaysSinceLastIncomingLoan,
		"payday": pd, "mortgage": mg, "months in": lo.CalendarMonthsWithIncomingLoans,
	}, map[string]string{
		// (100.00 + 800.00 + 100.00 + 50.00 + 800.00) / 2 = 925.00
		"average": "925.00", "in sources": "2", "out sources": "3", "days since": "25", "months in": "2",
		// Payday 250.00 of 1850.00 = 0.135135…; out 100.00 then 150.00: slope 50.00 / mean 125.00 = 0.4;
		// in 300.00 then 200.00: −100.00 / 250.00 = −0.4.
		"payday":   `{"average_monthly_outgoing_loan_payment":125.00,"category_id":{"expense":"94","income":"91"},"category_title":"Payday loans","days_since_last_incoming_loan":25,"monthly_incoming_loan_trend":-0.4,"monthly_outgoing_loan_trend":0.4,"number_of_incoming_loan_sources":2,"number_of_outgoing_loan_sources":2,"ratio_of_outgoing_loan_category_to_loans":0.1351}`,
		"mortgage": `{"average_monthly_outgoing_loan_payment":800.00,"category_id":{"expense":"97","income":null},"category_title":"Mortgage","days_since_last_incoming_loan":null,"monthly_incoming_loan_trend":null,"monthly_outgoing_loan_trend":0,"number_of_incoming_loan_sources":null,"number_of_outgoing_loan_sources":1,"ratio_of_outgoing_loan_category_to_loans":0.8649}`,
	})
}

func TestTrendAndStability(t *testing.T) {
	for _, c := range []struct {
		ys               []int64
		trend, stability string
	}{
		{[]int64{100, 200, 300}, "0.5", "0.6667"}, // equal weights: slope 100, mean 200; MAD 66.67
		// weights 1,1,2,2,2: (8·800 − 19·200) / (8·59 − 19²) = 2600/111, over mean 20
		{[]int64{0, 0, 0, 0, 100}, "1.1712", "0"},
		{[]int64{50, 150}, "1", "0.5"},
		{[]int64{70}, "null", "1"},
		{[]int64{0, 0}, "null", "null"},
		{nil, "null", "null"},
	} {
		if got := show(trend(c.ys)); got != c.trend {
			t.Errorf("trend(%v) = %s, want %s", c.ys, got, c.trend)
		}
		if got := show(stability(c.ys)); got != c.stability {
			t.Errorf("stability(%v) = %s, want %s", c.ys, got, c.stability)
		}
	}
}

func TestRoundDiv(t *testing.T) {
	for _, c := range []struct{ a, b, want int64 }{
		{5, 2, 3}, {-5, 2, -3}, {4, 3, 1}, {-4, 3, -1}, {7, 3, 2}, {-7, 3, -2}, {0, 5, 0}, {85085, 10000, 9}, {-85085, 10000, -9},
	} {
		if got := roundDiv(c.a, c.b); got != c.want {
			t.Errorf("roundDiv(%d, %d) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
	// −10.01 EUR in GBP is −8.5085, half away from zero −8.51.
	if got, want := convert(-1001, "EUR", "GBP"), statement.Money(-851); got != want {
		t.Errorf("convert(-10.01 EUR) = %v, want %v", got, want)
	}
}

func TestScore_Rules(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	one := f(1)
	in := &Income{CalendarMonths: 6, AverageMonthlyIncome: cents(100000), MonthlyStability: f(0.79), DebtToIncomeRatio: f(0.61)}
	risk := &Risk{Gambling: Gambling{GamblingToAllExpenses: f(0.05)}, Dishonours: CountAndSum{AverageCountAMonth: one},
		Bailiffs: CountAndSum{AverageCountAMonth: one}, DebtCollection: CountAndSum{AverageCountAMonth: one},
		Balance: Balance{NetCashFlow: cents(-1), CalendarMonthEndBalance: cents(-1)}}
	got := show(Rules(in, risk))
	want := `[{"Name":"unstable income","Points":1},{"Name":"debt to income","Points":3},{"Name":"gambling","Points":2},{"Name":"dishonours","Points":1},{"Name":"bailiffs","Points":2},{"Name":"debt collection","Points":1},{"Name":"falling balance","Points":1},{"Name":"overdrawn","Points":1}]`
	if got != want {
		t.Errorf("rules = %s, want %s", got, want)
	}
	if s := Score(in, risk); s != 1 {
		t.Errorf("score = %d, want 1 (10 − 12, at least 1)", s)
	}
	// Thresholds are inclusive as the table says.
	in = &Income{CalendarMonths: 3, AverageMonthlyIncome: cents(1), MonthlyStability: f(0.8), DebtToIncomeRatio: f(0.35)}
	if s := Score(in, &Risk{Gambling: Gambling{GamblingToAllExpenses: f(0.0099)}}); s != 10 {
		t.Errorf("score at the thresholds = %d, want 10 (rules %v)", s, Rules(in, &Risk{}))
	}
}

func TestCompute_NoTransactionsNoDates(t *testing.T) {
	// An account with an empty transaction_list and no period: nothing to
	// date the statement by, so no month at all and no balance figures.
	r := compute(t, Options{}, Ledger{Currency: "GBP"})
	check(t, map[string]any{
		"calendar_months": r.Income.CalendarMonths, "last_incomplete_month": r.Income.LastIncompleteMonth,
		"balance": r.Risk.Balance, "loans months": r.Loans.CalendarMonths,
	}, map[string]string{
		"calendar_months":       "0",
		"last_incomplete_month": `{"expected_remaining_income":null,"month":null,"received_income":0.00,"remaining_monthly_discretionary_income":null}`,
		"balance":               `{"calendar_month_end_balance":null,"calendar_month_start_balance":null,"net_cash_flow":null,"statement_end_balance":null,"statement_start_balance":null}`,
		"loans months":          "0",
	})
	if r.Score < 1 || r.Score > 10 {
		t.Errorf("score = %d, want 1 to 10", r.Score)
	}
}

// TestCompute_RemainingDiscretionaryIsRoundedOnce: remaining_monthly_
// discretionary_income is (received + expected remaining) − max(spent so
// far, average monthly mandatory spending), rounded once at the end. The
// average is not a published figure, so it is not rounded first: with
// 200.01 of mortgage over two months it is 100.005, and the answer is
// round(1000.00 − 100.005) = 900.00, not 1000.00 − 100.01 = 899.99.
func TestCompute_RemainingDiscretionaryIsRoundedOnce(t *testing.T) {
	r := compute(t, Options{}, ledger("GBP", "2026-01-01", "2026-02-28", 0,
		txn("2026-01-25", 100000, salary, "Job Ltd"), txn("2026-02-25", 100000, salary, "Job Ltd"),
		txn("2026-01-02", -10000, mortgage, "Nationwide"), txn("2026-02-02", -10001, mortgage, "Nationwide")))
	check(t, map[string]any{"last_incomplete_month": r.Income.LastIncompleteMonth}, map[string]string{
		"last_incomplete_month": `{"expected_remaining_income":1000.00,"month":"2026-03","received_income":0.00,"remaining_monthly_discretionary_income":900.00}`,
	})

	// When the month's spending so far is the larger, it is exact already.
	r = compute(t, Options{}, ledger("GBP", "2026-01-01", "2026-03-03", 0,
		txn("2026-01-25", 100000, salary, "Job Ltd"), txn("2026-02-25", 100000, salary, "Job Ltd"),
		txn("2026-01-02", -10000, mortgage, "Nationwide"), txn("2026-02-02", -10001, mortgage, "Nationwide"),
		txn("2026-03-02", -15050, mortgage, "Nationwide")))
	check(t, map[string]any{"last_incomplete_month": r.Income.LastIncompleteMonth}, map[string]string{
		"last_incomplete_month": `{"expected_remaining_income":1000.00,"month":"2026-03","received_income":0.00,"remaining_monthly_discretionary_income":849.50}`,
	})
}
