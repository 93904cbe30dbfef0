package models

import (
	"cmp"
	"fmt"
	"strings"
	"sync"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

// Inputs are a tokenized batch as tensors: ids, token types and attention mask, all int32 [N, L].
type Inputs struct {
	IDs, TypeIDs, Mask *tensors.Tensor
	// ScoreMask is ColBERT's document mask for MaxSim, [N, L] int32: 1 on tokens that take part
	// (not padding, not skip-listed punctuation). Nil for other encodings.
	ScoreMask *tensors.Tensor
	// Lengths are the unpadded lengths of the rows.
	Lengths []int
	// N and L are the batch size and the padded length.
	N, L int
}

// toInputs converts a tokenizer batch to tensors.
func toInputs(b *tokenizer.Batch) *Inputs {
	return &Inputs{
		IDs:     tensors.FromFlatDataAndDimensions(b.IDs, b.Size, b.Len),
		TypeIDs: tensors.FromFlatDataAndDimensions(b.TypeIDs, b.Size, b.Len),
		Mask:    tensors.FromFlatDataAndDimensions(b.Mask, b.Size, b.Len),
		Lengths: b.Lengths,
		N:       b.Size,
		L:       b.Len,
	}
}

// padMultiple is the granularity of dynamic padding: batches are padded to their longest row rounded
// up to it, so few distinct shapes (and compiled graphs) occur.
const padMultiple = 8

// PairInputs encodes (query, passage) pairs for the cross-encoder: `[CLS] q [SEP] p [SEP]`, token
// types 0 then 1, truncated longest-first to maxLen, padded to the longest pair.
func PairInputs(tk tokenizer.Tokenizer, queries, passages []string, maxLen int) (*Inputs, error) {
	b, err := tokenizer.EncodePairBatch(tk, queries, passages, maxLen, tokenizer.WithPadToMultiple(padMultiple))
	if err != nil {
		return nil, err
	}
	return toInputs(b), nil
}

// TextInputs encodes single texts as `[CLS] t [SEP]` (SPLADE, bi-encoder), padded to the longest.
func TextInputs(tk tokenizer.Tokenizer, texts []string, maxLen int) (*Inputs, error) {
	b, err := tokenizer.EncodeBatch(tk, texts, maxLen, tokenizer.WithPadToMultiple(padMultiple))
	if err != nil {
		return nil, err
	}
	return toInputs(b), nil
}

// ColBERTQueryInputs encodes queries as ColBERT does (Khattab & Zaharia 2020): `[CLS] [Q] q [SEP]`,
// [Q] being marker (Model.ColBERTMarkers; "": tokenizer.QueryMarker),
// padded with [MASK] to exactly qLen tokens — query augmentation: the [MASK] embeddings take part in
// MaxSim. Mask is 0 on the [MASK] padding, so the encoder does not attend to it (ColBERT's and
// PyLate's default, attend_to_expansion_tokens=False); pass attendExpansion to attend to it.
func ColBERTQueryInputs(tk tokenizer.Tokenizer, queries []string, qLen int, attendExpansion bool, marker string) (*Inputs, error) {
	b, err := tokenizer.EncodeBatch(tk, queries, qLen,
		tokenizer.WithMarker(cmp.Or(marker, tokenizer.QueryMarker)), tokenizer.WithPadToken(tokenizer.MaskToken))
	if err != nil {
		return nil, fmt.Errorf("ColBERT queries: %w", err)
	}
	if attendExpansion {
		for i := range b.Mask {
			b.Mask[i] = 1
		}
	}
	return toInputs(b), nil
}

// ColBERTDocInputs encodes passages as ColBERT does: `[CLS] [D] p [SEP]` ([D] being marker;
// "": tokenizer.DocMarker), truncated to dLen and
// padded to the longest. ScoreMask drops padding and the punctuation skiplist (the tokens of
// Python's string.punctuation, as ColBERT and PyLate do) from MaxSim.
func ColBERTDocInputs(tk tokenizer.Tokenizer, passages []string, dLen int, marker string) (*Inputs, error) {
	b, err := tokenizer.EncodeBatch(tk, passages, dLen,
		tokenizer.WithMarker(cmp.Or(marker, tokenizer.DocMarker)), tokenizer.WithPadToMultiple(padMultiple))
	if err != nil {
		return nil, fmt.Errorf("ColBERT passages: %w", err)
	}
	in := toInputs(b)
	skip := PunctuationIDs(tk)
	score := make([]int32, len(b.Mask))
	for i, m := range b.Mask {
		if m != 0 && !skip[int(b.IDs[i])] {
			score[i] = 1
		}
	}
	in.ScoreMask = tensors.FromFlatDataAndDimensions(score, b.Size, b.Len)
	return in, nil
}

// Punctuation is ColBERT's document skiplist: the characters of Python's string.punctuation.
const Punctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"

var punctCache sync.Map // tokenizer.Tokenizer → map[int]bool

// PunctuationIDs returns the ids of the skiplist's tokens in tk's vocabulary.
func PunctuationIDs(tk tokenizer.Tokenizer) map[int]bool {
	if v, ok := punctCache.Load(tk); ok {
		return v.(map[int]bool)
	}
	ids := map[int]bool{}
	for _, r := range strings.Split(Punctuation, "") {
		if id, ok := tk.TokenToID(r); ok {
			ids[id] = true
		}
	}
	punctCache.Store(tk, ids)
	return ids
}
