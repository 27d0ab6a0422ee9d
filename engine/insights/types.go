package insights

import "github.com/ledgerform/ledgerform/engine/statement"

// A Ledger is the transactions of one account in one currency, categorised:
// the input of [Compute].
type Ledger struct {
	Currency      string          // ISO 4217 code; "" is the country's main currency
	Joint, Shared bool            // ownership as package statement detects it
	PeriodStart   *statement.Date // the period the statement declares, if any
	PeriodEnd     *statement.Date
	StartBalance  *statement.Money
	EndBalance    *statement.Money
	Transactions  []Transaction
}

// A Transaction is one categorised transaction of a ledger.
type Transaction struct {
	Date       statement.Date
	Amount     statement.Money // negative for money out
	CategoryID int
	Partner    string
	Info       string
}

// Options are the params of a processing request (docs/engine-contract.md,
// row 6); the zero value asks for the defaults.
type Options struct {
	Period            int    // the last N complete calendar months; 0 is all
	Currency          string // output currency; "" is the main currency
	DropShared        bool
	DropJoint         bool
	IncomeDefinition  []int // nil is DefaultIncomeDefinition
	ExpenseDefinition []int // nil is DefaultExpenseDefinition
}

// DefaultIncomeDefinition and DefaultExpenseDefinition are the documented
// defaults of income_definition and expense_definition (docs/api.md#params).
var (
	DefaultIncomeDefinition  = []int{5, 6, 7, 19, 20, 21, 85, 88, 279, 358, 426, 477, 733, 919, 1151, 2547}
	DefaultExpenseDefinition = []int{26, 29, 63, 97, 137, 467, 494}
)

// A Report is every analytics product of one statement.
type Report struct {
	Income *Income
	Loans  *Loans
	Risk   *Risk
	Score  int // simple-score, 1 to 10
}

// Income is the insights-income product (docs/api.md#insights-income). Keys are in the
// documented (alphabetical) order.
type Income struct {
	AverageDaysBetweenIncomePayments *float64                   `json:"average_days_between_income_payments"`
	AverageMonthlyDiscretionary      *statement.Money           `json:"average_monthly_discretionary_income"`
	AverageMonthlyIncome             *statement.Money           `json:"average_monthly_income"`
	CalendarMonths                   int                        `json:"calendar_months"`
	CalendarMonthsWithIncome         int                        `json:"calendar_months_with_income"`
	DaysSinceLastIncomePayment       *int                       `json:"days_since_last_income_payment"`
	DebtToIncomeRatio                *float64                   `json:"debt_to_income_ratio"`
	Definitions                      Definitions                `json:"definitions"`
	IncomeByCategory                 map[string]*CategoryIncome `json:"income_by_category"`
	LastIncompleteMonth              LastIncompleteMonth        `json:"last_incomplete_month"`
	MonthlyRegularity                *float64                   `json:"monthly_regularity"`
	MonthlyStability                 *float64                   `json:"monthly_stability"`
	MonthlyTrend                     *float64                   `json:"monthly_trend"`
}

// Definitions echo the income and expense definitions used.
type Definitions struct {
	Expenses []DefinedCategory `json:"expenses"`
	Income   []DefinedCategory `json:"income"`
}

// A DefinedCategory is one category of a definition; its id is a string,
// as the API sends it.
type DefinedCategory struct {
	CategoryID string `json:"category_id"`
	Title      string `json:"title"`
}

// CategoryIncome is the income of one category of the income definition.
type CategoryIncome struct {
	AverageIncomePayment       *statement.Money `json:"average_income_payment"`
	AverageMonthlyIncome       *statement.Money `json:"average_monthly_income"`
	DaysSinceLastIncomePayment *int             `json:"days_since_last_income_payment"`
	MedianIncomePayment        *statement.Money `json:"median_income_payment"`
	NumberOfIncomePayments     *int             `json:"number_of_income_payments"`
}

// LastIncompleteMonth is the income of the month after the window.
type LastIncompleteMonth struct {
	ExpectedRemainingIncome             *statement.Money `json:"expected_remaining_income"`
	Month                               *string          `json:"month"`
	ReceivedIncome                      statement.Money  `json:"received_income"`
	RemainingMonthlyDiscretionaryIncome *statement.Money `json:"remaining_monthly_discretionary_income"`
}

// Loans is the insights-loans product (docs/api.md#insights-loans).
type Loans struct {
	AverageMonthlyOutgoingLoanPayment *statement.Money `json:"average_monthly_outgoing_loan_payment"`
	CalendarMonths                    int              `json:"calendar_months"`
	CalendarMonthsWithIncomingLoans   int              `json:"calendar_months_with_incoming_loans"`
	CalendarMonthsWithOutgoingLoans   int              `json:"calendar_months_with_outgoing_loans"`
	DaysSinceLastIncomingLoan         *int             `json:"days_since_last_incoming_loan"`
	LoansByCategory                   []LoanCategory   `json:"loans_by_category"`
	MonthlyIncomingLoanTrend          *float64         `json:"monthly_incoming_loan_trend"`
	MonthlyOutgoingLoanTrend          *float64         `json:"monthly_outgoing_loan_trend"`
	NumberOfIncomingLoanSources       int              `json:"number_of_incoming_loan_sources"`
	NumberOfOutgoingLoanSources       int              `json:"number_of_outgoing_loan_sources"`
}

