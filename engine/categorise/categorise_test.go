package categorise

import (
	"strings"
	"testing"
)

func TestNormalise(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", " "},
		{"Sainsbury's", " SAINSBURYS "},
		{"AMAZON.CO.UK*2K4", " AMAZON CO UK 2K4 "},
		{"  Café  Nero ", " CAFE NERO "},
		{"M&S", " M S "},
		{"Straße", " STRASSE "},
		{"北京 shop", " ~~ SHOP "},
		{"£12 — tip", " 12 TIP "},
		{"\xff\xfe", " "},
	} {
		if got := string(normalise(nil, tc.in)); got != tc.want {
			t.Errorf("normalise(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// testCategoriser builds a categoriser over a small tree, to test the
// mechanism apart from the UK data.
func testCategoriser(t *testing.T, rules string) *Categoriser {
	t.Helper()
	tree, err := ParseTree("xx", "xx_1", `
1 - income Other income
2 - income Employment
3 2 income Salary
4 3 income Bonus salary
10 - expense Other expenses
11 - expense Food
12 11 expense Supermarkets
13 - expense Transfers
14 13 expense Own account
15 13 expense Relatives
16 13 expense Others
17 11 expense Supermarket fuel
`)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := ParseRules("fallback income 1\nfallback expense 10\n" + rules)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(tree, rs)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCategoriser_Categorise(t *testing.T) {
	c := testCategoriser(t, `
12 : TESCO, ALDI
17 : TESCO + PETROL, TESCO PFS
3 info : SALARY
4 info : SALARY + BONUS
2 partner : ACME
14 self :
15 relative :
16 weight=-1 : TRANSFER
12 : LADBROKE*
`)
	holders := NewHolders([]string{"Mr Alex Morgan"})
	for _, tc := range []struct {
		partner, info string
		in            bool
		want          int
	}{
		{"Tesco Stores 123", "", false, 12},
		{"TESCOS", "", false, 10},               // whole words only
		{"Tesco", "card payment", true, 1},      // an expense rule never gives income
		{"Tesco PFS 44", "", false, 17},         // longer match at the same depth
		{"", "tesco petrol station", false, 17}, // all terms of an alternative
		{"", "petrol", false, 10},               // only part of an alternative
		{"Acme Ltd", "BGC SALARY MAY", true, 3}, // deepest category wins
		{"Acme Ltd", "SALARY and BONUS", true, 4},
		{"Acme Ltd", "", true, 2},
		{"", "acme", true, 2},          // partner-only rule, at the merchant position of the info
		{"", "DD ACME 1234", true, 2},  // after a direct-debit code
		{"", "FPI ACME", true, 1},      // not after a transfer code
		{"", "REF ACME", true, 1},      // nor after another word
		{"Jo Bloggs", "acme", true, 1}, // nor when the partner names someone
		{"A Morgan", "transfer", false, 14},
		{"MORGAN ALEX", "", false, 14},
		{"Sam Morgan", "transfer", false, 15},
		{"Jo Bloggs", "transfer", false, 16},
		{"Ladbrokes", "", false, 12},
	} {
		got := c.Categorise(tc.partner, tc.info, tc.in, holders)
		if got.ID != tc.want {
			t.Errorf("Categorise(%q, %q, in=%v) = %d %s, want %d", tc.partner, tc.info, tc.in, got.ID, got.Title, tc.want)
		}
	}
}

func TestCategoriser_Categorise_cutShort(t *testing.T) {
	c := testCategoriser(t, `
12 : SUPERMARKET*
16 : SUPERMARKET SWEEP
11 : ACME FOODS
17 weight=1 : LATE FEE, ACME FOODS REFUND
`)
	for _, tc := range []struct {
		info string
		want int
	}{
		// A word cut short before another word stands for a keyword that
		// ends in its word: SUPERMARKET, not SUPERMARKET SWEEP.
		{"ORCHARD SUPERMARK 1234", 12},
		// A field that ends inside a keyword's word was cut there: the word
		// counts even beside a confident keyword...
		{"ACME FOODS LATE FE", 17},
		// ...but not a whole word that a longer keyword begins with.
		{"ACME FOODS", 11},
		// Too short to stand for anything.
		{"ORCHARD SUP", 10},
	} {
		if got := c.Categorise("", tc.info, false, nil); got.ID != tc.want {
			t.Errorf("Categorise(%q) = %d %s, want %d", tc.info, got.ID, got.Title, tc.want)
		}
	}
}

func TestMerchantStart(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // the text from the merchant position, "" for none
	}{
		{"DEB NEXT CD 9486", " NEXT CD 9486 "},
		{"Next", " NEXT "},
		{"DD THREE", " THREE "},
		{"D/D AVIVA LIFE ZZ422524", " AVIVA LIFE ZZ422524 "},
		{"Card transaction of 35.10 GBP issued by GULF EXETER", " GULF EXETER "},
		{"CARD PAYMENT TO HARVESTER,66.36 GBP", " HARVESTER 66 36 GBP "},
		{"1068 26APR25 C , B&M , CARDIFF GB", " B M CARDIFF GB "},
		{"FPO M S KHAN", ""},
		{"BP JAMIE SMITH REF BIRTHDAY", ""},
		{"To Priya Walker", ""},
		{"Direct debit", ""},
		{"", ""},
	} {
		text := normalise(nil, tc.in)
		got := ""
		if at := merchantStart(text); at >= 0 {
			got = string(text[at:])
		}
		if got != tc.want {
			t.Errorf("merchantStart(%q) is at %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseRules_Errors(t *testing.T) {
	for _, tc := range []struct{ rules, want string }{
		{"12 TESCO", "missing ':'"},
		{"x : TESCO", "not an integer"},
		{"12 sideways : TESCO", "unknown option"},
		{"12 : TESCO + ", "empty term"},
		{"12 :", "needs a self or relative"},
		{"12 : A,", "ends with ','"},
		{"fallback sideways 3", "neither income nor expense"},
	} {
		_, err := ParseRules(tc.rules)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseRules(%q) = %v, want an error containing %q", tc.rules, err, tc.want)
		}
	}
}

func TestNew_RejectsUnknownCategory(t *testing.T) {
	tree, _ := ParseTree("xx", "xx_1", "1 - income A\n2 - expense B\n")
	rs, _ := ParseRules("fallback income 1\nfallback expense 2\n99 : X\n")
	if _, err := New(tree, rs); err == nil || !strings.Contains(err.Error(), "category 99") {
		t.Fatalf("New = %v, want an error naming category 99", err)
	}
	rs, _ = ParseRules("fallback income 2\nfallback expense 2\n")
	if _, err := New(tree, rs); err == nil {
		t.Fatal("New accepted an expense category as the income fallback")
	}
}

func TestParseTree_Errors(t *testing.T) {
	for _, tc := range []struct{ tree, want string }{
		{"1 - income A\n1 - income B", "defined twice"},
		{"1 2 income A", "not defined above"},
		{"1 - income A\n2 1 expense B", "under income parent"},
		{"1 - income A\n2 1 income B\n3 2 income C\n4 3 income D", "level 3"},
		{"1 - sideways A", "neither income nor expense"},
		{"", "no categories"},
	} {
		_, err := ParseTree("xx", "xx_1", tc.tree)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseTree(%q) = %v, want an error containing %q", tc.tree, err, tc.want)
		}
	}
}
