package bm25

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// EnglishStopWords is Lucene's English stop-word list (EnglishAnalyzer.ENGLISH_STOP_WORDS_SET), the
// list Anserini's default analyzer removes.
var EnglishStopWords = []string{
	"a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it",
	"no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these", "they",
	"this", "to", "was", "will", "with",
}

// maxTokenLength is StandardTokenizer's default maximum token length; longer tokens are split.
const maxTokenLength = 255

// Analyzer turns text into index terms, like Lucene's EnglishAnalyzer (StandardTokenizer →
// EnglishPossessiveFilter → LowerCaseFilter → StopFilter → PorterStemFilter), each step optional.
// The zero value only tokenizes; [DefaultAnalyzer] turns every step on, as Anserini does.
type Analyzer struct {
	// Lowercase lower-cases every token (Unicode simple case folding, like LowerCaseFilter).
	Lowercase bool
	// Possessive strips a trailing "'s" (or "’s") as EnglishPossessiveFilter does.
	Possessive bool
	// StopWords are removed after lower-casing; nil or empty removes nothing.
	StopWords map[string]bool
	// Stem applies the original Porter stemmer ([Stem]).
	Stem bool
}

// DefaultAnalyzer returns the analyzer Anserini uses by default: lower-casing, possessive removal,
// Lucene's English stop words and Porter stemming.
func DefaultAnalyzer() *Analyzer {
	return &Analyzer{Lowercase: true, Possessive: true, StopWords: StopSet(EnglishStopWords), Stem: true}
}

// StopSet builds a stop-word set from a list.
func StopSet(words []string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// Analyze returns the terms of text in order (repeated terms repeated).
func (a *Analyzer) Analyze(text string) []string {
	toks := Tokenize(text)
	out := toks[:0]
	for _, t := range toks {
		if a.Possessive {
			t = stripPossessive(t)
		}
		if a.Lowercase {
			t = strings.ToLower(t)
		}
		if len(a.StopWords) > 0 && a.StopWords[t] {
			continue
		}
		if a.Stem {
			t = Stem(t)
		}
		if t == "" {
			continue
		}
		out = append(out, t)
	}
	return out
}

// stripPossessive removes a trailing 's, ’s or ＇s (either case of s), as EnglishPossessiveFilter does.
func stripPossessive(t string) string {
	if len(t) < 2 {
		return t
	}
	last := t[len(t)-1]
	if last != 's' && last != 'S' {
		return t
	}
	r, size := utf8.DecodeLastRuneInString(t[:len(t)-1])
	if r == '\'' || r == '\u2019' || r == '\uFF07' {
		return t[:len(t)-1-size]
	}
	return t
}

// wordBreak classes of Unicode UAX #29 that the tokenizer distinguishes.
type wbClass int

const (
	wbOther        wbClass = iota
	wbLetter               // ALetter (and Hebrew_Letter)
	wbNumeric              // Numeric
	wbExtendNumLet         // e.g. '_'
	wbMidLetter            // e.g. ':' '·'
	wbMidNumLet            // e.g. '.' '’'
	wbMidNum               // e.g. ',' ';'
	wbSingleQuote          // '\''
	wbExtend               // combining marks and format characters: attach to the previous character
	wbIdeo                 // Han, Hiragana, Thai…: one token per character
)

func classify(r rune) wbClass {
	switch r {
	case '\'':
		return wbSingleQuote
	case '.', '\u2018', '\u2019', '\u2024', '\uFE52', '\uFF07', '\uFF0E':
		return wbMidNumLet
	case ':', '\u00B7', '\u0387', '\u05F4', '\u2027', '\uFE13', '\uFE55', '\uFF1A':
		return wbMidLetter
	case ',', ';', '\u037E', '\u0589', '\u060C', '\u060D', '\u066C', '\u07F8', '\u2044', '\uFE10',
		'\uFE14', '\uFE50', '\uFE54', '\uFF0C', '\uFF1B':
		return wbMidNum
	case '_', '\u203F', '\u2040', '\u2054', '\uFE33', '\uFE34', '\uFE4D', '\uFE4E', '\uFE4F', '\uFF3F':
		return wbExtendNumLet
	}
	switch {
	case unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Thai, unicode.Lao, unicode.Khmer,
		unicode.Myanmar):
		return wbIdeo
	case unicode.IsLetter(r):
		return wbLetter
	case unicode.Is(unicode.Nd, r):
		return wbNumeric
	case unicode.In(r, unicode.Mn, unicode.Me, unicode.Mc, unicode.Cf):
		return wbExtend
	}
	return wbOther
}

// Tokenize splits text into words following the Unicode word-boundary rules (UAX #29) that Lucene's
// StandardTokenizer implements, simplified to what matters for English: a token is a run of letters,
// digits and connector punctuation ('_'); letters stay joined across one apostrophe, period or colon
// between letters ("don't", "u.s.a"), digits across one comma, period, semicolon or apostrophe between
// digits ("3.14", "1,000"); everything else separates tokens and is dropped. Han, Hiragana and Thai-like
// scripts give one token per character (Lucene segments Thai with a dictionary instead). Tokens longer
// than 255 characters are split, like StandardTokenizer's default maximum token length. Case is kept.
func Tokenize(text string) []string {
	var out []string
	start := -1     // byte offset of the current token, -1 when none
	prev := wbOther // class of the last letter/digit/connector of the current token
	emit := func(end int) {
		if start >= 0 {
			out = appendSplit(out, text[start:end])
		}
		start = -1
		prev = wbOther
	}
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		c := classify(r)
		switch c {
		case wbLetter, wbNumeric, wbExtendNumLet:
			if start < 0 {
				start = i
			}
			prev = c
			i += size
		case wbExtend:
			i += size // WB4: stays with whatever precedes it
		case wbIdeo:
			emit(i)
			out = append(out, text[i:i+size])
			i += size
		case wbMidLetter, wbMidNumLet, wbMidNum, wbSingleQuote:
			if start >= 0 {
				// Look at the next non-Extend character.
				j := i + size
				for j < len(text) {
					r2, s2 := utf8.DecodeRuneInString(text[j:])
					if classify(r2) != wbExtend {
						break
					}
					j += s2
				}
				if j < len(text) {
					r2, _ := utf8.DecodeRuneInString(text[j:])
					next := classify(r2)
					joinLetters := prev == wbLetter && next == wbLetter &&
						(c == wbMidLetter || c == wbMidNumLet || c == wbSingleQuote)
					joinDigits := prev == wbNumeric && next == wbNumeric &&
						(c == wbMidNum || c == wbMidNumLet || c == wbSingleQuote)
					if joinLetters || joinDigits {
						i = j
						continue
					}
				}
			}
			emit(i)
			i += size
		default:
			emit(i)
			i += size
		}
	}
	emit(len(text))
	return out
}

// appendSplit appends tok (dropping tokens of connectors only) split into pieces of at most
// maxTokenLength characters.
func appendSplit(out []string, tok string) []string {
	hasWord := false
	for _, r := range tok {
		if c := classify(r); c == wbLetter || c == wbNumeric {
			hasWord = true
			break
		}
	}
	if !hasWord {
		return out
	}
	if utf8.RuneCountInString(tok) <= maxTokenLength {
		return append(out, tok)
	}
	n, from := 0, 0
	for i := range tok {
		if n == maxTokenLength {
			out = append(out, tok[from:i])
			from, n = i, 0
		}
		n++
	}
	return append(out, tok[from:])
}
