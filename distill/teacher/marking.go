package teacher

import (
	"fmt"
	"strings"

	"github.com/mimicry-ir/mimicry/datasets/bm25"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

// MatchMarker is the token that [MarkExactMatches] puts before every shared word. It is BERT's
// "[unused0]", which every vocabulary of Mimicry has (ColBERT uses the same token as its query
// marker; the two never meet, since a cross-encoder has no ColBERT markers).
const MatchMarker = tokenizer.QueryMarker

// matchAnalyzer decides which words match: BM25's default analysis (lower-casing, Lucene's English
// stop words, Porter stemming), so a word matches exactly where it would add to BM25's score.
var matchAnalyzer = bm25.DefaultAnalyzer()

// CommonMatchMarker is the token that marks shared words that are not rare when a model
// distinguishes rare matches from common ones (models.Config.MarkRareDF; [MarkMatches]): BERT's
// "[unused1]".
const CommonMatchMarker = "[unused1]"

// DefaultMarkRareDF is the document fraction below which `mimicry train teacher --mark-matches` and
// the pipeline's marked teacher count a shared word as rare ([MarkMatches]).
const DefaultMarkRareDF = 0.01

// MarkExactMatches marks the words that query and passage share, as MarkedBERT does (Boualili,
// Moreno & Boughanem, "MarkedBERT: Integrating Traditional IR Cues in Pre-trained Language Models
// for Passage Retrieval", SIGIR 2020): each word of either text that has an index term in common
// with the other text is preceded by [MatchMarker]; stop words never match. Words are separated by
// single spaces in the results.
//
// A cross-encoder trained from scratch must otherwise discover exact matching itself — attention
// that pairs equal tokens across the two segments — before it can learn anything beyond it, which
// takes it hundreds of steps on a tiny collection. With the markers, matching is an input feature
// it can count at once. Models trained with marked pairs carry [models.Config.MarkExactMatches], and
// [CrossEncoder] and [Train] mark their pairs when it is set.
func MarkExactMatches(query, passage string) (string, string) {
	return MarkMatches(query, passage, nil, 0)
}

// MarkMatches is [MarkExactMatches] with two markers: a shared word one of whose index terms is in
// fewer than rareDF·N of the N documents of ix is preceded by [MatchMarker], any other shared word
// by [CommonMatchMarker]. The model then sees which matches discriminate — what BM25's inverse
// document frequency tells it — instead of learning each word's rarity from a thousand queries
// ("spotted valley owl" shares "spotted", "valley" and "owl" with dozens of passages about other
// species; "kelda" with a handful). With ix nil or rareDF ≤ 0 every shared word gets MatchMarker.
func MarkMatches(query, passage string, ix *bm25.Index, rareDF float64) (string, string) {
	rare := func(string) bool { return true }
	if ix != nil && rareDF > 0 {
		limit := rareDF * float64(ix.DocCount())
		rare = func(term string) bool { return float64(ix.DocFreq(term)) < limit }
	}
	q, p := analyzeWords(query), analyzeWords(passage)
	return q.mark(p.all, rare), p.mark(q.all, rare)
}

// analyzedText is a text split into whitespace-separated words, with each word's index terms and
// the set of all of them, so that every word is analysed once.
type analyzedText struct {
	words []string
	terms [][]string
	all   map[string]bool
}

func analyzeWords(text string) analyzedText {
	a := analyzedText{words: strings.Fields(text), all: map[string]bool{}}
	a.terms = make([][]string, len(a.words))
	for i, w := range a.words {
		a.terms[i] = matchAnalyzer.Analyze(w)
		for _, t := range a.terms[i] {
			a.all[t] = true
		}
	}
	return a
}

// mark joins the words with single spaces, putting a marker before each word that has a term in
// other: MatchMarker when one of its shared terms is rare, CommonMatchMarker otherwise.
func (a analyzedText) mark(other map[string]bool, rare func(string) bool) string {
	var b strings.Builder
	for i, w := range a.words {
		if i > 0 {
			b.WriteByte(' ')
		}
		marker := ""
		for _, t := range a.terms[i] {
			if other[t] {
				marker = CommonMatchMarker
				if rare(t) {
					marker = MatchMarker
					break
				}
			}
		}
		if marker != "" {
			b.WriteString(marker)
			b.WriteByte(' ')
		}
		b.WriteString(w)
	}
	return b.String()
}

// markingTokenizer encodes the match markers written in a text as their token ids, whatever the
// underlying tokenizer does with "[unused0]" in raw text (WordPiece would split it into pieces).
type markingTokenizer struct {
	tokenizer.Tokenizer
	markers []string
	ids     []int
}

// Encode implements tokenizer.Tokenizer.
func (m markingTokenizer) Encode(text string) []int {
	var ids []int
	for {
		at, which := -1, -1
		for k, mk := range m.markers {
			if i := strings.Index(text, mk); i >= 0 && (at < 0 || i < at) {
				at, which = i, k
			}
		}
		if at < 0 {
			return append(ids, m.Tokenizer.Encode(text)...)
		}
		ids = append(ids, m.Tokenizer.Encode(text[:at])...)
		ids = append(ids, m.ids[which])
		text = text[at+len(m.markers[which]):]
	}
}

// NeedsCollection reports whether scoring with a cross-encoder needs the BM25 index of the
// collection it ranks (CrossEncoder.UseCollection): for its BM25 term (models.Config.BM25Weight)
// or for marking rare matches (models.Config.MarkRareDF).
func NeedsCollection(cfg *models.Config) bool {
	return cfg.BM25Weight > 0 || (cfg.MarkExactMatches && cfg.MarkRareDF > 0)
}

// pairEncoder returns how a cross-encoder's pairs are prepared: unchanged, or marked (with a
// tokenizer that knows the markers) when cfg.MarkExactMatches is set — with two markers when
// cfg.MarkRareDF is also set, which needs ix.
func pairEncoder(cfg *models.Config, tk tokenizer.Tokenizer, ix *bm25.Index) (tokenizer.Tokenizer, func(qs, ps []string) ([]string, []string), error) {
	if !cfg.MarkExactMatches {
		return tk, func(qs, ps []string) ([]string, []string) { return qs, ps }, nil
	}
	markers := []string{MatchMarker}
	if cfg.MarkRareDF > 0 {
		if ix == nil {
			return nil, nil, fmt.Errorf("cross-encoder: the model marks rare matches (mimicry_mark_rare_df = %g), which needs the BM25 index of the collection it ranks (CrossEncoder.UseCollection; --data on the command line)", cfg.MarkRareDF)
		}
		markers = append(markers, CommonMatchMarker)
	}
	wrapped := markingTokenizer{Tokenizer: tk, markers: markers}
	for _, mk := range markers {
		id, ok := tk.TokenToID(mk)
		if !ok {
			return nil, nil, fmt.Errorf("cross-encoder: the model marks exact matches with %s, which the tokenizer's vocabulary lacks", mk)
		}
		wrapped.ids = append(wrapped.ids, id)
	}
	prepare := func(queries, passages []string) ([]string, []string) {
		// Marked copies; the callers' slices are left alone.
		qs, ps := make([]string, len(queries)), make([]string, len(passages))
		for i := range queries {
			qs[i], ps[i] = MarkMatches(queries[i], passages[i], ix, cfg.MarkRareDF)
		}
		return qs, ps
	}
	return wrapped, prepare, nil
}
