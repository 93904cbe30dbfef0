package tokenizer

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// File names of a Hugging Face tokenizer directory.
const (
	// VocabFileName is BERT's vocabulary file, one token per line.
	VocabFileName = "vocab.txt"
	// TokenizerJSONFileName is Hugging Face tokenizers' serialised tokenizer.
	TokenizerJSONFileName = "tokenizer.json"
	// TokenizerConfigFileName is Hugging Face transformers' tokenizer settings.
	TokenizerConfigFileName = "tokenizer_config.json"
)

// bertBaseUncasedVocab is bert-base-uncased's vocab.txt (30522 tokens), Google's, Apache-2.0,
// copied from github.com/sugarme/tokenizer v0.3.0 (pretrained/model/bert-base-uncased-vocab.txt,
// Apache-2.0); see data/README.md.
//
//go:embed data/bert-base-uncased-vocab.txt
var bertBaseUncasedVocab []byte

const defaultSource = "embedded bert-base-uncased vocab.txt"

var defaultTokenizer = sync.OnceValues(func() (*WordPiece, error) {
	return parseVocab(bertBaseUncasedVocab, defaultSource, UncasedNormalization())
})

// Default returns the bert-base-uncased tokenizer (vocabulary embedded in the package: it works
// offline and does not touch the working directory). The same immutable value is returned on
// every call.
func Default() *WordPiece {
	w, err := defaultTokenizer()
	if err != nil {
		panic(err) // the embedded file is part of the build; tests check it loads
	}
	return w
}

