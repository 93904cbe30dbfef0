package tokenizer

import (
	"cmp"
	"container/heap"
	"fmt"
	"iter"
	"slices"
	"strings"
	"unicode/utf8"
)

// TrainOptions configures [Train]. The zero value gives the defaults.
type TrainOptions struct {
	// Unused is the number of "[unusedN]" tokens placed right after [PAD], as in BERT's vocabulary
	// (ColBERT uses [unused0] and [unused1] as its query and document markers). Values below 2
	// mean 2.
	Unused int
	// MinFrequency is the minimum (corpus-weighted) count of a pair of pieces for it to be merged
	// into a new token; values below 1 mean 1. Training stops early when no pair is that frequent.
	MinFrequency int
	// LimitAlphabet keeps only the LimitAlphabet most frequent characters (ties broken by code
	// point); words with other characters are left out of training and become [UNK]. 0 keeps all.
	LimitAlphabet int
	// Normalization is applied before counting words; nil means [UncasedNormalization].
	Normalization *Normalization
	// MaxInputCharsPerWord: longer words become [UNK] and are not counted; 0 means 100.
	MaxInputCharsPerWord int
}

// Train learns a WordPiece vocabulary of size tokens (fewer if the corpus runs out of pairs to
// merge) from texts, and returns its tokenizer. Use slices.Values(texts) for a slice.
//
// sugarme/tokenizer's WordPiece trainer is not used: it drops the special tokens, breaks ties by
// wall-clock time (so it is not deterministic), prints to stdout and needs a module that is not in
// go.sum. This one follows the same scheme as Hugging Face's WordPieceTrainer (which is its BPE
// trainer with a "##" continuation prefix):
//
//  1. Texts are normalised and pre-tokenised as for encoding (special tokens written in the text
//     are skipped) and the words counted.
//  2. The vocabulary starts with the special tokens — [PAD]=0, [unused0]=1, [unused1]=2, …
//     ([TrainOptions.Unused] of them), then [UNK], [CLS], [SEP], [MASK] — followed by every
//     character c of the alphabet in code-point order, then every "##c": any word made of known
//     characters can be encoded without [UNK].
//  3. Each word is a sequence of pieces (its first character, then "##" pieces). Repeatedly, the
//     adjacent pair of pieces with the highest corpus count is merged into a new token ("t" +
//     "##h" → "th", "##i" + "##ng" → "##ing") and appended to the vocabulary, until it has size
//     tokens. Ties are broken by the pieces' strings, so the result depends only on the word
//     counts: it is deterministic and independent of the order of texts.
//
// Frequent whole words thus become single tokens and frequent word parts become "##" pieces.
// Encoding with the result uses the usual greedy longest-match WordPiece.
func Train(texts iter.Seq[string], size int, opts TrainOptions) (*WordPiece, error) {
	norm := UncasedNormalization()
	if opts.Normalization != nil {
		norm = *opts.Normalization
	}
	maxWordChars := opts.MaxInputCharsPerWord
	if maxWordChars <= 0 {
		maxWordChars = DefaultMaxInputCharsPerWord
	}
	minFreq := max(opts.MinFrequency, 1)
	if opts.LimitAlphabet < 0 {
		return nil, fmt.Errorf("tokenizer: Train: LimitAlphabet %d must be >= 0", opts.LimitAlphabet)
	}

	// Special tokens.
	vocab := []string{PadToken}
	for i := range max(opts.Unused, 2) {
		vocab = append(vocab, fmt.Sprintf("[unused%d]", i))
	}
	vocab = append(vocab, UnkToken, CLSToken, SEPToken, MaskToken)
	specials := slices.Clone(vocab)

	// 1. Word counts; special tokens in the text are skipped, as Encode would not split them.
	counts := map[string]int{}
	// A WordPiece with only its special tokens set, for splitSpecials (the ids are not used).
	splitter := &WordPiece{split: []string{PadToken, UnkToken, CLSToken, SEPToken, MaskToken}}
	slices.SortStableFunc(splitter.split, func(a, b string) int { return len(b) - len(a) })
	for text := range texts {
		splitter.splitSpecials(text, func(segment string, special int) {
			if special >= 0 {
				return
			}
			preTokenize(norm.Normalize(segment), func(word string) {
				if utf8.RuneCountInString(word) > maxWordChars {
					return
				}
				if _, ok := counts[word]; ok {
					counts[word]++
				} else {
					counts[strings.Clone(word)] = 1 // word points into the normalised text
				}
			})
		})
	}
	words := make([]string, 0, len(counts))
	for w := range counts {
		words = append(words, w)
	}
	slices.Sort(words)

	// 2. Alphabet.
	charCounts := map[rune]int{}
	for _, w := range words {
		for _, r := range w {
			charCounts[r] += counts[w]
		}
	}
	alphabet := make([]rune, 0, len(charCounts))
	for r := range charCounts {
		alphabet = append(alphabet, r)
	}
	if opts.LimitAlphabet > 0 && len(alphabet) > opts.LimitAlphabet {
		slices.SortFunc(alphabet, func(a, b rune) int {
			return cmp.Or(cmp.Compare(charCounts[b], charCounts[a]), cmp.Compare(a, b))
		})
		alphabet = alphabet[:opts.LimitAlphabet]
	}
	slices.Sort(alphabet)
	if need := len(vocab) + 2*len(alphabet); size < need {
		return nil, fmt.Errorf("tokenizer: Train: vocabulary size %d is smaller than the %d special tokens plus the %d characters of the corpus and their %d \"##\" forms (%d); raise the size or set TrainOptions.LimitAlphabet",
			size, len(vocab), len(alphabet), len(alphabet), need)
	}
	t := &trainer{ids: map[string]int32{}}
	for _, tok := range vocab {
		t.add(tok)
	}
	for _, r := range alphabet {
		t.add(string(r))
	}
	for _, r := range alphabet {
		t.add(DefaultContinuingSubwordPrefix + string(r))
	}

	// 3. Words as pieces, leaving out words with characters outside the alphabet.
	for _, w := range words {
		pieces := make([]int32, 0, len(w))
		ok := true
		for i, r := range w {
			s := string(r)
			if i > 0 {
				s = DefaultContinuingSubwordPrefix + s
			}
			id, known := t.ids[s]
			if !known {
				ok = false
				break
			}
			pieces = append(pieces, id)
		}
		if ok {
			t.words = append(t.words, pieces)
			t.counts = append(t.counts, counts[w])
		}
	}
	t.merge(size, minFreq)

	return newWordPiece("trained vocabulary", t.vocab, func(id int) string { return fmt.Sprintf("entry %d", id) },
		wordPieceConfig{norm: norm, maxWordChars: maxWordChars, split: specials[len(specials)-4:]})
}

