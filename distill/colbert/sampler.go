package colbert

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/mimicry-ir/mimicry/datasets"
)

// colbertCandidate is one scored passage of a query in the answer key.
type colbertCandidate struct {
	docID string
	score float64
}

// colbertKeyQuery is one query of the answer key with its candidates, split into judged positives and the
// rest (indices into cands).
type colbertKeyQuery struct {
	qid, text string
	cands     []colbertCandidate
	pos, neg  []int
}

// colbertGroupKey gathers the answer key by query (in order of first appearance), checking that every query
// and passage has a text and that no pair appears twice.
func colbertGroupKey(key []datasets.ScoredPair, positives datasets.Qrels, queries, texts map[string]string) ([]*colbertKeyQuery, error) {
	byID := map[string]*colbertKeyQuery{}
	var out []*colbertKeyQuery
	seen := map[[2]string]int{}
	for i, p := range key {
		k := [2]string{p.QueryID, p.DocID}
		if first, dup := seen[k]; dup {
			return nil, fmt.Errorf("answer key row %d: query %q, passage %q is scored twice (first at row %d)", i+1, p.QueryID, p.DocID, first)
		}
		seen[k] = i + 1
		q := byID[p.QueryID]
		if q == nil {
			text, ok := queries[p.QueryID]
			if !ok {
				return nil, fmt.Errorf("answer key row %d: query %q has no text in the collection", i+1, p.QueryID)
			}
			q = &colbertKeyQuery{qid: p.QueryID, text: text}
			byID[p.QueryID] = q
			out = append(out, q)
		}
		if _, ok := texts[p.DocID]; !ok {
			return nil, fmt.Errorf("answer key row %d: query %q: passage %q has no text in the collection", i+1, p.QueryID, p.DocID)
		}
		if math.IsNaN(p.Score) || math.IsInf(p.Score, 0) {
			return nil, fmt.Errorf("answer key row %d: query %q, passage %q: score %v is not finite", i+1, p.QueryID, p.DocID, p.Score)
		}
		if positives[p.QueryID][p.DocID] > 0 {
			q.pos = append(q.pos, len(q.cands))
		} else {
			q.neg = append(q.neg, len(q.cands))
		}
		q.cands = append(q.cands, colbertCandidate{p.DocID, p.Score})
	}
	return out, nil
}

// colbertTuple is one training example: a query and m passages with their teacher scores, the
// judged positive first for the pairings that have one.
type colbertTuple struct {
	qid, query string
	docs       []string
	scores     []float64
}

// colbertSampler draws the training examples of a step from the answer key as a pure function of the
// seed and the step.
type colbertSampler struct {
	queries []*colbertKeyQuery // the queries eligible for the pairing
	pairing string
	n, b    int
	seed    int64
}

// newColbertSampler prepares the sampling of b examples a step, each with 1 + n passages.
func newColbertSampler(key []datasets.ScoredPair, positives datasets.Qrels, queries, texts map[string]string, pairing string, n, b int, seed int64) (*colbertSampler, error) {
	all, err := colbertGroupKey(key, positives, queries, texts)
	if err != nil {
		return nil, err
	}
	s := &colbertSampler{pairing: pairing, n: n, b: b, seed: seed}
	for _, q := range all {
		if pairing == PairingRandomPairs && len(q.cands) >= 2 || pairing != PairingRandomPairs && len(q.pos) > 0 && len(q.neg) > 0 {
			s.queries = append(s.queries, q)
		}
	}
	if len(s.queries) == 0 {
		if pairing == PairingRandomPairs {
			return nil, fmt.Errorf("colbert: no training query of the answer key (%d pairs, %d queries) has two candidates", len(key), len(all))
		}
		withPos := 0
		for _, q := range all {
			if len(q.pos) > 0 {
				withPos++
			}
		}
		return nil, fmt.Errorf("colbert: pairing %q: no training query of the answer key (%d pairs, %d queries, %d with a judged positive among its candidates) "+
			"has both a judged positive and another candidate; check the positives (training qrels) or use pairing %q",
			pairing, len(key), len(all), withPos, PairingRandomPairs)
	}
	return s, nil
}

// query returns the query at position pos of the stream: the eligible queries in a seeded random
// order, a new order each epoch.
func (s *colbertSampler) query(pos int) *colbertKeyQuery {
	total := len(s.queries)
	epoch := pos / total
	perm := rand.New(rand.NewPCG(uint64(s.seed), uint64(epoch)+1)).Perm(total)
	return s.queries[perm[pos%total]]
}

// examples returns the b examples of a step.
func (s *colbertSampler) examples(step int) []colbertTuple {
	out := make([]colbertTuple, s.b)
	for j := range s.b {
		pos := step*s.b + j
		q := s.query(pos)
		rng := rand.New(rand.NewPCG(uint64(s.seed)^0x436f6c4245525421, uint64(pos))) // "ColBERT!"
		var idx []int
		switch s.pairing {
		case PairingRandomPairs:
			a := rng.IntN(len(q.cands))
			c := rng.IntN(len(q.cands) - 1)
			if c >= a {
				c++
			}
			idx = []int{a, c}
		default:
			idx = append(idx, q.pos[rng.IntN(len(q.pos))])
			if len(q.neg) >= s.n {
				for _, i := range rng.Perm(len(q.neg))[:s.n] {
					idx = append(idx, q.neg[i])
				}
			} else {
				for range s.n {
					idx = append(idx, q.neg[rng.IntN(len(q.neg))])
				}
			}
		}
		ex := colbertTuple{qid: q.qid, query: q.text}
		for _, i := range idx {
			ex.docs = append(ex.docs, q.cands[i].docID)
			ex.scores = append(ex.scores, q.cands[i].score)
		}
		out[j] = ex
	}
	return out
}
