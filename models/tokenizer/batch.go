package tokenizer

import (
	"errors"
	"fmt"
)

// Batch is a batch of encoded texts (or text pairs) as fixed-shape int32 matrices, each stored
// row-major with shape [Size, Len]: element (i, j) is at i*Len + j. The flat slices can be handed
// to GoMLX as they are (e.g. tensors.FromFlatDataAndDimensions(b.IDs, b.Size, b.Len)).
type Batch struct {
	// Size is the number of rows (texts or pairs); Len the length of every row.
	Size, Len int
	// IDs are the token ids, padded after the last real token.
	IDs []int32
	// TypeIDs are the token type (segment) ids: 0 on "[CLS] a [SEP]", 1 on "b [SEP]" of a pair,
	// 0 on padding.
	TypeIDs []int32
	// Mask is the attention mask: 1 on real tokens (special tokens included), 0 on padding.
	Mask []int32
	// Lengths are the real (unpadded) lengths of the rows, special tokens included: row i has
	// Mask 1 exactly on its first Lengths[i] positions.
	Lengths []int
}

// Row returns views (not copies) of row i of the three matrices.
func (b *Batch) Row(i int) (ids, typeIDs, mask []int32) {
	lo, hi := i*b.Len, (i+1)*b.Len
	return b.IDs[lo:hi], b.TypeIDs[lo:hi], b.Mask[lo:hi]
}

// Truncation says how a pair that does not fit is cut.
type Truncation int

const (
	// LongestFirst (the default) cuts the longer of the two texts first, exactly as Hugging Face's
	// "longest_first": with a budget B = maxLen-3 and lengths n1 ≤ n2, the longer keeps B-n1 tokens
	// if n1 ≤ B/2, otherwise the shorter keeps ⌊B/2⌋ and the longer ⌈B/2⌉ (the second text getting
	// the odd token when both are equally long). Queries are short, so in practice it cuts the
	// passage; a very long query is cut as well instead of crowding the passage out.
	LongestFirst Truncation = iota
	// OnlySecond cuts the second text (the passage) only, like Hugging Face's "only_second"; if the
	// first text alone does not fit, it is cut to the budget too and the second text is dropped
	// (where Hugging Face reports an error).
	OnlySecond
)

// String returns Hugging Face's name of the strategy.
func (t Truncation) String() string {
	switch t {
	case LongestFirst:
		return "longest_first"
	case OnlySecond:
		return "only_second"
	}
	return fmt.Sprintf("Truncation(%d)", int(t))
}

// Option modifies how texts are laid out in a [Batch].
type Option func(*options)

type options struct {
	marker, pad string
	multiple    int
	truncation  Truncation
}

// WithMarker inserts a marker token right after [CLS] of single texts: ColBERT's [Q] and [D],
// which are "[unused0]" ([QueryMarker]) and "[unused1]" ([DocMarker]) in BERT's vocabulary. The
// marker counts towards the maximum length. Not valid for pairs.
func WithMarker(token string) Option { return func(o *options) { o.marker = token } }

// WithPadToken pads with token instead of [PAD]. ColBERT pads queries with [MASK] ("query
// augmentation"): WithPadToken(MaskToken). The attention mask stays 0 on padding whatever the
// token; the models decide whether to attend to it.
func WithPadToken(token string) Option { return func(o *options) { o.pad = token } }

// WithPadToMultiple makes rows as long as the longest row of the batch rounded up to a multiple
// of n (at most maxLen) instead of maxLen, so that batches of short texts are cheaper while the
// number of distinct shapes (and XLA compilations) stays small. n = 0 means pad to maxLen.
func WithPadToMultiple(n int) Option { return func(o *options) { o.multiple = n } }

// WithTruncation chooses how pairs are cut; the default is [LongestFirst]. Single texts are always
// cut at the end.
func WithTruncation(t Truncation) Option { return func(o *options) { o.truncation = t } }

// layout is the resolved options.
type layout struct {
	marker   int // -1: none
	pad      int
	multiple int
	trunc    Truncation
}

