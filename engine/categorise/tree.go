package categorise

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
)

// Type is the direction of money a category belongs to: every category of
// the tree is either an income or an expense category.
type Type string

// The two category types, spelled as the API spells them.
const (
	Income  Type = "income"
	Expense Type = "expense"
)

// FirstEngineID is the smallest id the engine uses for a category of its
// own. Ids below it are the ones the Nordigen documentation names; ids from
// it up can never collide with a real Nordigen category.
const FirstEngineID = 100000

// A Category is one node of a category tree.
type Category struct {
	ID       int
	ParentID int // 0 for a root
	Level    int // 0 for a root, at most 2
	Title    string
	Type     Type
}

// A Tree is a country's versioned category tree. It is immutable once
// parsed and safe for concurrent use.
type Tree struct {
	Country string
	Version string // like "uk_202611230000"
	cats    []Category
	byID    map[int]int
}

// Categories returns every category in tree order (each parent before its
// children). The caller must not modify the slice.
func (t *Tree) Categories() []Category { return t.cats }

// Lookup returns the category with the given id.
func (t *Tree) Lookup(id int) (Category, bool) {
	i, ok := t.byID[id]
	if !ok {
		return Category{}, false
	}
	return t.cats[i], true
}

// ParseTree reads a tree from its text form: one category per line as
//
//	id  parent  type  title
//
// separated by runs of spaces or tabs, with "-" as the parent of a root and
// "#" starting a comment line. A parent must come before its children, the
// child must have its parent's type, and the tree is at most three levels
// deep (levels 0, 1 and 2), as the API documents.
func ParseTree(country, version, text string) (*Tree, error) {
	t := &Tree{Country: country, Version: version, byID: make(map[int]int)}
	sc := bufio.NewScanner(strings.NewReader(text))
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		f := strings.Fields(s)
		if len(f) < 4 {
			return nil, fmt.Errorf("tree line %d: want \"id parent type title\", got %q", line, s)
		}
		id, err := strconv.Atoi(f[0])
		if err != nil || id <= 0 {
			return nil, fmt.Errorf("tree line %d: id %q is not a positive integer", line, f[0])
		}
		if _, dup := t.byID[id]; dup {
			return nil, fmt.Errorf("tree line %d: id %d defined twice", line, id)
		}
		c := Category{ID: id, Type: Type(f[2]), Title: strings.Join(f[3:], " ")}
		if c.Type != Income && c.Type != Expense {
			return nil, fmt.Errorf("tree line %d: type %q is neither income nor expense", line, f[2])
		}
		if f[1] != "-" {
			pid, err := strconv.Atoi(f[1])
			if err != nil {
				return nil, fmt.Errorf("tree line %d: parent %q is not an id", line, f[1])
			}
			pi, ok := t.byID[pid]
			if !ok {
				return nil, fmt.Errorf("tree line %d: parent %d is not defined above", line, pid)
			}
			p := t.cats[pi]
			if p.Type != c.Type {
				return nil, fmt.Errorf("tree line %d: %s category %d under %s parent %d", line, c.Type, id, p.Type, pid)
			}
			c.ParentID, c.Level = pid, p.Level+1
			if c.Level > 2 {
				return nil, fmt.Errorf("tree line %d: category %d would be at level %d; the tree has levels 0 to 2", line, id, c.Level)
			}
		}
		t.byID[id] = len(t.cats)
		t.cats = append(t.cats, c)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(t.cats) == 0 {
		return nil, fmt.Errorf("tree %s: no categories", version)
	}
	return t, nil
}

// lineage reports, for two category indexes, the deeper one when one is an
// ancestor of the other (or they are the same).
func (t *Tree) lineage(a, b int32) (int32, bool) {
	if a == b {
		return a, true
	}
	if t.cats[a].Level > t.cats[b].Level {
		a, b = b, a
	}
	for c := b; ; {
		p := t.cats[c].ParentID
		if p == 0 {
			return 0, false
		}
		c = int32(t.byID[p])
		if c == a {
			return b, true
		}
	}
}
