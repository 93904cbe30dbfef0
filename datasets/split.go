package datasets

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
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

// TrainDevSplit is the split name of a BEIR spec ("beir:<dir>:train-dev") that evaluates on a dev
// split carved from the training queries (DevSplit) instead of the test queries, which it never
// loads: settings are chosen there, and the test queries are evaluated once per reported setting.
const TrainDevSplit = "train-dev"

// DevSplitFraction and DevSplitSeed are the dev split of "train-dev": a tenth of the training
// queries, by a permutation seeded with 1.
const (
	DevSplitFraction = 0.1
	DevSplitSeed     = 1
)

// DevSplit returns a collection whose evaluation queries are a seeded fraction of c's evaluation
// queries — c being a collection loaded with its training queries as evaluation queries (a BEIR
// "train" split) — and whose training queries are the others, with their judgements. The held-out
// queries are round(fraction × n) of the n queries (at least one, never all), chosen by a
// permutation of the sorted ids seeded with seed, so the split does not depend on file order.
func (c *Collection) DevSplit(fraction float64, seed int64) (*Collection, error) {
	if len(c.TrainQueries) > 0 {
		return nil, fmt.Errorf("datasets: %s already has training queries; a dev split is carved from a collection whose evaluation queries are its training queries", c.Name)
	}
	if len(c.Queries) < 2 || !(fraction > 0 && fraction < 1) {
		return nil, fmt.Errorf("datasets: %s: a dev split needs two queries or more and a fraction in (0, 1), got %d queries and %v", c.Name, len(c.Queries), fraction)
	}
	ids := make([]string, len(c.Queries))
	for i, q := range c.Queries {
		ids[i] = q.ID
	}
	slices.Sort(ids)
	n := min(max(int(math.Round(fraction*float64(len(ids)))), 1), len(ids)-1)
	held := map[string]bool{}
	for _, i := range rand.New(rand.NewPCG(uint64(seed), 0x646576)).Perm(len(ids))[:n] { // "dev"
		held[ids[i]] = true
	}
	out := &Collection{Name: strings.TrimSuffix(c.Name, ":train") + ":" + TrainDevSplit, Docs: c.Docs, Qrels: Qrels{}, TrainQrels: Qrels{}}
	for _, q := range c.Queries {
		if held[q.ID] {
			out.Queries = append(out.Queries, q)
			out.Qrels[q.ID] = c.Qrels[q.ID]
		} else {
			out.TrainQueries = append(out.TrainQueries, q)
			out.TrainQrels[q.ID] = c.Qrels[q.ID]
		}
	}
	return out, nil
}
