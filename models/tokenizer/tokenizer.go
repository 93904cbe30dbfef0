// Package tokenizer provides BERT WordPiece tokenization for mimicry's models: the
// cross-encoder teacher and the ColBERT and SPLADE students.
//
// The [Tokenizer] interface is what the models need from a tokenizer (vocabulary size, ids of
// the special tokens and of arbitrary tokens, token strings of ids, encoding of one text). Pair
// encoding, truncation and padding into fixed-shape int32 matrices are built on top of it by
// [EncodeBatch], [EncodePairBatch] and friends, so any implementation gets them; other
// implementations (for instance one backed by Hugging Face's Rust tokenizers) can be added behind a
// build tag.
//
// [WordPiece] is the implementation in this package, written in pure Go and matching Hugging
// Face's `tokenizers` BERT pipeline: the BertNormalizer (control characters removed, all Unicode
// whitespace turned into spaces, spaces around CJK ideographs, accents stripped by NFD
// decomposition and removal of non-spacing marks, lower-casing), the BertPreTokenizer (split on
// whitespace and punctuation) and the greedy longest-match-first WordPiece model with "##"
// continuation pieces. Special tokens such as "[MASK]" written in the raw text are recognised
// before normalisation, as in Hugging Face. Its character classes, decompositions and case
// mappings are Hugging Face's own (older Unicode data than Go's), measured on Hugging Face's
// tokenizers by parity/make_tables.py; package parity checks the token ids against Hugging Face's
// on every code point, on the texts of ../shared/data and on pair encodings with truncation and
// padding, for bert-base-uncased and all-MiniLM-L6-v2.
//
// github.com/sugarme/tokenizer (v0.3.0) was evaluated for this and is not used at run time: its
// BertNormalizer strips accents without NFD decomposition (so "café" becomes [UNK] instead of
// "cafe"), treats only ASCII whitespace as whitespace (so "a\u00a0b" becomes one [UNK]), panics on
// some non-ASCII input ("İstanbul Ⱥx ẞ"), repeats pieces of words next to invalid UTF-8, takes about
// 1 ms per sentence, and its WordPiece package needs a module (github.com/emirpasic/gods) that is
// not in go.sum. Its normaliser and pre-tokeniser are still used by a test as an independent
// cross-check on plain ASCII text.
//
// [Default] returns the bert-base-uncased tokenizer (its vocabulary is embedded, so it works offline);
// [LoadFile] reads a Hugging Face tokenizer.json or a vocab.txt; [Train] learns a smaller vocabulary
// from a corpus.
package tokenizer

import "strconv"

// Default per-role maximum lengths, in tokens, special tokens included.
const (
	// QueryMaxLen is the default length of encoded queries: "[CLS] q [SEP]" (ColBERT's default
	// query length).
	QueryMaxLen = 32
	// DocMaxLen is the default length of encoded documents (passages): "[CLS] d [SEP]".
	DocMaxLen = 180
	// PairMaxLen is the default length of encoded query–document pairs for the cross-encoder,
	// "[CLS] q [SEP] d [SEP]": a query and a document that fit in QueryMaxLen and DocMaxLen on their
	// own ((QueryMaxLen-2) + (DocMaxLen-2) + 3 tokens) fit together without truncation.
	PairMaxLen = QueryMaxLen + DocMaxLen
)

// Names of BERT's special tokens, as in bert-base-uncased's vocabulary.
const (
	// PadToken pads rows to a common length.
	PadToken = "[PAD]"
	// UnkToken stands for words that cannot be split into vocabulary pieces.
	UnkToken = "[UNK]"
	// CLSToken starts every encoded row.
	CLSToken = "[CLS]"
	// SEPToken ends every text of an encoded row.
	SEPToken = "[SEP]"
	// MaskToken is the masked-language-model mask, also ColBERT's query padding.
	MaskToken = "[MASK]"
	// QueryMarker is the token ColBERT inserts after [CLS] in queries (its "[Q]").
	QueryMarker = "[unused0]"
	// DocMarker is the token ColBERT inserts after [CLS] in documents (its "[D]").
	DocMarker = "[unused1]"
)

// Specials holds the ids of BERT's special tokens.
type Specials struct {
	Pad, CLS, SEP, Mask, UNK int
}

// Tokenizer is what the models need from a tokenizer. Implementations must be safe for
// concurrent use.
type Tokenizer interface {
	// Encode tokenizes text into token ids, without special tokens ([CLS], [SEP]) and without
	// truncation. It never fails: text that cannot be represented maps to the unknown token.
	Encode(text string) []int
	// VocabSize is the number of token ids: ids are in [0, VocabSize()).
	VocabSize() int
	// TokenToID returns the id of a token given as its vocabulary string (e.g. "[unused0]",
	// "##ing"), and whether it is in the vocabulary.
	TokenToID(token string) (id int, ok bool)
	// IDToToken returns the vocabulary string of an id, and whether the id is valid.
	IDToToken(id int) (token string, ok bool)
	// Specials returns the ids of [PAD], [CLS], [SEP], [MASK] and [UNK].
	Specials() Specials
}

// Tokens returns the vocabulary strings of ids, for display (e.g. SPLADE's expanded terms);
// invalid ids show as "<id N?>".
func Tokens(tk Tokenizer, ids []int) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		tok, ok := tk.IDToToken(id)
		if !ok {
			tok = "<id " + strconv.Itoa(id) + "?>"
		}
		out[i] = tok
	}
	return out
}
