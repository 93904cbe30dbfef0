// Package eval computes retrieval measures exactly as trec_eval (9.x) computes them, under the names
// ir_measures uses: nDCG@k, RR@k, R@k, AP and P@k.
//
// Ranking. For each query the run's documents are sorted by score descending, ties broken by document
// id descending (byte-wise string comparison) — trec_eval's order, which ignores the run's rank column.
// A run listing the same document twice for a query is an error, as in trec_eval.
//
// Relevance. A judged document is relevant when its grade is ≥ 1 (trec_eval's default -l 1) for the
// binary measures (RR, R, AP, P); unjudged documents count as non-relevant. nDCG uses the grades as
// gains (documents with grade ≤ 0 gain nothing), the discount log2(rank + 1), and the ideal ranking of
// all the query's judged grades ≥ 1 (trec_eval's ndcg_cut). AP divides by the number of relevant
// documents in the qrels, retrieved or not; R@k as well.
//
// Which queries count. trec_eval's default: a query is evaluated when it is in the run and has at
// least one judgement in the qrels (any grade, 0 included); queries of the run without judgements are
// ignored, and qrels queries missing from the run are ignored too. Means are over the evaluated
// queries. A judged query whose judgements are all non-relevant is evaluated and scores 0 on every
// measure (as in trec_eval and ir_measures' pytrec_eval backend). With Options.Complete (trec_eval
// -c), every query of the qrels counts: those missing from the run score 0 and the means divide by the
// number of qrels queries.
package eval

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/mimicry-ir/mimicry/datasets"
)

// Kind is a family of measures.
type Kind int

const (
	// NDCG is normalized discounted cumulative gain (trec_eval ndcg_cut.k, or ndcg without cutoff).
	NDCG Kind = iota + 1
	// RR is the reciprocal rank of the first relevant document (trec_eval recip_rank on the run cut
	// at k).
	RR
	// Recall is the fraction of the relevant documents retrieved in the top k (trec_eval recall.k).
	Recall
	// AP is average precision (trec_eval map; with a cutoff, map_cut.k).
	AP
	// Precision is the fraction of the top k that is relevant (trec_eval P.k).
	Precision
)

// Measure is one measure with its cutoff.
type Measure struct {
	// Kind is the family.
	Kind Kind
	// Cutoff is the rank depth k; 0 means the whole ranking (not allowed for Precision).
	Cutoff int
}

var kindNames = map[Kind]string{NDCG: "nDCG", RR: "RR", Recall: "R", AP: "AP", Precision: "P"}

// String returns the ir_measures name, e.g. "nDCG@10", "AP".
func (m Measure) String() string {
	name := kindNames[m.Kind]
	if m.Cutoff > 0 {
		return name + "@" + strconv.Itoa(m.Cutoff)
	}
	return name
}

// ParseMeasure parses an ir_measures name: nDCG, nDCG@k, RR, RR@k, R@k, R, AP, AP@k, P@k (names are
// case-insensitive; "MRR@k", "Recall@k" and "MAP" are accepted as aliases).
func ParseMeasure(s string) (Measure, error) {
	name, cut, hasCut := strings.Cut(strings.TrimSpace(s), "@")
	var m Measure
	switch strings.ToLower(name) {
	case "ndcg":
		m.Kind = NDCG
	case "rr", "mrr":
		m.Kind = RR
	case "r", "recall":
		m.Kind = Recall
	case "ap", "map":
		m.Kind = AP
	case "p", "precision":
		m.Kind = Precision
	default:
		return Measure{}, fmt.Errorf("eval: unknown measure %q (want nDCG@k, RR@k, R@k, AP or P@k)", s)
	}
	if hasCut {
		k, err := strconv.Atoi(cut)
		if err != nil || k <= 0 {
			return Measure{}, fmt.Errorf("eval: measure %q: cutoff must be a positive integer", s)
		}
		m.Cutoff = k
	} else if m.Kind == Precision {
		return Measure{}, fmt.Errorf("eval: measure %q needs a cutoff, e.g. P@10", s)
	}
	return m, nil
}

