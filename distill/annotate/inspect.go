package annotate

import (
	"fmt"
	"slices"
	"strings"

	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/distill/eval"
)

// ScoreDistributions splits the scores of an answer key into those of positive and negative pairs, in
// the key's order: the two histograms a good teacher separates.
func ScoreDistributions(pairs []datasets.ScoredPair, qrels datasets.Qrels) (positives, negatives []float64) {
	for _, p := range pairs {
		if qrels[p.QueryID][p.DocID] > 0 {
			positives = append(positives, p.Score)
		} else {
			negatives = append(negatives, p.Score)
		}
	}
	return positives, negatives
}

// QueryMargin compares, for one query, the teacher's best-scored judged positive with its
// highest-scored negative: a negative Margin means the teacher ranks a negative above every positive.
type QueryMargin struct {
	// QID names the query.
	QID string
	// PositiveID is the best-scored positive passage (the smallest id among equal scores).
	PositiveID string
	// Positive is its score.
	Positive float64
	// NegativeID is the highest-scored negative passage (the smallest id among equal scores).
	NegativeID string
	// HardestNegative is its score.
	HardestNegative float64
	// Margin is Positive − HardestNegative.
	Margin float64
}

// Margins returns the margin of every query that has at least one positive and one negative pair in the
// answer key, by query id.
func Margins(pairs []datasets.ScoredPair, qrels datasets.Qrels) []QueryMargin {
	type best struct {
		id    string
		score float64
		ok    bool
	}
	better := func(b best, id string, score float64) best {
		if !b.ok || score > b.score || (score == b.score && id < b.id) {
			return best{id, score, true}
		}
		return b
	}
	pos, neg := map[string]best{}, map[string]best{}
	for _, p := range pairs {
		if qrels[p.QueryID][p.DocID] > 0 {
			pos[p.QueryID] = better(pos[p.QueryID], p.DocID, p.Score)
		} else {
			neg[p.QueryID] = better(neg[p.QueryID], p.DocID, p.Score)
		}
	}
	var out []QueryMargin
	for qid, bp := range pos {
		bn, ok := neg[qid]
		if !ok {
			continue
		}
		out = append(out, QueryMargin{QID: qid, PositiveID: bp.id, Positive: bp.score, NegativeID: bn.id,
			HardestNegative: bn.score, Margin: bp.score - bn.score})
	}
	slices.SortFunc(out, func(a, b QueryMargin) int { return strings.Compare(a.QID, b.QID) })
	return out
}

// TeacherAsReranker evaluates the answer key as a run — the teacher reranking the candidates it scored
// — with the default measures (nDCG@10, RR@10, R@100, AP, computed as trec_eval does by distill/eval)
// and returns their means over the judged queries of the key. A (qid, pid) pair listed twice is an
// error, as in trec_eval.
func TeacherAsReranker(pairs []datasets.ScoredPair, qrels datasets.Qrels) (map[string]float64, error) {
	run := eval.Run{}
	for i, p := range pairs {
		docs := run[p.QueryID]
		if docs == nil {
			docs = map[string]float64{}
			run[p.QueryID] = docs
		}
		if _, dup := docs[p.DocID]; dup {
			return nil, fmt.Errorf("teacher as reranker: pair %d: query %q, passage %q is scored twice", i+1, p.QueryID, p.DocID)
		}
		docs[p.DocID] = p.Score
	}
	return eval.Means(qrels, run)
}
