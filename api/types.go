package api

import (
	"time"

	"github.com/ledgerform/ledgerform/report"
)

// The typed requests and answers of the API (docs/api.md: Upload, Process,
// Params, Result, Products). Keys that the documentation lists as optional
// are nullable here (pointers). Amounts are float64, as the API sends them;
// a Result keeps the raw body as well, for output files that must hold
// exactly what the API returned.
//
// These types are the client's alone; the engine declares its own for the
// same wire format, and the two are kept apart on purpose. The engine is an
// independent implementation of the protocol, so a bug in one shared struct
// (a misspelt key, a wrong type) cannot hide itself by making both sides
// agree: the client's tests against the engine would pass while the real
// service refused the request.

// File is one statement file of an upload.
type File struct {
	Name string // the file name sent in the multipart part
	Data []byte
}

// Upload is the answer of POST /v2/report: the pre-processing record.
type Upload struct {
	RequestID           string   // the upload id, for Process
	Status              string   // "completed": parsed
	AvailableOperations []string // what the client's contract enables
}

// ProcessRequest is the body of PUT /v2/report/process/{id}.
type ProcessRequest struct {
	Country    string         `json:"country"`
	Operations []string       `json:"operations"`
	Params     *report.Params `json:"params,omitempty"` // the manifests' params, sent as they are
	UseWebhook bool           `json:"use_webhook,omitempty"`
}

// Processing is the answer of PUT /v2/report/process/{id}: the id to poll.
type Processing struct {
	RequestID string // the processing id, for Result
	Status    string // "queued"
}

// Result is the answer of GET /v2/report/{id}.
type Result struct {
	// Status is "completed" when the products are present; anything else
	// without an error ("queued", "processing") means not yet.
	Status         string
	Categorisation *Categorisation
	Income         *IncomeInsights
	Loans          *LoansInsights
	Risk           *RiskInsights
	SimpleScore    *int
	// Raw is the whole body of the answer, byte for byte.
	Raw []byte
	// RetryAfter is the answer's Retry-After, if it had one: for a result
	// not ready yet, when the API suggests asking again.
	RetryAfter time.Duration
}

// Done reports whether the products are ready.
func (r *Result) Done() bool { return r.Status == "completed" }

// Categorisation is the categorisation product (docs/api.md#categorisation).
type Categorisation struct {
	Accounts            []Account `json:"accounts"`
	CategoryTreeVersion *string   `json:"category_tree_version"`
}

// Account is one account of a categorisation.
type Account struct {
	AccountNumber     *string    `json:"account_number"`
	Bank              *string    `json:"bank"`
	Country           *string    `json:"country"`
	Currencies        []Currency `json:"currencies"`
	Holders           []Holder   `json:"holders"`
	IsJointOwnership  *bool      `json:"is_joint_ownership"`
	IsSharedOwnership *bool      `json:"is_shared_ownership"`
	PeriodStart       *string    `json:"period_start"`
	PeriodEnd         *string    `json:"period_end"`
}

// Holder is one holder of an account.
type Holder struct {
	Name *string `json:"name"`
}

// Currency is an account's transactions in one currency.
type Currency struct {
	Code           *string       `json:"code"`
	StartBalance   *float64      `json:"start_balance"`
	EndBalance     *float64      `json:"end_balance"`
	CreditTurnover *float64      `json:"credit_turnover"`
	DebitTurnover  *float64      `json:"debit_turnover"`
	Transactions   []Transaction `json:"transactions"`
}

// Transaction is one categorised transaction.
type Transaction struct {
	Amount        float64 `json:"amount"`
	CategoryID    int     `json:"category_id"`
	Title         string  `json:"title"`
	Date          string  `json:"date"`
	Info          *string `json:"info"`
	Partner       *string `json:"partner"`
	TransactionID *string `json:"transaction_id"`
}

