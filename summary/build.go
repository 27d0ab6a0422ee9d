package summary

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/ledgerform/ledgerform/api"
)

// Options are what a result alone does not say.
type Options struct {
	Address, Output string
	// Country is the country the report was processed for; Build
	// falls back to the accounts' country.
	Country string
	// Currency is the insights' currency when the request set
	// params.currency; otherwise Build takes the accounts' one currency.
	Currency string
	// Tree gives the titles; nil: none (TreeNote then says why).
	Tree     *api.CategoryTree
	TreeNote string
}

// ErrNotCompleted is Build's error for a result whose status is not
// "completed": it holds no products yet.
var ErrNotCompleted = errors.New("the result is not completed")

// Build makes the Summary of a completed result.
func Build(res *api.Result, opts Options) (*Summary, error) {
	if res == nil || !res.Done() {
		status := ""
		if res != nil {
			status = res.Status
		}
		return nil, fmt.Errorf("%w (status %q)", ErrNotCompleted, status)
	}
	s := &Summary{Address: opts.Address, Output: opts.Output, Country: opts.Country, Currency: opts.Currency,
		Products: []string{}, Score: res.SimpleScore}
	titles := newTitles(opts.Tree)
	s.Titles = Titles{Available: opts.Tree != nil, Note: opts.TreeNote}
	if opts.Tree != nil {
		s.Titles.Source, s.Titles.TreeVersion = SourceTree, opts.Tree.Version
	} else if titles = resultTitles(res); len(titles) > 0 {
		s.Titles.Source, s.Titles.Note = SourceResult, resultNote(opts.TreeNote)
	}
	if c := res.Categorisation; c != nil {
		s.Products = append(s.Products, "categorisation")
		s.CategoryTreeVersion = deref(c.CategoryTreeVersion)
		s.Accounts, s.Transactions = accounts(c, titles)
		if s.Country == "" {
			s.Country = accountsCountry(c)
		}
	}
	if s.Currency == "" {
		s.Currency = oneCurrency(s.Accounts)
	}
	if res.Income != nil {
		s.Products = append(s.Products, "insights-income")
		s.Income = income(res.Income, titles)
	}
	if res.Loans != nil {
		s.Products = append(s.Products, "insights-loans")
		s.Loans = loans(res.Loans, titles)
	}
	if res.Risk != nil {
		s.Products = append(s.Products, "insights-risk")
		s.Risk = risk(res.Risk)
	}
	if res.SimpleScore != nil {
		s.Products = append(s.Products, "simple-score")
	}
	if opts.Tree != nil && s.CategoryTreeVersion != "" && opts.Tree.Version != s.CategoryTreeVersion && s.Titles.Note == "" {
		s.Titles.Note = fmt.Sprintf("titles are from category tree %s; the result was categorised with %s", opts.Tree.Version, s.CategoryTreeVersion)
	}
	return s, nil
}

// titleMap looks titles up by category id.
type titleMap map[int]string

func newTitles(t *api.CategoryTree) titleMap {
	if t == nil {
		return nil
	}
	m := make(titleMap, len(t.Categories))
	for _, c := range t.Categories {
		m[c.ID] = c.ReadableTitle
	}
	return m
}

func (m titleMap) of(id int) string { return m[id] }

// resultTitles are the titles a result carries itself, for when no tree
// is at hand: each categorised transaction's title, the income product's
// definitions and the loan categories' category_title. The first title
// met for an id wins, in that order; nil when the result names none.
func resultTitles(res *api.Result) titleMap {
	var m titleMap
	add := func(id int, title string) {
		if title == "" {
			return
		}
		if m == nil {
			m = titleMap{}
		}
		if _, ok := m[id]; !ok {
			m[id] = title
		}
	}
	addString := func(id *string, title string) {
		if id == nil {
			return
		}
		if n, err := strconv.Atoi(*id); err == nil {
			add(n, title)
		}
	}
	if c := res.Categorisation; c != nil {
		for _, a := range c.Accounts {
			for _, cur := range a.Currencies {
				for _, t := range cur.Transactions {
					add(t.CategoryID, t.Title)
				}
			}
		}
	}
	if in := res.Income; in != nil && in.Definitions != nil {
		for _, d := range slices.Concat(in.Definitions.Income, in.Definitions.Expenses) {
			addString(&d.CategoryID, d.Title)
		}
	}
	if l := res.Loans; l != nil {
		for _, c := range l.LoansByCategory {
			addString(c.CategoryID.Expense, c.CategoryTitle)
			addString(c.CategoryID.Income, c.CategoryTitle)
		}
	}
	return m
}

