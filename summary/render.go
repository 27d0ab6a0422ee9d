package summary

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// TopSpending is how many spending categories WriteText lists per account.
const TopSpending = 10

// WriteText writes the summary for a terminal: sections with aligned
// tables, money with its currency, no colour. The statement's text (and a
// dropped file's name) is untrusted: every control character but the
// newline, every bidirectional control and every byte that is not UTF-8 is
// written as a visible escape (\x1b, \u202e, \xff), so the text cannot
// move the cursor, retitle the window or reorder what is shown.
func (s *Summary) WriteText(w io.Writer) error {
	var text strings.Builder
	if err := s.writeText(&text); err != nil {
		return err
	}
	_, err := io.WriteString(w, terminalSafe(text.String()))
	return err
}

// terminalSafe escapes what WriteText must not write as it is.
func terminalSafe(s string) string {
	clean := true
	for _, r := range s {
		if unsafeRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unsafeRune(r) && r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// unsafeRune reports whether r is a control character other than the
// newline, a bidirectional control, or the mark of a byte that is not UTF-8.
func unsafeRune(r rune) bool {
	return r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == utf8.RuneError)
}

func (s *Summary) writeText(w io.Writer) error {
	b := bufio.NewWriter(w)
	title := cmpOr(s.Address, "report")
	if s.Output != "" {
		title += "  (" + s.Output + ")"
	}
	fmt.Fprintln(b, title)
	fmt.Fprintf(b, "products: %s\n", strings.Join(s.Products, ", "))
	var meta []string
	if s.Country != "" {
		meta = append(meta, "country "+s.Country)
	}
	if s.CategoryTreeVersion != "" {
		meta = append(meta, "category tree "+s.CategoryTreeVersion)
	}
	if s.Currency != "" {
		meta = append(meta, "insights in "+s.Currency)
	}
	if len(meta) > 0 {
		fmt.Fprintln(b, strings.Join(meta, ", "))
	}
	if s.Titles.Note != "" {
		fmt.Fprintf(b, "note: %s\n", s.Titles.Note)
	}
	if s.Score != nil {
		fmt.Fprintf(b, "\nScore: %d of 10\n", *s.Score)
	}
	if s.Income != nil {
		s.writeIncome(b)
	}
	if s.Loans != nil {
		s.writeLoans(b)
	}
	if s.Risk != nil {
		s.writeRisk(b)
	}
	for i := range s.Accounts {
		s.writeAccount(b, &s.Accounts[i])
	}
	return b.Flush()
}

func (s *Summary) writeIncome(b *bufio.Writer) {
	in := s.Income
	fmt.Fprintln(b, "\nIncome")
	months := "-"
	if in.MonthsWithIncome != nil && in.CalendarMonths != nil {
		months = fmt.Sprintf("%d of %d", *in.MonthsWithIncome, *in.CalendarMonths)
	}
	pairs(b, [][2]string{
		{"Average monthly income", s.money(in.AverageMonthly)},
		{"Average monthly discretionary", s.money(in.AverageMonthlyDiscretionary)},
		{"Months with income", months},
		{"Regularity", percent(in.Regularity)},
		{"Stability", percent(in.Stability)},
		{"Trend", trend(in.Trend)},
		{"Days since last income", integer(in.DaysSinceLast)},
		{"Average days between payments", decimal(in.AverageDaysBetween)},
		{"Debt to income", percent(in.DebtToIncome)},
	})
	if m := in.LastIncompleteMonth; m != nil {
		fmt.Fprintf(b, "  %s so far: %s received, %s expected still\n", m.Month, s.money(m.Received), s.money(m.ExpectedRemaining))
	}
	if len(in.Sources) == 0 {
		fmt.Fprintln(b, "  no income payments")
		return
	}
	t := table{head: []string{"SOURCE", "ID", "PAYMENTS", "AVG MONTHLY", "AVG PAYMENT", "DAYS SINCE LAST"}, right: []bool{false, true, true, true, true, true}}
	for _, src := range in.Sources {
		t.add(titleOr(src.Title), strconv.Itoa(src.CategoryID), integer(src.Payments), amount(src.AverageMonthly), amount(src.AveragePayment), integer(src.DaysSinceLast))
	}
	fmt.Fprintln(b)
	t.write(b, s.unit())
}

func (s *Summary) writeLoans(b *bufio.Writer) {
	l := s.Loans
	fmt.Fprintln(b, "\nLoans")
	pairs(b, [][2]string{
		{"Average monthly repayment", s.money(l.AverageMonthlyRepayment)},
		{"Months with loans in / out", integer(l.MonthsWithIncoming) + " / " + integer(l.MonthsWithOutgoing) + " of " + integer(l.CalendarMonths)},
		{"Lenders in / out", integer(l.IncomingSources) + " / " + integer(l.OutgoingSources)},
		{"Days since last loan in", integer(l.DaysSinceLastIncoming)},
		{"Trend in / out", trend(l.IncomingTrend) + " / " + trend(l.OutgoingTrend)},
	})
	if len(l.Categories) == 0 {
		fmt.Fprintln(b, "  no loans in or out")
		return
	}
	t := table{head: []string{"LENDER CATEGORY", "LENDERS IN", "LENDERS OUT", "REPAID MONTHLY", "SHARE", "DAYS SINCE LAST IN"}, right: []bool{false, true, true, true, true, true}}
	for _, c := range l.Categories {
		t.add(titleOr(c.Title), integer(c.IncomingSources), integer(c.OutgoingSources), amount(c.AverageMonthlyRepayment), percent(c.ShareOfRepayments), integer(c.DaysSinceLastIncoming))
	}
	fmt.Fprintln(b)
	t.write(b, s.unit())
}

func (s *Summary) writeRisk(b *bufio.Writer) {
	r := s.Risk
	fmt.Fprintln(b, "\nRisk signals")
	gambling := "none"
	if g := r.Gambling; g != nil && g.Monthly != nil {
		gambling = fmt.Sprintf("%s of spending, %s; last %s days ago; casino %s, lottery %s, betting %s",
			percent(g.ShareOfSpending), s.monthly(g.Monthly), integer(g.DaysSinceLast), percent(g.Casino), percent(g.Lottery), percent(g.Betting))
	}
	cash := "-"
	if c := r.Cash; c != nil {
		cash = fmt.Sprintf("withdrawals %s; deposits %s", s.monthly(c.Withdrawals), s.monthly(c.Deposits))
	}
	pairs(b, [][2]string{
		{"Gambling", gambling},
		{"Bailiffs", s.monthly(r.Bailiffs)},
		{"Debt collection", s.monthly(r.DebtCollection)},
		{"Dishonours", s.monthly(r.Dishonours)},
		{"Loan fines", s.monthly(r.LoanFines)},
		{"Alimony", s.monthly(r.Alimony)},
		{"Cash", cash},
		{"Net cash flow", s.money(r.NetCashFlow)},
		{"Balance over the months", s.money(r.MonthsStartBalance) + " to " + s.money(r.MonthsEndBalance)},
	})
	flags := "none"
	if len(r.Flags) > 0 {
		flags = strings.Join(r.Flags, ", ")
	}
	fmt.Fprintf(b, "  flags: %s\n", flags)
}

func (s *Summary) writeAccount(b *bufio.Writer, a *Account) {
	fmt.Fprintf(b, "\nAccount %s", cmpOr(a.Number, "(no number)"))
	var about []string
	if a.Bank != "" {
		about = append(about, a.Bank)
	}
	if len(a.Holders) > 0 {
		about = append(about, strings.Join(a.Holders, " and "))
	}
	if a.Joint {
		about = append(about, "joint")
	}
	if len(about) > 0 {
		fmt.Fprintf(b, " (%s)", strings.Join(about, ", "))
	}
	fmt.Fprintf(b, ", %s\n", cmpOr(a.Currency, "no currency"))
	fmt.Fprintf(b, "  %s to %s: %d transactions; balance %s to %s\n", cmpOr(a.PeriodStart, "-"), cmpOr(a.PeriodEnd, "-"), a.Transactions,
		moneyIn(a.StartBalance, a.Currency), moneyIn(a.EndBalance, a.Currency))
	if len(a.Months) > 0 {
		t := table{head: []string{"MONTH", "MONEY IN", "MONEY OUT", "NET", "END BALANCE"}, right: []bool{false, true, true, true, true}}
		for _, m := range a.Months {
			t.add(m.Month, amount(&m.MoneyIn), amount(&m.MoneyOut), amount(&m.Net), amount(m.EndBalance))
		}
		net := a.MoneyIn - a.MoneyOut
		t.add("total", amount(&a.MoneyIn), amount(&a.MoneyOut), amount(&net), amount(a.EndBalance))
		fmt.Fprintln(b)
		t.write(b, a.Currency)
	}
	if len(a.Spending) > 0 {
		n := min(len(a.Spending), TopSpending)
		fmt.Fprintf(b, "\n  Top spending categories (%d of %d)\n", n, len(a.Spending))
		t := table{head: []string{"CATEGORY", "ID", "TRANSACTIONS", "AMOUNT", "SHARE"}, right: []bool{false, true, true, true, true}}
		for _, c := range a.Spending[:n] {
			t.add(titleOr(c.Title), strconv.Itoa(c.CategoryID), strconv.Itoa(c.Count), amount(&c.Amount), percent(&c.Share))
		}
		t.write(b, a.Currency)
	}
}

// WriteCSV writes the categorised transactions, one a row, with a header:
// date, account, currency, amount (two decimals, negative for money out),
// category_id, category (its title; empty without a tree), partner,
// description, transaction_id.
//
// The text cells come from the statement, so a spreadsheet must not take
// them for formulas: a cell of text that starts with =, +, -, @, a tab or a
// carriage return is written with a leading apostrophe ('=HYPERLINK(…)),
// which spreadsheets show as text. The date, amount and category id are
// ledgerform's own and written as they are.
func (s *Summary) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"date", "account", "currency", "amount", "category_id", "category", "partner", "description", "transaction_id"})
	for _, t := range s.Transactions {
		cw.Write([]string{t.Date, csvText(t.Account), csvText(t.Currency), strconv.FormatFloat(t.Amount, 'f', 2, 64), strconv.Itoa(t.CategoryID),
			csvText(t.Category), csvText(t.Partner), csvText(t.Description), csvText(t.ID)})
	}
	cw.Flush()
	return cw.Error()
}