// pair is two adjacent pieces.
type pair struct{ a, b int32 }

// trainer holds the state of the merges.
type trainer struct {
	vocab  []string
	ids    map[string]int32
	words  [][]int32 // each word as pieces
	counts []int     // corpus count of each word
	pairs  map[pair]int
	where  map[pair][]int32 // words that contain (or contained) the pair; may repeat
	queue  pairQueue
}

func (t *trainer) add(tok string) int32 {
	if id, ok := t.ids[tok]; ok {
		return id
	}
	id := int32(len(t.vocab))
	t.vocab = append(t.vocab, tok)
	t.ids[tok] = id
	return id
}

// merge runs the merges until the vocabulary has size tokens or no pair reaches minFreq.
func (t *trainer) merge(size, minFreq int) {
	t.pairs = map[pair]int{}
	t.where = map[pair][]int32{}
	for wi, w := range t.words {
		for j := 0; j+1 < len(w); j++ {
			p := pair{w[j], w[j+1]}
			t.pairs[p] += t.counts[wi]
			t.where[p] = append(t.where[p], int32(wi))
		}
	}
	t.queue = pairQueue{vocab: &t.vocab}
	for p, c := range t.pairs {
		t.queue.items = append(t.queue.items, queued{p, c})
	}
	heap.Init(&t.queue)

	seen := make([]int, len(t.words)) // merge round in which a word was last processed
	round := 0
	for len(t.vocab) < size && t.queue.Len() > 0 {
		top := heap.Pop(&t.queue).(queued)
		cur := t.pairs[top.p]
		if cur != top.count { // stale entry: requeue with the current count
			if cur > 0 {
				heap.Push(&t.queue, queued{top.p, cur})
			}
			continue
		}
		if cur < minFreq {
			break
		}
		round++
		newID := t.add(t.vocab[top.p.a] + strings.TrimPrefix(t.vocab[top.p.b], DefaultContinuingSubwordPrefix))
		var grown []pair // pairs with newID whose counts grew
		for _, wi := range t.where[top.p] {
			if seen[wi] == round {
				continue
			}
			seen[wi] = round
			w := t.words[wi]
			if !containsPair(w, top.p) {
				continue
			}
			c := t.counts[wi]
			for j := 0; j+1 < len(w); j++ {
				t.pairs[pair{w[j], w[j+1]}] -= c
			}
			merged := w[:0]
			for j := 0; j < len(w); j++ {
				if j+1 < len(w) && w[j] == top.p.a && w[j+1] == top.p.b {
					merged = append(merged, newID)
					j++
				} else {
					merged = append(merged, w[j])
				}
			}
			t.words[wi] = merged
			for j := 0; j+1 < len(merged); j++ {
				p := pair{merged[j], merged[j+1]}
				t.pairs[p] += c
				if p.a == newID || p.b == newID {
					t.where[p] = append(t.where[p], int32(wi))
					grown = append(grown, p)
				}
			}
		}
		delete(t.where, top.p)
		for _, p := range grown {
			heap.Push(&t.queue, queued{p, t.pairs[p]})
		}
	}
}

func containsPair(w []int32, p pair) bool {
	for j := 0; j+1 < len(w); j++ {
		if w[j] == p.a && w[j+1] == p.b {
			return true
		}
	}
	return false
}

// queued is a pair with the count it had when queued.
type queued struct {
	p     pair
	count int
}

// pairQueue is a max-heap of pairs by count, ties broken by the pieces' strings (ascending), so
// that the order of merges does not depend on map iteration order.
type pairQueue struct {
	items []queued
	vocab *[]string
}

func (q *pairQueue) Len() int { return len(q.items) }
func (q *pairQueue) Less(i, j int) bool {
	x, y := q.items[i], q.items[j]
	if x.count != y.count {
		return x.count > y.count
	}
	v := *q.vocab
	return cmp.Or(strings.Compare(v[x.p.a], v[y.p.a]), strings.Compare(v[x.p.b], v[y.p.b])) < 0
}
func (q *pairQueue) Swap(i, j int) { q.items[i], q.items[j] = q.items[j], q.items[i] }
func (q *pairQueue) Push(x any)    { q.items = append(q.items, x.(queued)) }
func (q *pairQueue) Pop() any {
	x := q.items[len(q.items)-1]
	q.items = q.items[:len(q.items)-1]
	return x
}
