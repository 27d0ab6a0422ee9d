// Package report is the vocabulary every layer of ledgerform shares about
// one report: its Address and the Params of its analyses. It is a leaf:
// it imports nothing of ledgerform, so that the manifests (spec), the
// state, the reconciler and the API client all speak of a report the same
// way without depending on each other.
package report

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// An Address names one report across manifests, state, logs, metrics and
// the command line:
//
//	report.NAME             a report of the manifests
//	drop.NAME["FILE"]       the report of one file of a drop folder, FILE quoted as Go quotes strings
//
// The textual form is the value, so an Address is comparable, a map key,
// and reads and writes as a plain JSON string. Build one with
// ReportAddress or DropAddress, or from text with Parse; a conversion from
// an arbitrary string skips the checks.
type Address string

// A Kind says which manifest entry an Address comes from.
type Kind uint8

// The kinds of address.
const (
	KindReport Kind = iota + 1 // report.NAME
	KindDrop                   // drop.NAME["FILE"]
)

// NameRE is the syntax of a report's or a drop's name.
var NameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,99}$`)

// ReportAddress returns report.NAME.
func ReportAddress(name string) Address { return Address("report." + name) }

// DropAddress returns drop.NAME["FILE"]: file quoted as strconv.Quote does,
// so that any file name reads back unambiguously.
func DropAddress(name, file string) Address {
	return Address("drop." + name + "[" + strconv.Quote(file) + "]")
}

// String returns the textual form.
func (a Address) String() string { return string(a) }

// Kind returns the address's kind, or 0 for text that is not an address.
func (a Address) Kind() Kind {
	switch {
	case strings.HasPrefix(string(a), "report."):
		return KindReport
	case strings.HasPrefix(string(a), "drop."):
		return KindDrop
	}
	return 0
}

// Name returns the NAME of the report or of the drop.
func (a Address) Name() string {
	s := string(a)
	switch a.Kind() {
	case KindReport:
		return s[len("report."):]
	case KindDrop:
		s = s[len("drop."):]
		name, _, _ := strings.Cut(s, "[")
		return name
	}
	return ""
}

// File returns the FILE of a drop report's address, and whether there is
// one (a whole drop, drop.NAME, has none).
func (a Address) File() (string, bool) {
	if a.Kind() != KindDrop {
		return "", false
	}
	_, q, ok := strings.Cut(string(a), "[")
	if !ok || !strings.HasSuffix(q, "]") {
		return "", false
	}
	f, err := strconv.Unquote(q[:len(q)-1])
	return f, err == nil
}

// Whole reports whether a names a whole drop folder (drop.NAME): a
// selector of every file in it, not one report.
func (a Address) Whole() bool {
	return a.Kind() == KindDrop && !strings.Contains(string(a), "[")
}

// Selects reports whether a, used as a target, selects the report b: it is
// b, or a is the whole drop b belongs to.
func (a Address) Selects(b Address) bool {
	if a == b {
		return true
	}
	return a.Whole() && b.Kind() == KindDrop && b.Name() == a.Name() && !b.Whole()
}

// Parse reads an address written by a person (a --target, say): report.NAME,
// drop.NAME or drop.NAME["FILE"]. The error says what is wrong and what an
// address looks like.
func Parse(s string) (Address, error) {
	const want = `want report.NAME, drop.NAME or drop.NAME["FILE"]`
	a := Address(s)
	var name, rest string
	switch a.Kind() {
	case KindReport:
		name = a.Name()
	case KindDrop:
		name, rest, _ = strings.Cut(s[len("drop."):], "[")
		if strings.Contains(s, "[") {
			rest = "[" + rest
		}
	default:
		if s == "" {
			return "", errors.New("empty address: " + want)
		}
		return "", fmt.Errorf("address %q: %s", s, want)
	}
	if !NameRE.MatchString(name) {
		return "", fmt.Errorf("address %q: %q is not a valid name (lower-case letters, digits, '.', '_' and '-', starting with a letter or digit)", s, name)
	}
	if rest == "" {
		return a, nil
	}
	if !strings.HasSuffix(rest, "]") || len(rest) < 4 {
		return "", fmt.Errorf("address %q: the file must be quoted inside brackets: %s", s, want)
	}
	f, err := strconv.Unquote(rest[1 : len(rest)-1])
	if err != nil || f == "" {
		return "", fmt.Errorf("address %q: the file must be a double-quoted, non-empty string: %s", s, want)
	}
	return DropAddress(name, f), nil
}

// Params are the parameters of the insights operations, as the manifests
// write them, the state records them and the API receives them: one type
// from the manifest to the wire. A nil field was not given, and the API's
// default applies. The JSON names are the API's and the manifests'.
type Params struct {
	Period             *int    `json:"period,omitempty"`
	Currency           *string `json:"currency,omitempty"`
	DropSharedAccounts *bool   `json:"drop_shared_accounts,omitempty"`
	DropJointAccounts  *bool   `json:"drop_joint_accounts,omitempty"`
	IncomeDefinition   []int   `json:"income_definition,omitempty"`
	ExpenseDefinition  []int   `json:"expense_definition,omitempty"`
}

var keysOnce = sync.OnceValue(func() []string {
	t := reflect.TypeFor[Params]()
	keys := make([]string, t.NumField())
	for i := range keys {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		keys[i] = name
	}
	return keys
})

// ParamKeys returns the names of the params, in the order of Params'
// fields: derived from the type, so that adding a field adds its key
// everywhere a list of keys is checked.
func ParamKeys() []string { return slices.Clone(keysOnce()) }

// IsZero reports whether p sets nothing: a nil p, or every field nil.
func (p *Params) IsZero() bool { return p == nil || reflect.ValueOf(*p).IsZero() }

// Clone returns a deep copy of p (nil for nil): nothing of the result is
// shared with p.
func (p *Params) Clone() *Params {
	if p == nil {
		return nil
	}
	c := *p
	c.Period = clonePtr(p.Period)
	c.Currency = clonePtr(p.Currency)
	c.DropSharedAccounts = clonePtr(p.DropSharedAccounts)
	c.DropJointAccounts = clonePtr(p.DropJointAccounts)
	c.IncomeDefinition = slices.Clone(p.IncomeDefinition)
	c.ExpenseDefinition = slices.Clone(p.ExpenseDefinition)
	return &c
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
