package eval

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// PairedRandomization is Fisher's paired randomisation test, the significance test of IR
// evaluation (Smucker, Allan & Carterette, "A Comparison of Statistical Significance Tests for
// Information Retrieval Evaluation", CIKM 2007): under the null hypothesis that systems A and B are
// exchangeable, each query's difference a−b is as likely to have either sign. It returns the mean
// difference over the queries of a (b must have every one of them) and the two-sided p-value: the
// fraction of trials random sign flips give a mean difference at least as large in magnitude. The
// trials are drawn from seed, so the p-value is reproducible.
func PairedRandomization(a, b map[string]float64, trials int, seed uint64) (meanDiff, p float64, err error) {
	if len(a) == 0 {
		return 0, 0, fmt.Errorf("paired randomisation: no queries")
	}
	if trials <= 0 {
		return 0, 0, fmt.Errorf("paired randomisation: trials must be positive, got %d", trials)
	}
	ids := make([]string, 0, len(a))
	for q := range a {
		ids = append(ids, q)
	}
	sort.Strings(ids)
	diffs := make([]float64, len(ids))
	for i, q := range ids {
		v, ok := b[q]
		if !ok {
			return 0, 0, fmt.Errorf("paired randomisation: query %s has a value for one system only", q)
		}
		diffs[i] = a[q] - v
		meanDiff += diffs[i]
	}
	meanDiff /= float64(len(diffs))
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	extreme := 0
	for range trials {
		s := 0.0
		for _, d := range diffs {
			if rng.Uint64()&1 == 0 {
				s += d
			} else {
				s -= d
			}
		}
		if math.Abs(s/float64(len(diffs))) >= math.Abs(meanDiff)-1e-12 {
			extreme++
		}
	}
	return meanDiff, float64(extreme) / float64(trials), nil
}
