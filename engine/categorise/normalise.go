package categorise

import "unicode/utf8"

// Text is matched in a normal form: upper-case ASCII letters and digits,
// words separated by one space, a space at each end, so that a keyword is
// matched as a whole word by searching for " WORD ". Apostrophes are dropped
// ("Sainsbury's" is SAINSBURYS), every other punctuation mark separates
// words ("AMAZON.CO.UK" is AMAZON CO UK), accented Latin letters lose their
// accent, and any other letter becomes '~' so that it still belongs to its
// word.

// otherLetter stands for a letter outside A–Z after folding.
const otherLetter = '~'

// asciiFold maps an ASCII byte to its normal form: a letter or digit, ' '
// for a separator, or 0 for a byte that is dropped.
var asciiFold = func() (t [128]byte) {
	for b := 0; b < 128; b++ {
		switch {
		case b >= 'A' && b <= 'Z', b >= '0' && b <= '9':
			t[b] = byte(b)
		case b >= 'a' && b <= 'z':
			t[b] = byte(b - 'a' + 'A')
		case b == '\'' || b == '`':
			t[b] = 0
		default:
			t[b] = ' '
		}
	}
	return t
}()

// latinFold spells the letters of Latin-1 Supplement and Latin Extended-A
// that statements commonly carry without their accents.
var latinFold = map[rune]string{
	'À': "A", 'Á': "A", 'Â': "A", 'Ã': "A", 'Ä': "A", 'Å': "A", 'Æ': "AE", 'Ç': "C",
	'È': "E", 'É': "E", 'Ê': "E", 'Ë': "E", 'Ì': "I", 'Í': "I", 'Î': "I", 'Ï': "I",
	'Ð': "D", 'Ñ': "N", 'Ò': "O", 'Ó': "O", 'Ô': "O", 'Õ': "O", 'Ö': "O", 'Ø': "O",
	'Ù': "U", 'Ú': "U", 'Û': "U", 'Ü': "U", 'Ý': "Y", 'Þ': "TH", 'ß': "SS",
	'à': "A", 'á': "A", 'â': "A", 'ã': "A", 'ä': "A", 'å': "A", 'æ': "AE", 'ç': "C",
	'è': "E", 'é': "E", 'ê': "E", 'ë': "E", 'ì': "I", 'í': "I", 'î': "I", 'ï': "I",
	'ð': "D", 'ñ': "N", 'ò': "O", 'ó': "O", 'ô': "O", 'õ': "O", 'ö': "O", 'ø': "O",
	'ù': "U", 'ú': "U", 'û': "U", 'ü': "U", 'ý': "Y", 'þ': "TH", 'ÿ': "Y",
	'Ł': "L", 'ł': "L", 'Œ': "OE", 'œ': "OE", 'Š': "S", 'š': "S", 'Ž': "Z", 'ž': "Z",
	'Č': "C", 'č': "C", 'Ś': "S", 'ś': "S", 'Ź': "Z", 'ź': "Z", 'Ż': "Z", 'ż': "Z",
	'\u2019': "", '\u2018': "", // typographic apostrophes are dropped like '
}

// normalise appends the normal form of s to dst, beginning and ending with
// a space, and returns the extended slice.
func normalise(dst []byte, s string) []byte {
	dst = append(dst, ' ')
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			i++
			if c := asciiFold[b]; c != 0 {
				dst = appendNorm(dst, c)
			}
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		if f, ok := latinFold[r]; ok {
			for j := 0; j < len(f); j++ {
				dst = appendNorm(dst, f[j])
			}
			continue
		}
		if isLetterOrDigit(r) {
			dst = appendNorm(dst, otherLetter)
		} else {
			dst = appendNorm(dst, ' ')
		}
	}
	return appendNorm(dst, ' ')
}

// appendNorm appends c, collapsing runs of spaces into one.
func appendNorm(dst []byte, c byte) []byte {
	if c == ' ' && len(dst) > 0 && dst[len(dst)-1] == ' ' {
		return dst
	}
	return append(dst, c)
}

// isLetterOrDigit reports whether a non-ASCII rune belongs inside a word.
// Punctuation, symbols and spaces outside ASCII separate words; everything
// else (letters of other scripts, combining marks) stays in its word.
func isLetterOrDigit(r rune) bool {
	switch {
	case r == utf8.RuneError:
		return false
	case r >= 0x2000 && r <= 0x2BFF: // general punctuation, symbols, arrows
		return false
	case r == 0xA0 || r == 0x3000 || r == 0xFEFF: // no-break, ideographic space, BOM
		return false
	case r >= 0xA1 && r <= 0xBF: // Latin-1 punctuation and signs (£, «, ·)
		return false
	}
	return true
}
