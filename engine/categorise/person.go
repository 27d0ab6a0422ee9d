package categorise

import (
	_ "embed"
	"strings"
)

// The second stage's person test. App banks and transfers name the other
// person and little else ("To Priya Walker", "Payment from PRIYA WALKER",
// "FPI A MORGAN 62026892", a Monzo partner "Priya Walker"), and no keyword
// can list every person. A line that no keyword names with confidence is a
// payment to or from a person when, apart from transfer words and
// references, its text is a person's name: an optional title, a given name
// of the list (given_names.txt) or an initial, and one or two more words.

//go:embed given_names.txt
var givenNamesText string

var givenNames = func() map[string]bool {
	m := map[string]bool{}
	for _, line := range strings.Split(givenNamesText, "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		for _, w := range strings.Fields(line) {
			m[w] = true
		}
	}
	return m
}()

// transferWords are the words of transfer codes and phrases that may come
// before or after the name ("Sent money to", "FASTER PAYMENTS RECEIPT REF
// … FROM", "OTR … VIA MOBILE - PYMT", "… FT").
var transferWords = map[string]bool{
	"TO": true, "FROM": true, "PAYMENT": true, "PAYMENTS": true, "TRANSFER": true, "SENT": true, "MONEY": true,
	"RECEIVED": true, "RECEIPT": true, "REF": true, "REFERENCE": true, "WITH": true, "FPO": true, "FPI": true,
	"OTR": true, "BAC": true, "TFR": true, "BP": true, "CR": true, "SO": true, "STO": true, "FT": true,
	"FASTER": true, "IN": true, "OUT": true, "VIA": true, "MOBILE": true, "PYMT": true, "BILL": true,
	"STANDING": true, "ORDER": true, "CREDIT": true, "ONLINE": true, "BANKING": true, "FP": true,
}

// person reports the category of a payment whose text, partner or info, is
// a person's name: the rule set's party category of that person (own
// account, relative) when there is one, else its person category.
func (c *Categoriser) person(partner string, info []byte, incoming bool, h *Holders) (int32, bool) {
	want := c.personEx
	if incoming {
		want = c.personIn
	}
	if want < 0 {
		return 0, false
	}
	var buf [128]byte
	name, ok := "", false
	if len(partner) < 100 {
		name, ok = personName(normalise(buf[:0], partner))
	}
	if !ok {
		if name, ok = personName(info); !ok {
			return 0, false
		}
	}
	typ := Expense
	if incoming {
		typ = Income
	}
	if p := h.party(name); p != AnyParty {
		for _, idx := range c.partyOnly {
			if cl := &c.clauses[idx]; cl.typ == typ && cl.party == p {
				return cl.cat, true
			}
		}
	}
	return want, true
}

// personName returns the name in text (in normal form) when everything
// else in it is transfer words and references.
func personName(text []byte) (string, bool) {
	var words [12][]byte
	n := 0
	for start := 0; start < len(text); {
		end := start
		for end < len(text) && text[end] != ' ' {
			end++
		}
		if end > start {
			if n == len(words) {
				return "", false
			}
			words[n] = text[start:end]
			n++
		}
		start = end + 1
	}
	ws := words[:n]
	skip := func(w []byte) bool { return transferWords[string(w)] || hasDigit(w) }
	i := 0
	for i < len(ws) && skip(ws[i]) {
		i++
	}
	start := i
	if i < len(ws) && titles[string(ws[i])] {
		i++
	}
	if i >= len(ws) || !(givenNames[string(ws[i])] || (len(ws[i]) == 1 && isAlpha(ws[i]))) {
		return "", false
	}
	i++
	rest := 0
	for i < len(ws) && !skip(ws[i]) {
		if !isAlpha(ws[i]) || len(ws[i]) < 2 || rest == 2 {
			return "", false
		}
		rest++
		i++
	}
	if rest == 0 {
		return "", false
	}
	end := i
	for ; i < len(ws); i++ {
		if !skip(ws[i]) {
			return "", false
		}
	}
	var b strings.Builder
	for j, w := range ws[start:end] {
		if j > 0 {
			b.WriteByte(' ')
		}
		b.Write(w)
	}
	return b.String(), true
}

func hasDigit(w []byte) bool {
	for _, c := range w {
		if c >= '0' && c <= '9' {
			return true
		}
	}
	return false
}

func isAlpha(w []byte) bool {
	for _, c := range w {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return len(w) > 0
}
