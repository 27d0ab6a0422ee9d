package categorise

import "strings"

// Holders are the people who hold an account, prepared for telling whether
// a transaction's partner is one of them (a transfer to one's own account)
// or a relative (the same surname, another given name). A nil *Holders
// knows nobody. Holders are immutable and safe for concurrent use.
type Holders struct {
	people [][]string // each person's name as normal-form words, titles removed
}

// titles are dropped from names before they are compared.
var titles = map[string]bool{"MR": true, "MRS": true, "MS": true, "MISS": true, "MX": true, "DR": true, "SIR": true, "PROF": true}

// NewHolders prepares the names of an account's holders, one person each.
func NewHolders(names []string) *Holders {
	h := &Holders{}
	for _, n := range names {
		if w := nameWords(n); len(w) >= 2 {
			h.people = append(h.people, w)
		}
	}
	return h
}

func nameWords(name string) []string {
	var out []string
	for _, w := range strings.Fields(string(normalise(nil, name))) {
		if !titles[w] {
			out = append(out, w)
		}
	}
	return out
}

// party tells who partner is to the holders: Self when it names one of
// them (given name or initial, and surname, in any order), Relative when
// it names another person of a holder's surname, AnyParty otherwise. It
// does not allocate: it runs for most transactions.
func (h *Holders) party(partner string) Party {
	if h == nil || len(h.people) == 0 || partner == "" {
		return AnyParty
	}
	var buf [128]byte
	var words [4][]byte
	n := 0
	norm := normalise(buf[:0], partner)
	for start := 1; start < len(norm); {
		end := start
		for end < len(norm) && norm[end] != ' ' {
			end++
		}
		if w := norm[start:end]; len(w) > 0 && !titles[string(w)] {
			if n == len(words) {
				return AnyParty // too many words for a person's name
			}
			words[n] = w
			n++
		}
		start = end + 1
	}
	if n < 2 {
		return AnyParty
	}
	p := words[:n]
	relative := false
	for _, person := range h.people {
		surname := person[len(person)-1]
		si := -1
		for i, w := range p {
			if string(w) == surname {
				si = i
				break
			}
		}
		if si < 0 {
			continue
		}
		if givenNamesMatch(p, si, person[:len(person)-1]) {
			return Self
		}
		relative = true
	}
	if relative {
		return Relative
	}
	return AnyParty
}

// givenNamesMatch reports whether every word of p other than p[skip] is one
// of given, or the initial of one, and at least one such word exists.
func givenNamesMatch(p [][]byte, skip int, given []string) bool {
	matched := 0
	for i, w := range p {
		if i == skip {
			continue
		}
		ok := false
		for _, g := range given {
			if string(w) == g || (len(w) == 1 && w[0] == g[0]) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
		matched++
	}
	return matched > 0
}
