package tokenizer

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Defaults of the WordPiece model, as in Hugging Face.
const (
	// DefaultContinuingSubwordPrefix marks pieces that continue a word: "token", "##ization".
	DefaultContinuingSubwordPrefix = "##"
	// DefaultMaxInputCharsPerWord is the longest word (in characters) that is split into pieces;
	// longer words become [UNK].
	DefaultMaxInputCharsPerWord = 100
)

// WordPiece is a BERT WordPiece tokenizer: BERT normalisation, BERT pre-tokenisation and greedy
// longest-match-first WordPiece, as in Hugging Face's tokenizers. It implements [Tokenizer]; it is
// immutable and safe for concurrent use.
//
// Build one with [Default], [LoadFile], [LoadVocabFile], [LoadTokenizerJSON], [FromVocab] or
// [Train].
type WordPiece struct {
	source       string         // where it came from, for error messages
	vocab        []string       // id → token
	ids          map[string]int // token → id
	cont         map[string]int // continuation pieces without their prefix: "ization" → id of "##ization"
	prefix       string         // continuing-subword prefix, "##"
	unkToken     string
	maxWordChars int
	norm         Normalization
	specials     Specials
	split        []string // tokens recognised verbatim in raw text before normalisation, longest first
	// normSplit are added tokens with "normalized": true, recognised in the normalised text by their
	// normalised content (as Hugging Face's AddedVocabulary does), longest first; normIDs their ids.
	normSplit []string
	normIDs   map[string]int
}

// wordPieceConfig is what a WordPiece needs besides its vocabulary.
type wordPieceConfig struct {
	norm         Normalization
	unkToken     string   // "" → [UNK]
	prefix       string   // "" → "##"
	maxWordChars int      // 0 → 100
	split        []string // nil → [PAD] [UNK] [CLS] [SEP] [MASK]
	normalized   []string // added tokens matched in the normalised text (their raw content)
}

// FromVocab builds a WordPiece tokenizer from a vocabulary: tokens[id] is the token of id, with
// "##" marking continuation pieces, as in a BERT vocab.txt. The vocabulary must contain [PAD],
// [UNK], [CLS], [SEP] and [MASK]; these five are also recognised when written in the raw text.
// Use [UncasedNormalization] for uncased models and [CasedNormalization] for cased ones.
func FromVocab(tokens []string, norm Normalization) (*WordPiece, error) {
	return newWordPiece("vocabulary", tokens, func(id int) string { return fmt.Sprintf("entry %d", id) },
		wordPieceConfig{norm: norm})
}

// newWordPiece validates the vocabulary and builds the tokenizer. source names the origin (a file)
// in errors; where(id) locates an entry in it ("line 12").
func newWordPiece(source string, tokens []string, where func(id int) string, cfg wordPieceConfig) (*WordPiece, error) {
	if cfg.unkToken == "" {
		cfg.unkToken = UnkToken
	}
	if cfg.prefix == "" {
		cfg.prefix = DefaultContinuingSubwordPrefix
	}
	if cfg.maxWordChars <= 0 {
		cfg.maxWordChars = DefaultMaxInputCharsPerWord
	}
	if cfg.split == nil {
		cfg.split = []string{PadToken, UnkToken, CLSToken, SEPToken, MaskToken}
	}
	if len(tokens) == 0 {
		return nil, fmt.Errorf("tokenizer: %s: empty vocabulary", source)
	}
	w := &WordPiece{
		source:       source,
		vocab:        slices.Clone(tokens),
		ids:          make(map[string]int, len(tokens)),
		cont:         make(map[string]int),
		prefix:       cfg.prefix,
		unkToken:     cfg.unkToken,
		maxWordChars: cfg.maxWordChars,
		norm:         cfg.norm,
	}
	for id, tok := range tokens {
		switch {
		case tok == "":
			return nil, fmt.Errorf("tokenizer: %s %s: empty token", source, where(id))
		case strings.ContainsAny(tok, "\n\r"):
			return nil, fmt.Errorf("tokenizer: %s %s: token %q contains a line break", source, where(id), tok)
		case !utf8.ValidString(tok):
			return nil, fmt.Errorf("tokenizer: %s %s: token %q is not valid UTF-8", source, where(id), tok)
		}
		if prev, dup := w.ids[tok]; dup {
			return nil, fmt.Errorf("tokenizer: %s %s: duplicate token %q (also at %s)", source, where(id), tok, where(prev))
		}
		w.ids[tok] = id
		if rest, ok := strings.CutPrefix(tok, w.prefix); ok && rest != "" {
			w.cont[rest] = id
		}
	}
	lookup := func(name, tok string) (int, error) {
		id, ok := w.ids[tok]
		if !ok {
			return 0, fmt.Errorf("tokenizer: %s: the vocabulary has no %s token %q", source, name, tok)
		}
		return id, nil
	}
	var err error
	for _, s := range []struct {
		dst       *int
		name, tok string
	}{
		{&w.specials.Pad, "padding", PadToken},
		{&w.specials.UNK, "unknown", cfg.unkToken},
		{&w.specials.CLS, "classifier", CLSToken},
		{&w.specials.SEP, "separator", SEPToken},
		{&w.specials.Mask, "mask", MaskToken},
	} {
		if *s.dst, err = lookup(s.name, s.tok); err != nil {
			return nil, err
		}
	}
	for _, tok := range cfg.split {
		if _, err := lookup("special", tok); err != nil {
			return nil, err
		}
		if !slices.Contains(w.split, tok) {
			w.split = append(w.split, tok)
		}
	}
	// Longest first, so that at one position the longest special token wins.
	slices.SortStableFunc(w.split, func(a, b string) int { return len(b) - len(a) })
	for _, tok := range cfg.normalized {
		id, err := lookup("added", tok)
		if err != nil {
			return nil, err
		}
		norm := w.norm.Normalize(tok)
		if norm == "" {
			return nil, fmt.Errorf("tokenizer: %s: added token %q normalises to nothing", source, tok)
		}
		if w.normIDs == nil {
			w.normIDs = map[string]int{}
		}
		if _, dup := w.normIDs[norm]; !dup {
			w.normIDs[norm] = id
			w.normSplit = append(w.normSplit, norm)
		}
	}
	slices.SortStableFunc(w.normSplit, func(a, b string) int { return len(b) - len(a) })
	return w, nil
}

