package tokenizer

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Normalization configures the BERT normaliser, with the meaning of the fields of Hugging Face's
// BertNormalizer.
type Normalization struct {
	// CleanText removes NUL, U+FFFD (which is also what invalid UTF-8 decodes to) and control/format/
	// private-use characters, and turns every Unicode whitespace character into a space.
	CleanText bool
	// HandleChineseChars puts spaces around CJK ideographs so that each becomes a word.
	HandleChineseChars bool
	// StripAccents decomposes text (Unicode NFD) and removes non-spacing marks: "café" → "cafe".
	StripAccents bool
	// Lowercase lower-cases text.
	Lowercase bool
}

// UncasedNormalization is the normalisation of uncased BERT models (bert-base-uncased): all on.
func UncasedNormalization() Normalization {
	return Normalization{CleanText: true, HandleChineseChars: true, StripAccents: true, Lowercase: true}
}

// CasedNormalization is the normalisation of cased BERT models (bert-base-cased): text is cleaned
// and CJK ideographs are split, but case and accents are kept.
func CasedNormalization() Normalization {
	return Normalization{CleanText: true, HandleChineseChars: true}
}

// Normalize applies the normalisation to text, in Hugging Face's order: clean, CJK spacing, strip
// accents, lower-case. The result is valid UTF-8.
func (n Normalization) Normalize(text string) string {
	var b strings.Builder
	b.Grow(len(text) + 8)
	for _, r := range text { // invalid UTF-8 bytes decode to utf8.RuneError (U+FFFD)
		if n.CleanText {
			if r == 0 || r == utf8.RuneError || isControl(r) {
				continue
			}
			if unicode.IsSpace(r) {
				r = ' '
			}
		}
		if n.HandleChineseChars && isChineseChar(r) {
			b.WriteByte(' ')
			b.WriteRune(r)
			b.WriteByte(' ')
			continue
		}
		b.WriteRune(r)
	}
	s := b.String()
	if n.StripAccents {
		s = stripAccents(s)
	}
	if n.Lowercase {
		s = strings.ToLower(s)
	}
	return s
}

// stripAccents decomposes s (NFD) and drops non-spacing marks (category Mn).
func stripAccents(s string) string {
	if isASCII(s) {
		return s
	}
	s = norm.NFD.String(s)
	return strings.Map(func(r rune) rune {
		if unicode.Is(unicode.Mn, r) {
			return -1
		}
		return r
	}, s)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// isControl is Hugging Face's is_control: "other" characters (Cc, Cf, Co, Cs and unassigned Cn),
// except tab, newline and carriage return, which count as whitespace.
func isControl(r rune) bool {
	switch r {
	case '\t', '\n', '\r':
		return false
	}
	if r < utf8.RuneSelf {
		return r < 0x20 || r == 0x7f
	}
	if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs) {
		return true
	}
	// Unassigned (Cn): in no general category.
	return !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z)
}

// isChineseChar reports whether r is in one of the CJK ideograph blocks of Hugging Face's
// BertNormalizer (which has 0x2B920 where Google's original BERT code has 0x2B820).
func isChineseChar(r rune) bool {
	switch {
	case r >= 0x4E00 && r <= 0x9FFF,
		r >= 0x3400 && r <= 0x4DBF,
		r >= 0x20000 && r <= 0x2A6DF,
		r >= 0x2A700 && r <= 0x2B73F,
		r >= 0x2B740 && r <= 0x2B81F,
		r >= 0x2B920 && r <= 0x2CEAF,
		r >= 0xF900 && r <= 0xFAFF,
		r >= 0x2F800 && r <= 0x2FA1F:
		return true
	}
	return false
}

// isBertPunct is Hugging Face's is_bert_punc: ASCII punctuation (which includes symbols such as
// $ + < = > ^ ` | ~) or a Unicode punctuation character (category P).
func isBertPunct(r rune) bool {
	if r < utf8.RuneSelf {
		return (r >= '!' && r <= '/') || (r >= ':' && r <= '@') || (r >= '[' && r <= '`') || (r >= '{' && r <= '~')
	}
	return unicode.IsPunct(r)
}

// preTokenize is Hugging Face's BertPreTokenizer: it splits s on whitespace (dropped) and
// isolates every punctuation character as its own word. The words are substrings of s.
func preTokenize(s string, yield func(word string)) {
	start := -1
	for i, r := range s {
		switch {
		case unicode.IsSpace(r):
			if start >= 0 {
				yield(s[start:i])
				start = -1
			}
		case isBertPunct(r):
			if start >= 0 {
				yield(s[start:i])
				start = -1
			}
			_, width := utf8.DecodeRuneInString(s[i:])
			yield(s[i : i+width])
		default:
			if start < 0 {
				start = i
			}
		}
	}
	if start >= 0 {
		yield(s[start:])
	}
}