func resolve(tk Tokenizer, opts []Option, pair bool) (layout, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	lay := layout{marker: -1, pad: tk.Specials().Pad, multiple: o.multiple, trunc: o.truncation}
	if o.marker != "" {
		if pair {
			return lay, errors.New("tokenizer: WithMarker applies to single texts, not to pairs")
		}
		id, ok := tk.TokenToID(o.marker)
		if !ok {
			return lay, fmt.Errorf("tokenizer: marker token %q is not in the vocabulary", o.marker)
		}
		lay.marker = id
	}
	if o.pad != "" {
		id, ok := tk.TokenToID(o.pad)
		if !ok {
			return lay, fmt.Errorf("tokenizer: padding token %q is not in the vocabulary", o.pad)
		}
		lay.pad = id
	}
	if o.multiple < 0 {
		return lay, fmt.Errorf("tokenizer: WithPadToMultiple(%d): must be >= 0", o.multiple)
	}
	if o.truncation != LongestFirst && o.truncation != OnlySecond {
		return lay, fmt.Errorf("tokenizer: unknown truncation %v", o.truncation)
	}
	return lay, nil
}

// rowLen is the common row length: maxLen, or the longest real length rounded up to a multiple.
func (lay layout) rowLen(maxLen, longest int) int {
	if lay.multiple == 0 {
		return maxLen
	}
	return min(maxLen, (longest+lay.multiple-1)/lay.multiple*lay.multiple)
}

// EncodeAll encodes each text with tk.Encode (no special tokens, no truncation). Together with
// [BatchFromIDs] it lets a corpus be tokenised once and batched many times.
func EncodeAll(tk Tokenizer, texts []string) [][]int {
	out := make([][]int, len(texts))
	for i, t := range texts {
		out[i] = tk.Encode(t)
	}
	return out
}

// EncodeBatch encodes single texts as "[CLS] text [SEP]" rows of length maxLen (the text is cut
// at the end to fit; [SEP] is always kept), padded with [PAD], token types 0. With
// WithMarker(m) rows are "[CLS] m text [SEP]". Use [QueryMaxLen] or [DocMaxLen] as maxLen. For
// ColBERT:
//
//	queries, err := EncodeBatch(tk, qs, QueryMaxLen, WithMarker(QueryMarker), WithPadToken(MaskToken))
//	docs, err := EncodeBatch(tk, ds, DocMaxLen, WithMarker(DocMarker))
func EncodeBatch(tk Tokenizer, texts []string, maxLen int, opts ...Option) (*Batch, error) {
	return BatchFromIDs(tk, EncodeAll(tk, texts), maxLen, opts...)
}

// EncodePairBatch encodes pairs (a query and a passage, for the cross-encoder) as
// "[CLS] a [SEP] b [SEP]" rows of length maxLen, token types 0 on "[CLS] a [SEP]" and 1 on
// "b [SEP]", cut by [LongestFirst] unless WithTruncation says otherwise. Use [PairMaxLen] as
// maxLen by default.
func EncodePairBatch(tk Tokenizer, firsts, seconds []string, maxLen int, opts ...Option) (*Batch, error) {
	if len(firsts) != len(seconds) {
		return nil, fmt.Errorf("tokenizer: %d first texts but %d second texts", len(firsts), len(seconds))
	}
	return PairBatchFromIDs(tk, EncodeAll(tk, firsts), EncodeAll(tk, seconds), maxLen, opts...)
}

// Lengths returns the real (unpadded) length that each text would have in [EncodeBatch] with the
// same maxLen and options: its token count plus the special tokens (and marker), at most maxLen.
// Callers can sort or bucket texts by it to batch texts of similar length together.
func Lengths(tk Tokenizer, texts []string, maxLen int, opts ...Option) ([]int, error) {
	lay, err := resolve(tk, opts, false)
	if err != nil {
		return nil, err
	}
	extra, err := singleExtra(lay, maxLen)
	if err != nil {
		return nil, err
	}
	out := make([]int, len(texts))
	for i, t := range texts {
		out[i] = min(len(tk.Encode(t))+extra, maxLen)
	}
	return out, nil
}

// singleExtra is the number of special tokens of a single-text row, checked against maxLen.
func singleExtra(lay layout, maxLen int) (int, error) {
	extra := 2
	if lay.marker >= 0 {
		extra++
	}
	if maxLen < extra {
		return 0, fmt.Errorf("tokenizer: maximum length %d is shorter than the %d special tokens of a row", maxLen, extra)
	}
	return extra, nil
}

func checkIDs(tk Tokenizer, what string, row int, ids []int) error {
	n := tk.VocabSize()
	for j, id := range ids {
		if id < 0 || id >= n {
			return fmt.Errorf("tokenizer: %s %d, token %d: id %d is out of range [0, %d)", what, row, j, id, n)
		}
	}
	return nil
}