// LoanCategory is one kind of loan of the loans insights.
type LoanCategory struct {
	AverageMonthlyOutgoingLoanPayment  *statement.Money `json:"average_monthly_outgoing_loan_payment"`
	CategoryID                         LoanCategoryID   `json:"category_id"`
	CategoryTitle                      string           `json:"category_title"`
	DaysSinceLastIncomingLoan          *int             `json:"days_since_last_incoming_loan"`
	MonthlyIncomingLoanTrend           *float64         `json:"monthly_incoming_loan_trend"`
	MonthlyOutgoingLoanTrend           *float64         `json:"monthly_outgoing_loan_trend"`
	NumberOfIncomingLoanSources        *int             `json:"number_of_incoming_loan_sources"`
	NumberOfOutgoingLoanSources        int              `json:"number_of_outgoing_loan_sources"`
	RatioOfOutgoingLoanCategoryToLoans *float64         `json:"ratio_of_outgoing_loan_category_to_loans"`
}

// LoanCategoryID pairs the expense and income category of a kind of loan,
// as strings.
type LoanCategoryID struct {
	Expense *string `json:"expense"`
	Income  *string `json:"income"`
}

// Risk is the insights-risk product (docs/api.md#insights-risk).
type Risk struct {
	AlimonyPayments CountAndSum `json:"alimony_payments"`
	Bailiffs        CountAndSum `json:"bailiffs"`
	Balance         Balance     `json:"balance"`
	Cash            Cash        `json:"cash"`
	DebtCollection  CountAndSum `json:"debt_collection"`
	Dishonours      CountAndSum `json:"dishonours"`
	Gambling        Gambling    `json:"gambling"`
	LoanFines       CountAndSum `json:"loan_fines"`
}

// CountAndSum are the monthly averages of one risk category.
type CountAndSum struct {
	AverageCountAMonth *float64         `json:"average_count_a_month"`
	AverageSumAMonth   *statement.Money `json:"average_sum_a_month"`
}

// Balance is the balance object of the risk insights.
type Balance struct {
	CalendarMonthEndBalance   *statement.Money `json:"calendar_month_end_balance"`
	CalendarMonthStartBalance *statement.Money `json:"calendar_month_start_balance"`
	NetCashFlow               *statement.Money `json:"net_cash_flow"`
	StatementEndBalance       *statement.Money `json:"statement_end_balance"`
	StatementStartBalance     *statement.Money `json:"statement_start_balance"`
}

// Cash is the cash object of the risk insights.
type Cash struct {
	AverageCountOfCashDepositAMonth    *float64         `json:"average_count_of_cash_deposit_a_month"`
	AverageCountOfCashWithdrawalAMonth *float64         `json:"average_count_of_cash_withdrawal_a_month"`
	AverageSumOfCashDepositAMonth      *statement.Money `json:"average_sum_of_cash_deposit_a_month"`
	AverageSumOfCashWithdrawalAMonth   *statement.Money `json:"average_sum_of_cash_withdrawal_a_month"`
	CashDepositMonthlyTrend            *float64         `json:"cash_deposit_monthly_trend"`
	CashDepositToIncome                *float64         `json:"cash_deposit_to_income"`
	CashWithdrawalMonthlyTrend         *float64         `json:"cash_withdrawal_monthly_trend"`
	CashWithdrawalToExpenses           *float64         `json:"cash_withdrawal_to_expenses"`
	CashWithdrawalToIncome             *float64         `json:"cash_withdrawal_to_income"`
	StableMonthlyCashDeposits          *bool            `json:"stable_monthly_cash_deposits"`
}

// Gambling is the gambling object of the risk insights; ratio_of_betting
// is the engine's reading of the documentation's truncated eighth key.
type Gambling struct {
	AverageCountAMonth          *float64         `json:"average_count_a_month"`
	AverageSumAMonth            *statement.Money `json:"average_sum_a_month"`
	DaysSinceLastTransaction    *int             `json:"days_since_last_transaction"`
	GamblingToAllExpenses       *float64         `json:"gambling_to_all_expenses"`
	MonthlyRegularityOfGambling *float64         `json:"monthly_regularity_of_gambling"`
	RatioOfBetting              *float64         `json:"ratio_of_betting"`
	RatioOfCasino               *float64         `json:"ratio_of_casino"`
	RatioOfLottery              *float64         `json:"ratio_of_lottery"`
}
