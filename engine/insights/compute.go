package insights

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/ledgerform/ledgerform/engine/categorise"
	"github.com/ledgerform/ledgerform/engine/statement"
)

// Category ids the formulas name (package doc).
const (
	catLoansIn      = 22
	catLoansOut     = 79
	catCashDeposit  = 19
	catCashWithdraw = 83
	catCasino       = 4402
	catLottery      = 4404
	catBetting      = 4406
	catAlimony      = 137
	catBailiffs     = 136
	catDebtColl     = 138
	catDishonours   = 1402
	catLoanFines    = 562
	otherLoansTitle = "Other loans"
)

// Compute computes every product of the ledgers with opt over tree. main is
// the country's main currency (see Check, whose errors Compute returns).
// It does not modify ledgers and is safe for concurrent use.
func Compute(tree *categorise.Tree, ledgers []Ledger, opt Options, main string) (*Report, error) {
	kept, err := keep(ledgers, opt, main)
	if err != nil {
		return nil, err
	}
	to := opt.Currency
	if to == "" {
		to = main
	}
	incDef, err := definition(tree, opt.IncomeDefinition, DefaultIncomeDefinition, categorise.Income, "income_definition")
	if err != nil {
		return nil, err
	}
	expDef, err := definition(tree, opt.ExpenseDefinition, DefaultExpenseDefinition, categorise.Expense, "expense_definition")
	if err != nil {
		return nil, err
	}
	a := newAnalysis(tree, kept, opt.Period, to, incDef, expDef)
	a.run()
	r := &Report{Income: a.incomeProduct(), Loans: a.loansProduct(), Risk: a.riskProduct()}
	r.Score = Score(r.Income, r.Risk)
	return r, nil
}

// definition returns the sorted, deduplicated ids of a definition, each
// checked to be a category of the tree of type want.
func definition(tree *categorise.Tree, ids, def []int, want categorise.Type, param string) ([]int, error) {
	if ids == nil {
		ids = def
	}
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	for _, id := range ids {
		c, ok := tree.Lookup(id)
		if !ok {
			return nil, &ParamError{Param: param, Msg: fmt.Sprintf("%s: category %d is not in tree %s", param, id, tree.Version)}
		}
		if c.Type != want {
			return nil, &ParamError{Param: param, Msg: fmt.Sprintf("%s: category %d (%s) is an %s category", param, id, c.Title, c.Type)}
		}
	}
	return ids, nil
}

// month is a calendar month, counted as year·12 + month − 1.
type month int

func monthOf(d statement.Date) month {
	y, m, _ := d.Time().Date()
	return month(y*12 + int(m) - 1)
}

func (m month) first() statement.Date {
	return statement.DateOf(time.Date(int(m)/12, time.Month(int(m)%12+1), 1, 0, 0, 0, 0, time.UTC))
}

func (m month) String() string { return fmt.Sprintf("%04d-%02d", int(m)/12, int(m)%12+1) }

// loanKind is one element of loans_by_category.
type loanKind struct {
	expense, income int // income is 0 without an income side
	title           string
	out, in         []int64 // monthly totals of the window
	outSrc, inSrc   map[string]bool
	lastIn          *statement.Date
}

// tx is a transaction of a kept ledger, its amount converted.
type tx struct {
	date   statement.Date
	amount int64
	cat    int
	lender string
}

