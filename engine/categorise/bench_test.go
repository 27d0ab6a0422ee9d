package categorise

import "testing"

// BenchmarkUK_Categorise categorises the realistic mix of ukCases (every
// style of bank export, both directions, with account holders) over and
// over, and reports transactions per second.
func BenchmarkUK_Categorise(b *testing.B) {
	c := UK()
	h := NewHolders(ukHolders)
	cases := ukCases
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tc := &cases[i%len(cases)]
		c.Categorise(tc.partner, tc.info, tc.in, h)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "txn/s")
}
