//go:build hftokenizers

package hf

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"sync"

	hftok "github.com/daulet/tokenizers"

	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

// Tokenizer is a Hugging Face tokenizer run by Hugging Face's Rust tokenizers. It implements
// [tokenizer.Tokenizer] and is safe for concurrent use; Close frees the Rust object.
type Tokenizer struct {
	source   string
	mu       sync.RWMutex // guards tk against Close during Encode
	tk       *hftok.Tokenizer
	vocab    []string
	ids      map[string]int
	specials tokenizer.Specials
}

var _ tokenizer.Tokenizer = (*Tokenizer)(nil)

// Load reads a Hugging Face tokenizer.json.
func Load(path string) (*Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("hf: %w", err)
	}
	return FromBytes(data, path)
}

// FromBytes parses the content of a tokenizer.json; name (the file name) is used in errors. The
// vocabulary is read from model.vocab and added_tokens; the file's truncation and padding
// settings are switched off (as in [tokenizer.Tokenizer.Encode], texts are encoded whole and
// without special tokens; [tokenizer.EncodeBatch] and friends add them).
func FromBytes(data []byte, name string) (*Tokenizer, error) {
	var f struct {
		AddedTokens []struct {
			ID      int    `json:"id"`
			Content string `json:"content"`
		} `json:"added_tokens"`
		Model *struct {
			Type  string         `json:"type"`
			Vocab map[string]int `json:"vocab"`
		} `json:"model"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("hf: %s: %w", name, err)
	}
	if f.Model == nil || len(f.Model.Vocab) == 0 {
		return nil, fmt.Errorf("hf: %s: model.vocab is missing or empty (a vocabulary map is needed for TokenToID)", name)
	}
	t := &Tokenizer{source: name, ids: make(map[string]int, len(f.Model.Vocab)+len(f.AddedTokens))}
	for tok, id := range f.Model.Vocab {
		t.ids[tok] = id
	}
	for _, at := range f.AddedTokens {
		t.ids[at.Content] = at.ID
	}
	n := 0
	for _, id := range t.ids {
		if id < 0 {
			return nil, fmt.Errorf("hf: %s: negative token id %d", name, id)
		}
		n = max(n, id+1)
	}
	t.vocab = make([]string, n)
	keys := make([]string, 0, len(t.ids))
	for tok := range t.ids {
		keys = append(keys, tok)
	}
	sort.Strings(keys)
	for _, tok := range keys {
		id := t.ids[tok]
		if t.vocab[id] != "" {
			return nil, fmt.Errorf("hf: %s: id %d is used by both %q and %q", name, id, t.vocab[id], tok)
		}
		t.vocab[id] = tok
	}
	for _, s := range []struct {
		dst *int
		tok string
	}{
		{&t.specials.Pad, tokenizer.PadToken}, {&t.specials.UNK, tokenizer.UnkToken},
		{&t.specials.CLS, tokenizer.CLSToken}, {&t.specials.SEP, tokenizer.SEPToken},
		{&t.specials.Mask, tokenizer.MaskToken},
	} {
		id, ok := t.ids[s.tok]
		if !ok {
			return nil, fmt.Errorf("hf: %s: the vocabulary has no %q token", name, s.tok)
		}
		*s.dst = id
	}
	// Switch off the file's truncation and padding (MiniLM's tokenizer.json pads every text to 128).
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("hf: %s: %w", name, err)
	}
	top["truncation"], top["padding"] = json.RawMessage("null"), json.RawMessage("null")
	plain, err := json.Marshal(top)
	if err != nil {
		return nil, fmt.Errorf("hf: %s: %w", name, err)
	}
	tk, err := hftok.FromBytes(plain)
	if err != nil {
		return nil, fmt.Errorf("hf: %s: %w", name, err)
	}
	if got := int(tk.VocabSize()); got != n {
		tk.Close()
		return nil, fmt.Errorf("hf: %s: Hugging Face reports %d tokens, the file's vocabulary has %d", name, got, n)
	}
	t.tk = tk
	return t, nil
}

// Close frees the Rust tokenizer; the Tokenizer must not be used afterwards.
func (t *Tokenizer) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tk == nil {
		return errors.New("hf: tokenizer already closed")
	}
	err := t.tk.Close()
	t.tk = nil
	return err
}

// Encode implements [tokenizer.Tokenizer]: the ids of text without special tokens and without
// truncation or padding. Text after a NUL byte is lost (see the package documentation).
func (t *Tokenizer) Encode(text string) []int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.tk == nil {
		panic("hf: Encode after Close")
	}
	enc := t.tk.EncodeWithOptions(text, false)
	ids := make([]int, len(enc.IDs))
	for i, id := range enc.IDs {
		ids[i] = int(id)
	}
	return ids
}

// VocabSize implements [tokenizer.Tokenizer].
func (t *Tokenizer) VocabSize() int { return len(t.vocab) }

// TokenToID implements [tokenizer.Tokenizer].
func (t *Tokenizer) TokenToID(token string) (int, bool) {
	id, ok := t.ids[token]
	return id, ok
}

// IDToToken implements [tokenizer.Tokenizer].
func (t *Tokenizer) IDToToken(id int) (string, bool) {
	if id < 0 || id >= len(t.vocab) || t.vocab[id] == "" {
		return "", false
	}
	return t.vocab[id], true
}

// Specials implements [tokenizer.Tokenizer].
func (t *Tokenizer) Specials() tokenizer.Specials { return t.specials }

// Vocab returns a copy of the vocabulary: Vocab()[id] is the token of id.
func (t *Tokenizer) Vocab() []string { return slices.Clone(t.vocab) }

// String describes the tokenizer briefly.
func (t *Tokenizer) String() string {
	return fmt.Sprintf("hf.Tokenizer(%s, %d tokens)", t.source, len(t.vocab))
}
