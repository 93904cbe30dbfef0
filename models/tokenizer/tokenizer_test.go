package tokenizer

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

func TestDefaultKnownIDs(t *testing.T) {
	tk := Default()
	if got := tk.VocabSize(); got != 30522 {
		t.Fatalf("VocabSize = %d, want 30522", got)
	}
	want := map[string]int{
		"[PAD]": 0, "[unused0]": 1, "[unused1]": 2, "[UNK]": 100, "[CLS]": 101, "[SEP]": 102,
		"[MASK]": 103, "hello": 7592, "world": 2088, "token": 19204, "##ization": 3989,
		",": 1010, "!": 999, "the": 1996,
	}
	for tok, id := range want {
		got, ok := tk.TokenToID(tok)
		if !ok || got != id {
			t.Errorf("TokenToID(%q) = %d, %v; want %d", tok, got, ok, id)
		}
		back, ok := tk.IDToToken(id)
		if !ok || back != tok {
			t.Errorf("IDToToken(%d) = %q, %v; want %q", id, back, ok, tok)
		}
	}
	if sp := tk.Specials(); sp != (Specials{Pad: 0, CLS: 101, SEP: 102, Mask: 103, UNK: 100}) {
		t.Errorf("Specials = %+v", sp)
	}
	for _, id := range []int{-1, 30522} {
		if tok, ok := tk.IDToToken(id); ok {
			t.Errorf("IDToToken(%d) = %q, true; want false", id, tok)
		}
	}
	if _, ok := tk.TokenToID("no-such-token"); ok {
		t.Error(`TokenToID("no-such-token") found`)
	}
	if Default() != tk {
		t.Error("Default returns a new value on each call")
	}
}

func TestDefaultEncode(t *testing.T) {
	tk := Default()
	for _, c := range []struct {
		text string
		want []string
	}{
		{"Hello, world! Tokenization", []string{"hello", ",", "world", "!", "token", "##ization"}},
		// Hugging Face's "Summary of the tokenizers" example for bert-base-uncased.
		{"I have a new GPU!", []string{"i", "have", "a", "new", "gp", "##u", "!"}},
		// Accents stripped after NFD decomposition (precomposed and combining forms alike).
		{"Café naïve Ünïcödé", []string{"cafe", "naive", "unicode"}},
		{"Cafe\u0301", []string{"cafe"}},
		{"İstanbul", []string{"istanbul"}},
		// Punctuation is split off, ASCII symbols included.
		{"don't stop-words $5.00", []string{"don", "'", "t", "stop", "-", "words", "$", "5", ".", "00"}},
		// Unicode whitespace separates words; control/format characters are removed.
		{"a\u00a0b\u2003c\td\ne", []string{"a", "b", "c", "d", "e"}},
		{"ab\u200bc\x00d", []string{"abc", "##d"}},
		// CJK ideographs become words of their own.
		{"中文text", []string{"中", "文", "text"}},
		// Special tokens written in the text are kept; lower-case look-alikes are not special.
		{"hello [MASK] world[SEP]", []string{"hello", "[MASK]", "world", "[SEP]"}},
		{"[mask]", []string{"[", "mask", "]"}},
		// [unused0] is not a special token of bert-base-uncased's tokenizer.json: it is split.
		{"[unused0]", []string{"[", "unused", "##0", "]"}},
		{"emoji 😀", []string{"em", "##oj", "##i", "[UNK]"}},
		{"", nil},
		{" \t\n ", nil},
		{strings.Repeat("a", 101), []string{"[UNK]"}},
	} {
		got := tk.Tokenize(c.text)
		if !slices.Equal(got, c.want) && !(len(got) == 0 && len(c.want) == 0) {
			t.Errorf("Tokenize(%q) = %q, want %q", c.text, got, c.want)
		}
	}
	if got, want := tk.Encode("Hello, world! Tokenization"), []int{7592, 1010, 2088, 999, 19204, 3989}; !slices.Equal(got, want) {
		t.Errorf("Encode = %v, want %v", got, want)
	}
	// Invalid UTF-8 is dropped (it decodes to U+FFFD, which cleaning removes).
	if got, want := tk.Encode("bad\xffutf8"), tk.Encode("badutf8"); !slices.Equal(got, want) {
		t.Errorf("Encode(invalid UTF-8) = %v, want %v", got, want)
	}
	if got := Tokens(tk, []int{7592, -3}); !slices.Equal(got, []string{"hello", "<id -3?>"}) {
		t.Errorf("Tokens = %q", got)
	}
}

func TestNormalizationSettings(t *testing.T) {
	cased, err := FromVocab([]string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "Café", "cafe", "Cafe"}, CasedNormalization())
	if err != nil {
		t.Fatal(err)
	}
	if got := cased.Tokenize("Café cafe"); !slices.Equal(got, []string{"Café", "cafe"}) {
		t.Errorf("cased Tokenize = %q", got)
	}
	n := Normalization{Lowercase: true} // lower-case, accents kept
	if got := n.Normalize("CAFÉ"); got != "café" {
		t.Errorf("Normalize = %q", got)
	}
	if got := UncasedNormalization().Normalize("A\u00a0B\x01中"); got != "a b 中 " {
		t.Errorf("Normalize = %q", got)
	}
}

func TestPreTokenize(t *testing.T) {
	// Hugging Face's BertPreTokenizer test.
	var got []string
	preTokenize("Hey friend!     How are you?!?", func(w string) { got = append(got, w) })
	want := []string{"Hey", "friend", "!", "How", "are", "you", "?", "!", "?"}
	if !slices.Equal(got, want) {
		t.Errorf("preTokenize = %q, want %q", got, want)
	}
}

func TestConcurrentEncode(t *testing.T) {
	tk := Default()
	want := tk.Encode("The quick brown fox jumps over the lazy dog.")
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if got := tk.Encode("The quick brown fox jumps over the lazy dog."); !slices.Equal(got, want) {
					t.Errorf("concurrent Encode = %v, want %v", got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkEncodePassage(b *testing.B) {
	tk := Default()
	text := strings.Repeat("The quick brown fox jumps over the lazy dog; distillation of neural rankers works. ", 8)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		tk.Encode(text)
	}
}

func FuzzEncode(f *testing.F) {
	for _, s := range []string{"Hello, world!", "café İ Ⱥ ẞ", "a\u00a0b", "bad\xff\xfe", "[MASK][SEP]x", "中文", "😀\u200b\x00"} {
		f.Add(s)
	}
	tk := Default()
	f.Fuzz(func(t *testing.T, text string) {
		normalized := tk.Normalization().Normalize(text)
		if !utf8.ValidString(normalized) {
			t.Fatalf("Normalize(%q) = %q is not valid UTF-8", text, normalized)
		}
		ids := tk.Encode(text)
		for _, id := range ids {
			if id < 0 || id >= tk.VocabSize() {
				t.Fatalf("Encode(%q) has id %d", text, id)
			}
		}
		b, err := EncodeBatch(tk, []string{text}, 16)
		if err != nil || b.Lengths[0] != min(len(ids)+2, 16) {
			t.Fatalf("EncodeBatch(%q) = %+v, %v", text, b, err)
		}
	})
}