// analysis holds the sums of one Compute, filled by run in one pass.
type analysis struct {
	tree           *categorise.Tree
	ledgers        []Ledger
	to             string
	incDef, expDef []int

	hasDates       bool
	asOf           statement.Date
	first          month // first month of the window
	n              int   // months in the window
	last           month // the last incomplete month, first + n
	spanStart      statement.Date
	paths          map[int][]int // category → itself and its ancestors
	gamblingParent int

	// monthly totals of the window
	income, mandatory, debt, moneyOut []int64
	loansOut, loansIn, deposits       []int64
	withdrawals, gambling             []int64
	incomeByCat                       map[int][]int64
	gamblingKind                      map[int]int64
	risk                              map[int]*riskSums
	depositCount, withdrawalCount     int
	gamblingCount                     int
	netCashFlow                       int64

	// event span
	payments              map[int][]tx // income payments by definition category
	paymentDays           map[statement.Date]bool
	lastPayment           *statement.Date
	lastGambling          *statement.Date
	lastLoanIn            *statement.Date
	inSources, outSources map[string]bool
	kinds                 []*loanKind

	// last incomplete month
	received, spentMandatory int64

	// balances; ok is false when a ledger has no balance
	balanceOK                bool
	openAll, closeAll        int64
	windowStart, windowClose int64
}

type riskSums struct {
	count int
	total int64
}

func newAnalysis(tree *categorise.Tree, ledgers []Ledger, period int, to string, incDef, expDef []int) *analysis {
	a := &analysis{tree: tree, ledgers: ledgers, to: to, incDef: incDef, expDef: expDef,
		paths: map[int][]int{}, incomeByCat: map[int][]int64{}, gamblingKind: map[int]int64{},
		risk: map[int]*riskSums{}, payments: map[int][]tx{}, paymentDays: map[statement.Date]bool{},
		inSources: map[string]bool{}, outSources: map[string]bool{}, balanceOK: true}
	if c, ok := tree.Lookup(catCasino); ok {
		a.gamblingParent = c.ParentID
	}

	var start, end statement.Date
	widen := func(d statement.Date) {
		if !a.hasDates || d < start {
			start = d
		}
		if !a.hasDates || d > end {
			end = d
		}
		a.hasDates = true
	}
	for _, l := range ledgers {
		if l.PeriodStart != nil {
			widen(*l.PeriodStart)
		}
		if l.PeriodEnd != nil {
			widen(*l.PeriodEnd)
		}
		for _, t := range l.Transactions {
			widen(t.Date)
		}
	}
	a.asOf = end
	firstFull := monthOf(start)
	if start != firstFull.first() {
		firstFull++
	}
	a.last = monthOf(end + 1)
	available := max(0, int(a.last-firstFull))
	a.n = available
	if period > 0 && period < available {
		a.n = period
	}
	a.first = a.last - month(a.n)
	a.spanStart = a.first.first()

	mk := func() []int64 { return make([]int64, a.n) }
	a.income, a.mandatory, a.debt, a.moneyOut = mk(), mk(), mk(), mk()
	a.loansOut, a.loansIn, a.deposits = mk(), mk(), mk()
	a.withdrawals, a.gambling = mk(), mk()
	for _, id := range incDef {
		a.incomeByCat[id] = mk()
	}
	for _, id := range []int{catAlimony, catBailiffs, catDebtColl, catDishonours, catLoanFines} {
		a.risk[id] = &riskSums{}
	}
	a.kinds = loanKinds(tree)
	for _, k := range a.kinds {
		k.out, k.in = mk(), mk()
		k.outSrc, k.inSrc = map[string]bool{}, map[string]bool{}
	}
	return a
}

// documentedLoans are the loan categories of the documentation's example
// of loans_by_category, in its order: Fines, Other loans, Payday loans.
var documentedLoans = []int{catLoanFines, 81, 94}

// loanKinds are the children of 79, each paired with the child of 22 of the
// same title: first those of the documented example in its order, then the
// others by title.
func loanKinds(tree *categorise.Tree) []*loanKind {
	incomeByTitle := map[string]int{}
	var kinds []*loanKind
	for _, c := range tree.Categories() {
		switch c.ParentID {
		case catLoansIn:
			incomeByTitle[c.Title] = c.ID
		case catLoansOut:
			kinds = append(kinds, &loanKind{expense: c.ID, title: c.Title})
		}
	}
	for _, k := range kinds {
		k.income = incomeByTitle[k.title]
	}
	rank := func(k *loanKind) int {
		if i := slices.Index(documentedLoans, k.expense); i >= 0 {
			return i
		}
		return len(documentedLoans)
	}
	sort.SliceStable(kinds, func(i, j int) bool {
		if ri, rj := rank(kinds[i]), rank(kinds[j]); ri != rj {
			return ri < rj
		}
		return kinds[i].title < kinds[j].title
	})
	return kinds
}

