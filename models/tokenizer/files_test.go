package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var sampleTexts = []string{
	"Hello, world! Tokenization of naïve cafés.",
	"what is the capital of france?",
	"Knowledge distillation trains a small student to mimic a large teacher [SEP] ok",
	"中文 and emoji 😀 and \u00a0 spaces",
	"",
}

func TestTokenizerJSONRoundTrip(t *testing.T) {
	tk := Default()
	data, err := tk.TokenizerJSON()
	if err != nil {
		t.Fatal(err)
	}
	var generic map[string]any
	if err := json.Unmarshal(data, &generic); err != nil {
		t.Fatalf("TokenizerJSON is not valid JSON: %v", err)
	}
	if i := strings.Index(string(data), `"vocab": {`); i < 0 || !strings.HasPrefix(strings.TrimSpace(string(data[i+len(`"vocab": {`):])), `"[PAD]": 0,`) {
		t.Error("model.vocab is not written in id order")
	}
	back, err := ParseTokenizerJSON(data, "tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.Vocab(), tk.Vocab()) || back.Specials() != tk.Specials() || back.Normalization() != tk.Normalization() {
		t.Fatal("tokenizer.json round trip changed the vocabulary, specials or normalisation")
	}
	for _, text := range sampleTexts {
		if got, want := back.Encode(text), tk.Encode(text); !slices.Equal(got, want) {
			t.Errorf("Encode(%q) after round trip = %v, want %v", text, got, want)
		}
	}
}

func TestSaveAndLoadFile(t *testing.T) {
	tk := Default()
	dir := t.TempDir()
	if err := tk.Save(dir); err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	data, err := os.ReadFile(filepath.Join(dir, TokenizerConfigFileName))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &cfg); err != nil || cfg["do_lower_case"] != true || cfg["tokenizer_class"] != "BertTokenizer" {
		t.Errorf("tokenizer_config.json = %s (%v)", data, err)
	}
	// The same file under names that do not tell its kind: picked by content.
	for name, src := range map[string]string{"tok.bin": TokenizerJSONFileName, "words": VocabFileName} {
		data, err := os.ReadFile(filepath.Join(dir, src))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{dir, filepath.Join(dir, VocabFileName), filepath.Join(dir, TokenizerJSONFileName),
		filepath.Join(dir, "tok.bin"), filepath.Join(dir, "words")} {
		got, err := LoadFile(p)
		if err != nil {
			t.Fatalf("LoadFile(%s): %v", p, err)
		}
		if !slices.Equal(got.Vocab(), tk.Vocab()) || got.Normalization() != tk.Normalization() {
			t.Errorf("LoadFile(%s) differs from the saved tokenizer", p)
		}
		for _, text := range sampleTexts {
			if a, b := got.Encode(text), tk.Encode(text); !slices.Equal(a, b) {
				t.Errorf("LoadFile(%s).Encode(%q) = %v, want %v", p, text, a, b)
			}
		}
	}
}