// resultNote is the note for titles taken from the result: where they
// come from, and why no tree gave them (treeNote, Trees.Find's reason).
func resultNote(treeNote string) string {
	note := "category titles are the result's own (its transactions, income definitions and loan categories); a category it does not name is shown by id"
	if why, ok := strings.CutPrefix(treeNote, "category titles unavailable: "); ok {
		return note + "; no category tree: " + why
	} else if treeNote != "" {
		return note + "; " + treeNote
	}
	return note
}

// accounts makes one Account per account and currency, and the flat list
// of transactions.
func accounts(c *api.Categorisation, titles titleMap) ([]Account, []Transaction) {
	var out []Account
	n := 0
	for _, a := range c.Accounts {
		for _, cur := range a.Currencies {
			n += len(cur.Transactions)
		}
	}
	txs := make([]Transaction, 0, n)
	for _, a := range c.Accounts {
		var holders []string
		for _, h := range a.Holders {
			if h.Name != nil {
				holders = append(holders, *h.Name)
			}
		}
		for _, cur := range a.Currencies {
			acc := Account{Number: deref(a.AccountNumber), Bank: deref(a.Bank), Holders: holders,
				Joint: a.IsJointOwnership != nil && *a.IsJointOwnership, Currency: deref(cur.Code),
				PeriodStart: deref(a.PeriodStart), PeriodEnd: deref(a.PeriodEnd)}
			for _, t := range cur.Transactions {
				txs = append(txs, Transaction{Date: t.Date, Account: acc.Number, Currency: acc.Currency, Amount: t.Amount,
					CategoryID: t.CategoryID, Category: titles.of(t.CategoryID), Partner: deref(t.Partner),
					Description: deref(t.Info), ID: deref(t.TransactionID)})
			}
			flow(&acc, cur, titles)
			out = append(out, acc)
		}
	}
	return out, txs
}

// flow computes an account's cash flow in cents: totals, months, the
// balance over time and spending by category.
func flow(acc *Account, cur api.Currency, titles titleMap) {
	txs := byDate(cur.Transactions)
	acc.Transactions = len(txs)
	var in, out int64
	byCat := map[int]*CategoryAmount{}
	outByCat := map[int]int64{}
	for _, t := range txs {
		c := cents(t.Amount)
		if c >= 0 {
			in += c
			continue
		}
		out -= c
		ca := byCat[t.CategoryID]
		if ca == nil {
			ca = &CategoryAmount{CategoryID: t.CategoryID, Title: titles.of(t.CategoryID)}
			byCat[t.CategoryID] = ca
		}
		ca.Count++
		outByCat[t.CategoryID] -= c
	}
	acc.MoneyIn, acc.MoneyOut = money(in), money(out)

	// The opening balance: as given, else the closing one less the
	// transactions.
	var start *int64
	switch {
	case cur.StartBalance != nil:
		v := cents(*cur.StartBalance)
		start = &v
	case cur.EndBalance != nil:
		v := cents(*cur.EndBalance) - (in - out)
		start = &v
	}
	if start != nil {
		acc.StartBalance = moneyPtr(*start)
		end := *start + in - out
		if cur.EndBalance != nil {
			end = cents(*cur.EndBalance)
		}
		acc.EndBalance = moneyPtr(end)
	}

	acc.Months = months(txs, start)
	acc.Balance = []BalancePoint{}
	if start != nil {
		bal := *start
		for i, t := range txs {
			bal += cents(t.Amount)
			if i+1 == len(txs) || txs[i+1].Date != t.Date {
				acc.Balance = append(acc.Balance, BalancePoint{Date: t.Date, Balance: money(bal)})
			}
		}
	}

	acc.Spending = make([]CategoryAmount, 0, len(byCat))
	for id, ca := range byCat {
		ca.Amount = money(outByCat[id])
		ca.Share = ratio(outByCat[id], out)
		acc.Spending = append(acc.Spending, *ca)
	}
	slices.SortFunc(acc.Spending, func(a, b CategoryAmount) int {
		return cmp.Or(cmp.Compare(outByCat[b.CategoryID], outByCat[a.CategoryID]), cmp.Compare(a.CategoryID, b.CategoryID))
	})
}

