//go:build hftokenizers

package hf

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mimicry-ir/mimicry/models/tokenizer"
	"github.com/mimicry-ir/mimicry/models/tokenizer/parity"
)

// skipNUL skips texts with a NUL byte: the binding passes C strings, which end there.
func skipNUL(text string) string {
	if strings.Contains(text, "\x00") {
		return "contains NUL, which ends the C string that daulet/tokenizers passes to Rust"
	}
	return ""
}

// defaultJSON writes the embedded bert-base-uncased tokenizer as a tokenizer.json (the pure-Go
// package writes Hugging Face's format) and returns its path.
func defaultJSON(t testing.TB) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := tokenizer.Default().SaveTokenizerJSON(p); err != nil {
		t.Fatal(err)
	}
	return p
}

func load(t testing.TB, path string) *Tokenizer {
	t.Helper()
	tk, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tk.Close() })
	return tk
}

func TestAgreesWithPureGo(t *testing.T) {
	tk := load(t, defaultJSON(t))
	def := tokenizer.Default()
	if tk.VocabSize() != def.VocabSize() || tk.Specials() != def.Specials() {
		t.Fatalf("vocabulary %d/%+v, want %d/%+v", tk.VocabSize(), tk.Specials(), def.VocabSize(), def.Specials())
	}
	for _, text := range []string{"Hello, world! Tokenization", "Café 中文 😀 [MASK]", ""} {
		if got, want := tk.Encode(text), def.Encode(text); !slices.Equal(got, want) {
			t.Errorf("Encode(%q) = %v, pure Go %v", text, got, want)
		}
	}
	if id, ok := tk.TokenToID("##ization"); !ok || id != 3989 {
		t.Errorf("TokenToID(##ization) = %d, %v", id, ok)
	}
	if tok, ok := tk.IDToToken(7592); !ok || tok != "hello" {
		t.Errorf("IDToToken(7592) = %q, %v", tok, ok)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"broken.json":     "{",
		"novocab.json":    `{"model": {"type": "WordPiece", "vocab": {}}}`,
		"nospecials.json": `{"model": {"type": "WordPiece", "unk_token": "x", "vocab": {"x": 0, "y": 1}}}`,
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(p); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("Load(%s) error = %v, want one naming the file", name, err)
		}
	}
}

// TestParity checks Hugging Face's Rust tokenizers, through this binding, against the same
// fixture as the pure-Go tokenizer (texts with NUL bytes skipped).
func TestParity(t *testing.T) {
	opts := parity.Options{Skip: skipNUL}
	t.Run(parity.BertBaseUncased+"/go-written-json", func(t *testing.T) {
		parity.Check(t, parity.BertBaseUncased, load(t, defaultJSON(t)), opts)
	})
	for _, model := range []string{parity.BertBaseUncased, parity.MiniLM} {
		t.Run(model, func(t *testing.T) {
			path, err := parity.TokenizerJSON(model)
			if err != nil {
				t.Skip(err)
			}
			parity.Check(t, model, load(t, path), opts)
		})
	}
}
