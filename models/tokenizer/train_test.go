package tokenizer

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// trainCorpus is a small deterministic corpus: word i of a text is picked so that early words
// of the list are frequent and later ones rare.
func trainCorpus() []string {
	words := strings.Fields(`the of retrieval and neural ranking distillation teacher student passage
		query queries passages ranked ranking rankers training trained trains encoder encoders
		encoding decoding tokenization tokenizer tokens token relevance relevant irrelevant
		retrieve retrieving retrieved models model modeling late interaction interactions sparse
		dense expansion expanded expanding Cross-Encoder ColBERT SPLADE Café naïve`)
	var texts []string
	for i := range 400 {
		var b strings.Builder
		for j := range 12 {
			k := (i*7 + j*j*3 + i*j) % (len(words) * 3)
			if k >= len(words) { // skew towards the first words
				k %= 12
			}
			b.WriteString(words[k])
			if j%5 == 4 {
				b.WriteString(", ")
			} else {
				b.WriteByte(' ')
			}
		}
		if i%50 == 0 {
			b.WriteString("[SEP] [MASK]") // special tokens in text are not counted
		}
		texts = append(texts, b.String())
	}
	return texts
}

func TestTrainVocabulary(t *testing.T) {
	corpus := trainCorpus()
	tk, err := Train(slices.Values(corpus), 200, TrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tk.VocabSize() != 200 {
		t.Errorf("VocabSize = %d, want 200", tk.VocabSize())
	}
	vocab := tk.Vocab()
	if want := []string{"[PAD]", "[unused0]", "[unused1]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}; !slices.Equal(vocab[:7], want) {
		t.Errorf("first tokens = %q, want %q", vocab[:7], want)
	}
	if sp := tk.Specials(); sp != (Specials{Pad: 0, UNK: 3, CLS: 4, SEP: 5, Mask: 6}) {
		t.Errorf("Specials = %+v", sp)
	}
	// Characters (normalised: lower-cased, accents stripped), then their "##" forms.
	for _, tok := range []string{"a", "##a", "z", "##z", ",", "-", "##-"} {
		if _, ok := tk.TokenToID(tok); !ok {
			t.Errorf("alphabet token %q missing", tok)
		}
	}
	for _, tok := range []string{"é", "C"} { // normalised away
		if _, ok := tk.TokenToID(tok); ok {
			t.Errorf("unexpected token %q", tok)
		}
	}
	// The most frequent words are single tokens.
	for _, w := range []string{"the", "retrieval", "neural"} {
		if got := tk.Tokenize(w); !slices.Equal(got, []string{w}) {
			t.Errorf("Tokenize(%q) = %q, want a single token", w, got)
		}
	}
	// Nothing in the corpus is unknown; special tokens in text are recognised.
	for _, text := range corpus {
		if slices.Contains(tk.Encode(strings.ReplaceAll(strings.ReplaceAll(text, "[SEP]", ""), "[MASK]", "")), tk.Specials().UNK) {
			t.Fatalf("Encode(%q) has [UNK]: %q", text, tk.Tokenize(text))
		}
	}
	if got := tk.Encode("[CLS] x"); got[0] != 4 {
		t.Errorf("Encode([CLS] x) = %v", got)
	}
	// Unseen words are split into pieces of the vocabulary.
	pieces := tk.Tokenize("interactive")
	if len(pieces) < 2 || strings.Join(append(pieces[:1:1], trimAll(pieces[1:])...), "") != "interactive" {
		t.Errorf("pieces of %q = %q", "interactive", pieces)
	}
}

func trimAll(pieces []string) []string {
	out := make([]string, len(pieces))
	for i, p := range pieces {
		out[i] = strings.TrimPrefix(p, "##")
	}
	return out
}

func TestTrainDeterministic(t *testing.T) {
	corpus := trainCorpus()
	a, err := Train(slices.Values(corpus), 150, TrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Train(slices.Values(corpus), 150, TrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	reversed := slices.Clone(corpus)
	slices.Reverse(reversed)
	c, err := Train(slices.Values(reversed), 150, TrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Vocab(), b.Vocab()) || !slices.Equal(a.Vocab(), c.Vocab()) {
		t.Errorf("training is not deterministic:\n%q\n%q\n%q", a.Vocab()[100:], b.Vocab()[100:], c.Vocab()[100:])
	}
	// A smaller size gives a prefix of the same vocabulary.
	d, err := Train(slices.Values(corpus), 120, TrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Vocab(), a.Vocab()[:120]) {
		t.Errorf("size 120 is not a prefix of size 150")
	}
}

func TestTrainedRoundTrip(t *testing.T) {
	corpus := trainCorpus()
	tk, err := Train(slices.Values(corpus), 180, TrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := tk.Save(dir); err != nil {
		t.Fatal(err)
	}
	texts := append(slices.Clone(corpus[:20]), "unseen wörds: zebra quartz 😀", "[MASK] query")
	for _, p := range []string{dir, filepath.Join(dir, VocabFileName), filepath.Join(dir, TokenizerJSONFileName)} {
		back, err := LoadFile(p)
		if err != nil {
			t.Fatalf("LoadFile(%s): %v", p, err)
		}
		if !slices.Equal(back.Vocab(), tk.Vocab()) || back.Specials() != tk.Specials() || back.Normalization() != tk.Normalization() {
			t.Fatalf("LoadFile(%s): vocabulary, specials or normalisation changed", p)
		}
		for _, text := range texts {
			if got, want := back.Encode(text), tk.Encode(text); !slices.Equal(got, want) {
				t.Errorf("LoadFile(%s).Encode(%q) = %v, want %v", p, text, got, want)
			}
		}
	}
}

func TestTrainOptions(t *testing.T) {
	corpus := append(trainCorpus(), "жук")
	// The corpus has 26 characters besides ж, у and к.
	tk, err := Train(slices.Values(corpus), 200, TrainOptions{Unused: 5, LimitAlphabet: 26})
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := tk.TokenToID("[unused4]"); id != 5 || tk.Specials().UNK != 6 {
		t.Errorf("[unused4] = %d, [UNK] = %d; want 5, 6", id, tk.Specials().UNK)
	}
	if _, ok := tk.TokenToID("ж"); ok {
		t.Error("rare character kept despite LimitAlphabet")
	}
	if got := tk.Encode("жук"); !slices.Equal(got, []int{6}) {
		t.Errorf("Encode(жук) = %v, want [UNK]", got)
	}
	// With a high minimum frequency training stops early: specials and alphabet only, or a few merges.
	few, err := Train(slices.Values(corpus), 500, TrainOptions{MinFrequency: 1_000_000})
	if err != nil {
		t.Fatal(err)
	}
	if n := few.VocabSize(); n >= 200 {
		t.Errorf("VocabSize with MinFrequency 1e6 = %d", n)
	}
	cased := CasedNormalization()
	c, err := Train(slices.Values(corpus), 200, TrainOptions{Normalization: &cased})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.TokenToID("C"); !ok || c.Normalization() != cased {
		t.Error("cased training lower-cased the corpus")
	}
	if _, err := Train(slices.Values(corpus), 20, TrainOptions{}); err == nil || !strings.Contains(err.Error(), "LimitAlphabet") {
		t.Errorf("Train with a tiny size = %v", err)
	}
	if _, err := Train(slices.Values(corpus), 200, TrainOptions{LimitAlphabet: -1}); err == nil {
		t.Error("Train with LimitAlphabet -1 succeeded")
	}
}

func ExampleTrain() {
	texts := []string{"the cat sat on the mat", "the cats sat", "a cat and a hat"}
	tk, err := Train(slices.Values(texts), 60, TrainOptions{})
	if err != nil {
		panic(err)
	}
	fmt.Println(tk.Vocab()[:7])
	fmt.Println(tk.Tokenize("the cats hats"))
	// Output:
	// [[PAD] [unused0] [unused1] [UNK] [CLS] [SEP] [MASK]]
	// [the cats hat ##s]
}
