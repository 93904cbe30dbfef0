package colbert

import (
	"cmp"
	"maps"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/distill/eval"
)

// colbertProbe holds the held-out pairs whose student and teacher margins are compared, and the
// held-out queries with positives whose candidates are reranked.
type colbertProbe struct {
	queries []*colbertKeyQuery
	docs    []string       // unique passage texts to encode
	docIdx  map[string]int // passage id → index in docs
	pairs   []colbertProbePair
	qrels   datasets.Qrels // judgements of the probe's queries that have positives
	teacher map[string]float64
	lexical [][]float64 // BM25 scores of the queries' candidates, for a residual student
}

type colbertProbePair struct {
	q, d1, d2     int // query index; candidate indices
	teacherMargin float64
}

// newColbertProbe chooses up to maxQueries held-out queries (seeded) and up to maxPairs of their
// candidate pairs: for each query in turn, up to 8 distinct random pairs whose teacher scores differ.
func newColbertProbe(held []datasets.ScoredPair, positives datasets.Qrels, queries, texts map[string]string, maxQueries, maxPairs int, seed int64) (*colbertProbe, error) {
	all, err := colbertGroupKey(held, positives, queries, texts)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x70726f6265)) // "probe"
	var qs []*colbertKeyQuery
	for _, i := range rng.Perm(len(all)) {
		if len(all[i].cands) >= 2 {
			qs = append(qs, all[i])
		}
	}
	qs = qs[:min(len(qs), maxQueries)]
	slices.SortFunc(qs, func(a, b *colbertKeyQuery) int { return cmp.Compare(a.qid, b.qid) })
	p := &colbertProbe{docIdx: map[string]int{}, qrels: datasets.Qrels{}, teacher: map[string]float64{}}
	perQuery := max(1, min(8, maxPairs/max(len(qs), 1)))
	for qi, q := range qs {
		p.queries = append(p.queries, q)
		for _, c := range q.cands {
			if _, ok := p.docIdx[c.docID]; !ok {
				p.docIdx[c.docID] = len(p.docs)
				p.docs = append(p.docs, texts[c.docID])
			}
		}
		if len(q.pos) > 0 {
			for _, c := range q.cands {
				p.qrels.Add(q.qid, c.docID, positives[q.qid][c.docID])
			}
		}
		nc := len(q.cands)
		tried := map[[2]int]bool{}
		for got, attempts := 0, 0; got < perQuery && attempts < 4*perQuery && len(p.pairs) < maxPairs; attempts++ {
			a, c := rng.IntN(nc), rng.IntN(nc-1)
			if c >= a {
				c++
			}
			if a > c {
				a, c = c, a
			}
			if tried[[2]int{a, c}] {
				continue
			}
			tried[[2]int{a, c}] = true
			tm := q.cands[a].score - q.cands[c].score
			if tm == 0 {
				continue
			}
			p.pairs = append(p.pairs, colbertProbePair{q: qi, d1: a, d2: c, teacherMargin: tm})
			got++
		}
	}
	if len(p.pairs) < 2 && len(p.qrels) == 0 {
		return nil, nil
	}
	if len(p.qrels) > 0 {
		run := p.run(func(q *colbertKeyQuery, i int) float64 { return q.cands[i].score })
		if res, err := eval.Evaluate(p.qrels, run, []eval.Measure{{Kind: eval.NDCG, Cutoff: 10}}, eval.Options{}); err == nil {
			p.teacher[MetricHeldOutTeacherNDCG] = res.Mean["nDCG@10"]
		}
	}
	return p, nil
}

// run is the reranking of the probe's judged queries' candidates by score.
func (p *colbertProbe) run(score func(q *colbertKeyQuery, i int) float64) eval.Run {
	run := eval.Run{}
	for _, q := range p.queries {
		if _, ok := p.qrels[q.qid]; !ok {
			continue
		}
		docs := map[string]float64{}
		for i, c := range q.cands {
			docs[c.docID] = score(q, i)
		}
		run[q.qid] = docs
	}
	return run
}

// lexicalScores is the BM25 score of each probe query's candidates, for a residual student.
func (p *colbertProbe) lexicalScores(enc *Encoder) ([][]float64, error) {
	var qs, ps []string
	for _, q := range p.queries {
		for _, c := range q.cands {
			qs = append(qs, q.text)
			ps = append(ps, p.docs[p.docIdx[c.docID]])
		}
	}
	flat, err := enc.lexical(qs, ps)
	if err != nil {
		return nil, err
	}
	out := make([][]float64, len(p.queries))
	for i, q := range p.queries {
		out[i], flat = flat[:len(q.cands)], flat[len(q.cands):]
	}
	return out, nil
}

// measure encodes the probe with the student and compares its margins with the teacher's.
func (p *colbertProbe) measure(enc *Encoder) (map[string]float64, error) {
	texts := make([]string, len(p.queries))
	for i, q := range p.queries {
		texts[i] = q.text
	}
	qe, err := enc.EncodeQueries(texts)
	if err != nil {
		return nil, err
	}
	de, err := enc.EncodeDocs(p.docs)
	if err != nil {
		return nil, err
	}
	dim := enc.Model.ColBERTDim
	w := enc.Model.Config.BM25Weight
	if w > 0 && p.lexical == nil {
		if p.lexical, err = p.lexicalScores(enc); err != nil {
			return nil, err
		}
	}
	scores := make([][]float64, len(p.queries))
	colbertParallel(len(p.queries), func(qi int) {
		q := p.queries[qi]
		best := make([]float32, len(qe[qi])/dim)
		scores[qi] = make([]float64, len(q.cands))
		for i, c := range q.cands {
			scores[qi][i] = float64(maxSimScore(qe[qi], de[p.docIdx[c.docID]], dim, best))
			if w > 0 {
				scores[qi][i] += w * p.lexical[qi][i]
			}
		}
	})
	out := map[string]float64{}
	if len(p.pairs) >= 2 {
		sm, tm := make([]float64, len(p.pairs)), make([]float64, len(p.pairs))
		mse, agree := 0.0, 0
		for i, pr := range p.pairs {
			sm[i] = scores[pr.q][pr.d1] - scores[pr.q][pr.d2]
			tm[i] = pr.teacherMargin
			mse += (sm[i] - tm[i]) * (sm[i] - tm[i])
			if sm[i]*tm[i] > 0 {
				agree++
			}
		}
		out[MetricMarginMSE] = mse / float64(len(p.pairs))
		out[MetricPairAccuracy] = float64(agree) / float64(len(p.pairs))
		// Undefined correlations (a constant student) are left out: metrics.jsonl cannot hold NaN.
		if r := eval.Pearson(sm, tm); !math.IsNaN(r) {
			out[MetricMarginPearson] = r
		}
		if tau := eval.KendallTau(sm, tm); !math.IsNaN(tau) {
			out[MetricMarginKendall] = tau
		}
	}
	if len(p.qrels) > 0 {
		idx := map[*colbertKeyQuery]int{}
		for i, q := range p.queries {
			idx[q] = i
		}
		run := p.run(func(q *colbertKeyQuery, i int) float64 { return scores[idx[q]][i] })
		res, err := eval.Evaluate(p.qrels, run, []eval.Measure{{Kind: eval.NDCG, Cutoff: 10}}, eval.Options{})
		if err == nil {
			out[MetricHeldOutNDCG] = res.Mean["nDCG@10"]
		}
		maps.Copy(out, p.teacher)
	}
	return out, nil
}
