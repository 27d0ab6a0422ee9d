package categorise

// Card processors. An independent shop that takes cards through a
// processor appears under the processor's prefix and the shop's name, in
// the card networks' merchant-name field of 22 characters: "SUMUP *THE
// ORCHARD WIN", "ZTL*THE GREEN LANE ESP", "iZ *THE GREEN LANE DAI". The
// name is cut where the field ends, and the last word of a shop's name is
// most often the kind of business it is, so the word that ends the field
// is known to be cut short, however short it is. When nothing else names
// the payment, that word stands for a keyword it begins when they all
// mean one category (automaton.cutAt): ESP is ESPRESSO, DAI is DAIRY.

// nameField is the length of the card networks' merchant-name field.
const nameField = 22

// processors are the prefixes, in upper case, that card processors put
// before the merchant's name and a '*': Square, SumUp, Zettle (and
// iZettle), PayPal, Curve, Shopify, Toast.
var processors = map[string]bool{
	"SQ": true, "SUMUP": true, "ZETTLE": true, "IZ": true, "IZETTLE": true, "ZTL": true,
	"PAYPAL": true, "PP": true, "CRV": true, "SP": true, "TST": true,
}

// processorCut returns, in upper case in buf, the word that ends the
// merchant-name field of a card processor's payment in s, when the name
// fills the field and the field ends inside a word.
func processorCut(s string, buf []byte) ([]byte, bool) {
	star := -1
	for i := 0; i < len(s); i++ {
		if s[i] == '*' {
			star = i
			break
		}
	}
	if star < 0 {
		return nil, false
	}
	// The prefix: "SQ *", "ZETTLE_*", "SumUp  *", "ZTL*".
	j := star
	for j > 0 && (s[j-1] == ' ' || s[j-1] == '_') {
		j--
	}
	k := j
	for k > 0 && isASCIILetter(s[k-1]) {
		k--
	}
	if j-k > 8 || (k > 0 && s[k-1] >= '0' && s[k-1] <= '9') {
		return nil, false
	}
	buf = buf[:0]
	for i := k; i < j; i++ {
		buf = append(buf, upper(s[i]))
	}
	if !processors[string(buf)] {
		return nil, false
	}
	end := k + nameField
	if end > len(s) || !isASCIILetter(s[end-1]) || (end < len(s) && isASCIILetter(s[end])) {
		return nil, false
	}
	w := end
	for w > star+1 && isASCIILetter(s[w-1]) {
		w--
	}
	buf = buf[:0]
	for i := w; i < end; i++ {
		buf = append(buf, upper(s[i]))
	}
	return buf, true
}

// completeProcessorCut offers the keywords that the word cut short at the
// end of a processor's merchant-name field in s stands for.
func (m *matcher) completeProcessorCut(s string, field Scope) {
	var buf [32]byte
	w, ok := processorCut(s, buf[:0])
	if !ok {
		return
	}
	a := m.c.ac
	st := a.next[0] // the space before the word
	for _, ch := range w {
		st = a.next[int(st)*nsym+int(symOf[ch])]
	}
	if int(a.depth[st]) != len(w)+1 {
		return // no keyword begins with the word
	}
	t := 0
	if m.typ == Income {
		t = 1
	}
	if p := a.cutAt[t][st]; p >= 0 {
		for _, h := range a.out[p] {
			m.see(h, field, -1, nil)
		}
	}
}

func isASCIILetter(b byte) bool { return b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' }

func upper(b byte) byte {
	if b >= 'a' && b <= 'z' {
		return b - 'a' + 'A'
	}
	return b
}
