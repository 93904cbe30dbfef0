package bm25

// This file implements the original Porter stemming algorithm (M. F. Porter, "An algorithm for suffix
// stripping", Program 14(3), 1980) exactly as Lucene's PorterStemmer (used by PorterStemFilter, hence by
// EnglishAnalyzer and Anserini's default analyzer) does: it follows Porter's reference C implementation,
// including its two published departures from the paper (step 2 maps "bli"→"ble" instead of
// "abli"→"able", and adds "logi"→"log"), and leaves words of one or two characters alone. It is NOT the
// later "Porter2"/Snowball English stemmer, which stems differently (e.g. "generously": Porter
// "gener", Porter2 "generous").

// Stem returns the Porter stem of a lower-cased word. Characters other than a, e, i, o, u and y are
// treated as consonants, as in the reference implementation.
func Stem(word string) string {
	if len(word) <= 2 {
		return word
	}
	s := porter{b: []byte(word)}
	s.k = len(s.b) - 1
	s.step1ab()
	s.step1c()
	s.step2()
	s.step3()
	s.step4()
	s.step5()
	return string(s.b[:s.k+1])
}

// porter is the state of one stemming: b[0..k] is the current word and j marks the end of the stem
// when a suffix has been matched by ends.
type porter struct {
	b    []byte
	k, j int
}

// cons reports whether b[i] is a consonant.
func (p *porter) cons(i int) bool {
	switch p.b[i] {
	case 'a', 'e', 'i', 'o', 'u':
		return false
	case 'y':
		if i == 0 {
			return true
		}
		return !p.cons(i - 1)
	}
	return true
}

// m measures the number of consonant–vowel sequences in b[0..j]: for [C](VC)^m[V] it returns m.
func (p *porter) m() int {
	n, i := 0, 0
	for {
		if i > p.j {
			return n
		}
		if !p.cons(i) {
			break
		}
		i++
	}
	i++
	for {
		for {
			if i > p.j {
				return n
			}
			if p.cons(i) {
				break
			}
			i++
		}
		i++
		n++
		for {
			if i > p.j {
				return n
			}
			if !p.cons(i) {
				break
			}
			i++
		}
		i++
	}
}

// vowelInStem reports whether b[0..j] contains a vowel.
func (p *porter) vowelInStem() bool {
	for i := 0; i <= p.j; i++ {
		if !p.cons(i) {
			return true
		}
	}
	return false
}

// doubleC reports whether b[i-1..i] is a double consonant.
func (p *porter) doubleC(i int) bool {
	if i < 1 || p.b[i] != p.b[i-1] {
		return false
	}
	return p.cons(i)
}

// cvc reports whether b[i-2..i] is consonant–vowel–consonant with the last consonant not w, x or y
// (used to restore an e in e.g. hop(e), cav(e)).
func (p *porter) cvc(i int) bool {
	if i < 2 || !p.cons(i) || p.cons(i-1) || !p.cons(i-2) {
		return false
	}
	switch p.b[i] {
	case 'w', 'x', 'y':
		return false
	}
	return true
}

// ends reports whether b[0..k] ends with s, and if so sets j to the index before the suffix.
func (p *porter) ends(s string) bool {
	l := len(s)
	if l > p.k+1 {
		return false
	}
	if string(p.b[p.k-l+1:p.k+1]) != s {
		return false
	}
	p.j = p.k - l
	return true
}

// setTo replaces b[j+1..k] with s.
func (p *porter) setTo(s string) {
	p.b = append(p.b[:p.j+1], s...)
	p.k = p.j + len(s)
}

// r replaces the suffix with s when the stem's measure is positive.
func (p *porter) r(s string) {
	if p.m() > 0 {
		p.setTo(s)
	}
}

// step1ab removes plurals and -ed or -ing: caresses→caress, ponies→poni, meetings→meet,
// agreed→agree, plastered→plaster, hopping→hop, filing→file.
func (p *porter) step1ab() {
	if p.b[p.k] == 's' {
		switch {
		case p.ends("sses"):
			p.k -= 2
		case p.ends("ies"):
			p.setTo("i")
		case p.b[p.k-1] != 's':
			p.k--
		}
	}
	if p.ends("eed") {
		if p.m() > 0 {
			p.k--
		}
	} else if (p.ends("ed") || p.ends("ing")) && p.vowelInStem() {
		p.k = p.j
		switch {
		case p.ends("at"):
			p.setTo("ate")
		case p.ends("bl"):
			p.setTo("ble")
		case p.ends("iz"):
			p.setTo("ize")
		case p.doubleC(p.k):
			p.k--
			switch p.b[p.k] {
			case 'l', 's', 'z':
				p.k++
			}
		case p.m() == 1 && p.cvc(p.k):
			p.setTo("e")
		}
	}
}