// LoadFile loads a WordPiece tokenizer from path, which may be:
//   - a Hugging Face tokenizer.json (a name ending in ".json", or content starting with "{"), see
//     [LoadTokenizerJSON];
//   - a BERT vocab.txt, one token per line, see [LoadVocabFile]; its normalisation is uncased
//     unless a tokenizer_config.json next to it says "do_lower_case": false (or sets
//     "strip_accents" / "tokenize_chinese_chars");
//   - a directory holding tokenizer.json (preferred) or vocab.txt.
func LoadFile(path string) (*WordPiece, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	dir := filepath.Dir(path)
	if info.IsDir() {
		dir = path
		path = filepath.Join(dir, TokenizerJSONFileName)
		if _, err := os.Stat(path); err != nil {
			path = filepath.Join(dir, VocabFileName)
			if _, err := os.Stat(path); err != nil {
				return nil, fmt.Errorf("tokenizer: directory %s has neither %s nor %s", dir, TokenizerJSONFileName, VocabFileName)
			}
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	if strings.EqualFold(filepath.Ext(path), ".json") || bytes.HasPrefix(bytes.TrimLeft(trimBOM(data), " \t\r\n"), []byte("{")) {
		return ParseTokenizerJSON(data, path)
	}
	norm, err := configNormalization(filepath.Join(dir, TokenizerConfigFileName))
	if err != nil {
		return nil, err
	}
	return parseVocab(data, path, norm)
}

// LoadVocabFile loads a BERT vocab.txt (one token per line, the line number minus one is the id)
// with the given normalisation ([UncasedNormalization] for bert-base-uncased).
func LoadVocabFile(path string, norm Normalization) (*WordPiece, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	return parseVocab(data, path, norm)
}

// LoadTokenizerJSON loads a Hugging Face tokenizer.json of a WordPiece model, see
// [ParseTokenizerJSON].
func LoadTokenizerJSON(path string) (*WordPiece, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	return ParseTokenizerJSON(data, path)
}

func trimBOM(data []byte) []byte { return bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) }

// parseVocab parses vocab.txt content; name is the file name for errors.
func parseVocab(data []byte, name string, norm Normalization) (*WordPiece, error) {
	text := string(trimBOM(data))
	text = strings.TrimSuffix(text, "\n")
	lines := strings.Split(text, "\n")
	for i, line := range lines {
		lines[i] = strings.TrimSuffix(line, "\r")
	}
	if len(lines) == 1 && lines[0] == "" {
		lines = nil
	}
	return newWordPiece(name, lines, func(id int) string { return fmt.Sprintf("line %d", id+1) },
		wordPieceConfig{norm: norm})
}

// configNormalization reads the normalisation of a vocab.txt from a Hugging Face
// tokenizer_config.json (BertTokenizer's do_lower_case, strip_accents, tokenize_chinese_chars);
// without the file it is [UncasedNormalization].
func configNormalization(path string) (Normalization, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return UncasedNormalization(), nil
	}
	if err != nil {
		return Normalization{}, fmt.Errorf("tokenizer: %w", err)
	}
	var cfg struct {
		DoLowerCase          *bool `json:"do_lower_case"`
		StripAccents         *bool `json:"strip_accents"`
		TokenizeChineseChars *bool `json:"tokenize_chinese_chars"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return Normalization{}, jsonError(path, data, err)
	}
	n := UncasedNormalization()
	n.Lowercase = deref(cfg.DoLowerCase, true)
	n.StripAccents = deref(cfg.StripAccents, n.Lowercase)
	n.HandleChineseChars = deref(cfg.TokenizeChineseChars, true)
	return n, nil
}

func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// jsonError names the file and, for syntax and type errors, the line.
func jsonError(name string, data []byte, err error) error {
	var offset int64 = -1
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntaxErr):
		offset = syntaxErr.Offset
	case errors.As(err, &typeErr):
		offset = typeErr.Offset
	}
	if offset >= 0 && offset <= int64(len(data)) {
		line := 1 + bytes.Count(data[:offset], []byte("\n"))
		return fmt.Errorf("tokenizer: %s line %d: %w", name, line, err)
	}
	return fmt.Errorf("tokenizer: %s: %w", name, err)
}

// orderedVocab marshals as a JSON object {token: id} in id order, as Hugging Face writes it.
type orderedVocab []string

// MarshalJSON implements json.Marshaler.
func (v orderedVocab) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for id, tok := range v {
		if id > 0 {
			b.WriteByte(',')
		}
		key, err := json.Marshal(tok)
		if err != nil {
			return nil, err
		}
		b.Write(key)
		fmt.Fprintf(&b, ":%d", id)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// TokenizerJSON returns the tokenizer as a Hugging Face tokenizer.json: WordPiece model,
// BertNormalizer, BertPreTokenizer, BERT's "[CLS] A [SEP] B [SEP]" template post-processor and
// WordPiece decoder, so that Hugging Face's tokenizers and transformers (BertTokenizerFast) load it
// and produce the same ids as [WordPiece.Encode].
func (w *WordPiece) TokenizerJSON() ([]byte, error) {
	type (
		piece struct {
			ID     string `json:"id"`
			TypeID int    `json:"type_id"`
		}
		item struct {
			SpecialToken *piece `json:"SpecialToken,omitempty"`
			Sequence     *piece `json:"Sequence,omitempty"`
		}
		special struct {
			ID     string   `json:"id"`
			IDs    []int    `json:"ids"`
			Tokens []string `json:"tokens"`
		}
		postProcessor struct {
			Type          string             `json:"type"`
			Single        []item             `json:"single"`
			Pair          []item             `json:"pair"`
			SpecialTokens map[string]special `json:"special_tokens"`
		}
		decoder struct {
			Type    string `json:"type"`
			Prefix  string `json:"prefix"`
			Cleanup bool   `json:"cleanup"`
		}
		model struct {
			Type                    string       `json:"type"`
			UnkToken                string       `json:"unk_token"`
			ContinuingSubwordPrefix string       `json:"continuing_subword_prefix"`
			MaxInputCharsPerWord    int          `json:"max_input_chars_per_word"`
			Vocab                   orderedVocab `json:"vocab"`
		}
		normalizer struct {
			Type               string `json:"type"`
			CleanText          bool   `json:"clean_text"`
			HandleChineseChars bool   `json:"handle_chinese_chars"`
			StripAccents       bool   `json:"strip_accents"`
			Lowercase          bool   `json:"lowercase"`
		}
		file struct {
			Version       string          `json:"version"`
			Truncation    json.RawMessage `json:"truncation"`
			Padding       json.RawMessage `json:"padding"`
			AddedTokens   []hfAddedToken  `json:"added_tokens"`
			Normalizer    normalizer      `json:"normalizer"`
			PreTokenizer  hfTyped         `json:"pre_tokenizer"`
			PostProcessor postProcessor   `json:"post_processor"`
			Decoder       decoder         `json:"decoder"`
			Model         model           `json:"model"`
		}
	)
	added := make([]hfAddedToken, 0, len(w.split))
	for _, tok := range w.split {
		added = append(added, hfAddedToken{ID: w.ids[tok], Content: tok, Special: true})
	}
	slices.SortFunc(added, func(a, b hfAddedToken) int { return a.ID - b.ID })
	seq := func(id string, typeID int) item { return item{Sequence: &piece{id, typeID}} }
	tok := func(id string, typeID int) item { return item{SpecialToken: &piece{id, typeID}} }
	null := json.RawMessage("null")
	f := file{
		Version:     "1.0",
		Truncation:  null,
		Padding:     null,
		AddedTokens: added,
		Normalizer: normalizer{
			Type:               "BertNormalizer",
			CleanText:          w.norm.CleanText,
			HandleChineseChars: w.norm.HandleChineseChars,
			StripAccents:       w.norm.StripAccents,
			Lowercase:          w.norm.Lowercase,
		},
		PreTokenizer: hfTyped{Type: "BertPreTokenizer"},
		PostProcessor: postProcessor{
			Type:   "TemplateProcessing",
			Single: []item{tok(CLSToken, 0), seq("A", 0), tok(SEPToken, 0)},
			Pair:   []item{tok(CLSToken, 0), seq("A", 0), tok(SEPToken, 0), seq("B", 1), tok(SEPToken, 1)},
			SpecialTokens: map[string]special{
				CLSToken: {ID: CLSToken, IDs: []int{w.specials.CLS}, Tokens: []string{CLSToken}},
				SEPToken: {ID: SEPToken, IDs: []int{w.specials.SEP}, Tokens: []string{SEPToken}},
			},
		},
		Decoder: decoder{Type: "WordPiece", Prefix: w.prefix, Cleanup: true},
		Model: model{
			Type:                    "WordPiece",
			UnkToken:                w.unkToken,
			ContinuingSubwordPrefix: w.prefix,
			MaxInputCharsPerWord:    w.maxWordChars,
			Vocab:                   orderedVocab(w.vocab),
		},
	}
	return json.MarshalIndent(f, "", "  ")
}

// vocabTxt returns the vocabulary as a BERT vocab.txt: one token per line, in id order.
func (w *WordPiece) vocabTxt() []byte {
	var b bytes.Buffer
	for _, tok := range w.vocab {
		b.WriteString(tok)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// SaveVocab writes the vocabulary as a BERT vocab.txt (one token per line, in id order). The
// normalisation is not part of vocab.txt: see [WordPiece.Save].
func (w *WordPiece) SaveVocab(path string) error {
	return writeFile(path, w.vocabTxt())
}

// SaveTokenizerJSON writes [WordPiece.TokenizerJSON] to path.
func (w *WordPiece) SaveTokenizerJSON(path string) error {
	data, err := w.TokenizerJSON()
	if err != nil {
		return fmt.Errorf("tokenizer: encoding %s: %w", path, err)
	}
	return writeFile(path, append(data, '\n'))
}

// Save writes a Hugging Face tokenizer directory: vocab.txt, tokenizer.json and a
// tokenizer_config.json (BertTokenizer with do_lower_case, strip_accents, tokenize_chinese_chars
// and the special tokens; no model_max_length), creating dir if needed. [LoadFile] of dir or of
// any of the first two files loads it back.
func (w *WordPiece) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("tokenizer: %w", err)
	}
	if err := w.SaveVocab(filepath.Join(dir, VocabFileName)); err != nil {
		return err
	}
	if err := w.SaveTokenizerJSON(filepath.Join(dir, TokenizerJSONFileName)); err != nil {
		return err
	}
	cfg := struct {
		TokenizerClass            string `json:"tokenizer_class"`
		DoLowerCase               bool   `json:"do_lower_case"`
		StripAccents              bool   `json:"strip_accents"`
		TokenizeChineseChars      bool   `json:"tokenize_chinese_chars"`
		UnkToken                  string `json:"unk_token"`
		SepToken                  string `json:"sep_token"`
		PadToken                  string `json:"pad_token"`
		ClsToken                  string `json:"cls_token"`
		MaskToken                 string `json:"mask_token"`
		CleanUpTokenizationSpaces bool   `json:"clean_up_tokenization_spaces"`
	}{"BertTokenizer", w.norm.Lowercase, w.norm.StripAccents, w.norm.HandleChineseChars,
		w.unkToken, SEPToken, PadToken, CLSToken, MaskToken, true}
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return fmt.Errorf("tokenizer: %w", err)
	}
	return writeFile(filepath.Join(dir, TokenizerConfigFileName), append(data, '\n'))
}

func writeFile(path string, data []byte) error {
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("tokenizer: %w", err)
	}
	return nil
}
