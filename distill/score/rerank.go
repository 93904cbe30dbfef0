package score

import (
	"fmt"

	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/datasets/bm25"
	"github.com/mimicry-ir/mimicry/distill/eval"
)

// Texts maps document ids to the text the models read: title and body (see bm25.Contents).
func Texts(docs []datasets.Document) map[string]string {
	out := make(map[string]string, len(docs))
	for _, d := range docs {
		out[d.ID] = bm25.Contents(d)
	}
	return out
}

// Candidates retrieves each query's top-k documents with BM25: the first stage that the teacher
// and ColBERT rerank.
func Candidates(ix *bm25.Index, queries []datasets.Query, k int) map[string][]string {
	hits := ix.SearchBatch(queries, k)
	out := make(map[string][]string, len(hits))
	for qid, hs := range hits {
		ids := make([]string, len(hs))
		for i, h := range hs {
			ids[i] = h.DocID
		}
		out[qid] = ids
	}
	return out
}

// Rerank scores each query's candidates with s and returns the run.
func Rerank(s Scorer, queries []datasets.Query, candidates map[string][]string, texts map[string]string) (eval.Run, error) {
	var qs, ps []string
	type ref struct{ qid, did string }
	var refs []ref
	for _, q := range queries {
		for _, did := range candidates[q.ID] {
			text, ok := texts[did]
			if !ok {
				return nil, fmt.Errorf("rerank: query %s: candidate %s has no text", q.ID, did)
			}
			qs, ps = append(qs, q.Text), append(ps, text)
			refs = append(refs, ref{q.ID, did})
		}
	}
	scores, err := s.Score(qs, ps)
	if err != nil {
		return nil, err
	}
	run := eval.Run{}
	for i, r := range refs {
		if run[r.qid] == nil {
			run[r.qid] = map[string]float64{}
		}
		run[r.qid][r.did] = scores[i]
	}
	return run, nil
}

// RunFromHits turns BM25 hits into a run.
func RunFromHits(hits map[string][]bm25.Hit) eval.Run {
	run := eval.Run{}
	for qid, hs := range hits {
		m := make(map[string]float64, len(hs))
		for _, h := range hs {
			m[h.DocID] = h.Score
		}
		run[qid] = m
	}
	return run
}