// csvText is a text cell that no spreadsheet reads as a formula.
func csvText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// unit is the currency of the insights' tables, for their heading.
func (s *Summary) unit() string { return s.Currency }

// money is an amount of the insights with their currency.
func (s *Summary) money(p *float64) string { return moneyIn(p, s.Currency) }

// monthly is a risk category's averages in words.
func (s *Summary) monthly(m *Monthly) string {
	if m == nil {
		return "none"
	}
	return fmt.Sprintf("%s a month, %s times a month", moneyIn(&m.Sum, s.Currency), plain(m.Count))
}

func moneyIn(p *float64, currency string) string {
	if p == nil {
		return "-"
	}
	if currency == "" {
		return amount(p)
	}
	return amount(p) + " " + currency
}

// amount is money with two decimals and thousands separated: -1,234.50.
func amount(p *float64) string {
	if p == nil {
		return "-"
	}
	c := int64(math.Round(math.Abs(*p) * 100))
	whole := strconv.FormatInt(c/100, 10)
	for i := len(whole) - 3; i > 0; i -= 3 {
		whole = whole[:i] + "," + whole[i:]
	}
	sign := ""
	if *p < 0 && c != 0 {
		sign = "-"
	}
	return fmt.Sprintf("%s%s.%02d", sign, whole, c%100)
}

