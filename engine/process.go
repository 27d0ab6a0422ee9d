package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/ledgerform/ledgerform/engine/categorise"
	"github.com/ledgerform/ledgerform/engine/statement"
)

// work is one processing worker: it takes queued reports until ctx ends.
func (s *Server) work(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case rep := <-s.queue:
			s.runReport(rep)
		}
	}
}

// runReport computes one report's answer and publishes it, visible from
// readyAt: the processing time runs, on the Clock, from the moment a worker
// takes it. Only readyAt decides when the report reads as done, so a
// ManualClock can end the processing time without any timer firing.
func (s *Server) runReport(rep *report) {
	start := s.cfg.Clock.Now()
	s.store.mu.Lock()
	if _, live := s.store.reports[rep.id]; !live { // expired while queued
		s.store.mu.Unlock()
		return
	}
	rep.phase = processing
	stmt, req := rep.stmt, rep.req
	s.store.mu.Unlock()

	body, failure := s.compute(stmt, req)
	if failure == nil && s.chance(s.cfg.Faults.FailProcessing) {
		if s.chance(0.5) {
			failure = fail(http.StatusBadRequest, CodeTimeoutProcessing, "processing ran out of time (injected fault)")
		} else {
			failure = fail(http.StatusInternalServerError, CodeUnknownError, "processing failed (injected fault)")
		}
	}

	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	if _, live := s.store.reports[rep.id]; !live {
		return
	}
	rep.phase, rep.stmt, rep.readyAt = done, nil, start.Add(s.cfg.Faults.ProcessingTime)
	rep.body, rep.failure, rep.size = body, failure, int64(len(body))
	s.store.bytes += rep.size
	outcome := "completed"
	if failure != nil {
		outcome = "failed"
	}
	s.metrics.reports.WithLabelValues(outcome).Inc()
}

// compute renders the complete answer of a finished report. A panic while
// computing (a bug) becomes UNKNOWN_ERROR for this report alone.
func (s *Server) compute(stmt *statement.Statement, req processRequest) (body []byte, failure *apiError) {
	defer func() {
		if p := recover(); p != nil {
			s.cfg.Logger.Error("engine: processing panicked", "panic", fmt.Sprint(p))
			body, failure = nil, fail(http.StatusInternalServerError, CodeUnknownError, "processing failed unexpectedly")
		}
	}()
	type attributes struct {
		Categorisation *Categorisation `json:"categorisation,omitempty"`
		Insights       *Insights       `json:"insights,omitempty"`
		SimpleScore    *int            `json:"simple-score,omitempty"`
		Status         string          `json:"status"`
	}
	attrs := attributes{Status: "completed"}
	c := s.cats[req.Country]
	cat := categoriseStatement(c, stmt, req.Country)
	if slices.Contains(req.Operations, "categorisation") {
		attrs.Categorisation = cat
	}
	if wantsAnalytics(req.Operations) {
		var aerr *apiError
		if attrs.Insights, attrs.SimpleScore, aerr = computeAnalytics(c.Tree(), cat, req); aerr != nil {
			return nil, aerr
		}
	}
	body, err := json.Marshal(map[string]any{"data": map[string]any{
		"attributes": attrs,
		"type":       "report processing status",
	}})
	if err != nil {
		return nil, fail(http.StatusInternalServerError, CodeUnknownError, "encoding the result failed")
	}
	return body, nil
}

// Categorisation is the categorisation product (docs/api.md#categorisation),
// as the engine answers it. Keys are in the documented (alphabetical) order.
type Categorisation struct {
	Accounts            []Account `json:"accounts"`
	CategoryTreeVersion string    `json:"category_tree_version"`
}

// An Account is one account of a categorisation: the account_list entries
// of one account number, with a Currency each.
type Account struct {
	AccountNumber     *string         `json:"account_number"`
	Bank              *string         `json:"bank"`
	Country           string          `json:"country"`
	Currencies        []Currency      `json:"currencies"`
	Holders           []Holder        `json:"holders"`
	IsJointOwnership  *bool           `json:"is_joint_ownership"`
	IsSharedOwnership *bool           `json:"is_shared_ownership"`
	PeriodEnd         *statement.Date `json:"period_end"`
	PeriodStart       *statement.Date `json:"period_start"`
	entries           []*statement.Account
	// The period the statement declares (its period_start and period_end,
	// widened by the transactions): the span the insights measure months
	// over, which may be longer than the transactions' own.
	declaredStart, declaredEnd *statement.Date
}

// A Holder is one holder of an account.
type Holder struct {
	Name *string `json:"name"`
}

// A Currency is the transactions of an account in one currency.
type Currency struct {
	Code           *string          `json:"code"`
	CreditTurnover statement.Money  `json:"credit_turnover"`
	DebitTurnover  statement.Money  `json:"debit_turnover"`
	EndBalance     *statement.Money `json:"end_balance"`
	StartBalance   *statement.Money `json:"start_balance"`
	Transactions   []Transaction    `json:"transactions"`
}

