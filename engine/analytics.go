package engine

import (
	"errors"
	"net/http"
	"slices"

	"github.com/ledgerform/ledgerform/engine/categorise"
	"github.com/ledgerform/ledgerform/engine/insights"
	"github.com/ledgerform/ledgerform/engine/statement"
)

// analytics are the operations computed by package insights.
var analytics = []string{"insights-income", "insights-loans", "insights-risk", "simple-score"}

// wantsAnalytics reports whether ops asks for any of the analytics.
func wantsAnalytics(ops []string) bool {
	return slices.ContainsFunc(ops, func(op string) bool { return slices.Contains(analytics, op) })
}

// options turns the params of a request into the options of package
// insights.
func (p params) options() insights.Options {
	var o insights.Options
	if p.Period != nil {
		o.Period = *p.Period
	}
	if p.Currency != nil {
		o.Currency = *p.Currency
	}
	o.DropShared = p.DropSharedAccounts != nil && *p.DropSharedAccounts
	o.DropJoint = p.DropJointAccounts != nil && *p.DropJointAccounts
	o.IncomeDefinition, o.ExpenseDefinition = p.IncomeDefinition, p.ExpenseDefinition
	return o
}

// checkAnalytics refuses at PUT what the analytics could not compute later:
// drop filters that leave no account, and amounts with no conversion rate.
func checkAnalytics(stmt *statement.Statement, req processRequest) *apiError {
	if !wantsAnalytics(req.Operations) {
		return nil
	}
	ledgers := make([]insights.Ledger, len(stmt.Accounts))
	for i, a := range stmt.Accounts {
		ledgers[i] = insights.Ledger{Joint: isTrue(a.Joint), Shared: isTrue(a.Shared)}
		if a.Currency != nil {
			ledgers[i].Currency = *a.Currency
		}
	}
	return paramError(insights.Check(ledgers, req.Params.options(), insights.MainCurrency(req.Country)))
}

func paramError(err error) *apiError {
	if err == nil {
		return nil
	}
	var pe *insights.ParamError
	if errors.As(err, &pe) {
		return fail(http.StatusBadRequest, CodeParamsMissing, err.Error(), "params."+pe.Param)
	}
	return fail(http.StatusInternalServerError, CodeUnknownError, "computing the insights failed")
}

func isTrue(b *bool) bool { return b != nil && *b }

// ledgers returns the input of package insights: one ledger per account and
// currency of a categorisation.
func ledgers(cat *Categorisation) []insights.Ledger {
	var out []insights.Ledger
	for _, a := range cat.Accounts {
		for _, c := range a.Currencies {
			l := insights.Ledger{
				Joint: isTrue(a.IsJointOwnership), Shared: isTrue(a.IsSharedOwnership),
				PeriodStart: a.declaredStart, PeriodEnd: a.declaredEnd,
				StartBalance: c.StartBalance, EndBalance: c.EndBalance,
				Transactions: make([]insights.Transaction, len(c.Transactions)),
			}
			if c.Code != nil {
				l.Currency = *c.Code
			}
			for i, t := range c.Transactions {
				l.Transactions[i] = insights.Transaction{Date: t.Date, Amount: t.Amount, CategoryID: t.CategoryID,
					Partner: t.Partner, Info: t.Info}
			}
			out = append(out, l)
		}
	}
	return out
}

// Insights are the insights products of a result, under
// attributes.insights; only the requested ones are present.
type Insights struct {
	Income *insights.Income `json:"insights-income,omitempty"`
	Loans  *insights.Loans  `json:"insights-loans,omitempty"`
	Risk   *insights.Risk   `json:"insights-risk,omitempty"`
}

// computeAnalytics computes the requested analytics of a categorised
// statement: the insights (nil when none is requested) and the simple
// score (nil unless requested).
func computeAnalytics(tree *categorise.Tree, cat *Categorisation, req processRequest) (*Insights, *int, *apiError) {
	rep, err := insights.Compute(tree, ledgers(cat), req.Params.options(), insights.MainCurrency(req.Country))
	if err != nil {
		return nil, nil, paramError(err)
	}
	var ins *Insights
	var score *int
	for _, op := range req.Operations {
		if op != "simple-score" && slices.Contains(analytics, op) && ins == nil {
			ins = &Insights{}
		}
		switch op {
		case "insights-income":
			ins.Income = rep.Income
		case "insights-loans":
			ins.Loans = rep.Loans
		case "insights-risk":
			ins.Risk = rep.Risk
		case "simple-score":
			score = &rep.Score
		}
	}
	return ins, score, nil
}
