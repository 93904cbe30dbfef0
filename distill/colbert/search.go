package colbert

import (
	"container/heap"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"

	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/distill/eval"
)

// MaxSimScore is ColBERT's late-interaction score computed on the CPU: q holds the query's Lq token
// embeddings and d the document's T token embeddings, both row-major with width dim; the result is
// Σ_i max_j q_i·d_j, and 0 for a document without tokens — what models.MaxSim computes in the graph.
func MaxSimScore(q, d []float32, dim int) float32 {
	return maxSimScore(q, d, dim, make([]float32, len(q)/dim))
}

// maxSimScore is MaxSimScore with a scratch slice of len(q)/dim values.
func maxSimScore(q, d []float32, dim int, best []float32) float32 {
	lq, nd := len(q)/dim, len(d)/dim
	if nd == 0 || lq == 0 {
		return 0
	}
	best = best[:lq]
	for i := range best {
		best[i] = float32(math.Inf(-1))
	}
	for j := range nd {
		dj := d[j*dim : (j+1)*dim : (j+1)*dim]
		i := 0
		// Four query tokens at a time: each document value loaded once serves four dot products.
		for ; i+4 <= lq; i += 4 {
			q0 := q[i*dim : (i+1)*dim : (i+1)*dim]
			q1 := q[(i+1)*dim : (i+2)*dim : (i+2)*dim]
			q2 := q[(i+2)*dim : (i+3)*dim : (i+3)*dim]
			q3 := q[(i+3)*dim : (i+4)*dim : (i+4)*dim]
			var s0, s1, s2, s3 float32
			for k, v := range dj {
				s0 += q0[k] * v
				s1 += q1[k] * v
				s2 += q2[k] * v
				s3 += q3[k] * v
			}
			best[i] = max(best[i], s0)
			best[i+1] = max(best[i+1], s1)
			best[i+2] = max(best[i+2], s2)
			best[i+3] = max(best[i+3], s3)
		}
		for ; i < lq; i++ {
			qi := q[i*dim : (i+1)*dim : (i+1)*dim]
			var s float32
			for k, v := range dj {
				s += qi[k] * v
			}
			best[i] = max(best[i], s)
		}
	}
	var sum float32
	for _, b := range best {
		sum += b
	}
	return sum
}

// colbertParallel calls fn(i) for i in [0, n) on GOMAXPROCS goroutines.
func colbertParallel(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	next := 0
	for range workers {
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= n {
					return
				}
				fn(i)
			}
		})
	}
	wg.Wait()
}

// colbertHit is a document index with its score.
type colbertHit struct {
	doc   int
	score float32
}

// colbertTopHeap is a min-heap of the best documents so far: the worst on top.
type colbertTopHeap []colbertHit