// byDate is txs in date order, those of one day in the file's order. A
// result lists them in date order already, which costs one pass to see.
func byDate(txs []api.Transaction) []api.Transaction {
	if slices.IsSortedFunc(txs, func(a, b api.Transaction) int { return strings.Compare(a.Date, b.Date) }) {
		return txs
	}
	idx := make([]int, len(txs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(i, j int) int { return cmp.Or(strings.Compare(txs[i].Date, txs[j].Date), cmp.Compare(i, j)) })
	out := make([]api.Transaction, len(txs))
	for k, i := range idx {
		out[k] = txs[i]
	}
	return out
}

// months is the monthly cash flow of date-sorted transactions, every
// calendar month from the first's to the last's.
func months(txs []api.Transaction, start *int64) []Month {
	out := []Month{}
	if len(txs) == 0 {
		return out
	}
	first, okf := monthOf(txs[0].Date)
	last, okl := monthOf(txs[len(txs)-1].Date)
	if !okf || !okl {
		return out
	}
	type sums struct {
		in, out int64
		n       int
	}
	by := map[int]*sums{}
	for _, t := range txs {
		m, ok := monthOf(t.Date)
		if !ok {
			continue
		}
		s := by[m]
		if s == nil {
			s = &sums{}
			by[m] = s
		}
		s.n++
		if c := cents(t.Amount); c >= 0 {
			s.in += c
		} else {
			s.out -= c
		}
	}
	var bal int64
	if start != nil {
		bal = *start
	}
	for m := first; m <= last; m++ {
		s := by[m]
		if s == nil {
			s = &sums{}
		}
		mo := Month{Month: fmt.Sprintf("%04d-%02d", m/12, m%12+1), MoneyIn: money(s.in), MoneyOut: money(s.out),
			Net: money(s.in - s.out), Transactions: s.n}
		bal += s.in - s.out
		if start != nil {
			mo.EndBalance = moneyPtr(bal)
		}
		out = append(out, mo)
	}
	return out
}

// monthOf is a YYYY-MM-DD date's month as year×12 + month−1.
func monthOf(date string) (int, bool) {
	if len(date) < 7 || date[4] != '-' {
		return 0, false
	}
	y, err1 := strconv.Atoi(date[:4])
	m, err2 := strconv.Atoi(date[5:7])
	if err1 != nil || err2 != nil || m < 1 || m > 12 {
		return 0, false
	}
	return y*12 + m - 1, true
}

func income(in *api.IncomeInsights, titles titleMap) *Income {
	out := &Income{AverageMonthly: in.AverageMonthlyIncome, AverageMonthlyDiscretionary: in.AverageMonthlyDiscretionary,
		CalendarMonths: in.CalendarMonths, MonthsWithIncome: in.CalendarMonthsWithIncome, Regularity: in.MonthlyRegularity,
		Stability: in.MonthlyStability, Trend: in.MonthlyTrend, DaysSinceLast: in.DaysSinceLastIncomePayment,
		AverageDaysBetween: in.AverageDaysBetweenIncomePayments, DebtToIncome: in.DebtToIncomeRatio, Sources: []IncomeSource{}}
	for key, c := range in.IncomeByCategory {
		if c.NumberOfIncomePayments == nil || *c.NumberOfIncomePayments == 0 {
			continue
		}
		id, err := strconv.Atoi(key)
		if err != nil {
			continue // not a category id: nothing to show it by
		}
		out.Sources = append(out.Sources, IncomeSource{CategoryID: id, Title: titles.of(id), AverageMonthly: c.AverageMonthlyIncome,
			AveragePayment: c.AverageIncomePayment, MedianPayment: c.MedianIncomePayment, Payments: c.NumberOfIncomePayments,
			DaysSinceLast: c.DaysSinceLastIncomePayment})
	}
	slices.SortFunc(out.Sources, func(a, b IncomeSource) int {
		return cmp.Or(-cmp.Compare(orZero(a.AverageMonthly), orZero(b.AverageMonthly)), cmp.Compare(a.CategoryID, b.CategoryID))
	})
	if m := in.LastIncompleteMonth; m != nil && m.Month != nil {
		out.LastIncompleteMonth = &IncompleteMonth{Month: *m.Month, Received: m.ReceivedIncome,
			ExpectedRemaining: m.ExpectedRemainingIncome, RemainingDiscretionary: m.RemainingMonthlyDiscretionaryIncome}
	}
	return out
}

func loans(l *api.LoansInsights, titles titleMap) *Loans {
	out := &Loans{AverageMonthlyRepayment: l.AverageMonthlyOutgoingLoanPayment, CalendarMonths: l.CalendarMonths,
		MonthsWithIncoming: l.CalendarMonthsWithIncomingLoans, MonthsWithOutgoing: l.CalendarMonthsWithOutgoingLoans,
		DaysSinceLastIncoming: l.DaysSinceLastIncomingLoan, IncomingTrend: l.MonthlyIncomingLoanTrend,
		OutgoingTrend: l.MonthlyOutgoingLoanTrend, IncomingSources: l.NumberOfIncomingLoanSources,
		OutgoingSources: l.NumberOfOutgoingLoanSources, Categories: []LoanCategory{}}
	for _, c := range l.LoansByCategory {
		active := positive(c.AverageMonthlyOutgoingLoanPayment) || positiveInt(c.NumberOfIncomingLoanSources) ||
			positiveInt(c.NumberOfOutgoingLoanSources) || c.DaysSinceLastIncomingLoan != nil
		if !active {
			continue
		}
		lc := LoanCategory{Title: c.CategoryTitle, ExpenseCategoryID: atoiPtr(c.CategoryID.Expense), IncomeCategoryID: atoiPtr(c.CategoryID.Income),
			AverageMonthlyRepayment: c.AverageMonthlyOutgoingLoanPayment, ShareOfRepayments: c.RatioOfOutgoingLoanCategoryToLoans,
			DaysSinceLastIncoming: c.DaysSinceLastIncomingLoan, IncomingTrend: c.MonthlyIncomingLoanTrend,
			OutgoingTrend: c.MonthlyOutgoingLoanTrend, IncomingSources: c.NumberOfIncomingLoanSources,
			OutgoingSources: c.NumberOfOutgoingLoanSources}
		if lc.ExpenseCategoryID != nil {
			if t := titles.of(*lc.ExpenseCategoryID); t != "" {
				lc.Title = t
			}
		}
		out.Categories = append(out.Categories, lc)
	}
	return out
}

func risk(r *api.RiskInsights) *Risk {
	out := &Risk{Bailiffs: monthly(r.Bailiffs), DebtCollection: monthly(r.DebtCollection), Dishonours: monthly(r.Dishonours),
		LoanFines: monthly(r.LoanFines), Alimony: monthly(r.AlimonyPayments), Flags: []string{}}
	if g := r.Gambling; g != nil {
		out.Gambling = &Gambling{ShareOfSpending: g.GamblingToAllExpenses, Monthly: monthly(&api.CountAndSum{AverageCountAMonth: g.AverageCountAMonth, AverageSumAMonth: g.AverageSumAMonth}),
			DaysSinceLast: g.DaysSinceLastTransaction, Regularity: g.MonthlyRegularityOfGambling, Casino: g.RatioOfCasino,
			Lottery: g.RatioOfLottery, Betting: g.RatioOfBetting}
	}
	if c := r.Cash; c != nil {
		out.Cash = &Cash{Deposits: monthly(&api.CountAndSum{AverageCountAMonth: c.AverageCountOfCashDepositAMonth, AverageSumAMonth: c.AverageSumOfCashDepositAMonth}),
			Withdrawals:     monthly(&api.CountAndSum{AverageCountAMonth: c.AverageCountOfCashWithdrawalAMonth, AverageSumAMonth: c.AverageSumOfCashWithdrawalAMonth}),
			DepositToIncome: c.CashDepositToIncome, WithdrawalToIncome: c.CashWithdrawalToIncome, WithdrawalToSpending: c.CashWithdrawalToExpenses}
	}
	if b := r.Balance; b != nil {
		out.NetCashFlow, out.StatementStartBalance, out.StatementEndBalance = b.NetCashFlow, b.StatementStartBalance, b.StatementEndBalance
		out.MonthsStartBalance, out.MonthsEndBalance = b.CalendarMonthStartBalance, b.CalendarMonthEndBalance
	}
	flag := func(on bool, name string) {
		if on {
			out.Flags = append(out.Flags, name)
		}
	}
	flag(out.Gambling != nil && out.Gambling.Monthly != nil, FlagGambling)
	flag(out.Bailiffs != nil, FlagBailiffs)
	flag(out.DebtCollection != nil, FlagDebtCollection)
	flag(out.Dishonours != nil, FlagDishonours)
	flag(out.LoanFines != nil, FlagLoanFines)
	flag(out.NetCashFlow != nil && *out.NetCashFlow < 0, FlagNegativeNetFlow)
	flag(out.MonthsEndBalance != nil && *out.MonthsEndBalance < 0, FlagOverdrawn)
	return out
}

// monthly is a risk category's averages, nil when the API says there
// are none (null) or both are zero.
func monthly(c *api.CountAndSum) *Monthly {
	if c == nil || (c.AverageCountAMonth == nil && c.AverageSumAMonth == nil) {
		return nil
	}
	m := &Monthly{Count: orZero(c.AverageCountAMonth), Sum: orZero(c.AverageSumAMonth)}
	if m.Count == 0 && m.Sum == 0 {
		return nil
	}
	return m
}

// accountsCountry is the accounts' country when they agree on one.
func accountsCountry(c *api.Categorisation) string {
	country := ""
	for _, a := range c.Accounts {
		switch v := deref(a.Country); {
		case v == "":
		case country == "":
			country = v
		case country != v:
			return ""
		}
	}
	return country
}

// oneCurrency is the accounts' currency when they all have the same.
func oneCurrency(accs []Account) string {
	cur := ""
	for _, a := range accs {
		switch {
		case a.Currency == "":
		case cur == "":
			cur = a.Currency
		case cur != a.Currency:
			return ""
		}
	}
	return cur
}

// cents is an amount in whole cents, rounded half away from zero.
func cents(f float64) int64 { return int64(math.Round(f * 100)) }

// money is cents as an amount.
func money(c int64) float64 { return float64(c) / 100 }

func moneyPtr(c int64) *float64 { v := money(c); return &v }

// ratio is a/b to 4 decimals, 0 when b is 0.
func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return math.Round(float64(a)/float64(b)*1e4) / 1e4
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func orZero(p *float64) float64 { return deref(p) }

func positive(p *float64) bool { return p != nil && *p > 0 }
func positiveInt(p *int) bool  { return p != nil && *p > 0 }
func atoiPtr(s *string) *int {
	if s == nil {
		return nil
	}
	v, err := strconv.Atoi(*s)
	if err != nil {
		return nil
	}
	return &v
}
