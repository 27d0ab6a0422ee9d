package summary

// Summary is the readable content of one completed report's result. The
// zero value of a section (nil) means the report did not ask for that
// product. Amounts are float64 in the currency's units, rounded to the
// cent.
type Summary struct {
	// Address and Output name the report and its output file, as the
	// caller gave them (Options); empty if not given.
	Address string `json:"address,omitempty"`
	Output  string `json:"output,omitempty"`
	// Country is the country the report was processed for.
	Country string `json:"country,omitempty"`
	// Currency is the currency of the Income, Loans and Risk amounts.
	Currency string `json:"currency,omitempty"`
	// Products are the products the result holds, in the order
	// categorisation, insights-income, insights-loans, insights-risk,
	// simple-score.
	Products []string `json:"products"`
	// CategoryTreeVersion is the tree the result was categorised with.
	CategoryTreeVersion string `json:"category_tree_version,omitempty"`
	Titles              Titles `json:"titles"`

	Score        *int          `json:"score,omitempty"`
	Income       *Income       `json:"income,omitempty"`
	Loans        *Loans        `json:"loans,omitempty"`
	Risk         *Risk         `json:"risk,omitempty"`
	Accounts     []Account     `json:"accounts,omitempty"`
	Transactions []Transaction `json:"transactions,omitempty"`
}

// Titles says where the category titles come from.
type Titles struct {
	// Available is true when a category tree gave the titles.
	Available bool `json:"available"`
	// Source is where the titles come from: SourceTree, SourceResult
	// (the titles the result carries itself, when no tree is at hand),
	// or empty: none, categories are shown by id.
	Source string `json:"source,omitempty"`
	// TreeVersion is the version of that tree; it may differ from the
	// result's CategoryTreeVersion (Note then says so).
	TreeVersion string `json:"tree_version,omitempty"`
	// Note explains missing or possibly stale titles, for people.
	Note string `json:"note,omitempty"`
}

// Where titles come from (Titles.Source).
const (
	SourceTree   = "category tree"
	SourceResult = "result"
)

// Income is the insights-income product.
type Income struct {
	AverageMonthly              *float64 `json:"average_monthly"`
	AverageMonthlyDiscretionary *float64 `json:"average_monthly_discretionary"`
	CalendarMonths              *int     `json:"calendar_months"`
	MonthsWithIncome            *int     `json:"months_with_income"`
	// Regularity is the share of months with income (0 to 1), Stability
	// 1 for the same income every month down to 0, Trend the change per
	// month as a fraction of an average month.
	Regularity         *float64 `json:"regularity"`
	Stability          *float64 `json:"stability"`
	Trend              *float64 `json:"trend"`
	DaysSinceLast      *int     `json:"days_since_last"`
	AverageDaysBetween *float64 `json:"average_days_between"`
	DebtToIncome       *float64 `json:"debt_to_income"`
	// Sources are the income categories with at least one payment,
	// largest average monthly income first.
	Sources []IncomeSource `json:"sources"`
	// LastIncompleteMonth is the month the statement ends in, if any.
	LastIncompleteMonth *IncompleteMonth `json:"last_incomplete_month,omitempty"`
}

// IncomeSource is the income of one category.
type IncomeSource struct {
	CategoryID     int      `json:"category_id"`
	Title          string   `json:"title,omitempty"`
	AverageMonthly *float64 `json:"average_monthly"`
	AveragePayment *float64 `json:"average_payment"`
	MedianPayment  *float64 `json:"median_payment"`
	Payments       *int     `json:"payments"`
	DaysSinceLast  *int     `json:"days_since_last"`
}

// IncompleteMonth is the income of the month the statement ends in.
type IncompleteMonth struct {
	Month                  string   `json:"month"`
	Received               *float64 `json:"received"`
	ExpectedRemaining      *float64 `json:"expected_remaining"`
	RemainingDiscretionary *float64 `json:"remaining_discretionary"`
}

// Loans is the insights-loans product.
type Loans struct {
	AverageMonthlyRepayment *float64       `json:"average_monthly_repayment"`
	CalendarMonths          *int           `json:"calendar_months"`
	MonthsWithIncoming      *int           `json:"months_with_incoming"`
	MonthsWithOutgoing      *int           `json:"months_with_outgoing"`
	DaysSinceLastIncoming   *int           `json:"days_since_last_incoming"`
	IncomingTrend           *float64       `json:"incoming_trend"`
	OutgoingTrend           *float64       `json:"outgoing_trend"`
	IncomingSources         *int           `json:"incoming_sources"`
	OutgoingSources         *int           `json:"outgoing_sources"`
	Categories              []LoanCategory `json:"categories"`
}

// LoanCategory is one kind of lender, with money in (loans taken) and out
// (repayments).
type LoanCategory struct {
	Title             string `json:"title,omitempty"`
	ExpenseCategoryID *int   `json:"expense_category_id"`
	IncomeCategoryID  *int   `json:"income_category_id"`
	// AverageMonthlyRepayment is money out a month; ShareOfRepayments its
	// share of all repayments (0 to 1).
	AverageMonthlyRepayment *float64 `json:"average_monthly_repayment"`
	ShareOfRepayments       *float64 `json:"share_of_repayments"`
	DaysSinceLastIncoming   *int     `json:"days_since_last_incoming"`
	IncomingTrend           *float64 `json:"incoming_trend"`
	OutgoingTrend           *float64 `json:"outgoing_trend"`
	IncomingSources         *int     `json:"incoming_sources"`
	OutgoingSources         *int     `json:"outgoing_sources"`
}

