package htmlreport

import (
	_ "embed"
	"strings"
)

// The vendored Chart.js (assets/chartjs/VENDORED.md).
const (
	ChartJSVersion = "4.6.1"
	chartJSSHA256  = "87364cc2b2a76a6684929e7d6b80b18a897794db38400caff1fcf1791c6925d2"
)

//go:embed assets/chartjs/chart.umd.min.js
var chartJS string

//go:embed assets/chartjs/LICENSE.md
var chartJSLicense string

//go:embed report.html
var reportHTML string

//go:embed report.css
var reportCSS string

//go:embed report.js
var reportJS string

// inlineChartJS is Chart.js as the page inlines it: without its last
// line's source-map comment (the map is not shipped, and a page that
// loads nothing must not name a file to load).
func inlineChartJS() string {
	s := strings.TrimRight(chartJS, "\n")
	if i := strings.LastIndex(s, "\n//# sourceMappingURL="); i >= 0 {
		s = s[:i]
	}
	return s
}
