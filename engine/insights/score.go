package insights

// A Rule is one rule of the simple score that applied, with its points.
type Rule struct {
	Name   string
	Points int
}

// Score returns the simple score of the income and risk insights: 10 minus
// the points of every rule of the package doc that applies, at least 1.
func Score(in *Income, risk *Risk) int {
	s := 10
	for _, r := range Rules(in, risk) {
		s -= r.Points
	}
	return max(1, s)
}

// Rules returns the rules of the simple score that apply, in the order of
// the package doc's table.
func Rules(in *Income, risk *Risk) []Rule {
	var rules []Rule
	add := func(name string, points int) { rules = append(rules, Rule{name, points}) }
	if in.CalendarMonths < 3 {
		add("short history", 2)
	}
	switch st := in.MonthlyStability; {
	case in.AverageMonthlyIncome == nil || *in.AverageMonthlyIncome == 0:
		add("no income", 3)
	case st != nil && *st < 0.5:
		add("unstable income", 2)
	case st != nil && *st < 0.8:
		add("unstable income", 1)
	}
	if d := in.DebtToIncomeRatio; d != nil {
		switch {
		case *d > 0.6:
			add("debt to income", 3)
		case *d > 0.45:
			add("debt to income", 2)
		case *d > 0.35:
			add("debt to income", 1)
		}
	}
	if g := risk.Gambling.GamblingToAllExpenses; g != nil {
		switch {
		case *g >= 0.10:
			add("gambling", 3)
		case *g >= 0.05:
			add("gambling", 2)
		case *g >= 0.01:
			add("gambling", 1)
		}
	}
	if risk.Dishonours.AverageCountAMonth != nil {
		add("dishonours", 1)
	}
	if risk.Bailiffs.AverageCountAMonth != nil {
		add("bailiffs", 2)
	}
	if risk.DebtCollection.AverageCountAMonth != nil {
		add("debt collection", 1)
	}
	if b := risk.Balance.NetCashFlow; b != nil && *b < 0 {
		add("falling balance", 1)
	}
	if b := risk.Balance.CalendarMonthEndBalance; b != nil && *b < 0 {
		add("overdrawn", 1)
	}
	return rules
}