// Risk is the insights-risk product.
type Risk struct {
	Gambling       *Gambling `json:"gambling"`
	Bailiffs       *Monthly  `json:"bailiffs"`
	DebtCollection *Monthly  `json:"debt_collection"`
	Dishonours     *Monthly  `json:"dishonours"`
	LoanFines      *Monthly  `json:"loan_fines"`
	Alimony        *Monthly  `json:"alimony"`
	Cash           *Cash     `json:"cash"`
	// NetCashFlow is the money in less money out over the insights'
	// months; the balances are those of the statement and of those months.
	NetCashFlow           *float64 `json:"net_cash_flow"`
	StatementStartBalance *float64 `json:"statement_start_balance"`
	StatementEndBalance   *float64 `json:"statement_end_balance"`
	MonthsStartBalance    *float64 `json:"months_start_balance"`
	MonthsEndBalance      *float64 `json:"months_end_balance"`
	// Flags name the signals present, in the order gambling, bailiffs,
	// debt_collection, dishonours, loan_fines, negative_net_cash_flow,
	// overdrawn (the months end below zero); empty when none is.
	Flags []string `json:"flags"`
}

// The flags of Risk.Flags.
const (
	FlagGambling        = "gambling"
	FlagBailiffs        = "bailiffs"
	FlagDebtCollection  = "debt_collection"
	FlagDishonours      = "dishonours"
	FlagLoanFines       = "loan_fines"
	FlagNegativeNetFlow = "negative_net_cash_flow"
	FlagOverdrawn       = "overdrawn"
)

// Monthly is a risk category's monthly averages; nil when the months
// have none of it.
type Monthly struct {
	Count float64 `json:"average_count"`
	Sum   float64 `json:"average_sum"`
}

// Gambling is the gambling part of the risk insights.
type Gambling struct {
	// ShareOfSpending is gambling over all money out (0 to 1).
	ShareOfSpending *float64 `json:"share_of_spending"`
	Monthly         *Monthly `json:"monthly"`
	DaysSinceLast   *int     `json:"days_since_last"`
	Regularity      *float64 `json:"regularity"`
	Casino          *float64 `json:"casino"`
	Lottery         *float64 `json:"lottery"`
	Betting         *float64 `json:"betting"`
}

// Cash is the cash part of the risk insights.
type Cash struct {
	Deposits             *Monthly `json:"deposits"`
	Withdrawals          *Monthly `json:"withdrawals"`
	DepositToIncome      *float64 `json:"deposit_to_income"`
	WithdrawalToIncome   *float64 `json:"withdrawal_to_income"`
	WithdrawalToSpending *float64 `json:"withdrawal_to_spending"`
}

// Account is one account in one currency, from the categorisation.
type Account struct {
	Number      string   `json:"number,omitempty"`
	Bank        string   `json:"bank,omitempty"`
	Holders     []string `json:"holders,omitempty"`
	Joint       bool     `json:"joint,omitempty"`
	Currency    string   `json:"currency,omitempty"`
	PeriodStart string   `json:"period_start,omitempty"`
	PeriodEnd   string   `json:"period_end,omitempty"`
	// StartBalance and EndBalance are nil when the statement gives
	// neither.
	StartBalance *float64 `json:"start_balance"`
	EndBalance   *float64 `json:"end_balance"`
	MoneyIn      float64  `json:"money_in"`
	MoneyOut     float64  `json:"money_out"`
	Transactions int      `json:"transactions"`
	// Months is every calendar month from the first transaction's to the
	// last's, oldest first.
	Months []Month `json:"months"`
	// Balance is the balance at the end of each day with a transaction,
	// oldest first; empty without balances.
	Balance []BalancePoint `json:"balance"`
	// Spending is money out by category, largest first.
	Spending []CategoryAmount `json:"spending"`
}

// Month is one calendar month of an account's cash flow.
type Month struct {
	Month    string  `json:"month"` // YYYY-MM
	MoneyIn  float64 `json:"money_in"`
	MoneyOut float64 `json:"money_out"` // positive
	Net      float64 `json:"net"`       // MoneyIn − MoneyOut
	// EndBalance is the balance after the month's last day; nil without
	// balances.
	EndBalance   *float64 `json:"end_balance"`
	Transactions int      `json:"transactions"`
}

// BalancePoint is the balance at the end of a day.
type BalancePoint struct {
	Date    string  `json:"date"` // YYYY-MM-DD
	Balance float64 `json:"balance"`
}

// CategoryAmount is the money out of one category.
type CategoryAmount struct {
	CategoryID int     `json:"category_id"`
	Title      string  `json:"title,omitempty"`
	Amount     float64 `json:"amount"` // positive
	Count      int     `json:"count"`
	// Share is Amount over the account's money out (0 to 1, 4 decimals).
	Share float64 `json:"share"`
}

// Transaction is one categorised transaction.
type Transaction struct {
	Date        string  `json:"date"`
	Account     string  `json:"account,omitempty"` // the account number
	Currency    string  `json:"currency,omitempty"`
	Amount      float64 `json:"amount"` // negative: money out
	CategoryID  int     `json:"category_id"`
	Category    string  `json:"category,omitempty"` // its title
	Partner     string  `json:"partner,omitempty"`
	Description string  `json:"description,omitempty"`
	ID          string  `json:"id,omitempty"`
}
