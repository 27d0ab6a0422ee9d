package main

import (
	"os"
	"runtime/debug"
)

// defaultMemoryLimit is the Go runtime's soft memory limit unless
// GOMEMLIMIT says otherwise. Without one the heap grows to twice what is
// live before a collection, so a plan or watch over 100,000 reports
// (about 135 MB live: the state's records, the manifests' reports, the
// plan) peaked at 230–320 MB of RSS; with it, at about 175 MB, for about
// 17 % more time spent collecting (BENCHMARKS.md). It is soft: a state so
// large that more is live makes the collector run more often (the runtime
// caps its share of the CPU at about half) rather than fail. Set
// GOMEMLIMIT (e.g. 1GiB, or off) for states of many hundreds of thousands
// of reports.
const defaultMemoryLimit = 160 << 20

// softMemoryLimit sets defaultMemoryLimit unless GOMEMLIMIT is set.
func softMemoryLimit() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
}
