// Package suggest finds the word a person probably meant: the "did you
// mean" of unknown manifest keys, operations and addresses.
package suggest

import "strings"

// Closest returns the word of words nearest to word (compared without case)
// when it is a likely typo of it, at most two edits away, and "" otherwise.
func Closest(word string, words []string) string {
	best, bestDist := "", 3
	lw := strings.ToLower(word)
	for _, w := range words {
		if d := Distance(lw, strings.ToLower(w)); d < bestDist {
			best, bestDist = w, d
		}
	}
	return best
}

// Distance is the Levenshtein distance between a and b, in bytes; it gives
// up (returning a large number) for input longer than 200 bytes.
func Distance(a, b string) int {
	if len(a) > 200 || len(b) > 200 {
		return 1 << 30
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
