package tokenizer

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Hugging Face tokenizer.json, the parts this package reads and writes.
type (
	hfTokenizerFile struct {
		Version       string           `json:"version"`
		Truncation    json.RawMessage  `json:"truncation"`
		Padding       json.RawMessage  `json:"padding"`
		AddedTokens   []hfAddedToken   `json:"added_tokens"`
		Normalizer    *hfNormalizer    `json:"normalizer"`
		PreTokenizer  *hfTyped         `json:"pre_tokenizer"`
		PostProcessor *hfPostProcessor `json:"post_processor"`
		Decoder       json.RawMessage  `json:"decoder"`
		Model         *hfModel         `json:"model"`
	}
	hfAddedToken struct {
		ID         int    `json:"id"`
		Content    string `json:"content"`
		SingleWord bool   `json:"single_word"`
		LStrip     bool   `json:"lstrip"`
		RStrip     bool   `json:"rstrip"`
		Normalized bool   `json:"normalized"`
		Special    bool   `json:"special"`
	}
	hfNormalizer struct {
		Type               string `json:"type"`
		CleanText          *bool  `json:"clean_text"`
		HandleChineseChars *bool  `json:"handle_chinese_chars"`
		StripAccents       *bool  `json:"strip_accents"`
		Lowercase          *bool  `json:"lowercase"`
	}
	hfTyped struct {
		Type string `json:"type"`
	}
	// hfPostProcessor is a BertProcessing or TemplateProcessing post-processor.
	hfPostProcessor struct {
		Type          string                       `json:"type"`
		Sep           []json.RawMessage            `json:"sep"` // BertProcessing: ["[SEP]", 102]
		CLS           []json.RawMessage            `json:"cls"`
		Single        []hfTemplatePiece            `json:"single"` // TemplateProcessing
		Pair          []hfTemplatePiece            `json:"pair"`
		SpecialTokens map[string]hfTemplateSpecial `json:"special_tokens"`
	}
	hfTemplatePiece struct {
		SpecialToken *hfTemplateRef `json:"SpecialToken"`
		Sequence     *hfTemplateRef `json:"Sequence"`
	}
	hfTemplateRef struct {
		ID     string `json:"id"`
		TypeID int    `json:"type_id"`
	}
	hfTemplateSpecial struct {
		ID  string `json:"id"`
		IDs []int  `json:"ids"`
	}
	hfModel struct {
		Type                    string         `json:"type"`
		UnkToken                *string        `json:"unk_token"`
		ContinuingSubwordPrefix *string        `json:"continuing_subword_prefix"`
		MaxInputCharsPerWord    *int           `json:"max_input_chars_per_word"`
		Vocab                   map[string]int `json:"vocab"`
	}
)

