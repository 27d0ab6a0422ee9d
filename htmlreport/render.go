package htmlreport

import (
	"fmt"
	"html/template"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/ledgerform/ledgerform/summary"
)

// TopSpending is how many categories the spending chart draws; its table
// lists them all.
const TopSpending = 10

// Chart is one chart of the page as the page's script gets it (and as the
// browser tests read it back): the canvas's id, its kind, its labels and
// its series.
type Chart struct {
	ID         string   `json:"id"`
	Kind       string   `json:"kind"` // bar or line
	Horizontal bool     `json:"horizontal,omitempty"`
	Title      string   `json:"title"`
	Currency   string   `json:"currency,omitempty"`
	Labels     []string `json:"labels"`
	Series     []Series `json:"series"`
	// Height is the chart's height on screen, in rem: a horizontal bar
	// chart grows with its bars.
	Height float64 `json:"-"`
}

// Series is one data set of a chart; Outline draws it unfilled, so that
// two series differ without colour.
type Series struct {
	Label   string    `json:"label"`
	Values  []float64 `json:"values"`
	Outline bool      `json:"outline,omitempty"`
}

// Charts returns the charts of the page for s, in the page's order: per
// account spending, months and balance (when it has balances), then income
// by source (when the report has insights-income with sources).
func Charts(s *summary.Summary) []Chart {
	var cs []Chart
	for i := range s.Accounts {
		a := &s.Accounts[i]
		cur := a.Currency
		if n := min(len(a.Spending), TopSpending); n > 0 {
			c := Chart{ID: fmt.Sprintf("spending-%d", i), Kind: "bar", Horizontal: true, Currency: cur,
				Title: "Spending by category" + accountSuffix(s, a), Series: []Series{{Label: "Money out"}}}
			for _, sp := range a.Spending[:n] {
				c.Labels = append(c.Labels, categoryName(sp.Title, sp.CategoryID))
				c.Series[0].Values = append(c.Series[0].Values, sp.Amount)
			}
			cs = append(cs, c)
		}
		if len(a.Months) > 0 {
			c := Chart{ID: fmt.Sprintf("months-%d", i), Kind: "bar", Currency: cur,
				Title:  "Money in and out by month" + accountSuffix(s, a),
				Series: []Series{{Label: "Money in"}, {Label: "Money out", Outline: true}}}
			for _, m := range a.Months {
				c.Labels = append(c.Labels, m.Month)
				c.Series[0].Values = append(c.Series[0].Values, m.MoneyIn)
				c.Series[1].Values = append(c.Series[1].Values, m.MoneyOut)
			}
			cs = append(cs, c)
		}
		if len(a.Balance) > 0 {
			c := Chart{ID: fmt.Sprintf("balance-%d", i), Kind: "line", Currency: cur,
				Title: "Balance over the statement period" + accountSuffix(s, a), Series: []Series{{Label: "Balance at the end of the day"}}}
			for _, b := range a.Balance {
				c.Labels = append(c.Labels, b.Date)
				c.Series[0].Values = append(c.Series[0].Values, b.Balance)
			}
			cs = append(cs, c)
		}
	}
	if in := s.Income; in != nil && len(in.Sources) > 0 {
		c := Chart{ID: "income", Kind: "bar", Horizontal: true, Currency: s.Currency, Title: "Income by source",
			Series: []Series{{Label: "Average monthly income"}}}
		for _, src := range in.Sources {
			c.Labels = append(c.Labels, categoryName(src.Title, src.CategoryID))
			v := 0.0
			if src.AverageMonthly != nil {
				v = *src.AverageMonthly
			}
			c.Series[0].Values = append(c.Series[0].Values, v)
		}
		cs = append(cs, c)
	}
	for i := range cs {
		cs[i].Height = 18
		if cs[i].Horizontal {
			cs[i].Height = 4 + 1.8*float64(len(cs[i].Labels))
		}
	}
	return cs
}

// accountSuffix names the account in a chart's title when there are
// several.
func accountSuffix(s *summary.Summary, a *summary.Account) string {
	if len(s.Accounts) < 2 {
		return ""
	}
	return ", account " + accountName(a)
}

func accountName(a *summary.Account) string {
	n := a.Number
	if n == "" {
		n = "(no number)"
	}
	if a.Currency != "" {
		n += " (" + a.Currency + ")"
	}
	return n
}

// categoryName is a category's title, or its id when titles are missing.
func categoryName(title string, id int) string {
	if title == "" {
		return "category " + strconv.Itoa(id)
	}
	return title
}

// view is what the template gets.
type view struct {
	*summary.Summary
	Title      string
	Charts     []Chart
	ByID       map[string]*Chart
	Categories []string // the categories of the transactions, for the filter
	ChartJS    template.JS
	Style      template.CSS
	Script     template.JS
	License    string
	// ChartJSVersion is the vendored Chart.js's.
	ChartJSVersion string
}

// flagWords say each risk flag in words.
var flagWords = map[string]string{
	summary.FlagGambling:        "Gambling",
	summary.FlagBailiffs:        "Bailiffs",
	summary.FlagDebtCollection:  "Debt collection",
	summary.FlagDishonours:      "Dishonoured payments",
	summary.FlagLoanFines:       "Loan fines",
	summary.FlagNegativeNetFlow: "Negative net cash flow",
	summary.FlagOverdrawn:       "Overdrawn at the end of the months",
}

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"amount":  summary.FormatAmount,
	"money":   summary.FormatMoney,
	"percent": summary.FormatPercent,
	"trend":   summary.FormatTrend,
	"int":     summary.FormatInt,
	"decimal": summary.FormatDecimal,
	"val":     func(f float64) *float64 { return &f },
	"ival":    func(n int) *int { return &n },
	"flag": func(f string) string {
		if w, ok := flagWords[f]; ok {
			return w
		}
		return f
	},
	"category": categoryName,
	"account":  accountName,
	"join":     strings.Join,
	"neg":      func(f float64) bool { return f < 0 },
	"cents":    func(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) },
	"plus":     func(a, b int) int { return a + b },
	"net":      func(a summary.Account) float64 { return a.MoneyIn - a.MoneyOut },
	"chart": func(byID map[string]*Chart, id string) *Chart {
		return byID[id]
	},
	"id": func(prefix string, i int) string { return prefix + "-" + strconv.Itoa(i) },
}).Parse(reportHTML))

// Render writes the page of s from its <html> element on: the caller
// writes the doctype first (reconcile does, with the line that ties the
// page to its output; WritePage writes both for other uses).
func Render(w io.Writer, s *summary.Summary) error {
	v := view{Summary: s, Charts: Charts(s), ByID: map[string]*Chart{},
		ChartJS: template.JS(inlineChartJS()), Style: template.CSS(reportCSS), Script: template.JS(reportJS),
		License: chartJSLicense, ChartJSVersion: ChartJSVersion}
	v.Title = "Report"
	if s.Address != "" {
		v.Title = "Report " + s.Address
	}
	for i := range v.Charts {
		v.ByID[v.Charts[i].ID] = &v.Charts[i]
	}
	seen := map[string]bool{}
	for _, t := range s.Transactions {
		name := categoryName(t.Category, t.CategoryID)
		if !seen[name] {
			seen[name] = true
			v.Categories = append(v.Categories, name)
		}
	}
	slices.SortFunc(v.Categories, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	return page.Execute(w, v)
}

// WritePage writes the whole document: the doctype and Render.
func WritePage(w io.Writer, s *summary.Summary) error {
	if _, err := io.WriteString(w, "<!DOCTYPE html>\n"); err != nil {
		return err
	}
	return Render(w, s)
}
