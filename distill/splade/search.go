package splade

import (
	"maps"
	"math"
	"slices"
	"time"

	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/datasets/bm25"
	"github.com/mimicry-ir/mimicry/distill/eval"
	"github.com/mimicry-ir/mimicry/distill/score"
	"github.com/mimicry-ir/mimicry/distill/train"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

// SearchOptions configure Search.
type SearchOptions struct {
	// MaxQueryTerms keeps only each query's MaxQueryTerms heaviest terms (0: all).
	MaxQueryTerms int
	// QueryMaxLen is the query length limit in tokens [tokenizer.QueryMaxLen].
	QueryMaxLen int
}

// SearchStats describe a batch of searches.
type SearchStats struct {
	// Queries is the number of queries searched.
	Queries int `json:"queries"`
	// MedianMs, MeanMs and P95Ms are the index search latencies per query (encoding excluded), in ms.
	MedianMs float64 `json:"median_ms"`
	MeanMs   float64 `json:"mean_ms"`
	P95Ms    float64 `json:"p95_ms"`
	// EncodeMs is the mean time to encode a query with the model (batched), in ms.
	EncodeMs float64 `json:"encode_ms"`
	// AvgQueryTerms is the average number of query terms searched (after pruning).
	AvgQueryTerms float64 `json:"avg_query_terms"`
	// FLOPS is the expected number of multiplications per (query, document) pair:
	// Σ_j p_q(j)·p_d(j), with p_q(j) the fraction of the queries and p_d(j) the fraction of the
	// indexed documents where term j is active.
	FLOPS float64 `json:"flops"`
}

// Search encodes the queries with enc, retrieves each one's top k from ix, one query at a time,
// and returns the run and the latency and sparsity statistics.
func Search(enc *Encoder, ix *Index, queries []datasets.Query, k int, opts SearchOptions) (eval.Run, *SearchStats, error) {
	texts := make([]string, len(queries))
	for i, q := range queries {
		texts[i] = q.Text
	}
	start := time.Now()
	vecs, err := enc.Encode(texts, train.OrDefault(opts.QueryMaxLen, tokenizer.QueryMaxLen), "queries")
	if err != nil {
		return nil, nil, err
	}
	st := &SearchStats{Queries: len(queries)}
	if len(queries) > 0 {
		st.EncodeMs = float64(time.Since(start).Microseconds()) / 1000 / float64(len(queries))
	}
	for i := range vecs {
		vecs[i] = vecs[i].Top(opts.MaxQueryTerms)
	}
	run, lat := SearchVectors(ix, queries, vecs, k)
	st.MedianMs, st.MeanMs, st.P95Ms = sparseLatencyStats(lat)
	st.AvgQueryTerms, st.FLOPS = sparseQueryStats(ix, vecs)
	return run, st, nil
}

// SearchVectors searches ix for each query's vector (vecs[i] for queries[i]) and returns the run and
// each search's latency.
func SearchVectors(ix *Index, queries []datasets.Query, vecs []SparseVector, k int) (eval.Run, []time.Duration) {
	hits := make(map[string][]bm25.Hit, len(queries))
	lat := make([]time.Duration, len(queries))
	for i, q := range queries {
		t0 := time.Now()
		hits[q.ID] = ix.Search(vecs[i], k)
		lat[i] = time.Since(t0)
	}
	return score.RunFromHits(hits), lat
}

// sparseLatencyStats returns the median, mean and 95th percentile of lat, in ms.
func sparseLatencyStats(lat []time.Duration) (median, mean, p95 float64) {
	if len(lat) == 0 {
		return 0, 0, 0
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	ms := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	n := len(s)
	median = ms(s[n/2])
	if n%2 == 0 {
		median = (ms(s[n/2-1]) + ms(s[n/2])) / 2
	}
	return median, ms(sum) / float64(n), ms(s[min(n-1, int(math.Ceil(0.95*float64(n)))-1)])
}

// sparseQueryStats returns the average number of terms of the query vectors and the FLOPS estimate
// Σ_j p_q(j)·p_d(j) against the index.
func sparseQueryStats(ix *Index, vecs []SparseVector) (avgTerms, flops float64) {
	if len(vecs) == 0 || ix.Len() == 0 {
		return 0, 0
	}
	qf := map[int32]int{}
	total := 0
	for _, v := range vecs {
		total += v.Len()
		for _, t := range v.Terms {
			qf[t]++
		}
	}
	terms := slices.Collect(maps.Keys(qf))
	slices.Sort(terms) // a fixed summation order: the same vectors give the same bits
	for _, t := range terms {
		flops += float64(qf[t]) / float64(len(vecs)) * float64(ix.DocFreq(int(t))) / float64(ix.Len())
	}
	return float64(total) / float64(len(vecs)), flops
}