// step1c turns a terminal y into i when there is another vowel in the stem.
func (p *porter) step1c() {
	if p.ends("y") && p.vowelInStem() {
		p.b = append(p.b[:p.k], 'i')
	}
}

// suffixRule is one "suffix → replacement" rule of steps 2 to 4.
type suffixRule struct{ suffix, repl string }

// step2Rules are keyed by the penultimate letter, as in the reference implementation.
var step2Rules = map[byte][]suffixRule{
	'a': {{"ational", "ate"}, {"tional", "tion"}},
	'c': {{"enci", "ence"}, {"anci", "ance"}},
	'e': {{"izer", "ize"}},
	'l': {{"bli", "ble"}, {"alli", "al"}, {"entli", "ent"}, {"eli", "e"}, {"ousli", "ous"}},
	'o': {{"ization", "ize"}, {"ation", "ate"}, {"ator", "ate"}},
	's': {{"alism", "al"}, {"iveness", "ive"}, {"fulness", "ful"}, {"ousness", "ous"}},
	't': {{"aliti", "al"}, {"iviti", "ive"}, {"biliti", "ble"}},
	'g': {{"logi", "log"}},
}

// step3Rules are keyed by the last letter.
var step3Rules = map[byte][]suffixRule{
	'e': {{"icate", "ic"}, {"ative", ""}, {"alize", "al"}},
	'i': {{"iciti", "ic"}},
	'l': {{"ical", "ic"}, {"ful", ""}},
	's': {{"ness", ""}},
}

// applyFirst applies the first rule whose suffix matches (if its stem has m() > 0); later rules are
// not tried once a suffix matched, even when the measure condition fails.
func (p *porter) applyFirst(rules []suffixRule) {
	for _, r := range rules {
		if p.ends(r.suffix) {
			p.r(r.repl)
			return
		}
	}
}

// step2 maps double suffixes to single ones: -ization → -ize, -ational → -ate, …
func (p *porter) step2() {
	if p.k == 0 {
		return
	}
	p.applyFirst(step2Rules[p.b[p.k-1]])
}

// step3 deals with -ic-, -full, -ness etc.
func (p *porter) step3() {
	p.applyFirst(step3Rules[p.b[p.k]])
}

// step4Suffixes are keyed by the penultimate letter; "ion" is handled specially.
var step4Suffixes = map[byte][]string{
	'a': {"al"},
	'c': {"ance", "ence"},
	'e': {"er"},
	'i': {"ic"},
	'l': {"able", "ible"},
	'n': {"ant", "ement", "ment", "ent"},
	's': {"ism"},
	't': {"ate", "iti"},
	'u': {"ous"},
	'v': {"ive"},
	'z': {"ize"},
}

// step4 removes -ant, -ence etc. in context <c>vcvc<v>.
func (p *porter) step4() {
	if p.k == 0 {
		return
	}
	c := p.b[p.k-1]
	matched := false
	if c == 'o' {
		if p.ends("ion") && p.j >= 0 && (p.b[p.j] == 's' || p.b[p.j] == 't') {
			matched = true
		} else if p.ends("ou") {
			matched = true
		}
	} else {
		for _, s := range step4Suffixes[c] {
			if p.ends(s) {
				matched = true
				break
			}
		}
	}
	if matched && p.m() > 1 {
		p.k = p.j
	}
}

// step5 removes a final -e if m() > 1 (or m() == 1 and not *o), and changes -ll to -l if m() > 1.
func (p *porter) step5() {
	p.j = p.k
	if p.b[p.k] == 'e' {
		a := p.m()
		if a > 1 || a == 1 && !p.cvc(p.k-1) {
			p.k--
		}
	}
	if p.b[p.k] == 'l' && p.doubleC(p.k) && p.m() > 1 {
		p.k--
	}
}
