package eval

import (
	"github.com/mimicry-ir/mimicry/datasets"
)

// PairedGain compares two runs' nDCG@10 query by query: the mean difference a − b and its p-value
// by the paired randomisation test.
func PairedGain(qrels datasets.Qrels, a, b Run, seed int64) (float64, float64, error) {
	ndcg := []Measure{{Kind: NDCG, Cutoff: 10}}
	ra, err := Evaluate(qrels, a, ndcg, Options{})
	if err != nil {
		return 0, 0, err
	}
	rb, err := Evaluate(qrels, b, ndcg, Options{})
	if err != nil {
		return 0, 0, err
	}
	name := ndcg[0].String()
	pa, pb := map[string]float64{}, map[string]float64{}
	for q, m := range ra.PerQuery {
		pa[q] = m[name]
	}
	for q, m := range rb.PerQuery {
		pb[q] = m[name]
	}
	return PairedRandomization(pa, pb, 10000, uint64(seed))
}
