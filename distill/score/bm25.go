package score

import (
	"fmt"

	"github.com/mimicry-ir/mimicry/datasets/bm25"
)

// BM25 scores pairs with BM25 — a teacher for tests and a baseline. With an Index, a pair's score
// is the index's BM25 score of the passage text for the query, with the index's k1, b, analyzer, idf and
// average length: for a document of the index, given its bm25.Contents, it equals the score a search
// returns, bit for bit. Without one (per-pair BM25), idf is 1 and there is no length normalisation:
// score = Σ_t qtf·tf/(tf + k1) over the query's terms, with bm25.DefaultParams and DefaultAnalyzer.
type BM25 struct {
	// Index supplies the statistics; nil: per-pair BM25.
	Index *bm25.Index
}

// Name implements Scorer: "bm25(k1=…,b=…)", or "bm25(per-pair)" without an index.
func (s *BM25) Name() string {
	if s.Index == nil {
		return "bm25(per-pair)"
	}
	p := s.Index.Params()
	return fmt.Sprintf("bm25(k1=%g,b=%g)", p.K1, p.B)
}

// Score implements Scorer.
func (s *BM25) Score(queries, passages []string) ([]float64, error) {
	if len(queries) != len(passages) {
		return nil, fmt.Errorf("bm25: %d queries but %d passages", len(queries), len(passages))
	}
	an, p := bm25.DefaultAnalyzer(), bm25.DefaultParams()
	if s.Index != nil {
		an, p = s.Index.Analyzer(), s.Index.Params()
	}
	out := make([]float64, len(queries))
	for i := range queries {
		terms := an.Analyze(passages[i])
		tf := make(map[string]int, len(terms))
		for _, t := range terms {
			tf[t]++
		}
		norm := p.K1
		if s.Index != nil {
			norm = 0
			if avg := s.Index.AvgDocLength(); avg > 0 {
				norm = p.K1 * (1 - p.B + p.B*float64(len(terms))/avg)
			}
		}
		// Sum in the order of the query terms' first occurrence, as bm25's search does.
		qterms := an.Analyze(queries[i])
		qtf := make(map[string]int, len(qterms))
		var order []string
		for _, t := range qterms {
			if qtf[t] == 0 {
				order = append(order, t)
			}
			qtf[t]++
		}
		score := 0.0
		for _, t := range order {
			f := float64(tf[t])
			if f == 0 {
				continue
			}
			idf := 1.0
			if s.Index != nil {
				idf = s.Index.IDF(t)
			}
			score += float64(qtf[t]) * idf * f / (f + norm)
		}
		out[i] = score
	}
	return out, nil
}
