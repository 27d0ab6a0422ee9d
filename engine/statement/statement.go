// Package statement parses bank statements in the Nordigen JSON format into
// typed accounts and transactions, with errors that name the file and the
// first bad field.
//
// The format (docs/api.md#statement-format, docs/engine-contract.md, row 3):
//
//	{"account_list": [{"account_nr": "…", "holder_name": "…", "bank_name": "…",
//	  "currency": "GBP", "start_balance": 1.5, "end_balance": 2.5,
//	  "period_start": "2026-01-01", "period_end": "2026-01-31",
//	  "transaction_list": [{"date": "2026-01-02", "sum": -15.45,
//	    "partner": "…", "info": "…", "transaction_id": "…"}]}]}
//
// Required: a non-empty account_list; per account a transaction_list (which
// may be empty); per transaction a date (YYYY-MM-DD) and a sum (a JSON
// number, negative for money out). Every other field is optional and may be
// null; unknown fields are ignored. Amounts are kept in cents, rounded half
// away from zero; an amount beyond ±100 billion is refused, which keeps every
// sum over a 10 MiB statement exact. A UTF-8 byte-order mark is skipped.
//
// Ownership: holder_name may name several people, separated by "&", "and",
// "+", "/" or ";" ("Priya Patel & Sam Patel"), unless it names a company
// ("Marks and Spencer Ltd"); an account with two or more holders is joint.
// An account is shared when the upload holds several accounts and none of
// this account's holders is the upload's main holder (the person who holds
// the most accounts; on a tie, the first account's first holder): the
// applicant is using someone else's account. A blank holder_name counts as
// missing.
package statement

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Money is an amount in cents. It marshals to JSON as a number with two
// decimals ("-15.45", "900.80"), so money is always rounded to cents.
type Money int64

// maxAmount bounds a single amount: 100 billion units, in cents.
const maxAmount = 100_000_000_000 * 100

func (m Money) String() string {
	sign := ""
	u := uint64(m)
	if m < 0 {
		sign, u = "-", uint64(-m)
	}
	return fmt.Sprintf("%s%d.%02d", sign, u/100, u%100)
}

// MarshalJSON writes m as a JSON number with two decimals.
func (m Money) MarshalJSON() ([]byte, error) { return []byte(m.String()), nil }

// Float returns m in currency units.
func (m Money) Float() float64 { return float64(m) / 100 }

// Date is a calendar date, counted in days from 1970-01-01.
type Date int32

// ParseDate parses a YYYY-MM-DD date.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil || len(s) != len(time.DateOnly) {
		return 0, fmt.Errorf("%q is not a YYYY-MM-DD date", s)
	}
	return Date(t.Unix() / 86400), nil
}

// DateOf returns the date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// Time returns the start of the day, in UTC.
func (d Date) Time() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

func (d Date) String() string { return d.Time().Format(time.DateOnly) }

// MarshalJSON writes d as a "YYYY-MM-DD" string.
func (d Date) MarshalJSON() ([]byte, error) { return strconv.AppendQuote(nil, d.String()), nil }

// A Statement is everything uploaded together: the accounts of every file,
// in file order.
type Statement struct {
	Accounts []*Account
}

// An Account is one entry of an account_list. Pointers are nil where the
// statement leaves a field out or sets it to null.
type Account struct {
	File         string // the uploaded file it came from
	Index        int    // its position in that file's account_list
	Number       *string
	HolderName   *string
	HolderID     *string
	Bank         *string
	Currency     *string // upper-case ISO 4217 code
	StartBalance *Money
	EndBalance   *Money
	PeriodStart  *Date
	PeriodEnd    *Date
	Transactions []Transaction

	// Holders are the people holder_name names, one each (see the package
	// doc); nil when holder_name is missing or blank.
	Holders []string
	// Joint and Shared are the ownership the engine detects (see the package
	// doc); nil when holder_name is missing or blank.
	Joint, Shared *bool
}

// A Transaction is one entry of a transaction_list.
type Transaction struct {
	Date          Date
	Amount        Money
	Partner       string
	Info          string
	TransactionID *string
}

// SplitHolders returns the people a holder_name names. A part that is only
// a title ("Mr & Mrs J Smith") borrows the surname of the last part. A
// company ("Marks and Spencer Ltd") is one holder.
func SplitHolders(name string) []string {
	if words := strings.Fields(name); len(words) > 0 && isCompany(words[len(words)-1]) {
		return []string{strings.Join(words, " ")}
	}
	f := func(r rune) bool { return r == '&' || r == '+' || r == '/' || r == ';' }
	var parts []string
	for _, p := range strings.FieldsFunc(name, f) {
		for _, q := range splitWord(p, "and") {
			if q = strings.Join(strings.Fields(q), " "); q != "" {
				parts = append(parts, q)
			}
		}
	}
	if len(parts) < 2 {
		return parts
	}
	last := strings.Fields(parts[len(parts)-1])
	surname := last[len(last)-1]
	for i, p := range parts[:len(parts)-1] {
		if len(strings.Fields(p)) < 2 || isTitle(p) {
			parts[i] = p + " " + surname
		}
	}
	return parts
}

// splitWord splits s around the whole word w, in any case.
func splitWord(s, w string) []string {
	var out []string
	words := strings.Fields(s)
	start := 0
	for i, x := range words {
		if strings.EqualFold(x, w) {
			out = append(out, strings.Join(words[start:i], " "))
			start = i + 1
		}
	}
	return append(out, strings.Join(words[start:], " "))
}

func isCompany(word string) bool {
	switch strings.ToUpper(strings.Trim(word, ".,()")) {
	case "LTD", "LIMITED", "PLC", "LLP", "LLC", "INC", "CIC":
		return true
	}
	return false
}

func isTitle(s string) bool {
	switch strings.ToUpper(strings.Trim(s, ". ")) {
	case "MR", "MRS", "MS", "MISS", "MX", "DR":
		return true
	}
	return false
}

// detectOwnership sets Holders, Joint and Shared on every account.
func (s *Statement) detectOwnership() {
	count := map[string]int{}
	main := ""
	for _, a := range s.Accounts {
		if a.HolderName == nil {
			continue
		}
		if a.Holders = SplitHolders(*a.HolderName); a.Holders == nil {
			continue // a blank name says no more than a missing one
		}
		joint := len(a.Holders) >= 2
		a.Joint = &joint
		for _, h := range a.Holders {
			k := personKey(h)
			count[k]++
			if main == "" {
				main = k
			}
		}
	}
	for _, a := range s.Accounts { // in order, so that a tie keeps the first
		for _, h := range a.Holders {
			if k := personKey(h); count[k] > count[main] {
				main = k
			}
		}
	}
	for _, a := range s.Accounts {
		if a.Holders == nil {
			continue
		}
		shared := len(s.Accounts) > 1
		for _, h := range a.Holders {
			if personKey(h) == main {
				shared = false
			}
		}
		a.Shared = &shared
	}
}

// personKey compares names without case, spacing or punctuation.
func personKey(name string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(name) {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r > 127 {
			b.WriteRune(r)
		}
	}
	return b.String()
}
