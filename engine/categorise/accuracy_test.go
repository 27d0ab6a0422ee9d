package categorise

import (
	"encoding/csv"
	"fmt"
	"hash/fnv"
	"os"
	"sort"
	"strconv"
	"testing"
)

// The labelled corpus (testdata/corpus.csv, written by
// testdata/gen_corpus.py) holds UK transactions in the export styles of 17
// banks and fintechs, each with the category a reader gives it. It is split
// once, by a hash of the line, into a tuning part and a held-out part of
// about 30 %.
//
// The rule of the held-out part: rules are tuned on the failures of the
// tuning part only. This test prints the tuning failures (with -v) and of
// the held-out part only its accuracy, never its failures, so that nobody
// tunes to them by accident. Measure with
//
//	go test ./engine/categorise -run Accuracy -v

// heldOutMin is the accuracy below which the test fails on the held-out
// part: the goal of issue 17, which the rules reach (BENCHMARKS.md).
const heldOutMin = 0.97

type corpusLine struct {
	bank, partner, info string
	in                  bool
	want                int
	heldOut             bool
}

// heldOut is the split: a line is held out when the FNV-1a hash of its
// bank, partner, info and amount is 0, 1 or 2 modulo 10.
func heldOut(bank, partner, info, amount string) bool {
	h := fnv.New32a()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s", bank, partner, info, amount)
	return h.Sum32()%10 < 3
}

func readCorpus(tb testing.TB) []corpusLine {
	tb.Helper()
	f, err := os.Open("testdata/corpus.csv")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		tb.Fatal(err)
	}
	var out []corpusLine
	for i, r := range recs[1:] {
		amount, err := strconv.ParseFloat(r[3], 64)
		if err != nil {
			tb.Fatalf("corpus.csv:%d: amount %q: %v", i+2, r[3], err)
		}
		want, err := strconv.Atoi(r[4])
		if err != nil {
			tb.Fatalf("corpus.csv:%d: category %q: %v", i+2, r[4], err)
		}
		out = append(out, corpusLine{bank: r[0], partner: r[1], info: r[2], in: amount > 0, want: want,
			heldOut: heldOut(r[0], r[1], r[2], r[3])})
	}
	return out
}

// corpusHolders is the holder of every account of the corpus.
var corpusHolders = []string{"Alex Morgan"}

func TestUK_Accuracy(t *testing.T) {
	c := UK()
	h := NewHolders(corpusHolders)
	lines := readCorpus(t)
	banks := map[string]bool{}
	var n, right [2]int // [0] tuning, [1] held out
	for _, l := range lines {
		banks[l.bank] = true
		if _, ok := c.Tree().Lookup(l.want); !ok {
			t.Errorf("corpus label %d is not in the tree (%s %q %q)", l.want, l.bank, l.partner, l.info)
		}
		part := 0
		if l.heldOut {
			part = 1
		}
		n[part]++
		got := c.Categorise(l.partner, l.info, l.in, h)
		if got.ID == l.want {
			right[part]++
		} else if part == 0 {
			t.Logf("tuning miss: %-12s partner=%q info=%q in=%v: got %d %s, want %d", l.bank, l.partner, l.info, l.in, got.ID, got.Title, l.want)
		}
	}
	if len(lines) < 1000 || n[1] < 300 || len(banks) < 15 {
		t.Fatalf("corpus too small: %d lines, %d held out, %d banks", len(lines), n[1], len(banks))
	}
	tuning, held := float64(right[0])/float64(n[0]), float64(right[1])/float64(n[1])
	names := make([]string, 0, len(banks))
	for b := range banks {
		names = append(names, b)
	}
	sort.Strings(names)
	t.Logf("corpus: %d lines from %d banks (%v)", len(lines), len(banks), names)
	t.Logf("tuning accuracy:   %d/%d = %.1f %%", right[0], n[0], 100*tuning)
	t.Logf("held-out accuracy: %d/%d = %.1f %%", right[1], n[1], 100*held)
	if held < heldOutMin {
		t.Errorf("held-out accuracy %.1f %% is below %.0f %%", 100*held, 100*heldOutMin)
	}
}
