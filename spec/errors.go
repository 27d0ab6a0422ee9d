package spec

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// An Error is one problem in the manifests, at the position of the node
// (or file) at fault.
type Error struct {
	Pos Pos
	Msg string // lower case, without the position
}

// Error formats e as file:line:col: msg.
func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// Errors is every problem Load found, sorted by file, line and column.
// Load returns it as its error, never empty, so that a caller can print
// one problem per line (range over it) or all at once (Error).
type Errors []*Error

// Error joins the problems with newlines, sorted by position.
func (es Errors) Error() string {
	sorted := slices.Clone(es)
	sorted.sort()
	var b strings.Builder
	for i, e := range sorted {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap lets errors.As find an individual *Error.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// sort orders es by file, line and column; problems at one position keep
// the order in which they were found.
func (es Errors) sort() {
	slices.SortStableFunc(es, func(a, b *Error) int { return comparePos(a.Pos, b.Pos) })
}

func (es *Errors) add(pos Pos, format string, args ...any) {
	*es = append(*es, &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

// comparePos orders positions by file, line and column.
func comparePos(a, b Pos) int {
	return cmp.Or(strings.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
}
