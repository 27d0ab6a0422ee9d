// Package categorise assigns bank transactions to the categories of a
// versioned category tree with transparent, table-driven rules.
//
// A rule (see [Rule] and [ParseRules]) names a category and the keywords
// that select it in a transaction's partner or info text; a transaction
// only ever gets a category of its own direction of money (income for
// money in, expense for money out and for zero amounts). Every keyword of
// every rule is compiled into one Aho–Corasick automaton, so categorising a
// transaction is a single pass over its text whatever the number of rules.
// When several rules match, the highest weight wins, then the deepest
// category, then the longest matched text, then the rule written first.
//
// A rule scoped to the partner (a brand that is also an English word or a
// person's initials: NEXT, THREE, B&M) also matches where the merchant's
// name begins in the info when the partner names nobody, as in the exports
// of banks that write one description: after the codes of a card payment
// or a direct debit, dates and amounts ("DEB NEXT CD 1234", "DD THREE",
// "Card transaction of 35.10 GBP issued by GULF EXETER"), never after a
// transfer code, which a payee follows (merchant.go).
//
// A second stage takes the lines that no keyword names with confidence
// (none matched, or only weak ones of negative weight):
//
//   - A person. When the text, apart from transfer words and references,
//     is a person's name — an optional title, a given name of
//     given_names.txt or an initial, and one or two more words — as app
//     banks write payments ("To Priya Walker", "Payment from PRIYA
//     WALKER", "FPI A MORGAN 62026892", a partner "Priya Walker"), it is
//     the rule set's person category of its direction ("person income",
//     "person expense"), or the category of the holders' own accounts or
//     relatives when the name is theirs.
//   - A keyword cut short. Banks cut descriptions at 18 to 22 characters,
//     often after a card processor's prefix (SQ *, SUMUP *, ZTL*, IZ *,
//     PAYPAL *), so a word may be the start of a keyword ("SERVICE STA",
//     "TAKEAW", "FISHMO"). The automaton knows, for each of its states,
//     which keyword a word ending there stands for, when the word is long
//     enough and every keyword it could be has one category (or one
//     lineage, such as 97 Mortgage and 5239 below it); those keywords then
//     count as matched. A word cut short stands for a keyword that ends
//     in its word when there is one ("MORTGAG" is MORTGAGE: MORTGAGE
//     PROTECTION would need its second word). A field that ends inside a
//     keyword's word was cut there, so that word counts even in the first
//     stage, beside keywords matched in full ("LENDING STREAM LATE FE" is
//     a late fee, not the lender).
//   - A shop's name cut by the card networks' 22-character merchant-name
//     field after a card processor's prefix ("SUMUP *THE ORCHARD WIN",
//     "ZTL*THE GREEN LANE ESP"). The last word of such a name is most
//     often the kind of business, so the word that ends the field is
//     known to be cut short and may be as short as 3 letters: it stands
//     for the keywords it begins when they all mean one category
//     (processor.go; ESP is ESPRESSO, DAI is DAIRY, WIN is left alone).
//
// When still nothing matches, the rule set's fallback category of that
// direction is used.
//
// The UK rules also carry a lexicon of business-type words (a butcher, a
// greengrocer, a farm shop, a supermarket, a gas or filling station) for
// independent shops that no brand list can hold, and the banks'
// abbreviations (UNPD, RTN, RETD, MTGE, DIV). Their accuracy is measured on
// a labelled corpus, testdata/corpus.csv, split once into a tuning part and
// a held-out part that the rules are never tuned on (TestUK_Accuracy, which
// fails below 97 % held out; BENCHMARKS.md has the figures).
//
// The UK tree and rules ship with the engine as data files (uk_tree.txt and
// uk.rules) and are available through [UK].
package categorise

import "fmt"

// A clause is one alternative of a rule, compiled.
type clause struct {
	cat    int32 // index into tree.cats
	rule   int32 // index of the rule, for ties
	weight int32
	depth  int8
	typ    Type
	scope  Scope
	party  Party
	full   uint8 // mask with one bit per term
	length int32 // total length of its terms, the "matched text"
}

// A Categoriser assigns categories of one tree. It is immutable and safe for
// concurrent use.
type Categoriser struct {
	tree       *Tree
	ac         *automaton
	clauses    []clause
	partyOnly  []int32 // clauses without keywords: they match on the party alone
	usesParty  bool
	fallbackIn int32
	fallbackEx int32
	personIn   int32 // -1 without a person category
	personEx   int32
}

