package bm25

import (
	"slices"
	"testing"
)

func TestTokenize(t *testing.T) {
	cases := map[string][]string{
		"Hello, World!":                {"Hello", "World"},
		"don't stop":                   {"don't", "stop"},
		"wi-fi":                        {"wi", "fi"},
		"snake_case word":              {"snake_case", "word"},
		"foo...bar":                    {"foo", "bar"},
		"the U.S.A. team":              {"the", "U.S.A", "team"},
		"pi is 3.14, not 1,000.5;":     {"pi", "is", "3.14", "not", "1,000.5"},
		"a:b":                          {"a:b"},
		"1:2":                          {"1", "2"},
		"mach2 flow":                   {"mach2", "flow"},
		"'quoted'":                     {"quoted"},
		"日本語":                          {"日", "本", "語"},
		"cafe\u0301 au lait":           {"cafe\u0301", "au", "lait"},
		"  \t\r\n":                     nil,
		"___ x":                        {"x"},
		"boundary-layer-control /x/ .": {"boundary", "layer", "control", "x"},
	}
	for in, want := range cases {
		if got := Tokenize(in); !slices.Equal(got, want) {
			t.Errorf("Tokenize(%q) = %q, want %q", in, got, want)
		}
	}
	long := make([]byte, 600)
	for i := range long {
		long[i] = 'a'
	}
	if got := Tokenize(string(long)); len(got) != 3 || len(got[0]) != 255 || len(got[2]) != 90 {
		t.Errorf("long token split into %d pieces", len(got))
	}
}

func TestDefaultAnalyzer(t *testing.T) {
	got := DefaultAnalyzer().Analyze("The runners were running quickly to the U.S.A. office's doors, costing 3.14 and 1,000 dollars")
	want := []string{"runner", "were", "run", "quickli", "u.s.a", "offic", "door", "cost", "3.14", "1,000", "dollar"}
	if !slices.Equal(got, want) {
		t.Errorf("Analyze = %q\nwant      %q", got, want)
	}
	plain := (&Analyzer{Lowercase: true}).Analyze("The Cats' THE")
	if !slices.Equal(plain, []string{"the", "cats", "the"}) {
		t.Errorf("lowercase only = %q", plain)
	}
	if got := (&Analyzer{}).Analyze("The Cat's"); !slices.Equal(got, []string{"The", "Cat's"}) {
		t.Errorf("no filters = %q", got)
	}
	if got := (&Analyzer{Possessive: true, Lowercase: true}).Analyze("JOHN'S John’s"); !slices.Equal(got, []string{"john", "john"}) {
		t.Errorf("possessive = %q", got)
	}
	if len(EnglishStopWords) != 33 {
		t.Errorf("Lucene's list has 33 stop words, got %d", len(EnglishStopWords))
	}
}

// TestPorter checks the original Porter algorithm on the examples of Porter's paper and on words whose
// Porter and Porter2 stems differ (Lucene uses the original).
func TestPorter(t *testing.T) {
	cases := map[string]string{
		// Step 1a/1b/1c (paper examples).
		"caresses": "caress", "ponies": "poni", "ties": "ti", "caress": "caress", "cats": "cat",
		"feed": "feed", "agreed": "agre", "plastered": "plaster", "bled": "bled", "motoring": "motor",
		"sing": "sing", "conflated": "conflat", "troubled": "troubl", "sized": "size", "hopping": "hop",
		"tanned": "tan", "falling": "fall", "hissing": "hiss", "fizzed": "fizz", "failing": "fail",
		"filing": "file", "happy": "happi", "sky": "sky",
		// Steps 2–5 (paper examples, followed through all steps).
		"relational": "relat", "conditional": "condit", "rational": "ration", "valenci": "valenc",
		"hesitanci": "hesit", "digitizer": "digit", "conformabli": "conform", "radicalli": "radic",
		"differentli": "differ", "vileli": "vile", "analogousli": "analog", "vietnamization": "vietnam",
		"predication": "predic", "operator": "oper", "feudalism": "feudal", "decisiveness": "decis",
		"hopefulness": "hope", "callousness": "callous", "formaliti": "formal", "sensitiviti": "sensit",
		"sensibiliti": "sensibl", "triplicate": "triplic", "formative": "form", "formalize": "formal",
		"electriciti": "electr", "electrical": "electr", "hopeful": "hope", "goodness": "good",
		"revival": "reviv", "allowance": "allow", "inference": "infer", "airliner": "airlin",
		"gyroscopic": "gyroscop", "adjustable": "adjust", "defensible": "defens", "irritant": "irrit",
		"replacement": "replac", "adjustment": "adjust", "dependent": "depend", "adoption": "adopt",
		"homologou": "homolog", "communism": "commun", "activate": "activ", "angulariti": "angular",
		"homologous": "homolog", "effective": "effect", "bowdlerize": "bowdler", "probate": "probat",
		"rate": "rate", "cease": "ceas", "controll": "control", "roll": "roll",
		// The reference implementation's departures: logi → log.
		"archaeology": "archaeolog",
		// Porter vs Porter2 (Snowball English gives generous, fairli, sky, dy).
		"generously": "gener", "fairly": "fairli", "dying": "dy",
		// Short words are left alone; aerodynamics vocabulary.
		"as": "as", "is": "is", "aerodynamic": "aerodynam", "boundary": "boundari", "layers": "layer",
		"supersonic": "superson", "flows": "flow", "experimental": "experiment", "investigation": "investig",
		"ies": "i",
	}
	for in, want := range cases {
		if got := Stem(in); got != want {
			t.Errorf("Stem(%q) = %q, want %q", in, got, want)
		}
	}
}
