package categorise

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
)

// Scope says which text of a transaction a rule's keywords are looked for in.
type Scope uint8

// The scopes of a rule.
const (
	AnyField Scope = iota // partner or info
	// PartnerField is the partner, or, when the partner names nobody, the
	// merchant's name at the start of the info after card-payment and
	// direct-debit codes ("DEB NEXT CD 1234"; see merchant.go).
	PartnerField
	InfoField
)

// Party is a condition on who the counterparty is, relative to the holders
// of the account.
type Party uint8

// The party conditions of a rule.
const (
	AnyParty Party = iota
	Self           // the partner is one of the account's holders
	Relative       // the partner shares a surname with a holder but is not one
)

// A Rule assigns Category to a transaction whose direction of money matches
// the category's type and whose text contains, in Scope, all the terms of
// at least one of the rule's Keywords. A rule without keywords matches on
// its Party condition alone.
//
// Among all the rules that match a transaction the categoriser picks the
// one with the highest Weight, then the deepest category, then the longest
// matched text, then the one written first. Weight is 0 for ordinary rules;
// catch-all rules (a bare "TRANSFER") take a negative weight so that any
// specific rule beats them.
type Rule struct {
	Category int
	Scope    Scope
	Party    Party
	Weight   int
	// Keywords lists alternatives; each alternative is a list of terms that
	// must all be present. A term matches whole words in the normal form of
	// the text; a term ending in '*' matches any word starting with it.
	Keywords [][]string
	Line     int // line in the rule file, for messages
}

// RuleSet is a parsed rule file: the rules and the categories used when no
// rule matches.
type RuleSet struct {
	Rules           []Rule
	FallbackIncome  int
	FallbackExpense int
	// PersonIncome and PersonExpense, when not 0, are the categories of a
	// line that no keyword names with confidence and whose text is a
	// person's name (see the package doc).
	PersonIncome  int
	PersonExpense int
}

// ParseRules reads rules in their text form. Each non-empty line that does
// not start with '#' is either a rule:
//
//	<category id> [partner|info|any] [self|relative] [weight=N] : <keywords>
//
// where <keywords> is a comma-separated list of alternatives and '+' joins
// the terms of one alternative ("MORTGAGE + BANK"), or a fallback:
//
//	fallback income <category id>
//	fallback expense <category id>
//
// or a person category, for payments to and from people:
//
//	person income <category id>
//	person expense <category id>
//
// A line ending in ',' continues on the next line.
func ParseRules(text string) (*RuleSet, error) {
	rs := &RuleSet{}
	sc := bufio.NewScanner(strings.NewReader(text))
	line, start := 0, 0
	var pending strings.Builder
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		if pending.Len() == 0 {
			start = line
		}
		pending.WriteString(s)
		if strings.HasSuffix(s, ",") {
			pending.WriteByte(' ')
			continue
		}
		if err := rs.parseLine(pending.String(), start); err != nil {
			return nil, err
		}
		pending.Reset()
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if pending.Len() > 0 {
		return nil, fmt.Errorf("rules line %d: the list of keywords ends with ','", start)
	}
	return rs, nil
}

func (rs *RuleSet) parseLine(s string, line int) error {
	if f := strings.Fields(s); len(f) > 0 && (f[0] == "fallback" || f[0] == "person") {
		if len(f) != 3 {
			return fmt.Errorf("rules line %d: want \"%s income|expense ID\"", line, f[0])
		}
		id, err := strconv.Atoi(f[2])
		if err != nil {
			return fmt.Errorf("rules line %d: %s id %q is not an integer", line, f[0], f[2])
		}
		in, ex := &rs.FallbackIncome, &rs.FallbackExpense
		if f[0] == "person" {
			in, ex = &rs.PersonIncome, &rs.PersonExpense
		}
		switch f[1] {
		case "income":
			*in = id
		case "expense":
			*ex = id
		default:
			return fmt.Errorf("rules line %d: %s %q is neither income nor expense", line, f[0], f[1])
		}
		return nil
	}
	head, body, ok := strings.Cut(s, ":")
	if !ok {
		return fmt.Errorf("rules line %d: missing ':' between the category and the keywords", line)
	}
	f := strings.Fields(head)
	if len(f) == 0 {
		return fmt.Errorf("rules line %d: missing category id", line)
	}
	id, err := strconv.Atoi(f[0])
	if err != nil {
		return fmt.Errorf("rules line %d: category %q is not an integer", line, f[0])
	}
	r := Rule{Category: id, Line: line}
	for _, opt := range f[1:] {
		switch {
		case opt == "any":
			r.Scope = AnyField
		case opt == "partner":
			r.Scope = PartnerField
		case opt == "info":
			r.Scope = InfoField
		case opt == "self":
			r.Party = Self
		case opt == "relative":
			r.Party = Relative
		case strings.HasPrefix(opt, "weight="):
			w, err := strconv.Atoi(strings.TrimPrefix(opt, "weight="))
			if err != nil {
				return fmt.Errorf("rules line %d: %q: weight is not an integer", line, opt)
			}
			r.Weight = w
		default:
			return fmt.Errorf("rules line %d: unknown option %q", line, opt)
		}
	}
	for _, alt := range strings.Split(body, ",") {
		if strings.TrimSpace(alt) == "" {
			continue
		}
		var terms []string
		for _, t := range strings.Split(alt, "+") {
			t = strings.TrimSpace(t)
			if t == "" || strings.Trim(string(normalise(nil, strings.TrimSuffix(t, "*"))), " ") == "" {
				return fmt.Errorf("rules line %d: empty term in %q", line, strings.TrimSpace(alt))
			}
			terms = append(terms, t)
		}
		if len(terms) > 8 {
			return fmt.Errorf("rules line %d: %q has more than 8 terms", line, strings.TrimSpace(alt))
		}
		r.Keywords = append(r.Keywords, terms)
	}
	if len(r.Keywords) == 0 && r.Party == AnyParty {
		return fmt.Errorf("rules line %d: a rule without keywords needs a self or relative condition", line)
	}
	rs.Rules = append(rs.Rules, r)
	return nil
}
