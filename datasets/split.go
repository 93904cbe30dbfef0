package datasets

import (
	"math"
	"math/rand/v2"
	"slices"
)

// SplitAnswerKey splits an answer key by query into the pairs to train on and the pairs of
// held-out queries: round(fraction × #queries) queries (at least 1 when fraction > 0 and there are
// two queries or more, never all of them), chosen by a permutation of the sorted query ids seeded
// with seed — so the split depends on the set of queries, not on the order of the key. Rows keep
// the key's order. fraction ≤ 0 holds nothing out.
func SplitAnswerKey(key []ScoredPair, fraction float64, seed int64) (trainPairs, heldOut []ScoredPair) {
	if fraction <= 0 {
		return key, nil
	}
	seen := map[string]bool{}
	var qids []string
	for _, p := range key {
		if !seen[p.QueryID] {
			seen[p.QueryID] = true
			qids = append(qids, p.QueryID)
		}
	}
	if len(qids) < 2 {
		return key, nil
	}
	slices.Sort(qids)
	n := int(math.Round(fraction * float64(len(qids))))
	n = min(max(n, 1), len(qids)-1)
	perm := rand.New(rand.NewPCG(uint64(seed), 0x686f6c646f7574)).Perm(len(qids)) // "holdout"
	held := make(map[string]bool, n)
	for _, i := range perm[:n] {
		held[qids[i]] = true
	}
	for _, p := range key {
		if held[p.QueryID] {
			heldOut = append(heldOut, p)
		} else {
			trainPairs = append(trainPairs, p)
		}
	}
	return trainPairs, heldOut
}