// path returns the category and its ancestors, nearest first.
func (a *analysis) path(id int) []int {
	if p, ok := a.paths[id]; ok {
		return p
	}
	var p []int
	for cur := id; cur != 0; {
		p = append(p, cur)
		c, ok := a.tree.Lookup(cur)
		if !ok {
			break
		}
		cur = c.ParentID
	}
	a.paths[id] = p
	return p
}

// in reports whether category id is in category root.
func (a *analysis) in(id, root int) bool { return slices.Contains(a.path(id), root) }

// nearest returns the first category of the path of id that is in set, or 0.
func (a *analysis) nearest(id int, set []int) int {
	for _, c := range a.path(id) {
		if slices.Contains(set, c) {
			return c
		}
	}
	return 0
}

// kindOf returns the loan kind of a transaction, or nil for one that is no
// loan.
func (a *analysis) kindOf(t tx) *loanKind {
	root, incoming := catLoansOut, false
	if t.amount > 0 {
		root, incoming = catLoansIn, true
	}
	p := a.path(t.cat)
	i := slices.Index(p, root)
	if i < 0 {
		return nil
	}
	for _, k := range a.kinds {
		if i > 0 && ((!incoming && p[i-1] == k.expense) || (incoming && k.income != 0 && p[i-1] == k.income)) {
			return k
		}
	}
	for _, k := range a.kinds { // 79 or 22 itself, or an unpaired child of 22
		if k.title == otherLoansTitle {
			return k
		}
	}
	return nil
}

