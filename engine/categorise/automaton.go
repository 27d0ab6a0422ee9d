package categorise

// An automaton is an Aho–Corasick string matcher compiled into a dense
// deterministic automaton over the normal-form alphabet, so that finding
// every keyword of every rule in a text costs one table lookup per byte,
// however many rules there are.

// alphabet size: space, A–Z, 0–9 and otherLetter.
const nsym = 38

var symOf = func() (t [256]uint8) {
	for b := 'A'; b <= 'Z'; b++ {
		t[b] = uint8(1 + b - 'A')
	}
	for b := '0'; b <= '9'; b++ {
		t[b] = uint8(27 + b - '0')
	}
	t[otherLetter] = 37
	return t // everything else, ' ' included, is 0
}()

// A hit says which term of which clause a pattern completes.
type hit struct {
	clause int32
	bit    uint8
	plen   uint16 // length of the pattern, to tell where it starts
}

type automaton struct {
	next     []int32 // next[state*nsym+sym]
	outStart []int32 // hits of state s are hits[outStart[s]:outStart[s+1]]
	hits     []hit
	// complete[t][s] is the pattern that a word ending in state s, cut
	// short, stands for, as seen by clauses of type t (0 expense, 1
	// income), or -1; see completions.
	complete [2][]int32
	// midWord[s] is whether a keyword goes on inside the word that ends in
	// state s: the word is a keyword's word cut short, not a whole word
	// that a keyword of more words begins with.
	midWord []bool
	// cutAt[t][s] is, like complete, the pattern that a word ending in
	// state s stands for, for a word known to be cut short (see
	// processorCut): it need only be 3 letters long and as long as it
	// likes against its keyword, and stand for one category among the
	// keywords that end in its word; or -1.
	cutAt [2][]int32
	depth []int32 // the length of each state's text in the trie
	out   [][]hit // the hits of each pattern
}

// A lineage reports which of two categories (indexes into a tree) lies
// deeper when one is an ancestor of the other, and ok false when neither
// is. The automaton uses it to tell whether a cut word is ambiguous.
type lineage func(a, b int32) (deeper int32, ok bool)

// build compiles patterns (in normal form) into an automaton; out[i] lists
// the hits of pattern i; cat gives the type (0 expense, 1 income) and the
// category of a hit, for the completions.
func build(patterns []string, out [][]hit, cat func(hit) (int, int32), related lineage) *automaton {
	// The trie, with -1 for a missing edge.
	children := [][nsym]int32{{}}
	for i := range children[0] {
		children[0][i] = -1
	}
	own := [][]int32{nil} // patterns ending at each state
	for p, s := range patterns {
		st := int32(0)
		for i := 0; i < len(s); i++ {
			c := symOf[s[i]]
			if children[st][c] < 0 {
				var empty [nsym]int32
				for j := range empty {
					empty[j] = -1
				}
				children = append(children, empty)
				own = append(own, nil)
				children[st][c] = int32(len(children) - 1)
			}
			st = children[st][c]
		}
		own[st] = append(own[st], int32(p))
	}

	n := len(children)
	a := &automaton{next: make([]int32, n*nsym), outStart: make([]int32, n+1), out: out}
	fail := make([]int32, n)
	order := make([]int32, 0, n) // breadth-first: every state after its fail state
	for c := 0; c < nsym; c++ {
		if ch := children[0][c]; ch >= 0 {
			a.next[c] = ch
			order = append(order, ch)
		}
	}
	for q := 0; q < len(order); q++ {
		s := order[q]
		for c := 0; c < nsym; c++ {
			ch := children[s][c]
			if ch < 0 {
				a.next[int(s)*nsym+c] = a.next[int(fail[s])*nsym+c]
				continue
			}
			fail[ch] = a.next[int(fail[s])*nsym+c]
			a.next[int(s)*nsym+c] = ch
			order = append(order, ch)
		}
	}

	// Each state reports its own patterns and those of its fail chain,
	// flattened so that the scan never follows fail links.
	all := make([][]hit, n)
	for _, s := range order {
		var hs []hit
		for _, p := range own[s] {
			hs = append(hs, out[p]...)
		}
		all[s] = append(hs, all[fail[s]]...)
	}
	for s := 0; s < n; s++ {
		a.outStart[s] = int32(len(a.hits))
		a.hits = append(a.hits, all[s]...)
	}
	a.outStart[n] = int32(len(a.hits))
	a.completions(patterns, children, own, order, cat, related)
	return a
}