// ParseMeasures parses a comma-separated list of measure names.
func ParseMeasures(list string) ([]Measure, error) {
	var out []Measure
	for _, s := range strings.Split(list, ",") {
		if strings.TrimSpace(s) == "" {
			continue
		}
		m, err := ParseMeasure(s)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	if len(out) == 0 {
		return nil, errors.New("eval: no measure given")
	}
	return out, nil
}

// DefaultMeasures are the measures Mimicry reports: nDCG@10, RR@10, R@100 and AP.
func DefaultMeasures() []Measure {
	return []Measure{{NDCG, 10}, {RR, 10}, {Recall, 100}, {AP, 0}}
}

// Run maps query id → document id → score (higher is better).
type Run map[string]map[string]float64

// RunFromEntries converts the lines of a TREC run into a Run; a document listed twice for the same
// query is an error (trec_eval refuses such runs).
func RunFromEntries(entries []datasets.RunEntry) (Run, error) {
	run := Run{}
	for _, e := range entries {
		docs := run[e.QueryID]
		if docs == nil {
			docs = map[string]float64{}
			run[e.QueryID] = docs
		}
		if _, dup := docs[e.DocID]; dup {
			return nil, fmt.Errorf("eval: run lists document %q twice for query %q", e.DocID, e.QueryID)
		}
		docs[e.DocID] = e.Score
	}
	return run, nil
}

// Options change which queries are averaged.
type Options struct {
	// Complete averages over every query of the qrels (trec_eval -c): queries absent from the run score
	// 0 on every measure.
	Complete bool
}

// Result holds the per-query values and means of an evaluation.
type Result struct {
	// Measures are the measures computed, in the order asked.
	Measures []Measure
	// Queries are the ids of the queries averaged, sorted.
	Queries []string
	// PerQuery maps query id → measure name → value.
	PerQuery map[string]map[string]float64
	// Mean maps measure name → mean over Queries.
	Mean map[string]float64
}

// Evaluate computes measures of run against qrels (see the package documentation). It fails when no
// query is both in the run and judged, or a measure is invalid.
func Evaluate(qrels datasets.Qrels, run Run, measures []Measure, opt Options) (*Result, error) {
	if len(measures) == 0 {
		return nil, errors.New("eval: no measure given")
	}
	for _, m := range measures {
		if _, ok := kindNames[m.Kind]; !ok || m.Cutoff < 0 || (m.Kind == Precision && m.Cutoff == 0) {
			return nil, fmt.Errorf("eval: invalid measure %+v", m)
		}
	}
	res := &Result{Measures: measures, PerQuery: map[string]map[string]float64{}, Mean: map[string]float64{}}
	for qid, judged := range qrels {
		if len(judged) == 0 {
			continue // no judgement line: not in trec_eval's qrels
		}
		docs, inRun := run[qid]
		if !inRun || len(docs) == 0 {
			if !opt.Complete {
				continue
			}
			docs = nil
		}
		rels := rankedRelevance(docs, judged)
		vals := make(map[string]float64, len(measures))
		for _, m := range measures {
			vals[m.String()] = Compute(m, rels, judged)
		}
		res.PerQuery[qid] = vals
		res.Queries = append(res.Queries, qid)
	}
	if len(res.Queries) == 0 {
		return nil, errors.New("eval: no query has both results and relevance judgements")
	}
	slices.Sort(res.Queries)
	for _, m := range measures {
		name := m.String()
		sum := 0.0
		for _, q := range res.Queries {
			sum += res.PerQuery[q][name]
		}
		res.Mean[name] = sum / float64(len(res.Queries))
	}
	return res, nil
}

// Ranked returns a query's documents in trec_eval's order: score descending, then document id
// descending.
func Ranked(docs map[string]float64) []string {
	ids := make([]string, 0, len(docs))
	for id := range docs {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int {
		sa, sb := docs[a], docs[b]
		switch {
		case sa > sb:
			return -1
		case sa < sb:
			return 1
		}
		return strings.Compare(b, a)
	})
	return ids
}

// rankedRelevance returns the grade of each retrieved document in rank order (unjudged: 0).
func rankedRelevance(docs map[string]float64, judged map[string]int) []int {
	ids := Ranked(docs)
	rels := make([]int, len(ids))
	for i, id := range ids {
		rels[i] = judged[id]
	}
	return rels
}

// Compute returns the value of m for one query, given the grades of the retrieved documents in rank
// order (unjudged documents as 0) and all of the query's judgements.
func Compute(m Measure, rels []int, judged map[string]int) float64 {
	numRel := 0
	for _, g := range judged {
		if g >= 1 {
			numRel++
		}
	}
	depth := len(rels)
	if m.Cutoff > 0 && m.Cutoff < depth {
		depth = m.Cutoff
	}
	switch m.Kind {
	case RR:
		for i := 0; i < depth; i++ {
			if rels[i] >= 1 {
				return 1 / float64(i+1)
			}
		}
		return 0
	case Precision:
		hits := 0
		for i := 0; i < depth; i++ {
			if rels[i] >= 1 {
				hits++
			}
		}
		return float64(hits) / float64(m.Cutoff)
	case Recall:
		if numRel == 0 {
			return 0
		}
		hits := 0
		for i := 0; i < depth; i++ {
			if rels[i] >= 1 {
				hits++
			}
		}
		return float64(hits) / float64(numRel)
	case AP:
		if numRel == 0 {
			return 0
		}
		hits, sum := 0, 0.0
		for i := 0; i < depth; i++ {
			if rels[i] >= 1 {
				hits++
				sum += float64(hits) / float64(i+1)
			}
		}
		return sum / float64(numRel)
	case NDCG:
		dcg := 0.0
		for i := 0; i < depth; i++ {
			if rels[i] > 0 {
				dcg += float64(rels[i]) / math.Log2(float64(i+2))
			}
		}
		grades := make([]int, 0, numRel)
		for _, g := range judged {
			if g >= 1 {
				grades = append(grades, g)
			}
		}
		slices.Sort(grades)
		slices.Reverse(grades)
		if m.Cutoff > 0 && len(grades) > m.Cutoff {
			grades = grades[:m.Cutoff]
		}
		idcg := 0.0
		for i, g := range grades {
			idcg += float64(g) / math.Log2(float64(i+2))
		}
		if idcg == 0 {
			return 0
		}
		return dcg / idcg
	}
	return 0
}
