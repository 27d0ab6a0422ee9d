package categorise

// The merchant position. Many banks export a card payment or a direct
// debit as one description, with no partner field: "DEB NEXT CD 1234",
// "B&M CD 9091 13DEC24", "DD THREE", "Card transaction of 35.10 GBP issued
// by GULF EXETER", "2387 01NOV26 C , B&M , LUTON GB", or the bare merchant
// ("Next"). The words before the merchant are the codes of a card payment
// or a direct debit, dates, card numbers and amounts; the merchant's name
// begins at the first other word. A brand that is only trusted as the
// partner (because it is also an English word or a person's initials: NEXT,
// THREE, B M, GULF) names the partner just as well there, so the rules
// scoped to the partner also match at that position when the partner
// names nobody. Transfer codes (FPO, SO, BP, TFR) are not skipped: after
// them comes a payee, often a person ("FPO M S KHAN"), so a line that
// begins with one has no merchant position.

// merchantCodes are the words of card-payment and direct-debit codes that
// may come before the merchant's name, in normal form ("D/D" is D D,
// NatWest's card code is C).
var merchantCodes = map[string]bool{
	"DEB": true, "POS": true, "VIS": true, "VISA": true, "DD": true, "DDR": true, "D": true, "C": true,
	"DIRECT": true, "DEBIT": true, "CARD": true, "PAYMENT": true, "PURCHASE": true, "CONTACTLESS": true,
	"TRANSACTION": true, "OF": true, "GBP": true, "ISSUED": true, "BY": true,
}

// merchantStart returns the offset of the space before the first word of
// text (in normal form) that is neither a merchant code nor has a digit,
// or -1 when there is none or it is a transfer word (transferWords: BP,
// SO, FPO, "To Priya"). "TO" counts as a code after PAYMENT ("CARD PAYMENT
// TO", "DIRECT DEBIT PAYMENT TO").
func merchantStart(text []byte) int {
	afterPayment := false
	for start := 0; start < len(text); {
		end := start + 1
		for end < len(text) && text[end] != ' ' {
			end++
		}
		w := text[start+1 : end]
		if len(w) == 0 {
			return -1
		}
		switch {
		case merchantCodes[string(w)], hasDigit(w):
		case afterPayment && string(w) == "TO":
		case transferWords[string(w)]:
			return -1
		default:
			return start
		}
		afterPayment = string(w) == "PAYMENT"
		start = end
	}
	return -1
}