// percent is a ratio (0 to 1) as a percentage with one decimal.
func percent(p *float64) string {
	if p == nil {
		return "-"
	}
	return strconv.FormatFloat(*p*100, 'f', 1, 64) + " %"
}

// trend is a monthly trend as a signed percentage a month.
func trend(p *float64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%+.1f %% a month", *p*100)
}

func integer(p *int) string {
	if p == nil {
		return "-"
	}
	return strconv.Itoa(*p)
}

func decimal(p *float64) string {
	if p == nil {
		return "-"
	}
	return plain(*p)
}

// plain is a number with as few decimals as it needs.
func plain(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// titleOr is a category's title, or "-" when titles are unavailable (the
// id is in a column of its own).
func titleOr(t string) string { return cmpOr(t, "-") }

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// pairs writes label–value lines, the values aligned.
func pairs(b *bufio.Writer, kv [][2]string) {
	width := 0
	for _, p := range kv {
		width = max(width, utf8.RuneCountInString(p[0]))
	}
	for _, p := range kv {
		fmt.Fprintf(b, "  %s%s  %s\n", p[0], strings.Repeat(" ", width-utf8.RuneCountInString(p[0])), p[1])
	}
}

// table is an aligned table; right marks the columns aligned right
// (numbers).
type table struct {
	head  []string
	right []bool
	rows  [][]string
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

// write writes the table indented by two spaces; a non-empty unit is
// noted after the header ("amounts in GBP").
func (t *table) write(b *bufio.Writer, unit string) {
	widths := make([]int, len(t.head))
	for _, r := range append([][]string{t.head}, t.rows...) {
		for i, c := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	line := func(r []string) {
		var sb strings.Builder
		sb.WriteString("  ")
		for i, c := range r {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			if i > 0 {
				sb.WriteString("  ")
			}
			if t.right[i] {
				sb.WriteString(pad + c)
			} else if i < len(r)-1 {
				sb.WriteString(c + pad)
			} else {
				sb.WriteString(c)
			}
		}
		fmt.Fprintln(b, sb.String())
	}
	line(t.head)
	for _, r := range t.rows {
		line(r)
	}
	if unit != "" {
		fmt.Fprintf(b, "  (amounts in %s)\n", unit)
	}
}