// New compiles rs against tree. It fails if a rule or fallback names a
// category the tree lacks or has the wrong type.
func New(tree *Tree, rs *RuleSet) (*Categoriser, error) {
	c := &Categoriser{tree: tree}
	var err error
	if c.fallbackIn, err = c.index(rs.FallbackIncome, Income, "fallback income"); err != nil {
		return nil, err
	}
	if c.fallbackEx, err = c.index(rs.FallbackExpense, Expense, "fallback expense"); err != nil {
		return nil, err
	}
	c.personIn, c.personEx = -1, -1
	if rs.PersonIncome != 0 {
		if c.personIn, err = c.index(rs.PersonIncome, Income, "person income"); err != nil {
			return nil, err
		}
	}
	if rs.PersonExpense != 0 {
		if c.personEx, err = c.index(rs.PersonExpense, Expense, "person expense"); err != nil {
			return nil, err
		}
	}
	patternID := map[string]int{}
	var patterns []string
	var out [][]hit
	for ri, r := range rs.Rules {
		ci, ok := tree.byID[r.Category]
		if !ok {
			return nil, fmt.Errorf("rules line %d: category %d is not in tree %s", r.Line, r.Category, tree.Version)
		}
		cat := tree.cats[ci]
		base := clause{cat: int32(ci), rule: int32(ri), weight: int32(r.Weight), depth: int8(cat.Level),
			typ: cat.Type, scope: r.Scope, party: r.Party}
		if r.Party != AnyParty {
			c.usesParty = true
		}
		if len(r.Keywords) == 0 {
			c.partyOnly = append(c.partyOnly, int32(len(c.clauses)))
			c.clauses = append(c.clauses, base)
			continue
		}
		for _, terms := range r.Keywords {
			cl := base
			cl.full = uint8(1<<len(terms) - 1)
			idx := int32(len(c.clauses))
			for bit, t := range terms {
				p := termPattern(t)
				cl.length += int32(len(p))
				id, seen := patternID[p]
				if !seen {
					id = len(patterns)
					patternID[p] = id
					patterns = append(patterns, p)
					out = append(out, nil)
				}
				out[id] = append(out[id], hit{clause: idx, bit: uint8(bit), plen: uint16(len(p))})
			}
			c.clauses = append(c.clauses, cl)
		}
	}
	c.ac = build(patterns, out, func(h hit) (int, int32) {
		cl := &c.clauses[h.clause]
		if cl.typ == Income {
			return 1, cl.cat
		}
		return 0, cl.cat
	}, tree.lineage)
	return c, nil
}

func (c *Categoriser) index(id int, want Type, what string) (int32, error) {
	i, ok := c.tree.byID[id]
	if !ok {
		return 0, fmt.Errorf("%s: category %d is not in tree %s", what, id, c.tree.Version)
	}
	if c.tree.cats[i].Type != want {
		return 0, fmt.Errorf("%s: category %d is %s, not %s", what, id, c.tree.cats[i].Type, want)
	}
	return int32(i), nil
}

// termPattern is the normal form a term is searched as: " WORDS " for whole
// words, " PREFIX" for a term ending in '*'.
func termPattern(t string) string {
	if p, ok := cutSuffix(t, "*"); ok {
		n := normalise(nil, p)
		return string(n[:len(n)-1])
	}
	return string(normalise(nil, t))
}

func cutSuffix(s, suffix string) (string, bool) {
	if len(s) >= len(suffix) && s[len(s)-len(suffix):] == suffix {
		return s[:len(s)-len(suffix)], true
	}
	return s, false
}

// Tree returns the tree the categoriser assigns categories of.
func (c *Categoriser) Tree() *Tree { return c.tree }

// Categorise returns the category of a transaction with the given partner
// and info text; incoming is true for money in (a positive amount). Holders
// describes the account's holders for the self and relative conditions; it
// may be nil.
func (c *Categoriser) Categorise(partner, info string, incoming bool, h *Holders) Category {
	return c.tree.cats[c.categorise(partner, info, incoming, h)]
}

// best is the winning clause so far.
type best struct {
	cl     int32 // -1 for none
	weight int32
	depth  int8
	length int32
	rule   int32
}

func (b *best) offer(cl *clause, idx int32) {
	if b.cl >= 0 {
		switch {
		case cl.weight != b.weight:
			if cl.weight < b.weight {
				return
			}
		case cl.depth != b.depth:
			if cl.depth < b.depth {
				return
			}
		case cl.length != b.length:
			if cl.length < b.length {
				return
			}
		case cl.rule >= b.rule:
			return
		}
	}
	*b = best{cl: idx, weight: cl.weight, depth: cl.depth, length: cl.length, rule: cl.rule}
}

// partial is an alternative of several terms seen in part.
type partial struct {
	clause int32
	mask   uint8
}

// matcher holds the per-call scratch of one categorisation.
type matcher struct {
	c       *Categoriser
	typ     Type
	party   Party // lazily computed: see partyOf
	partyOK bool
	partner string
	holders *Holders
	b       best
	// The alternatives seen in part: the first ones in an array of the
	// matcher's own, so that a call allocates nothing (a slice of it kept
	// in the matcher would make the array escape), the rare rest in more.
	nparts int
	parts  [16]partial
	more   []partial
	// merchantAt is the offset in the info's normal form of the
	// space before the merchant's name, when the partner names nobody and
	// the info begins with the merchant (see merchantStart); else -1, and
	// -2 until a rule scoped to the partner is seen in the info.
	merchantAt int
	// Words that may be keywords cut short, seen in the scan: used only
	// when no keyword matched in full (see completeCut).
	ncuts int
	cuts  [4]cut
}

