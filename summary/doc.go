// Package summary turns one completed report's result (the output file
// reconcile writes: the API's answer, indented) and its country's category
// tree into a Summary: what an analyst reads first. It is the one model
// behind every readable view of a result: `ledgerform show` prints it as
// text (WriteText), as JSON (encoding/json on the value: every field is
// exported and tagged) and its transactions as CSV (WriteCSV); an HTML
// renderer draws its charts from the same value.
//
// # What it holds
//
// Only what the report's operations produced: a result without
// insights-risk has a nil Risk, one without categorisation no Accounts and
// no Transactions, and so on. Figures the API leaves null stay nil
// (pointers), so "none" and "zero" are told apart.
//
//   - Score: simple-score, 1 (worst) to 10 (best).
//   - Income (insights-income): the headline figures as the API published
//     them, and Sources: every income category with at least one payment,
//     with its title, largest average monthly income first.
//   - Loans (insights-loans): the totals, and Categories: every lender
//     category with money in or out (a repayment, a source, an average),
//     in the API's order.
//   - Risk (insights-risk): gambling, bailiffs, debt collection,
//     dishonours, loan fines, alimony, cash and the balance figures, and
//     Flags: the signals present, in a fixed order (see Flags).
//   - Accounts (categorisation): one per account and currency (a
//     multi-currency account is one Account per currency), each with its
//     series for charts: Months (money in, money out, net and end balance
//     per calendar month, every month of its period, empty ones included),
//     Balance (the balance at the end of every day with a transaction) and
//     Spending (money out by category, largest first).
//   - Transactions: every categorised transaction in the file's order, with
//     its account, currency and category title.
//
// # Arithmetic
//
// Every sum is computed in whole cents from the amounts as the API sent
// them, so that a month's Net is exactly MoneyIn − MoneyOut and a month's
// EndBalance is exactly the previous month's (or the StartBalance) plus its
// Net. Money out is a positive number. Months and Balance cover all the
// transactions of a currency (money in and out of every kind, transfers
// included): they are the cash flow of the account, not the insights'
// definitions of income and spending, which count only some categories over
// complete months (see Income for those). A currency without a start
// balance takes it from its end balance less the transactions; with
// neither, its balances are nil and Balance is empty.
//
// The amounts of Income, Loans and Risk are in the insights' currency
// (Summary.Currency: params.currency, or the accounts' one currency when
// all share it; empty when it cannot be known); those of an Account are in
// its own.
//
// # Category titles
//
// Titles come from the category tree (api.CategoryTree) of the API that
// categorised the result; see Trees for how the tree is found and cached
// (once per country and tree version, then offline). Without a tree
// (offline and never fetched, or the API down) the titles are the ones the
// result carries itself: each categorised transaction's title, the income
// product's definitions and the loan categories' category_title (the
// first met for an id wins, in that order). Titles.Available is then
// false, Titles.Source is SourceResult and Titles.Note says where the
// titles came from and why no tree gave them. A category the result does
// not name either, or every category when it names none, is shown by its
// id alone; nothing else changes.
package summary
