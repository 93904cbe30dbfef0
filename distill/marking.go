package distill

import (
	"fmt"
	"slices"
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
// [CrossEncoder] and [TrainTeacher] mark their pairs when it is set.
func MarkExactMatches(query, passage string) (string, string) {
	q, p := analyzeWords(query), analyzeWords(passage)
	return q.mark(p.all), p.mark(q.all)
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

// mark joins the words with single spaces, putting MatchMarker before each word that has a term in
// other.
func (a analyzedText) mark(other map[string]bool) string {
	var b strings.Builder
	for i, w := range a.words {
		if i > 0 {
			b.WriteByte(' ')
		}
		if slices.ContainsFunc(a.terms[i], func(t string) bool { return other[t] }) {
			b.WriteString(MatchMarker)
			b.WriteByte(' ')
		}
		b.WriteString(w)
	}
	return b.String()
}

// markPairs returns marked copies of the pairs (the callers' slices are left alone).
func markPairs(queries, passages []string) ([]string, []string) {
	qs, ps := make([]string, len(queries)), make([]string, len(passages))
	for i := range queries {
		qs[i], ps[i] = MarkExactMatches(queries[i], passages[i])
	}
	return qs, ps
}

// markingTokenizer encodes MatchMarker written in a text as its token id, whatever the underlying
// tokenizer does with "[unused0]" in raw text (WordPiece would split it into pieces).
type markingTokenizer struct {
	tokenizer.Tokenizer
	marker int
}

// Encode implements tokenizer.Tokenizer.
func (m markingTokenizer) Encode(text string) []int {
	parts := strings.Split(text, MatchMarker)
	ids := m.Tokenizer.Encode(parts[0])
	for _, p := range parts[1:] {
		ids = append(ids, m.marker)
		ids = append(ids, m.Tokenizer.Encode(p)...)
	}
	return ids
}

// pairEncoder returns how a cross-encoder's pairs are prepared: unchanged, or marked (with a
// tokenizer that knows the marker) when cfg.MarkExactMatches is set.
func pairEncoder(cfg *models.Config, tk tokenizer.Tokenizer) (tokenizer.Tokenizer, func(qs, ps []string) ([]string, []string), error) {
	if !cfg.MarkExactMatches {
		return tk, func(qs, ps []string) ([]string, []string) { return qs, ps }, nil
	}
	id, ok := tk.TokenToID(MatchMarker)
	if !ok {
		return nil, nil, fmt.Errorf("cross-encoder: the model marks exact matches with %s, which the tokenizer's vocabulary lacks", MatchMarker)
	}
	return markingTokenizer{Tokenizer: tk, marker: id}, markPairs, nil
}
