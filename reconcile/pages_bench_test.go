package reconcile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ledgerform/ledgerform/internal/fsutil"
	"github.com/ledgerform/ledgerform/spec"
)

// BenchmarkPlan_NoopPages is BenchmarkPlan_NoopPlanOnly with html: true
// on the drop and every report's page in place: what the pages add to a
// no-op plan (an open and a read of each page's first two lines). Compare
// the two in one run.
func BenchmarkPlan_NoopPages(b *testing.B) {
	dir := noopTree(b, benchFiles())
	m := filepath.Join(dir, "ledgerform.yaml")
	data, _ := os.ReadFile(m)
	os.WriteFile(m, []byte(strings.Replace(string(data), "country: uk}", "country: uk, html: true}", 1)), 0o600)
	set, st := loadTree(b, dir)
	for _, r := range set.Reports {
		out, err := os.ReadFile(filepath.Join(dir, r.Output))
		if err != nil {
			b.Fatal(err)
		}
		body := []byte("<html><body><p>" + strings.Repeat("page ", 4000) + "</p></body></html>\n")
		os.WriteFile(filepath.Join(dir, spec.PagePath(r.Output)), pageDocument(fsutil.Hash(out), body), 0o600)
	}
	b.ResetTimer()
	for b.Loop() {
		p, err := NewPlan(set, st, Options{})
		if err != nil || p.HasChanges() {
			b.Fatal("the no-op plan has changes", err)
		}
	}
}
