package tokenizer

import (
	"slices"
	"testing"

	sugarme "github.com/sugarme/tokenizer"
	"github.com/sugarme/tokenizer/normalizer"
	"github.com/sugarme/tokenizer/pretokenizer"
)

// wordModel is a sugarme model that returns each pre-tokenised word as one token, so that
// sugarme's pipeline can be compared with this package's normalisation and pre-tokenisation.
type wordModel struct{}

func (wordModel) Tokenize(s string) ([]sugarme.Token, error) {
	return []sugarme.Token{{Value: s, Offsets: []int{0, len(s)}}}, nil
}
func (wordModel) TokenToId(string) (int, bool) { return 0, false }
func (wordModel) IdToToken(int) (string, bool) { return "", false }
func (wordModel) GetVocab() map[string]int     { return nil }
func (wordModel) GetVocabSize() int            { return 0 }
func (wordModel) Save(string, ...string) error { return nil }

// TestCrossCheckSugarme compares the words this package's BERT normalisation and pre-tokenisation
// produce with those of github.com/sugarme/tokenizer's BertNormalizer and BertPreTokenizer, an
// independent implementation, on plain ASCII text (where sugarme is correct; see the package
// documentation for where it is not).
func TestCrossCheckSugarme(t *testing.T) {
	sg := sugarme.NewTokenizer(wordModel{})
	sg.WithNormalizer(normalizer.NewBertNormalizer(true, true, true, true))
	sg.WithPreTokenizer(pretokenizer.NewBertPreTokenizer())
	norm := UncasedNormalization()
	for _, text := range []string{
		"Hello, World! How are you?!?",
		"what is the capital of France? (Paris) -- it's 2,140,526 people; 105.4 km^2.",
		"Distillation: a Cross-Encoder teacher -> ColBERT/SPLADE students [2020] {fast} <ok> |x| ~y~ `z` @me #tag $5 100% a+b=c_d\\e",
		"  tabs\tand\nnewlines\r\n  and   runs of spaces  ",
		"MS MARCO passage: \"The quick brown fox\" jumped over 3 lazy dogs & 2 cats.",
	} {
		enc, err := sg.EncodeSingle(text, false)
		if err != nil {
			t.Fatalf("sugarme EncodeSingle(%q): %v", text, err)
		}
		var got []string
		preTokenize(norm.Normalize(text), func(w string) { got = append(got, w) })
		if want := enc.Tokens; !slices.Equal(got, want) {
			t.Errorf("words of %q:\n got %q\nwant %q (sugarme)", text, got, want)
		}
	}
}