// Encode implements [Tokenizer]: special tokens written in text (e.g. "[MASK]") are recognised
// verbatim, the rest is normalised, split into words and each word into WordPiece pieces; a word
// that cannot be split, or is longer than the model's maximum (100 characters), becomes [UNK].
func (w *WordPiece) Encode(text string) []int {
	ids := make([]int, 0, len(text)/4+2)
	w.splitSpecials(text, func(segment string, special int) {
		if special >= 0 {
			ids = append(ids, special)
			return
		}
		splitOn(w.norm.Normalize(segment), w.normSplit, func(piece string, added string) {
			if added != "" {
				ids = append(ids, w.normIDs[added])
				return
			}
			preTokenize(piece, func(word string) {
				ids = w.appendWord(ids, word)
			})
		})
	})
	return ids
}

// Tokenize returns the token strings of Encode(text), for display and debugging.
func (w *WordPiece) Tokenize(text string) []string {
	return Tokens(w, w.Encode(text))
}

// splitSpecials calls fn for the segments of text between special tokens (special < 0) and for
// each special token (special = its id), in order.
func (w *WordPiece) splitSpecials(text string, fn func(segment string, special int)) {
	splitOn(text, w.split, func(piece, tok string) {
		if tok != "" {
			fn(tok, w.ids[tok])
		} else {
			fn(piece, -1)
		}
	})
}

// splitOn calls fn for the pieces of text between occurrences of the tokens (tok "") and for each
// occurrence (tok set), in order; tokens are sorted longest first, so that at one position the
// longest wins.
func splitOn(text string, tokens []string, fn func(piece, tok string)) {
	for text != "" {
		at, tok := -1, ""
		for _, s := range tokens {
			if i := strings.Index(text, s); i >= 0 && (at < 0 || i < at) {
				at, tok = i, s
			}
		}
		if at < 0 {
			fn(text, "")
			return
		}
		if at > 0 {
			fn(text[:at], "")
		}
		fn("", tok)
		text = text[at+len(tok):]
	}
}

// appendWord appends the WordPiece pieces of one pre-tokenised word: the longest vocabulary
// token that prefixes the word, then the longest "##" piece that prefixes the rest, and so on.
func (w *WordPiece) appendWord(ids []int, word string) []int {
	if utf8.RuneCountInString(word) > w.maxWordChars {
		return append(ids, w.specials.UNK)
	}
	n := len(ids)
	for start := 0; start < len(word); {
		id, found := -1, false
		end := len(word)
		for end > start {
			if start == 0 {
				id, found = w.ids[word[:end]]
			} else {
				id, found = w.cont[word[start:end]]
			}
			if found {
				break
			}
			_, size := utf8.DecodeLastRuneInString(word[start:end])
			end -= size
		}
		if !found {
			return append(ids[:n], w.specials.UNK)
		}
		ids = append(ids, id)
		start = end
	}
	return ids
}

// VocabSize implements [Tokenizer].
func (w *WordPiece) VocabSize() int { return len(w.vocab) }

// TokenToID implements [Tokenizer].
func (w *WordPiece) TokenToID(token string) (int, bool) {
	id, ok := w.ids[token]
	return id, ok
}

// IDToToken implements [Tokenizer].
func (w *WordPiece) IDToToken(id int) (string, bool) {
	if id < 0 || id >= len(w.vocab) {
		return "", false
	}
	return w.vocab[id], true
}

// Specials implements [Tokenizer].
func (w *WordPiece) Specials() Specials { return w.specials }

// Vocab returns a copy of the vocabulary: Vocab()[id] is the token of id.
func (w *WordPiece) Vocab() []string { return slices.Clone(w.vocab) }

// Normalization returns the tokenizer's normalisation settings.
func (w *WordPiece) Normalization() Normalization { return w.norm }

// Source says where the tokenizer came from: a file name, "embedded bert-base-uncased vocab.txt",
// "vocabulary" (FromVocab) or "trained vocabulary".
func (w *WordPiece) Source() string { return w.source }

// String describes the tokenizer briefly.
func (w *WordPiece) String() string {
	return fmt.Sprintf("WordPiece(%s, %d tokens, lowercase=%v, strip_accents=%v)",
		w.source, len(w.vocab), w.norm.Lowercase, w.norm.StripAccents)
}
