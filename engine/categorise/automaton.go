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
}

type automaton struct {
	next     []int32 // next[state*nsym+sym]
	outStart []int32 // hits of state s are hits[outStart[s]:outStart[s+1]]
	hits     []hit
}

// build compiles patterns (in normal form) into an automaton; out[i] lists
// the hits of pattern i.
func build(patterns []string, out [][]hit) *automaton {
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
	a := &automaton{next: make([]int32, n*nsym), outStart: make([]int32, n+1)}
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
	return a
}
