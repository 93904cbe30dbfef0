package tokenizer

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Normalization configures the BERT normaliser, with the meaning of the fields of Hugging Face's
// BertNormalizer.
type Normalization struct {
	// CleanText removes NUL, U+FFFD (which is also what invalid UTF-8 decodes to) and control/format/
	// private-use characters (not unassigned ones), and turns every other whitespace character into
	// a space.
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
// accents, lower-case. The character classes are Hugging Face's, measured on its tokenizers
// (unicode_tables.go), not Go's: they follow older Unicode data. The result is valid UTF-8.
func (n Normalization) Normalize(text string) string {
	var b strings.Builder
	b.Grow(len(text) + 8)
	for _, r := range text { // invalid UTF-8 bytes decode to utf8.RuneError (U+FFFD)
		if n.CleanText {
			if isRemoved(r) {
				continue
			}
			if isWhitespace(r) {
				r = ' '
			}
		}
		if n.HandleChineseChars && r >= 0x3400 && unicode.Is(hfChinese, r) {
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
		s = lowercase(s)
	}
	return s
}

// isRemoved reports whether clean_text removes r: NUL, U+FFFD and Hugging Face's "other"
// characters (control, format, private use) except tab, newline and carriage return.
func isRemoved(r rune) bool {
	if r < utf8.RuneSelf {
		return (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7f
	}
	return unicode.Is(hfRemoved, r)
}

// isWhitespace is Rust's char::is_whitespace (Unicode White_Space), as Hugging Face uses it.
func isWhitespace(r rune) bool {
	if r < utf8.RuneSelf {
		return r == ' ' || (r >= '\t' && r <= '\r')
	}
	return unicode.Is(hfWhitespace, r)
}

// isBertPunct is Hugging Face's is_bert_punc: ASCII punctuation (which includes symbols such as
// $ + < = > ^ ` | ~) or a punctuation character of Hugging Face's (older) Unicode tables.
func isBertPunct(r rune) bool {
	if r < utf8.RuneSelf {
		return (r >= '!' && r <= '/') || (r >= ':' && r <= '@') || (r >= '[' && r <= '`') || (r >= '{' && r <= '~')
	}
	return unicode.Is(hfPunct, r)
}

// Hangul syllables, which decompose algorithmically.
const (
	hangulFirst, hangulLast    = 0xAC00, 0xD7A3
	hangulL, hangulV, hangulT  = 0x1100, 0x1161, 0x11A7
	hangulVCount, hangulTCount = 21, 28
	hangulNCount               = hangulVCount * hangulTCount
)

// stripAccents is Hugging Face's strip_accents: canonical decomposition (NFD, with Hugging Face's
// Unicode 9 decompositions and combining classes) and removal of non-spacing marks (Mn).
func stripAccents(s string) string {
	if isASCII(s) {
		return s
	}
	out := make([]rune, 0, len(s))
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf:
			out = append(out, r)
		case r >= hangulFirst && r <= hangulLast:
			i := r - hangulFirst
			out = append(out, hangulL+i/hangulNCount, hangulV+(i%hangulNCount)/hangulTCount)
			if t := i % hangulTCount; t != 0 {
				out = append(out, hangulT+t)
			}
		default:
			if d, ok := hfDecomposition[r]; ok {
				out = append(out, []rune(d)...)
			} else {
				out = append(out, r)
			}
		}
	}
	reorderMarks(out)
	kept := out[:0]
	for _, r := range out {
		if r < utf8.RuneSelf || !unicode.Is(hfNonspacingMark, r) {
			kept = append(kept, r)
		}
	}
	return string(kept)
}

// reorderMarks puts every run of combining marks (non-zero combining class) in the canonical
// order: a stable sort by combining class.
func reorderMarks(rs []rune) {
	for i := 0; i < len(rs); {
		if hfCombiningClass[rs[i]] == 0 {
			i++
			continue
		}
		j := i + 1
		for j < len(rs) && hfCombiningClass[rs[j]] != 0 {
			j++
		}
		if j-i > 1 {
			slices.SortStableFunc(rs[i:j], func(a, b rune) int {
				return int(hfCombiningClass[a]) - int(hfCombiningClass[b])
			})
		}
		i = j
	}
}

// lowercase is Hugging Face's lowercase: Rust's char::to_lowercase on every character (so "İ"
// becomes "i̇", and a final capital sigma "σ").
func lowercase(s string) string {
	i := 0
	for i < len(s) && s[i] < utf8.RuneSelf && !('A' <= s[i] && s[i] <= 'Z') {
		i++
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for _, r := range s[i:] {
		switch {
		case r < utf8.RuneSelf:
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
			b.WriteByte(byte(r))
		default:
			if lo, ok := hfLower[r]; ok {
				b.WriteString(lo)
			} else {
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// preTokenize is Hugging Face's BertPreTokenizer: it splits s on whitespace (dropped) and
// isolates every punctuation character as its own word. The words are substrings of s.
func preTokenize(s string, yield func(word string)) {
	start := -1
	for i, r := range s {
		switch {
		case isWhitespace(r):
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
