package splade

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

// Benchmarks of the SPLADE inverted index on synthetic sparse vectors with SPLADE-like statistics:
// a 30,522-term vocabulary (BERT's), terms drawn from a Zipf distribution (s = 1.1: a few terms are in
// most documents, most in very few), 100–200 active terms per document and about 20 per query,
// weights 0.05 + Exp(1)·0.6 (log(1+ReLU) values of a trained SPLADE lie in (0, ~3]).
//
//	go test -run '^$' -bench Index -benchtime 2000x ./distill/

const (
	benchVocab   = 30522
	benchDocs    = 10000
	benchQueries = 200
)

var (
	benchOnce    sync.Once
	benchDocVecs []SparseVector
	benchQVecs   []SparseVector
	benchIDs     []string
)

// zipfVectors draws n vectors of lo..hi distinct Zipf-distributed terms.
func zipfVectors(rng *rand.Rand, n, lo, hi int) []SparseVector {
	z := rand.NewZipf(rng, 1.1, 1, benchVocab-1)
	out := make([]SparseVector, n)
	for i := range out {
		k := lo + rng.IntN(hi-lo+1)
		terms := make(map[int32]bool, k)
		for len(terms) < k {
			terms[int32(z.Uint64())] = true
		}
		var v SparseVector
		for t := range terms {
			v.Terms = append(v.Terms, t)
		}
		slices.Sort(v.Terms)
		for range v.Terms {
			v.Weights = append(v.Weights, float32(0.05+0.6*rng.ExpFloat64()))
		}
		out[i] = v
	}
	return out
}

func benchData() ([]string, []SparseVector, []SparseVector) {
	benchOnce.Do(func() {
		rng := rand.New(rand.NewPCG(42, 7))
		benchDocVecs = zipfVectors(rng, benchDocs, 100, 200)
		benchQVecs = zipfVectors(rng, benchQueries, 15, 25)
		benchIDs = make([]string, benchDocs)
		for i := range benchIDs {
			benchIDs[i] = fmt.Sprintf("D%05d", i)
		}
	})
	return benchIDs, benchDocVecs, benchQVecs
}

// BenchmarkSparseIndexSearch measures exact top-10 and top-1000 search latency per query on 10,000
// documents; it reports the median and 95th percentile and the corpus's FLOPS (expected
// multiplications per query–document pair).
func BenchmarkSparseIndexSearch(b *testing.B) {
	ids, docs, queries := benchData()
	ix, err := BuildIndex(ids, docs, benchVocab, IndexOptions{})
	if err != nil {
		b.Fatal(err)
	}
	for _, k := range []int{10, 1000} {
		b.Run(fmt.Sprintf("top%d", k), func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				hits := ix.Search(queries[i%len(queries)], k)
				lat = append(lat, time.Since(t0))
				if len(hits) == 0 {
					b.Fatal("no hits")
				}
			}
			b.StopTimer()
			med, _, p95 := sparseLatencyStats(lat)
			_, flops := sparseQueryStats(ix, queries)
			b.ReportMetric(med, "median-ms")
			b.ReportMetric(p95, "p95-ms")
			b.ReportMetric(flops, "flops/pair")
			b.ReportMetric(ix.AvgDocTerms(), "terms/doc")
		})
	}
}

// BenchmarkSparseIndexBuild measures building the index of 10,000 documents (quantisation included).
func BenchmarkSparseIndexBuild(b *testing.B) {
	ids, docs, _ := benchData()
	b.ResetTimer()
	var postings int64
	for i := 0; i < b.N; i++ {
		ix, err := BuildIndex(ids, docs, benchVocab, IndexOptions{})
		if err != nil {
			b.Fatal(err)
		}
		postings = ix.Postings()
	}
	b.ReportMetric(float64(postings), "postings")
}