// IncomeInsights is the insights-income product (docs/api.md#insights-income).
type IncomeInsights struct {
	AverageDaysBetweenIncomePayments *float64                  `json:"average_days_between_income_payments"`
	AverageMonthlyDiscretionary      *float64                  `json:"average_monthly_discretionary_income"`
	AverageMonthlyIncome             *float64                  `json:"average_monthly_income"`
	CalendarMonths                   *int                      `json:"calendar_months"`
	CalendarMonthsWithIncome         *int                      `json:"calendar_months_with_income"`
	DaysSinceLastIncomePayment       *int                      `json:"days_since_last_income_payment"`
	DebtToIncomeRatio                *float64                  `json:"debt_to_income_ratio"`
	Definitions                      *Definitions              `json:"definitions"`
	IncomeByCategory                 map[string]CategoryIncome `json:"income_by_category"`
	LastIncompleteMonth              *LastIncompleteMonth      `json:"last_incomplete_month"`
	MonthlyRegularity                *float64                  `json:"monthly_regularity"`
	MonthlyStability                 *float64                  `json:"monthly_stability"`
	MonthlyTrend                     *float64                  `json:"monthly_trend"`
}

// Definitions echo the categories counted as income and as expenses; the
// ids are strings here, as the API sends them.
type Definitions struct {
	Income   []DefinedCategory `json:"income"`
	Expenses []DefinedCategory `json:"expenses"`
}

// DefinedCategory is one category of a definition.
type DefinedCategory struct {
	CategoryID string `json:"category_id"`
	Title      string `json:"title"`
}

// CategoryIncome is the income of one category.
type CategoryIncome struct {
	AverageIncomePayment       *float64 `json:"average_income_payment"`
	AverageMonthlyIncome       *float64 `json:"average_monthly_income"`
	DaysSinceLastIncomePayment *int     `json:"days_since_last_income_payment"`
	MedianIncomePayment        *float64 `json:"median_income_payment"`
	NumberOfIncomePayments     *int     `json:"number_of_income_payments"`
}

// LastIncompleteMonth is the income of the month the statement ends in.
type LastIncompleteMonth struct {
	Month                               *string  `json:"month"`
	ReceivedIncome                      *float64 `json:"received_income"`
	ExpectedRemainingIncome             *float64 `json:"expected_remaining_income"`
	RemainingMonthlyDiscretionaryIncome *float64 `json:"remaining_monthly_discretionary_income"`
}

// LoansInsights is the insights-loans product (docs/api.md#insights-loans).
// The last four keys are the documentation's inferred statement-wide figures.
type LoansInsights struct {
	AverageMonthlyOutgoingLoanPayment *float64       `json:"average_monthly_outgoing_loan_payment"`
	CalendarMonths                    *int           `json:"calendar_months"`
	CalendarMonthsWithIncomingLoans   *int           `json:"calendar_months_with_incoming_loans"`
	CalendarMonthsWithOutgoingLoans   *int           `json:"calendar_months_with_outgoing_loans"`
	DaysSinceLastIncomingLoan         *int           `json:"days_since_last_incoming_loan"`
	LoansByCategory                   []LoanCategory `json:"loans_by_category"`
	MonthlyIncomingLoanTrend          *float64       `json:"monthly_incoming_loan_trend"`
	MonthlyOutgoingLoanTrend          *float64       `json:"monthly_outgoing_loan_trend"`
	NumberOfIncomingLoanSources       *int           `json:"number_of_incoming_loan_sources"`
	NumberOfOutgoingLoanSources       *int           `json:"number_of_outgoing_loan_sources"`
}

// LoanCategory is one loan category of the loans insights.
type LoanCategory struct {
	CategoryID                         LoanCategoryID `json:"category_id"`
	CategoryTitle                      string         `json:"category_title"`
	AverageMonthlyOutgoingLoanPayment  *float64       `json:"average_monthly_outgoing_loan_payment"`
	DaysSinceLastIncomingLoan          *int           `json:"days_since_last_incoming_loan"`
	MonthlyIncomingLoanTrend           *float64       `json:"monthly_incoming_loan_trend"`
	MonthlyOutgoingLoanTrend           *float64       `json:"monthly_outgoing_loan_trend"`
	NumberOfIncomingLoanSources        *int           `json:"number_of_incoming_loan_sources"`
	NumberOfOutgoingLoanSources        *int           `json:"number_of_outgoing_loan_sources"`
	RatioOfOutgoingLoanCategoryToLoans *float64       `json:"ratio_of_outgoing_loan_category_to_loans"`
}