// A cut is a word that may be the keyword pattern cut short.
type cut struct {
	pattern int32
	field   Scope
	// end is whether the word ends its field inside a keyword's word (see
	// automaton.midWord): such a field was cut there.
	end bool
}

func (c *Categoriser) categorise(partner, info string, incoming bool, h *Holders) int32 {
	var buf [256]byte
	m := matcher{c: c, typ: Expense, partner: partner, holders: h, b: best{cl: -1}, merchantAt: -2}
	if incoming {
		m.typ = Income
	}
	text := normalise(buf[:0], partner)
	m.scan(text, PartnerField)
	text = normalise(text[:0], info)
	m.scan(text, InfoField)
	for _, idx := range c.partyOnly {
		cl := &c.clauses[idx]
		if cl.typ == m.typ && m.partyIs(cl.party) {
			m.b.offer(cl, idx)
		}
	}
	if m.b.cl < 0 || m.b.weight < 0 {
		// Second stage, for lines no keyword names with confidence: a
		// person's name, then keywords cut short.
		if cat, ok := c.person(partner, text, incoming, h); ok {
			return cat
		}
		m.completeCut(false)
		if m.b.cl < 0 || m.b.weight < 0 {
			m.completeProcessorCut(partner, PartnerField)
			m.completeProcessorCut(info, InfoField)
		}
	} else {
		// A field that ends inside a keyword's word was cut there, so
		// that word is evidence even beside a confident keyword
		// ("LENDING STREAM LATE FE"). A whole word that a longer keyword
		// begins with ("Direct Debit", not DIRECT DEBIT INDEMNITY) is not.
		m.completeCut(true)
	}
	switch {
	case m.b.cl >= 0:
		return c.clauses[m.b.cl].cat
	case incoming:
		return c.fallbackIn
	default:
		return c.fallbackEx
	}
}

func (m *matcher) scan(text []byte, field Scope) {
	a := m.c.ac
	complete := a.complete[0]
	if m.typ == Income {
		complete = a.complete[1]
	}
	s := int32(0)
	for i, ch := range text {
		if ch == ' ' {
			// The word that ends here may be a keyword cut short.
			if p := complete[s]; p >= 0 && m.ncuts < len(m.cuts) {
				m.cuts[m.ncuts] = cut{p, field, i == len(text)-1 && a.midWord[s]}
				m.ncuts++
			}
		}
		s = a.next[int(s)*nsym+int(symOf[ch])]
		lo, hi := a.outStart[s], a.outStart[s+1]
		for _, h := range a.hits[lo:hi] {
			m.see(h, field, i+1-int(h.plen), text)
		}
	}
}

// see takes note of hit h, a term found in field, whose normal form is
// text, starting at offset at (-1 when it was not found but completed, see
// completeCut).
func (m *matcher) see(h hit, field Scope, at int, text []byte) {
	cl := &m.c.clauses[h.clause]
	if cl.typ != m.typ || (cl.scope != AnyField && cl.scope != field &&
		!(cl.scope == PartnerField && at >= 0 && at == m.merchant(text))) {
		return
	}
	mask := uint8(1) << h.bit
	if cl.full != 1 {
		p := m.partial(h.clause)
		p.mask |= mask
		mask = p.mask
	}
	if mask == cl.full && m.partyIs(cl.party) {
		m.b.offer(cl, h.clause)
	}
}

// merchant returns m.merchantAt, finding it in info (in normal form) first
// if need be. It runs only when a rule scoped to the partner matches in the
// info, which is rare.
func (m *matcher) merchant(info []byte) int {
	if m.merchantAt == -2 {
		m.merchantAt = -1
		var buf [128]byte
		if merchantStart(normalise(buf[:0], m.partner)) < 0 {
			m.merchantAt = merchantStart(info)
		}
	}
	return m.merchantAt
}

// completeCut offers the keywords that the words recorded as cut short
// stand for: all of them, or, with onlyEnd, those that end a field.
func (m *matcher) completeCut(onlyEnd bool) {
	a := m.c.ac
	for _, ct := range m.cuts[:m.ncuts] {
		if onlyEnd && !ct.end {
			continue
		}
		for _, h := range a.out[ct.pattern] {
			m.see(h, ct.field, -1, nil)
		}
	}
}

// partial returns the record of the alternative clause seen in part,
// adding an empty one if it is the first of its terms seen.
func (m *matcher) partial(clause int32) *partial {
	for i := 0; i < m.nparts; i++ {
		if m.parts[i].clause == clause {
			return &m.parts[i]
		}
	}
	for i := range m.more {
		if m.more[i].clause == clause {
			return &m.more[i]
		}
	}
	if m.nparts < len(m.parts) {
		m.parts[m.nparts] = partial{clause: clause}
		m.nparts++
		return &m.parts[m.nparts-1]
	}
	m.more = append(m.more, partial{clause: clause})
	return &m.more[len(m.more)-1]
}

func (m *matcher) partyIs(p Party) bool {
	if p == AnyParty {
		return true
	}
	if !m.partyOK {
		m.party = m.holders.party(m.partner)
		m.partyOK = true
	}
	return m.party == p
}