// A Transaction is one categorised transaction.
type Transaction struct {
	Amount        statement.Money `json:"amount"`
	CategoryID    int             `json:"category_id"`
	Date          statement.Date  `json:"date"`
	Info          string          `json:"info"`
	Partner       string          `json:"partner"`
	Title         string          `json:"title"`
	TransactionID *string         `json:"transaction_id"`
}

// categoriseStatement categorises every transaction of stmt. Entries of the
// account_list with the same account number are one account with a
// currency each (a multi-currency account); entries of one number and one
// currency are one currency, their transactions in file order, the opening
// balance of the first and the closing balance of the last.
//
// An account's period_start and period_end are the dates of its first and
// last transaction, as the reference defines them ("Date of the first
// parsed transaction", "Date of the last parsed transaction"), whatever
// the statement declares; null for an account without transactions. The
// declared period is kept apart, for the insights. A currency's
// end_balance, when the statement leaves it out but gives start_balance,
// is start_balance + credit_turnover − debit_turnover.
func categoriseStatement(c *categorise.Categoriser, stmt *statement.Statement, country string) *Categorisation {
	out := &Categorisation{CategoryTreeVersion: c.Tree().Version, Accounts: []Account{}}
	byNumber := map[string]int{}
	for _, a := range stmt.Accounts {
		i, seen := -1, false
		if a.Number != nil {
			i, seen = byNumber[*a.Number]
		}
		if !seen {
			i = len(out.Accounts)
			out.Accounts = append(out.Accounts, Account{
				AccountNumber: a.Number, Bank: a.Bank, Country: country,
				IsJointOwnership: a.Joint, IsSharedOwnership: a.Shared, Currencies: []Currency{},
			})
			if a.Number != nil {
				byNumber[*a.Number] = i
			}
			if a.Holders != nil {
				out.Accounts[i].Holders = make([]Holder, len(a.Holders))
				for j := range a.Holders {
					out.Accounts[i].Holders[j].Name = &a.Holders[j]
				}
			}
		}
		oa := &out.Accounts[i]
		oa.entries = append(oa.entries, a)
		addEntry(c, oa, a)
	}
	for i := range out.Accounts {
		oa := &out.Accounts[i]
		for _, a := range oa.entries {
			for j := range a.Transactions {
				d := &a.Transactions[j].Date
				oa.PeriodStart, oa.PeriodEnd = minDate(oa.PeriodStart, d), maxDate(oa.PeriodEnd, d)
			}
			oa.declaredStart = minDate(oa.declaredStart, a.PeriodStart)
			oa.declaredEnd = maxDate(oa.declaredEnd, a.PeriodEnd)
		}
		oa.declaredStart = minDate(oa.declaredStart, oa.PeriodStart)
		oa.declaredEnd = maxDate(oa.declaredEnd, oa.PeriodEnd)
		for j := range oa.Currencies {
			cur := &oa.Currencies[j]
			if cur.EndBalance == nil && cur.StartBalance != nil {
				end := *cur.StartBalance + cur.CreditTurnover - cur.DebitTurnover
				cur.EndBalance = &end
			}
		}
	}
	return out
}

// addEntry adds the transactions of one account_list entry to its account.
func addEntry(c *categorise.Categoriser, oa *Account, a *statement.Account) {
	var cur *Currency
	for j := range oa.Currencies {
		if sameCode(oa.Currencies[j].Code, a.Currency) {
			cur = &oa.Currencies[j]
			cur.EndBalance = a.EndBalance
			break
		}
	}
	if cur == nil {
		oa.Currencies = append(oa.Currencies, Currency{
			Code: a.Currency, StartBalance: a.StartBalance, EndBalance: a.EndBalance,
			Transactions: make([]Transaction, 0, len(a.Transactions)),
		})
		cur = &oa.Currencies[len(oa.Currencies)-1]
	}
	holders := categorise.NewHolders(a.Holders)
	for i := range a.Transactions {
		t := &a.Transactions[i]
		incoming := t.Amount > 0
		if incoming {
			cur.CreditTurnover += t.Amount
		} else {
			cur.DebitTurnover -= t.Amount
		}
		cat := c.Categorise(t.Partner, t.Info, incoming, holders)
		cur.Transactions = append(cur.Transactions, Transaction{
			Amount: t.Amount, CategoryID: cat.ID, Date: t.Date, Info: t.Info, Partner: t.Partner,
			Title: cat.Title, TransactionID: t.TransactionID,
		})
	}
}

func sameCode(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func minDate(a, b *statement.Date) *statement.Date {
	if a == nil || (b != nil && *b < *a) {
		return b
	}
	return a
}

func maxDate(a, b *statement.Date) *statement.Date {
	if a == nil || (b != nil && *b > *a) {
		return b
	}
	return a
}

// Categorise parses and categorises statement files as a processing request
// for categorisation in country would, without a server: for tools that
// show or explain the engine's categories.
func Categorise(country string, files []statement.File) (*Categorisation, error) {
	country = strings.ToLower(country)
	newCat := trees[country]
	if newCat == nil {
		return nil, fmt.Errorf("country %q: the engine has no category tree for it (it has: uk)", country)
	}
	stmt, err := statement.Parse(files)
	if err != nil {
		return nil, err
	}
	return categoriseStatement(newCat(), stmt, country), nil
}