// completions fills a.complete. Banks cut descriptions short ("SERVICE
// STATI", "TAKEAW", "MORTGAG"), so a word that ends where a keyword is
// still going on may be that keyword cut off. A state s stands for the
// shortest pattern below it in the trie when:
//
//   - it is at least 5 bytes deep (" TAKEAW"), and at least three fifths
//     as long as that pattern (half, when s spans more than one word: the
//     whole words are evidence too), so that a short word does not stand
//     for a long one ("MOOR" is not MOORCROFT, "MEADOW" not MEADOWHALL);
//   - the pattern goes on inside the word, or, when s already spans more
//     than one word ("HAND CAR"), after it;
//   - every pattern below s means one category for clauses of that type,
//     or categories of one lineage (97 Mortgage and 5239 below it): a cut
//     word that could be two things is left alone. When some patterns
//     below s end inside its word, only they count: the cut word stands
//     for a word, and the keywords that go on into more words would need
//     those words ("MORTGAG" is MORTGAGE, and MORTGAGE PROTECTION does not
//     make it ambiguous).
func (a *automaton) completions(patterns []string, children [][nsym]int32, own [][]int32, order []int32,
	cat func(hit) (int, int32), related lineage) {
	n := len(children)
	const none, conflict = -1, -2
	type best struct {
		cat     int32 // category, none or conflict
		pattern int32 // the shortest pattern with a hit of this type
	}
	below := make([][2]best, n)
	// inWord[s] is below[s] for the patterns that end inside the word s
	// ends in: a word cut short followed by another word stands for a
	// keyword of one word, not for one that would go on into words that
	// are not there ("MORTGAG RP214867" is MORTGAGE, not MORTGAGE
	// PROTECTION).
	inWord := make([][2]best, n)
	depth := make([]int32, n)
	words := make([]int32, n) // spaces in the state's text after the first
	for s := range below {
		below[s] = [2]best{{none, -1}, {none, -1}}
		inWord[s] = below[s]
	}
	merge := func(b *best, c, p int32) {
		switch {
		case b.cat == conflict:
		case b.cat == none:
			b.cat = c
		case c == conflict:
			b.cat = conflict
		default:
			if d, ok := related(b.cat, c); ok {
				b.cat = d
			} else {
				b.cat = conflict
			}
		}
		if p >= 0 && (b.pattern < 0 || len(patterns[p]) < len(patterns[b.pattern])) {
			b.pattern = p
		}
	}
	all := append([]int32{0}, order...)
	for _, s := range all { // parents before children
		for c := 0; c < nsym; c++ {
			if ch := children[s][c]; ch >= 0 {
				depth[ch] = depth[s] + 1
				words[ch] = words[s]
				if c == 0 && depth[s] > 0 {
					words[ch]++
				}
			}
		}
	}
	for i := len(all) - 1; i >= 0; i-- { // children before parents
		s := all[i]
		for _, p := range own[s] {
			for _, h := range a.out[p] {
				t, c := cat(h)
				merge(&below[s][t], c, p)
				merge(&inWord[s][t], c, p)
			}
		}
		for c := 0; c < nsym; c++ {
			if ch := children[s][c]; ch >= 0 {
				for t := range 2 {
					if b := below[ch][t]; b.cat != none {
						merge(&below[s][t], b.cat, b.pattern)
					}
					if b := inWord[ch][t]; c > 0 && b.cat != none {
						merge(&inWord[s][t], b.cat, b.pattern)
					}
				}
				if c == 0 { // the patterns that end with this word
					for _, p := range own[ch] {
						for _, h := range a.out[p] {
							t, cc := cat(h)
							merge(&inWord[s][t], cc, p)
						}
					}
				}
			}
		}
	}
	a.midWord = make([]bool, n)
	for s := range n {
		for c := 1; c < nsym; c++ {
			if children[s][c] >= 0 {
				a.midWord[s] = true
				break
			}
		}
	}
	a.depth = depth
	for t := range 2 {
		a.cutAt[t] = make([]int32, n)
		for s := range n {
			a.cutAt[t][s] = -1
			if b := inWord[s][t]; b.cat >= 0 && depth[s] >= 4 && a.midWord[s] {
				a.cutAt[t][s] = b.pattern
			}
		}
	}
	for t := range 2 {
		a.complete[t] = make([]int32, n)
		for s := range n {
			a.complete[t][s] = -1
			b := inWord[s][t]
			if b.cat == none {
				b = below[s][t]
			}
			if b.cat < 0 || depth[s] < 5 {
				continue
			}
			if l := len(patterns[b.pattern]); (words[s] == 0 && 5*int(depth[s]) < 3*l) || 2*int(depth[s]) < l {
				continue
			}
			if a.midWord[s] || (words[s] > 0 && children[s][0] >= 0) {
				a.complete[t][s] = b.pattern
			}
		}
	}
}