// LoanCategoryID pairs the expense and income categories of one kind of
// loan; ids are strings, as the API sends them.
type LoanCategoryID struct {
	Expense *string `json:"expense"`
	Income  *string `json:"income"`
}

// RiskInsights is the insights-risk product (docs/api.md#insights-risk).
type RiskInsights struct {
	AlimonyPayments *CountAndSum `json:"alimony_payments"`
	Bailiffs        *CountAndSum `json:"bailiffs"`
	Balance         *Balance     `json:"balance"`
	Cash            *Cash        `json:"cash"`
	DebtCollection  *CountAndSum `json:"debt_collection"`
	Dishonours      *CountAndSum `json:"dishonours"`
	Gambling        *Gambling    `json:"gambling"`
	LoanFines       *CountAndSum `json:"loan_fines"`
}

// CountAndSum are a risk category's monthly averages; null when there are
// no such transactions.
type CountAndSum struct {
	AverageCountAMonth *float64 `json:"average_count_a_month"`
	AverageSumAMonth   *float64 `json:"average_sum_a_month"`
}

// Balance is the balance object of the risk insights.
type Balance struct {
	CalendarMonthStartBalance *float64 `json:"calendar_month_start_balance"`
	CalendarMonthEndBalance   *float64 `json:"calendar_month_end_balance"`
	NetCashFlow               *float64 `json:"net_cash_flow"`
	StatementStartBalance     *float64 `json:"statement_start_balance"`
	StatementEndBalance       *float64 `json:"statement_end_balance"`
}

// Cash is the cash object of the risk insights.
type Cash struct {
	AverageCountOfCashDepositAMonth    *float64 `json:"average_count_of_cash_deposit_a_month"`
	AverageCountOfCashWithdrawalAMonth *float64 `json:"average_count_of_cash_withdrawal_a_month"`
	AverageSumOfCashDepositAMonth      *float64 `json:"average_sum_of_cash_deposit_a_month"`
	AverageSumOfCashWithdrawalAMonth   *float64 `json:"average_sum_of_cash_withdrawal_a_month"`
	CashDepositMonthlyTrend            *float64 `json:"cash_deposit_monthly_trend"`
	CashDepositToIncome                *float64 `json:"cash_deposit_to_income"`
	CashWithdrawalMonthlyTrend         *float64 `json:"cash_withdrawal_monthly_trend"`
	CashWithdrawalToExpenses           *float64 `json:"cash_withdrawal_to_expenses"`
	CashWithdrawalToIncome             *float64 `json:"cash_withdrawal_to_income"`
	StableMonthlyCashDeposits          *bool    `json:"stable_monthly_cash_deposits"`
}

// Gambling is the gambling object of the risk insights. The eighth key is
// truncated in every copy of the documentation; RatioOfBetting is the
// engine's reading of it.
type Gambling struct {
	AverageCountAMonth          *float64 `json:"average_count_a_month"`
	AverageSumAMonth            *float64 `json:"average_sum_a_month"`
	DaysSinceLastTransaction    *int     `json:"days_since_last_transaction"`
	GamblingToAllExpenses       *float64 `json:"gambling_to_all_expenses"`
	MonthlyRegularityOfGambling *float64 `json:"monthly_regularity_of_gambling"`
	RatioOfCasino               *float64 `json:"ratio_of_casino"`
	RatioOfLottery              *float64 `json:"ratio_of_lottery"`
	RatioOfBetting              *float64 `json:"ratio_of_betting"`
}

// CategoryTree is the answer of GET /v2/category-tree/{country}.
type CategoryTree struct {
	Version    string     `json:"category_tree_version"`
	Categories []Category `json:"categories"`
}

// Category is one node of a category tree.
type Category struct {
	ID            int    `json:"id"`
	Level         int    `json:"level"`
	ParentID      *int   `json:"parent_id"`
	ReadableTitle string `json:"readable_title"`
	Type          string `json:"type"` // "income" or "expense"
}
