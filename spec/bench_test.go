package spec

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// BenchmarkLoad_Drop is Load of one manifest whose drop folder holds n
// statements, each with its output (LEDGERFORM_BENCH_FILES, default
// 100,000): the listing part of a no-op plan.
func BenchmarkLoad_Drop(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("LEDGERFORM_BENCH_FILES")); err == nil && v > 0 {
		n = v
	}
	dir := b.TempDir()
	os.WriteFile(filepath.Join(dir, "ledgerform.yaml"), []byte(
		"drops:\n  - {name: inbox, dir: inbox, pattern: \"*.json\", operations: [categorisation], country: uk}\n"), 0o600)
	for _, d := range []string{"inbox", "out/inbox"} {
		os.MkdirAll(filepath.Join(dir, d), 0o700)
	}
	for i := range n {
		name := fmt.Sprintf("s%06d.json", i)
		os.WriteFile(filepath.Join(dir, "inbox", name), []byte("{}"), 0o600)
		os.WriteFile(filepath.Join(dir, "out/inbox", name), []byte("{}"), 0o600)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		set, err := Load(dir)
		if err != nil {
			b.Fatal(err)
		}
		if len(set.Reports) != n {
			b.Fatalf("%d reports, want %d", len(set.Reports), n)
		}
	}
}