func TestLoadVocabCasedConfigCRLF(t *testing.T) {
	dir := t.TempDir()
	vocab := "\xef\xbb\xbf[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\n[MASK]\r\nHello\r\nhello\r\n"
	if err := os.WriteFile(filepath.Join(dir, VocabFileName), []byte(vocab), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, TokenizerConfigFileName), []byte(`{"do_lower_case": false}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tk, err := LoadFile(filepath.Join(dir, VocabFileName))
	if err != nil {
		t.Fatal(err)
	}
	if tk.VocabSize() != 7 || tk.Normalization() != CasedNormalization() {
		t.Errorf("VocabSize = %d, Normalization = %+v", tk.VocabSize(), tk.Normalization())
	}
	if got := tk.Encode("Hello hello"); !slices.Equal(got, []int{5, 6}) {
		t.Errorf("Encode = %v, want [5 6]", got)
	}
}

func TestAddedTokensExtendVocab(t *testing.T) {
	const doc = `{"added_tokens": [
		{"id": 0, "content": "[PAD]", "special": true}, {"id": 1, "content": "[UNK]", "special": true},
		{"id": 2, "content": "[CLS]", "special": true}, {"id": 3, "content": "[SEP]", "special": true},
		{"id": 4, "content": "[MASK]", "special": true}, {"id": 6, "content": "[Q] ", "special": true}],
	"normalizer": {"type": "BertNormalizer", "lowercase": true},
	"pre_tokenizer": {"type": "BertPreTokenizer"},
	"model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4, "hi": 5}}}`
	tk, err := ParseTokenizerJSON([]byte(doc), "added.json")
	if err != nil {
		t.Fatal(err)
	}
	if tk.VocabSize() != 7 || tk.Normalization() != UncasedNormalization() {
		t.Errorf("VocabSize = %d, Normalization = %+v", tk.VocabSize(), tk.Normalization())
	}
	if got := tk.Encode("[Q] Hi [MASK]"); !slices.Equal(got, []int{6, 5, 4}) {
		t.Errorf("Encode = %v, want [6 5 4]", got)
	}
}

// writeTemp writes content to a file named name in a temporary directory and returns its path.
func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMalformedFiles(t *testing.T) {
	const specials = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n"
	const okModel = `"model": {"type": "WordPiece", "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4}}`
	const bert = `"normalizer": {"type": "BertNormalizer"}, "pre_tokenizer": {"type": "BertPreTokenizer"}, `
	for _, c := range []struct {
		name, file, content string
		want                []string // substrings of the error besides the file name
	}{
		{"duplicate", "vocab.txt", "[PAD]\nhello\nhello\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n", []string{"line 3", "duplicate", `"hello"`, "line 2"}},
		{"no unk", "vocab.txt", "[PAD]\n[CLS]\n[SEP]\n[MASK]\n", []string{`"[UNK]"`}},
		{"no mask", "vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n", []string{`"[MASK]"`}},
		{"empty", "vocab.txt", "", []string{"empty vocabulary"}},
		{"empty line", "vocab.txt", "[PAD]\n\n" + specials[6:], []string{"line 2", "empty token"}},
		{"syntax", "tokenizer.json", "{\n  \"model\": {\n    \"type\": \"WordPiece\",,\n  }\n}", []string{"line 3"}},
		{"type", "tokenizer.json", "{\n" + bert + "\n\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"[PAD]\": \"zero\"}}}", []string{"line 3", "model.vocab"}},
		{"no model", "tokenizer.json", `{"version": "1.0"}`, []string{`"model"`}},
		{"bpe", "tokenizer.json", `{` + bert + `"model": {"type": "BPE", "vocab": {"a": 0}}}`, []string{"model.type", `"BPE"`}},
		{"gap", "tokenizer.json", `{` + bert + `"model": {"type": "WordPiece", "vocab": {"[PAD]": 0, "[UNK]": 7}}}`, []string{"model.vocab", "id 7", "out of range"}},
		{"same id", "tokenizer.json", `{` + bert + `"model": {"type": "WordPiece", "vocab": {"[PAD]": 0, "[UNK]": 0}}}`, []string{"model.vocab", "used by both"}},
		{"normalizer", "tokenizer.json", `{"normalizer": {"type": "NFKC"}, "pre_tokenizer": {"type": "BertPreTokenizer"}, ` + okModel + `}`, []string{"normalizer.type", `"NFKC"`}},
		{"pre-tokenizer", "tokenizer.json", `{"normalizer": {"type": "BertNormalizer"}, ` + okModel + `}`, []string{"pre_tokenizer", "null"}},
		{"added", "tokenizer.json", `{` + bert + `"added_tokens": [{"id": 2, "content": "[MASK]"}], ` + okModel + `}`, []string{"added_tokens", `"[MASK]"`, "id 2"}},
		{"added gap", "tokenizer.json", `{` + bert + `"added_tokens": [{"id": 9, "content": "[Q]"}], ` + okModel + `}`, []string{"added_tokens", `"[Q]"`, "id 9"}},
		{"roberta", "tokenizer.json", `{` + bert + `"post_processor": {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0]}, ` + okModel + `}`, []string{"post_processor", `"RobertaProcessing"`}},
		{"template", "tokenizer.json", `{` + bert + `"post_processor": {"type": "TemplateProcessing", "single": [{"Sequence": {"id": "A", "type_id": 0}}], "pair": [], "special_tokens": {}}, ` + okModel + `}`, []string{"post_processor", "TemplateProcessing.single"}},
		{"bert processing id", "tokenizer.json", `{` + bert + `"post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 102], "cls": ["[CLS]", 101]}, ` + okModel + `}`, []string{"post_processor", `"[CLS]" id 101`, "vocabulary gives it 2"}},
		{"added lstrip", "tokenizer.json", `{` + bert + `"added_tokens": [{"id": 4, "content": "[MASK]", "lstrip": true}], ` + okModel + `}`, []string{"added_tokens", `"[MASK]"`, `"lstrip": true`}},
		{"added single word", "tokenizer.json", `{` + bert + `"added_tokens": [{"id": 4, "content": "[MASK]", "single_word": true}], ` + okModel + `}`, []string{"added_tokens", `"single_word": true`}},
		{"json special missing", "tokenizer.json", `{` + bert + `"model": {"type": "WordPiece", "vocab": {"[PAD]": 0, "[UNK]": 1}}}`, []string{`"[CLS]"`}},
	} {
		p := writeTemp(t, c.file, c.content)
		_, err := LoadFile(p)
		if err == nil {
			t.Errorf("%s: LoadFile succeeded", c.name)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, p) {
			t.Errorf("%s: error %q does not name the file %s", c.name, msg, p)
		}
		for _, w := range c.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: error %q does not mention %q", c.name, msg, w)
			}
		}
	}
	missing := filepath.Join(t.TempDir(), "nope", "vocab.txt")
	if _, err := LoadFile(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("LoadFile(missing) = %v", err)
	}
	dir := t.TempDir()
	if _, err := LoadFile(dir); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("LoadFile(empty dir) = %v", err)
	}
	cfgDir := t.TempDir()
	vocabPath := filepath.Join(cfgDir, VocabFileName)
	if err := os.WriteFile(vocabPath, []byte(specials), 0o644); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(cfgDir, TokenizerConfigFileName)
	if err := os.WriteFile(cfgPath, []byte(`{"do_lower_case": "no"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFile(vocabPath); err == nil || !strings.Contains(err.Error(), cfgPath) {
		t.Errorf("LoadFile with a bad tokenizer_config.json = %v", err)
	}
	if _, err := FromVocab([]string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a\nb"}, UncasedNormalization()); err == nil || !strings.Contains(err.Error(), "entry 5") {
		t.Errorf("FromVocab with a line break = %v", err)
	}
}