func newBatch(size, rowLen int, pad int32) *Batch {
	b := &Batch{
		Size:    size,
		Len:     rowLen,
		IDs:     make([]int32, size*rowLen),
		TypeIDs: make([]int32, size*rowLen),
		Mask:    make([]int32, size*rowLen),
		Lengths: make([]int, size),
	}
	for i := range b.IDs {
		b.IDs[i] = pad
	}
	return b
}

// BatchFromIDs lays out already encoded texts (from tk.Encode or [EncodeAll]) as [EncodeBatch]
// does.
func BatchFromIDs(tk Tokenizer, texts [][]int, maxLen int, opts ...Option) (*Batch, error) {
	lay, err := resolve(tk, opts, false)
	if err != nil {
		return nil, err
	}
	extra, err := singleExtra(lay, maxLen)
	if err != nil {
		return nil, err
	}
	if len(texts) == 0 {
		return nil, errors.New("tokenizer: empty batch")
	}
	longest := 0
	for i, ids := range texts {
		if err := checkIDs(tk, "text", i, ids); err != nil {
			return nil, err
		}
		longest = max(longest, min(len(ids)+extra, maxLen))
	}
	sp := tk.Specials()
	b := newBatch(len(texts), lay.rowLen(maxLen, longest), int32(lay.pad))
	for i, ids := range texts {
		row, _, mask := b.Row(i)
		n := 0
		put := func(id int) { row[n] = int32(id); mask[n] = 1; n++ }
		put(sp.CLS)
		if lay.marker >= 0 {
			put(lay.marker)
		}
		for _, id := range ids[:min(len(ids), maxLen-extra)] {
			put(id)
		}
		put(sp.SEP)
		b.Lengths[i] = n
	}
	return b, nil
}

// PairBatchFromIDs lays out already encoded pairs as [EncodePairBatch] does.
func PairBatchFromIDs(tk Tokenizer, firsts, seconds [][]int, maxLen int, opts ...Option) (*Batch, error) {
	if len(firsts) != len(seconds) {
		return nil, fmt.Errorf("tokenizer: %d first texts but %d second texts", len(firsts), len(seconds))
	}
	lay, err := resolve(tk, opts, true)
	if err != nil {
		return nil, err
	}
	if maxLen < 3 {
		return nil, fmt.Errorf("tokenizer: maximum length %d is shorter than the 3 special tokens of a pair", maxLen)
	}
	if len(firsts) == 0 {
		return nil, errors.New("tokenizer: empty batch")
	}
	budget := maxLen - 3
	keep := make([][2]int, len(firsts))
	longest := 0
	for i := range firsts {
		if err := checkIDs(tk, "first text", i, firsts[i]); err != nil {
			return nil, err
		}
		if err := checkIDs(tk, "second text", i, seconds[i]); err != nil {
			return nil, err
		}
		n1, n2 := truncatePair(len(firsts[i]), len(seconds[i]), budget, lay.trunc)
		keep[i] = [2]int{n1, n2}
		longest = max(longest, n1+n2+3)
	}
	sp := tk.Specials()
	b := newBatch(len(firsts), lay.rowLen(maxLen, longest), int32(lay.pad))
	for i := range firsts {
		row, types, mask := b.Row(i)
		n := 0
		put := func(id, typ int) { row[n] = int32(id); types[n] = int32(typ); mask[n] = 1; n++ }
		put(sp.CLS, 0)
		for _, id := range firsts[i][:keep[i][0]] {
			put(id, 0)
		}
		put(sp.SEP, 0)
		for _, id := range seconds[i][:keep[i][1]] {
			put(id, 1)
		}
		put(sp.SEP, 1)
		b.Lengths[i] = n
	}
	return b, nil
}

// truncatePair returns how many tokens of each text of a pair are kept within budget.
func truncatePair(len1, len2, budget int, t Truncation) (int, int) {
	if len1+len2 <= budget {
		return len1, len2
	}
	if t == OnlySecond {
		n1 := min(len1, budget)
		return n1, budget - n1
	}
	// Hugging Face tokenizers' LongestFirst (utils/truncation.rs).
	n1, n2 := len1, len2
	swap := n1 > n2
	if swap {
		n1, n2 = n2, n1
	}
	if n1 > budget {
		n2 = n1
	} else {
		n2 = max(n1, budget-n1)
	}
	if n1+n2 > budget {
		n1 = budget / 2
		n2 = n1 + budget%2
	}
	if swap {
		n1, n2 = n2, n1
	}
	return min(len1, n1), min(len2, n2)
}