func (h colbertTopHeap) Len() int      { return len(h) }
func (h colbertTopHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h colbertTopHeap) Less(i, j int) bool {
	return colbertWorse(h[i], h[j])
}
func (h *colbertTopHeap) Push(x any) { *h = append(*h, x.(colbertHit)) }
func (h *colbertTopHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// colbertWorse orders results: lower score, then larger document index (so ties keep index order).
func colbertWorse(a, b colbertHit) bool {
	if a.score != b.score {
		return a.score < b.score
	}
	return a.doc > b.doc
}

// ScoreQuery returns the MaxSim score of a query (Lq × Dim embeddings) against every document,
// computed in parallel over documents.
func (ix *Index) ScoreQuery(q []float32) []float32 {
	n := ix.Len()
	scores := make([]float32, n)
	const chunk = 256
	chunks := (n + chunk - 1) / chunk
	dim := ix.Meta.Dim
	colbertParallel(chunks, func(c int) {
		best := make([]float32, len(q)/dim)
		for i := c * chunk; i < min(n, (c+1)*chunk); i++ {
			scores[i] = maxSimScore(q, ix.Doc(i), dim, best)
		}
	})
	return scores
}

// encodeQueries checks that enc matches the index and encodes the queries.
func (ix *Index) encodeQueries(enc *Encoder, queries []datasets.Query) ([][]float32, error) {
	if enc.Dim() != ix.Meta.Dim {
		return nil, fmt.Errorf("colbert search: the model's embeddings have %d dimensions, the index's %d", enc.Dim(), ix.Meta.Dim)
	}
	texts := make([]string, len(queries))
	for i, q := range queries {
		texts[i] = q.Text
	}
	return enc.EncodeQueries(texts)
}

// SearchExhaustive scores every query against every document (plain-Go MaxSim, parallel over
// documents) and keeps each query's top k (all documents when k ≤ 0). A residual student's score
// (enc.BM25Weight() > 0) adds its weight times BM25 before the top k are taken.
func (ix *Index) SearchExhaustive(enc *Encoder, queries []datasets.Query, k int) (eval.Run, error) {
	qe, err := ix.encodeQueries(enc, queries)
	if err != nil {
		return nil, err
	}
	bonus, err := ix.lexicalBonus(enc, queries)
	if err != nil {
		return nil, err
	}
	return ix.searchEmbeddings(queries, qe, k, bonus), nil
}

// lexicalBonus is, for a residual student, each query's BM25Weight·BM25 score of every document
// BM25 matches, keyed by position in the index; nil for a plain student.
func (ix *Index) lexicalBonus(enc *Encoder, queries []datasets.Query) ([]map[int]float32, error) {
	w := enc.BM25Weight()
	if w <= 0 {
		return nil, nil
	}
	if enc.BM25 == nil {
		_, err := enc.lexical(nil, nil)
		return nil, err
	}
	pos := make(map[string]int, ix.Len())
	for i, id := range ix.DocIDs {
		pos[id] = i
	}
	hits := enc.BM25.SearchBatch(queries, enc.BM25.Len())
	out := make([]map[int]float32, len(queries))
	for i, q := range queries {
		out[i] = make(map[int]float32, len(hits[q.ID]))
		for _, h := range hits[q.ID] {
			if p, ok := pos[h.DocID]; ok {
				out[i][p] = float32(w * h.Score)
			}
		}
	}
	return out, nil
}

// searchEmbeddings keeps each query's top k by MaxSim plus bonus[i] (when bonus is not nil).
func (ix *Index) searchEmbeddings(queries []datasets.Query, qe [][]float32, k int, bonus []map[int]float32) eval.Run {
	if k <= 0 || k > ix.Len() {
		k = ix.Len()
	}
	run := eval.Run{}
	for i, q := range queries {
		scores := ix.ScoreQuery(qe[i])
		if bonus != nil {
			for d, b := range bonus[i] {
				scores[d] += b
			}
		}
		h := make(colbertTopHeap, 0, k+1)
		for d, s := range scores {
			sd := colbertHit{d, s}
			if len(h) < k {
				heap.Push(&h, sd)
			} else if colbertWorse(h[0], sd) {
				h[0] = sd
				heap.Fix(&h, 0)
			}
		}
		docs := make(map[string]float64, len(h))
		for _, sd := range h {
			docs[ix.DocIDs[sd.doc]] = float64(sd.score)
		}
		run[q.ID] = docs
	}
	return run
}

// score.Rerank scores each query's candidates (document ids, e.g. BM25's top k from score.Candidates) against
// the index, in parallel over queries; a residual student adds its weight times BM25. A candidate
// missing from the index is an error naming it.
func (ix *Index) Rerank(enc *Encoder, queries []datasets.Query, candidates map[string][]string) (eval.Run, error) {
	qe, err := ix.encodeQueries(enc, queries)
	if err != nil {
		return nil, err
	}
	bonus, err := ix.lexicalBonus(enc, queries)
	if err != nil {
		return nil, err
	}
	return ix.rerankEmbeddings(queries, qe, candidates, bonus)
}

// RerankEmbeddings is score.Rerank for queries already encoded (qe[i] goes with queries[i]), by MaxSim
// alone.
func (ix *Index) RerankEmbeddings(queries []datasets.Query, qe [][]float32, candidates map[string][]string) (eval.Run, error) {
	return ix.rerankEmbeddings(queries, qe, candidates, nil)
}

// rerankEmbeddings scores the candidates by MaxSim plus bonus[i] (when bonus is not nil).
func (ix *Index) rerankEmbeddings(queries []datasets.Query, qe [][]float32, candidates map[string][]string, bonus []map[int]float32) (eval.Run, error) {
	pos := make(map[string]int, ix.Len())
	for i, id := range ix.DocIDs {
		pos[id] = i
	}
	for _, q := range queries {
		for _, did := range candidates[q.ID] {
			if _, ok := pos[did]; !ok {
				return nil, fmt.Errorf("colbert rerank: query %q: candidate %q is not in the index", q.ID, did)
			}
		}
	}
	results := make([]map[string]float64, len(queries))
	dim := ix.Meta.Dim
	colbertParallel(len(queries), func(i int) {
		best := make([]float32, len(qe[i])/dim)
		docs := map[string]float64{}
		for _, did := range candidates[queries[i].ID] {
			s := maxSimScore(qe[i], ix.Doc(pos[did]), dim, best)
			if bonus != nil {
				s += bonus[i][pos[did]]
			}
			docs[did] = float64(s)
		}
		results[i] = docs
	})
	run := eval.Run{}
	for i, q := range queries {
		if len(results[i]) > 0 {
			run[q.ID] = results[i]
		}
	}
	return run, nil
}

// ErrIndexMismatch is returned (wrapped) when an index was built with other encoding settings than
// the encoder that queries it.
var ErrIndexMismatch = errors.New("index and encoder disagree")

// CheckEncoder verifies that enc encodes as the index was built: same dimension and, when the index
// records them, the same query length and expansion setting.
func (ix *Index) CheckEncoder(enc *Encoder) error {
	var diffs []string
	if enc.Dim() != ix.Meta.Dim {
		diffs = append(diffs, fmt.Sprintf("dim %d vs %d", enc.Dim(), ix.Meta.Dim))
	}
	if ix.Meta.QueryLen > 0 && enc.queryLen() != ix.Meta.QueryLen {
		diffs = append(diffs, fmt.Sprintf("query length %d vs %d", enc.queryLen(), ix.Meta.QueryLen))
	}
	if ix.Meta.DocLen > 0 && enc.docLen() != ix.Meta.DocLen {
		diffs = append(diffs, fmt.Sprintf("document length %d vs %d", enc.docLen(), ix.Meta.DocLen))
	}
	if len(diffs) > 0 {
		return fmt.Errorf("%w: %s", ErrIndexMismatch, strings.Join(diffs, ", "))
	}
	return nil
}