// lender is the normalised partner, or info when the partner is blank.
func lender(partner, info string) string {
	s := partner
	if strings.TrimSpace(s) == "" {
		s = info
	}
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func later(p *statement.Date, d statement.Date) *statement.Date {
	if p == nil || d > *p {
		return &d
	}
	return p
}

// run walks every transaction once and fills the sums.
func (a *analysis) run() {
	if !a.hasDates {
		a.balanceOK = false
		return
	}
	windowEnd := a.last.first() // the day after the window
	for _, l := range a.ledgers {
		var net int64
		for _, t := range l.Transactions {
			net += int64(t.Amount)
		}
		var open, closing statement.Money
		switch {
		case l.StartBalance != nil:
			open = *l.StartBalance
			closing = open + statement.Money(net)
			if l.EndBalance != nil {
				closing = *l.EndBalance
			}
		case l.EndBalance != nil:
			closing = *l.EndBalance
			open = closing - statement.Money(net)
		default:
			a.balanceOK = false
		}
		a.openAll += int64(convert(open, l.Currency, a.to))
		a.closeAll += int64(convert(closing, l.Currency, a.to))
		a.windowStart += int64(convert(open, l.Currency, a.to))
		a.windowClose += int64(convert(open, l.Currency, a.to))

		for _, lt := range l.Transactions {
			t := tx{date: lt.Date, amount: int64(convert(lt.Amount, l.Currency, a.to)), cat: lt.CategoryID}
			if t.date < a.spanStart {
				a.windowStart += t.amount
			}
			if t.date < windowEnd {
				a.windowClose += t.amount
			}
			t.lender = lender(lt.Partner, lt.Info)
			a.add(t, windowEnd)
		}
	}
}

// add adds one transaction to the sums.
func (a *analysis) add(t tx, windowEnd statement.Date) {
	if t.date < a.spanStart || t.date > a.asOf {
		return
	}
	inWindow := t.date < windowEnd
	m := int(monthOf(t.date) - a.first)
	out := -t.amount // money out as a positive number
	incCat := 0
	if t.amount > 0 {
		incCat = a.nearest(t.cat, a.incDef)
	}
	mandatory := t.amount < 0 && a.nearest(t.cat, a.expDef) != 0

	// event figures
	if incCat != 0 {
		a.payments[incCat] = append(a.payments[incCat], t)
		a.paymentDays[t.date] = true
		a.lastPayment = later(a.lastPayment, t.date)
	}
	gamblingKind := 0
	if t.amount < 0 {
		for _, k := range []int{catCasino, catLottery, catBetting, a.gamblingParent} {
			if k != 0 && a.in(t.cat, k) {
				gamblingKind = k
				break
			}
		}
	}
	if gamblingKind != 0 {
		a.lastGambling = later(a.lastGambling, t.date)
	}
	kind := a.kindOf(t)
	if kind != nil && t.amount > 0 {
		kind.inSrc[t.lender], a.inSources[t.lender] = true, true
		kind.lastIn = later(kind.lastIn, t.date)
		a.lastLoanIn = later(a.lastLoanIn, t.date)
	}
	if kind != nil && t.amount < 0 {
		kind.outSrc[t.lender], a.outSources[t.lender] = true, true
	}

	if !inWindow { // the last incomplete month
		if incCat != 0 {
			a.received += t.amount
		}
		if mandatory {
			a.spentMandatory += out
		}
		return
	}

	// monthly figures
	a.netCashFlow += t.amount
	if incCat != 0 {
		a.income[m] += t.amount
		a.incomeByCat[incCat][m] += t.amount
	}
	if t.amount > 0 && a.in(t.cat, catCashDeposit) {
		a.deposits[m] += t.amount
		a.depositCount++
	}
	if t.amount >= 0 {
		if kind != nil {
			a.loansIn[m] += t.amount
			kind.in[m] += t.amount
		}
		return
	}
	a.moneyOut[m] += out
	if mandatory {
		a.mandatory[m] += out
	}
	if kind != nil {
		a.debt[m] += out
		a.loansOut[m] += out
		kind.out[m] += out
	}
	if a.in(t.cat, catCashWithdraw) {
		a.withdrawals[m] += out
		a.withdrawalCount++
	}
	if gamblingKind != 0 {
		a.gambling[m] += out
		a.gamblingCount++
		a.gamblingKind[gamblingKind] += out
	}
	for id, s := range a.risk {
		if a.in(t.cat, id) {
			s.count++
			s.total += out
		}
	}
}

func (a *analysis) daysSince(d *statement.Date) *int {
	if d == nil {
		return nil
	}
	return intp(int(a.asOf - *d))
}

func monthsWith(ys []int64) int {
	n := 0
	for _, y := range ys {
		if y != 0 {
			n++
		}
	}
	return n
}

func (a *analysis) title(id int) string {
	c, _ := a.tree.Lookup(id)
	return c.Title
}

func (a *analysis) incomeProduct() *Income {
	in := &Income{CalendarMonths: a.n, IncomeByCategory: map[string]*CategoryIncome{}}
	total := sum(a.income)
	in.AverageMonthlyIncome = avgMoney(total, a.n)
	in.AverageMonthlyDiscretionary = avgMoney(total-sum(a.mandatory), a.n)
	in.CalendarMonthsWithIncome = monthsWith(a.income)
	days := make([]statement.Date, 0, len(a.paymentDays))
	for d := range a.paymentDays {
		days = append(days, d)
	}
	slices.Sort(days)
	if k := len(days); k >= 2 {
		in.AverageDaysBetweenIncomePayments = perMonth(int(days[k-1]-days[0]), k-1)
	}
	in.DaysSinceLastIncomePayment = a.daysSince(a.lastPayment)
	in.DebtToIncomeRatio = ratio(sum(a.debt), total)
	if a.n > 0 {
		in.MonthlyRegularity = ratio(int64(in.CalendarMonthsWithIncome), int64(a.n))
	}
	in.MonthlyStability = stability(a.income)
	in.MonthlyTrend = trend(a.income)

	in.Definitions.Income = make([]DefinedCategory, 0, len(a.incDef))
	for _, id := range a.incDef {
		in.Definitions.Income = append(in.Definitions.Income, DefinedCategory{strconv.Itoa(id), a.title(id)})
		ci := &CategoryIncome{}
		in.IncomeByCategory[strconv.Itoa(id)] = ci
		ps := a.payments[id]
		if len(ps) == 0 {
			continue
		}
		amounts := make([]int64, len(ps))
		var last *statement.Date
		for i, p := range ps {
			amounts[i] = p.amount
			last = later(last, p.date)
		}
		slices.Sort(amounts)
		ci.NumberOfIncomePayments = intp(len(ps))
		ci.AverageIncomePayment = avgMoney(sum(amounts), len(ps))
		if k := len(amounts); k%2 == 1 {
			ci.MedianIncomePayment = money(amounts[k/2])
		} else {
			ci.MedianIncomePayment = money(roundDiv(amounts[k/2-1]+amounts[k/2], 2))
		}
		ci.AverageMonthlyIncome = avgMoney(sum(a.incomeByCat[id]), a.n)
		ci.DaysSinceLastIncomePayment = a.daysSince(last)
	}
	in.Definitions.Expenses = make([]DefinedCategory, 0, len(a.expDef))
	for _, id := range a.expDef {
		in.Definitions.Expenses = append(in.Definitions.Expenses, DefinedCategory{strconv.Itoa(id), a.title(id)})
	}

	lim := &in.LastIncompleteMonth
	if a.hasDates {
		s := a.last.String()
		lim.Month = &s
	}
	lim.ReceivedIncome = statement.Money(a.received)
	if avg := in.AverageMonthlyIncome; avg != nil {
		lim.ExpectedRemainingIncome = money(max(0, int64(*avg)-a.received))
		lim.RemainingMonthlyDiscretionaryIncome = money(remainingDiscretionary(
			a.received+int64(*lim.ExpectedRemainingIncome), a.spentMandatory, sum(a.mandatory), int64(a.n)))
	}
	return in
}

// remainingDiscretionary is expected − max(spent, mandatory / n) rounded
// once, to the cent: the average monthly mandatory spending is not a
// published figure, so it is not rounded on its own first. n > 0.
func remainingDiscretionary(expected, spent, mandatory, n int64) int64 {
	if spent*n >= mandatory {
		return expected - spent
	}
	return roundDiv(expected*n-mandatory, n)
}

func (a *analysis) loansProduct() *Loans {
	lo := &Loans{CalendarMonths: a.n}
	allOut := sum(a.loansOut)
	lo.AverageMonthlyOutgoingLoanPayment = avgMoney(allOut, a.n)
	lo.CalendarMonthsWithIncomingLoans = monthsWith(a.loansIn)
	lo.CalendarMonthsWithOutgoingLoans = monthsWith(a.loansOut)
	lo.DaysSinceLastIncomingLoan = a.daysSince(a.lastLoanIn)
	lo.MonthlyIncomingLoanTrend = trend(a.loansIn)
	lo.MonthlyOutgoingLoanTrend = trend(a.loansOut)
	lo.NumberOfIncomingLoanSources = len(a.inSources)
	lo.NumberOfOutgoingLoanSources = len(a.outSources)
	lo.LoansByCategory = make([]LoanCategory, 0, len(a.kinds))
	for _, k := range a.kinds {
		exp := strconv.Itoa(k.expense)
		lc := LoanCategory{CategoryID: LoanCategoryID{Expense: &exp}, CategoryTitle: k.title,
			DaysSinceLastIncomingLoan: a.daysSince(k.lastIn),
			MonthlyIncomingLoanTrend:  trend(k.in), MonthlyOutgoingLoanTrend: trend(k.out),
			NumberOfOutgoingLoanSources:        len(k.outSrc),
			RatioOfOutgoingLoanCategoryToLoans: ratio(sum(k.out), allOut)}
		if k.income != 0 {
			inc := strconv.Itoa(k.income)
			lc.CategoryID.Income = &inc
			lc.NumberOfIncomingLoanSources = intp(len(k.inSrc))
		}
		if total := sum(k.out); total != 0 {
			lc.AverageMonthlyOutgoingLoanPayment = avgMoney(total, a.n)
		}
		lo.LoansByCategory = append(lo.LoansByCategory, lc)
	}
	return lo
}

func (a *analysis) countAndSum(count int, total int64) CountAndSum {
	if count == 0 {
		return CountAndSum{}
	}
	return CountAndSum{AverageCountAMonth: perMonth(count, a.n), AverageSumAMonth: avgMoney(total, a.n)}
}

func (a *analysis) riskProduct() *Risk {
	r := &Risk{}
	cs := func(id int) CountAndSum { return a.countAndSum(a.risk[id].count, a.risk[id].total) }
	r.AlimonyPayments, r.Bailiffs, r.DebtCollection = cs(catAlimony), cs(catBailiffs), cs(catDebtColl)
	r.Dishonours, r.LoanFines = cs(catDishonours), cs(catLoanFines)

	if a.balanceOK {
		r.Balance.StatementStartBalance, r.Balance.StatementEndBalance = money(a.openAll), money(a.closeAll)
		if a.n > 0 {
			r.Balance.CalendarMonthStartBalance = money(a.windowStart)
			r.Balance.CalendarMonthEndBalance = money(a.windowClose)
		}
	}
	if a.n > 0 {
		r.Balance.NetCashFlow = money(a.netCashFlow)
	}

	income, moneyOut := sum(a.income), sum(a.moneyOut)
	deposits, withdrawals := sum(a.deposits), sum(a.withdrawals)
	c := &r.Cash
	dep, wd := a.countAndSum(a.depositCount, deposits), a.countAndSum(a.withdrawalCount, withdrawals)
	c.AverageCountOfCashDepositAMonth, c.AverageSumOfCashDepositAMonth = dep.AverageCountAMonth, dep.AverageSumAMonth
	c.AverageCountOfCashWithdrawalAMonth, c.AverageSumOfCashWithdrawalAMonth = wd.AverageCountAMonth, wd.AverageSumAMonth
	c.CashDepositMonthlyTrend = trend(a.deposits)
	c.CashWithdrawalMonthlyTrend = trend(a.withdrawals)
	c.CashDepositToIncome = ratio(deposits, income)
	c.CashWithdrawalToIncome = ratio(withdrawals, income)
	c.CashWithdrawalToExpenses = ratio(withdrawals, moneyOut)
	if a.n > 0 {
		st := stability(a.deposits)
		stable := monthsWith(a.deposits) == a.n && st != nil && *st >= 0.8
		c.StableMonthlyCashDeposits = &stable
	}

	g := &r.Gambling
	gambling := sum(a.gambling)
	gcs := a.countAndSum(a.gamblingCount, gambling)
	g.AverageCountAMonth, g.AverageSumAMonth = gcs.AverageCountAMonth, gcs.AverageSumAMonth
	g.DaysSinceLastTransaction = a.daysSince(a.lastGambling)
	g.GamblingToAllExpenses = ratio(gambling, moneyOut)
	if a.n > 0 {
		g.MonthlyRegularityOfGambling = ratio(int64(monthsWith(a.gambling)), int64(a.n))
	}
	g.RatioOfCasino = ratio(a.gamblingKind[catCasino], gambling)
	g.RatioOfLottery = ratio(a.gamblingKind[catLottery], gambling)
	g.RatioOfBetting = ratio(a.gamblingKind[catBetting], gambling)
	return r
}