// ParseTokenizerJSON parses the content of a Hugging Face tokenizer.json; name (the file name) is
// used in errors, which also name the unsupported field. Read from the file: the WordPiece model
// (vocab, unk_token, continuing_subword_prefix, max_input_chars_per_word), the BertNormalizer's
// clean_text, handle_chinese_chars, strip_accents (null: as lowercase) and lowercase, and the
// added tokens. Supported: model "WordPiece"; normalizer "BertNormalizer" or null;
// pre_tokenizer "BertPreTokenizer"; post_processor null, "BertProcessing" or the equivalent
// "TemplateProcessing" ("[CLS] $A [SEP]", "[CLS] $A [SEP] $B:1 [SEP]:1"), since [EncodeBatch] and
// [EncodePairBatch] build that layout; added tokens matched verbatim in the raw text (not
// "normalized", "single_word", "lstrip" or "rstrip"), either already in model.vocab with the same
// id or appended after it. The decoder, truncation and padding sections are not used: callers
// choose lengths with [EncodeBatch]'s maxLen.
func ParseTokenizerJSON(data []byte, name string) (*WordPiece, error) {
	var f hfTokenizerFile
	if err := json.Unmarshal(trimBOM(data), &f); err != nil {
		return nil, jsonError(name, data, err)
	}
	if f.Model == nil {
		return nil, fmt.Errorf("tokenizer: %s: no \"model\" section", name)
	}
	if f.Model.Type != "WordPiece" {
		return nil, fmt.Errorf("tokenizer: %s: model.type is %q, only \"WordPiece\" is supported", name, f.Model.Type)
	}
	if len(f.Model.Vocab) == 0 {
		return nil, fmt.Errorf("tokenizer: %s: model.vocab is missing or empty", name)
	}
	cfg := wordPieceConfig{
		unkToken: deref(f.Model.UnkToken, UnkToken),
		prefix:   deref(f.Model.ContinuingSubwordPrefix, DefaultContinuingSubwordPrefix),
	}
	if f.Model.MaxInputCharsPerWord != nil {
		if *f.Model.MaxInputCharsPerWord <= 0 {
			return nil, fmt.Errorf("tokenizer: %s: model.max_input_chars_per_word is %d, must be positive", name, *f.Model.MaxInputCharsPerWord)
		}
		cfg.maxWordChars = *f.Model.MaxInputCharsPerWord
	}
	if cfg.prefix == "" {
		return nil, fmt.Errorf("tokenizer: %s: model.continuing_subword_prefix is empty", name)
	}

	// Normaliser.
	switch {
	case f.Normalizer == nil:
		cfg.norm = Normalization{}
	case f.Normalizer.Type == "BertNormalizer":
		n := f.Normalizer
		cfg.norm.CleanText = deref(n.CleanText, true)
		cfg.norm.HandleChineseChars = deref(n.HandleChineseChars, true)
		cfg.norm.Lowercase = deref(n.Lowercase, true)
		cfg.norm.StripAccents = deref(n.StripAccents, cfg.norm.Lowercase)
	default:
		return nil, fmt.Errorf("tokenizer: %s: normalizer.type is %q, only \"BertNormalizer\" is supported", name, f.Normalizer.Type)
	}
	if f.PreTokenizer == nil || f.PreTokenizer.Type != "BertPreTokenizer" {
		got := "null"
		if f.PreTokenizer != nil {
			got = fmt.Sprintf("%q", f.PreTokenizer.Type)
		}
		return nil, fmt.Errorf("tokenizer: %s: pre_tokenizer is %s, only \"BertPreTokenizer\" is supported", name, got)
	}

	declared, err := checkPostProcessor(f.PostProcessor)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: post_processor: %w", name, err)
	}

	// Vocabulary: ids must be exactly 0..n-1.
	n := len(f.Model.Vocab)
	tokens := make([]string, n)
	keys := make([]string, 0, n)
	for tok := range f.Model.Vocab {
		keys = append(keys, tok)
	}
	sort.Strings(keys)
	for _, tok := range keys {
		id := f.Model.Vocab[tok]
		if id < 0 || id >= n {
			return nil, fmt.Errorf("tokenizer: %s: model.vocab: id %d of %q is out of range (%d entries, ids must be 0..%d)", name, id, tok, n, n-1)
		}
		if tokens[id] != "" {
			return nil, fmt.Errorf("tokenizer: %s: model.vocab: id %d is used by both %q and %q", name, id, tokens[id], tok)
		}
		tokens[id] = tok
	}

	// Added tokens: either already in the vocabulary with the same id, or appended after it.
	added := slices.Clone(f.AddedTokens)
	slices.SortStableFunc(added, func(a, b hfAddedToken) int { return a.ID - b.ID })
	cfg.split = []string{}
	for _, at := range added {
		switch {
		case at.Content == "":
			return nil, fmt.Errorf("tokenizer: %s: added_tokens: id %d has empty content", name, at.ID)
		case at.SingleWord || at.LStrip || at.RStrip:
			return nil, fmt.Errorf("tokenizer: %s: added_tokens: %q has %s; only tokens matched in the raw or the normalised text are supported",
				name, at.Content, addedFlags(at))
		case at.ID >= 0 && at.ID < len(tokens):
			if tokens[at.ID] != at.Content {
				return nil, fmt.Errorf("tokenizer: %s: added_tokens: %q has id %d, which model.vocab gives to %q", name, at.Content, at.ID, tokens[at.ID])
			}
		case at.ID == len(tokens):
			if id, ok := f.Model.Vocab[at.Content]; ok {
				return nil, fmt.Errorf("tokenizer: %s: added_tokens: %q has id %d but model.vocab gives it id %d", name, at.Content, at.ID, id)
			}
			tokens = append(tokens, at.Content)
		default:
			return nil, fmt.Errorf("tokenizer: %s: added_tokens: %q has id %d, expected an id below %d or exactly %d", name, at.Content, at.ID, len(tokens), len(tokens))
		}
		if at.Normalized {
			cfg.normalized = append(cfg.normalized, at.Content)
		} else {
			cfg.split = append(cfg.split, at.Content)
		}
	}
	w, err := newWordPiece(name, tokens, func(id int) string { return fmt.Sprintf("token id %d", id) }, cfg)
	if err != nil {
		return nil, err
	}
	for _, tok := range []string{CLSToken, SEPToken} {
		if id, ok := declared[tok]; ok && id != w.ids[tok] {
			return nil, fmt.Errorf("tokenizer: %s: post_processor gives %q id %d, the vocabulary gives it %d", name, tok, id, w.ids[tok])
		}
	}
	return w, nil
}

