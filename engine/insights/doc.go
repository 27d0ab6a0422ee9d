// Package insights computes the engine's analytics products —
// insights-income, insights-loans, insights-risk and simple-score — from
// categorised transactions, and is the one place where every formula the
// Nordigen documentation leaves open (docs/api.md#products,
// docs/engine-contract.md, row 12) is defined. Each definition below is meant to
// be checked by hand by a credit analyst; engine/insights/testdata holds
// three worked examples with their arithmetic written out.
//
// # Input
//
// The input is the categorisation: one [Ledger] per account and currency,
// each transaction with the category the categoriser gave it. A
// transaction "is in" a category when that category is its own category or
// one of its ancestors in the tree (a category id identifies its whole
// path, docs/api.md#tree-structure): 100513 Universal Credit is in 20 Social security
// benefits, 5239 Loan bank is in 97 Mortgage and in 79 Loans.
//
// # Parameters (docs/engine-contract.md, row 6)
//
//   - drop_joint_accounts, drop_shared_accounts (default false): leave out
//     the ledgers of accounts detected as joint or shared (see package
//     statement for the detection). If nothing is left, the request is
//     refused (400, source params.drop_joint_accounts or
//     params.drop_shared_accounts): there would be nothing to analyse.
//   - currency (default: the country's main currency, GBP for uk): every
//     amount is converted into it with the fixed table below, each
//     transaction and balance separately, rounded to the cent (half away
//     from zero); sums are sums of converted amounts. A ledger without a
//     currency code is taken to be in the country's main currency. If a
//     ledger's currency or the requested one is not in the table (and they
//     differ), the request is refused (400, source params.currency).
//   - period (default: all): use only the last N complete calendar months
//     (see "Months"); a period longer than the statement uses them all.
//   - income_definition (default 5, 6, 7, 19, 20, 21, 85, 88, 279, 358, 426,
//     477, 733, 919, 1151, 2547) and expense_definition (default 26, 29, 63,
//     97, 137, 467, 494): the categories that count as income and as
//     mandatory spending; both are echoed in definitions.
//
// The rate table, in GBP for one unit of each currency (fixed; it is not
// market data and is versioned with the engine):
//
//	GBP 1.0000   EUR 0.8500   USD 0.7500   CHF 0.9000   DKK 0.1140
//	SEK 0.0720   NOK 0.0700   PLN 0.2000   CZK 0.0340   JPY 0.0050
//
// An amount a in currency X becomes a × rate(X) / rate(Y) in currency Y:
// 100.00 EUR is 85.00 GBP, and 85.00 GBP is 100.00 EUR.
//
// # Months
//
// The statement runs from its first day (the earliest period_start the
// statement declares for the ledgers kept, or earlier transaction) to its
// last day (the latest declared period_end, or later transaction); the
// last day is "today" for every "days since" figure. (The categorisation's
// own period_start and period_end are the transactions' dates; the engine
// hands the declared period to this package beside them.)
//
//   - A complete month is a calendar month the statement covers from its
//     first to its last day. A first month the statement enters after its
//     1st is incomplete and is left out of every figure.
//   - The window is the complete months, or the last N of them with
//     period = N. calendar_months is their number, n.
//   - The last incomplete month is the month after the window's last month:
//     the month that holds the day after the statement's last day (for a
//     statement ending 2026-10-20 it is 2026-10; ending 2026-10-31, it is
//     2026-11, in which nothing has happened yet).
//   - Monthly figures — every "average … a month", "months with …", trend,
//     regularity, stability, ratio of sums, net cash flow and the two
//     calendar-month balances — use the window alone.
//   - Event figures — days since the last …, number of payments, average and
//     median payment, average days between payments, numbers of loan
//     sources — use the window and the last incomplete month up to the
//     statement's last day (with no complete month: that month alone).
//
// A monthly total is the sum of a month's amounts, money out counted as a
// positive number. With n = 0 every monthly figure is null.
//
// # Rounding
//
// Money is in cents; an average or median is rounded to the cent, half
// away from zero. Ratios, trends, regularity and stability are rounded to
// 4 decimals, average counts and average days to 2, all half away from
// zero, and are computed from exact sums (never from rounded parts). A
// figure defined from other published figures (expected_remaining_income,
// the simple score) uses them as published, rounded.
//
// # Shared definitions
//
//   - Income: money in (amount > 0) in a category of the income
//     definition. Each income payment belongs to the nearest category of
//     the definition on its path, so it is counted once.
//   - Mandatory spending: money out in a category of the expense definition.
//   - Money out (all expenses): every transaction with amount < 0,
//     transfers included.
//   - Debt: money out in 79 Loans (mortgage, payday, other loans, credit
//     cards, car finance, buy now pay later, student loan, fines).
//   - Trend of a series of monthly totals y₀ … yₙ₋₁ (oldest first): the
//     slope b of a weighted least-squares line through (i, yᵢ), with weight
//     wᵢ = 2 for the last three months of the window and 1 before them
//     ("weighted on the last 3 calendar months", docs/api.md#insights-loans), that
//     is b = (Σw·Σwxy − Σwx·Σwy) / (Σw·Σwx² − (Σwx)²) with x = i, divided
//     by the mean monthly total m = Σy / n: the change per month
//     as a fraction of an average month (−0.05: falling by 5 % of an
//     average month each month). Null when n < 2 or m = 0.
//   - Stability of a series: with m its mean and d = Σ|yᵢ − m| / n its mean
//     absolute deviation, max(0, 1 − d / m). 1 is the same amount every
//     month; 0 is a deviation as large as the mean. Null when n = 0 or m = 0.
//   - Lender (loan source): the partner, or the info when the partner is
//     blank, in upper case with everything but letters and digits removed;
//     "Lending Stream" and "LENDING-STREAM" are one lender.
//
// # insights-income
//
//   - average_monthly_income: window income / n.
//   - average_monthly_discretionary_income: (window income − window
//     mandatory spending) / n.
//   - calendar_months: n. calendar_months_with_income: window months with
//     at least one income payment.
//   - average_days_between_income_payments: over the distinct days with an
//     income payment d₁ < … < dₖ (event span), (dₖ − d₁) / (k − 1); null
//     when k < 2.
//   - days_since_last_income_payment: the statement's last day minus the
//     day of the latest income payment (event span); null without one.
//   - debt_to_income_ratio: window debt / window income; null when the
//     window has no income.
//   - monthly_regularity: calendar_months_with_income / n.
//   - monthly_stability: the stability of the monthly income totals.
//   - monthly_trend: the trend of the monthly income totals.
//   - income_by_category: a key for every category of the definition (its
//     id as a string). number_of_income_payments, average_income_payment
//     and median_income_payment over its payments in the event span
//     (median of an even count: the mean of the middle two);
//     average_monthly_income = its window income / n;
//     days_since_last_income_payment as above. All five are null when the
//     category has no payment in the event span.
//   - last_incomplete_month: month ("YYYY-MM"); received_income, the income
//     of that month up to the statement's last day; expected_remaining_income
//     = max(0, average_monthly_income − received_income);
//     remaining_monthly_discretionary_income = (received_income +
//     expected_remaining_income) − max(mandatory spending of that month so
//     far, average monthly mandatory spending): the month's expected income
//     less its expected mandatory spending. The average monthly mandatory
//     spending (window mandatory spending / n) is not published, so it is
//     kept exact and the result is rounded once, to the cent. The last two
//     are null when n = 0.
//
// # insights-loans
//
// Outgoing loans (repayments) are money out in 79 Loans; incoming loans are
// money in in 22 Loans. loans_by_category has one element per child of 79,
// each paired with the child of 22 of the same title (94 Payday loans with
// 91, 81 Other loans with 117; the others have no income category). They
// come in the order of the reference's example, which lists "Fines",
// "Other loans" and "Payday loans" in that order (562, 81, 94), then the
// other children of 79 by title. A transaction on 79 or 22 itself counts
// as Other loans.
//
//   - average_monthly_outgoing_loan_payment: window repayments / n; per
//     category null when the category has no repayment in the window.
//   - calendar_months_with_incoming_loans, …_with_outgoing_loans: window
//     months with at least one such transaction.
//   - days_since_last_incoming_loan: as for income; null without one.
//   - monthly_incoming_loan_trend, monthly_outgoing_loan_trend: the trends
//     of the monthly totals.
//   - number_of_incoming_loan_sources, number_of_outgoing_loan_sources:
//     distinct lenders in the event span (a lender in two categories counts
//     once at the top); per category, the incoming count is null when the
//     category has no income side.
//   - ratio_of_outgoing_loan_category_to_loans: the category's window
//     repayments / all window repayments; null when there are none.
//
// # insights-risk
//
//   - alimony_payments (137), bailiffs (136), debt_collection (138),
//     dishonours (1402), loan_fines (562): money out in the category;
//     average_count_a_month = window count / n, average_sum_a_month =
//     window total / n; both null when the window has none.
//   - balance: statement_start_balance and statement_end_balance are the
//     ledgers' opening and closing balances (start_balance, end_balance;
//     one missing is derived from the other and the transactions) converted
//     and summed; null when a ledger has neither. The balance at the start
//     of a day is the converted opening balance plus every converted
//     transaction before that day; calendar_month_start_balance is the
//     balance at the start of the window, calendar_month_end_balance at the
//     start of the day after it, and net_cash_flow the sum of the window's
//     converted amounts (so end − start = net cash flow).
//   - cash: deposits are money in in 19, withdrawals money out in 83.
//     Average counts and sums a month as for the risk categories (null
//     without any); the two trends of the monthly totals;
//     cash_deposit_to_income = window deposits / window income,
//     cash_withdrawal_to_income = window withdrawals / window income (null
//     without income); cash_withdrawal_to_expenses = window withdrawals /
//     window money out (null without money out); stable_monthly_cash_deposits
//     is true when every window month has a deposit and the stability of the
//     monthly deposit totals is at least 0.8, else false.
//   - gambling: money out in 4402 Casino, 4404 Lottery, 4406 Betting or
//     their parent (100110 Gambling). Average count and sum a month as
//     above; days_since_last_transaction as for income;
//     gambling_to_all_expenses = window gambling / window money out (0 with
//     no gambling, null without money out); monthly_regularity_of_gambling =
//     window months with gambling / n; ratio_of_casino, ratio_of_lottery,
//     ratio_of_betting = that kind's window total / window gambling total
//     (null without gambling).
//
// # simple-score
//
// An integer from 1 (worst) to 10 (best): 10 minus the points of every rule
// that applies, and never below 1. Rules read the published figures.
//
//	rule                  points  applies when
//	short history           2     calendar_months < 3
//	no income               3     the window has no income
//	unstable income         2     monthly_stability < 0.5
//	                        1     0.5 ≤ monthly_stability < 0.8
//	debt to income          3     debt_to_income_ratio > 0.6
//	                        2     0.45 < debt_to_income_ratio ≤ 0.6
//	                        1     0.35 < debt_to_income_ratio ≤ 0.45
//	gambling                3     gambling_to_all_expenses ≥ 0.10
//	                        2     0.05 ≤ gambling_to_all_expenses < 0.10
//	                        1     0.01 ≤ gambling_to_all_expenses < 0.05
//	dishonours              1     dishonours in the window
//	bailiffs                2     bailiff payments in the window
//	debt collection         1     debt-collection payments in the window
//	falling balance         1     net_cash_flow < 0
//	overdrawn               1     calendar_month_end_balance < 0
//
// A null figure triggers no rule except "no income".
package insights
