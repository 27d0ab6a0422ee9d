package summary

// The formats of WriteText, for the other views of a Summary (the HTML
// page of package htmlreport), so that every view writes a figure alike.

// FormatAmount is money with two decimals and thousands separated
// (-1,234.50), "-" for nil.
func FormatAmount(p *float64) string { return amount(p) }

// FormatMoney is FormatAmount with the currency after it, if known.
func FormatMoney(p *float64, currency string) string { return moneyIn(p, currency) }

// FormatPercent is a ratio (0 to 1) as a percentage with one decimal.
func FormatPercent(p *float64) string { return percent(p) }

// FormatTrend is a monthly trend as a signed percentage a month.
func FormatTrend(p *float64) string { return trend(p) }

// FormatInt is an integer, "-" for nil.
func FormatInt(p *int) string { return integer(p) }

// FormatDecimal is a number with as few decimals as it needs, "-" for nil.
func FormatDecimal(p *float64) string { return decimal(p) }