// addedFlags names the matching options set on an added token.
func addedFlags(at hfAddedToken) string {
	var on []string
	for _, f := range []struct {
		name string
		set  bool
	}{{"normalized", at.Normalized}, {"single_word", at.SingleWord}, {"lstrip", at.LStrip}, {"rstrip", at.RStrip}} {
		if f.set {
			on = append(on, fmt.Sprintf("%q: true", f.name))
		}
	}
	return strings.Join(on, ", ")
}

// bertTemplate is BERT's TemplateProcessing: "[CLS] $A [SEP]" and "[CLS] $A [SEP] $B:1 [SEP]:1".
var bertTemplate = struct{ single, pair []string }{
	single: []string{"special [CLS] 0", "sequence A 0", "special [SEP] 0"},
	pair:   []string{"special [CLS] 0", "sequence A 0", "special [SEP] 0", "sequence B 1", "special [SEP] 1"},
}

// checkPostProcessor accepts no post-processor and BERT's. It returns the ids that the
// post-processor gives [CLS] and [SEP], for the caller to check against the vocabulary.
func checkPostProcessor(p *hfPostProcessor) (map[string]int, error) {
	if p == nil {
		return nil, nil
	}
	ids := map[string]int{}
	switch p.Type {
	case "BertProcessing":
		for _, f := range []struct {
			field string
			pair  []json.RawMessage
			want  string
		}{{"sep", p.Sep, SEPToken}, {"cls", p.CLS, CLSToken}} {
			var tok string
			var id int
			if len(f.pair) != 2 || json.Unmarshal(f.pair[0], &tok) != nil || tok != f.want || json.Unmarshal(f.pair[1], &id) != nil {
				return nil, fmt.Errorf("BertProcessing.%s is %s, want [%q, id]", f.field, raw(f.pair), f.want)
			}
			ids[tok] = id
		}
		return ids, nil
	case "TemplateProcessing":
		for _, t := range []struct {
			field string
			got   []hfTemplatePiece
			want  []string
		}{{"single", p.Single, bertTemplate.single}, {"pair", p.Pair, bertTemplate.pair}} {
			got := make([]string, len(t.got))
			for i, piece := range t.got {
				switch {
				case piece.SpecialToken != nil:
					got[i] = fmt.Sprintf("special %s %d", piece.SpecialToken.ID, piece.SpecialToken.TypeID)
				case piece.Sequence != nil:
					got[i] = fmt.Sprintf("sequence %s %d", piece.Sequence.ID, piece.Sequence.TypeID)
				}
			}
			if !slices.Equal(got, t.want) {
				return nil, fmt.Errorf("TemplateProcessing.%s is %q; only BERT's %q is supported", t.field, got, t.want)
			}
		}
		for _, tok := range []string{CLSToken, SEPToken} {
			s, ok := p.SpecialTokens[tok]
			if !ok || len(s.IDs) != 1 {
				return nil, fmt.Errorf("TemplateProcessing.special_tokens[%q] is missing or has %d ids, want 1", tok, len(s.IDs))
			}
			ids[tok] = s.IDs[0]
		}
		return ids, nil
	}
	return nil, fmt.Errorf("type is %q; only BERT's \"[CLS] A [SEP] B [SEP]\" (\"BertProcessing\" or the equivalent \"TemplateProcessing\") is supported", p.Type)
}

// raw shows JSON values in an error.
func raw(vals []json.RawMessage) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = string(v)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
