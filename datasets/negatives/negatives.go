// Package negatives builds training sets for the students: groups of (query, positive passages, hard
// negative passages), the negatives mined with BM25.
//
// # Hard negatives
//
// [Mine] retrieves the top Depth BM25 results of a query, removes the query's judged positives
// (documents with relevance > 0; documents judged non-relevant stay eligible) and keeps Count of the
// rest: the highest-ranked first ([TopFirst]), or a uniform sample without replacement drawn from a
// generator seeded with Seed and the query id ([Sample]), so the draw of one query does not depend on
// which other queries are mined. A query whose pool holds fewer than Count candidates gets them all.
//
// # Training sets
//
// [Build] turns a collection into a [TrainingSet]:
//
//   - With supervision: when the collection has training queries (Collection.TrainQueries and
//     TrainQrels, never the evaluation queries), each training query with at least one relevant
//     document becomes a group; positives are its documents with relevance > 0, best grade first then
//     by id. Passage texts are the indexed contents of the documents ([bm25.Contents]). A seeded
//     fraction DevFraction of the training queries is held out as the dev split.
//
//   - Weak supervision (collections without training queries, such as Cranfield and CACM): every
//     document that has both a title and a body becomes a pseudo-query: its title is the query and its
//     body the positive. Bodies that begin with a copy of the title (most Cranfield abstracts) have
//     that copy removed ([bm25.StripTitle]), and documents with no title or an empty body are skipped.
//     Passage texts are bodies without titles for every document — positives and negatives alike, so
//     a model cannot tell them apart by the presence of a title — and negatives are mined over an index
//     of those bodies. The evaluation queries and their judgements are never read, so nothing of the
//     evaluation leaks into training (the corpus itself is shared, as in any unsupervised setup). The
//     pseudo-queries are split into train and dev by a permutation seeded with Seed: DevFraction of
//     them (rounded down) form the dev split, the rest the train split. Query ids are "title:" + the
//     document id.
//
// Everything is deterministic given the collection and [Options].
package negatives

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"

	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/datasets/bm25"
)

// Strategy says how negatives are picked from the BM25 pool.
type Strategy int

const (
	// TopFirst keeps the highest-ranked non-positive documents.
	TopFirst Strategy = iota
	// Sample draws uniformly without replacement from the pool, seeded per query.
	Sample
)

// String returns "top" or "sample".
func (s Strategy) String() string {
	if s == Sample {
		return "sample"
	}
	return "top"
}

// ParseStrategy parses "top" or "sample".
func ParseStrategy(s string) (Strategy, error) {
	switch strings.ToLower(s) {
	case "top", "top-first", "topfirst":
		return TopFirst, nil
	case "sample", "random":
		return Sample, nil
	}
	return 0, fmt.Errorf("negatives: unknown strategy %q (want top or sample)", s)
}

// MineConfig configures [Mine].
type MineConfig struct {
	// Depth is how many BM25 results form the pool (e.g. 100).
	Depth int
	// Count is how many negatives to keep per query (e.g. 32).
	Count int
	// Strategy picks negatives from the pool.
	Strategy Strategy
	// Seed drives Sample.
	Seed int64
}

func (c MineConfig) validate() error {
	if c.Depth <= 0 {
		return fmt.Errorf("negatives: depth must be positive, got %d", c.Depth)
	}
	if c.Count <= 0 {
		return fmt.Errorf("negatives: count must be positive, got %d", c.Count)
	}
	if c.Strategy != TopFirst && c.Strategy != Sample {
		return fmt.Errorf("negatives: unknown strategy %d", c.Strategy)
	}
	return nil
}

// Mine returns hard negatives (document ids) for each query, by query id; see the package
// documentation. positives holds the judgements of the queries (documents with relevance > 0 are
// excluded); queries absent from it simply have nothing excluded. Searches run in parallel.
func Mine(ix *bm25.Index, queries []datasets.Query, positives datasets.Qrels, cfg MineConfig) (map[string][]string, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if ix == nil {
		return nil, errors.New("negatives: nil index")
	}
	runs := ix.SearchBatch(queries, cfg.Depth)
	out := make(map[string][]string, len(queries))
	for _, q := range queries {
		pool := make([]string, 0, cfg.Depth)
		for _, h := range runs[q.ID] {
			if positives[q.ID][h.DocID] > 0 {
				continue
			}
			pool = append(pool, h.DocID)
		}
		out[q.ID] = pick(pool, q.ID, cfg)
	}
	return out, nil
}

// pick selects cfg.Count documents of pool (already in rank order).
func pick(pool []string, qid string, cfg MineConfig) []string {
	if len(pool) <= cfg.Count {
		return pool
	}
	if cfg.Strategy == TopFirst {
		return pool[:cfg.Count]
	}
	r := queryRand(cfg.Seed, qid)
	idx := r.Perm(len(pool))[:cfg.Count]
	sort.Ints(idx) // keep BM25 rank order among the sampled
	out := make([]string, cfg.Count)
	for i, j := range idx {
		out[i] = pool[j]
	}
	return out
}

// queryRand returns a generator that depends only on the seed and the query id.
func queryRand(seed int64, qid string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(qid))
	return rand.New(rand.NewPCG(uint64(seed), h.Sum64()))
}

// TrainGroup is one training example: a query with its positive and hard-negative passages, named by
// id; the texts are in [TrainingSet.Texts].
type TrainGroup struct {
	// QID is the query's id ("title:<docid>" for weak supervision).
	QID string
	// Query is the query text.
	Query string
	// Positives are relevant passage ids, best first.
	Positives []string
	// Negatives are hard-negative passage ids, in BM25 rank order.
	Negatives []string
}

// TrainingSet is the output of [Build].
type TrainingSet struct {
	// Source is "qrels" (real training queries) or "weak:title-body" (weak supervision).
	Source string
	// Train are the training groups.
	Train []TrainGroup
	// Dev are held-out groups for validation, disjoint from Train (may be empty).
	Dev []TrainGroup
	// Texts maps every passage id used in Train or Dev to its text.
	Texts map[string]string
}

// Options configure [Build].
type Options struct {
	// Mine configures the negatives (Depth, Count, Strategy, Seed).
	Mine MineConfig
	// BM25 are the parameters of the mining index; nil means bm25.DefaultParams.
	BM25 *bm25.Params
	// Analyzer analyzes for the mining index; nil means bm25.DefaultAnalyzer.
	Analyzer *bm25.Analyzer
	// DevFraction of the training queries (0 ≤ f < 1) is held out as the dev split, chosen by a
	// permutation seeded with Mine.Seed.
	DevFraction float64
	// MaxQueries caps the number of training queries before the split (0 = all); the kept ones are
	// the first of the same seeded permutation.
	MaxQueries int
	// Weak forces weak supervision even when the collection has training queries.
	Weak bool
}

// Build makes the training set of c; see the package documentation.
func Build(c *datasets.Collection, opt Options) (*TrainingSet, error) {
	if c == nil {
		return nil, errors.New("negatives: nil collection")
	}
	if err := opt.Mine.validate(); err != nil {
		return nil, err
	}
	if !(opt.DevFraction >= 0 && opt.DevFraction < 1) {
		return nil, fmt.Errorf("negatives: dev fraction must be in [0, 1), got %v", opt.DevFraction)
	}
	if opt.MaxQueries < 0 {
		return nil, fmt.Errorf("negatives: max queries must be ≥ 0, got %d", opt.MaxQueries)
	}
	if len(c.TrainQueries) > 0 && !opt.Weak {
		return buildSupervised(c, opt)
	}
	return buildWeak(c, opt)
}

func buildSupervised(c *datasets.Collection, opt Options) (*TrainingSet, error) {
	ix, err := bm25.Build(c.Docs, bm25.Config{Params: opt.BM25, Analyzer: opt.Analyzer})
	if err != nil {
		return nil, err
	}
	all := make(map[string]string, len(c.Docs))
	for _, d := range c.Docs {
		all[d.ID] = bm25.Contents(d)
	}
	var queries []datasets.Query
	for _, q := range c.TrainQueries {
		if len(positivesOf(c.TrainQrels[q.ID], all)) > 0 {
			queries = append(queries, q)
		}
	}
	if len(queries) == 0 {
		return nil, fmt.Errorf("negatives: %s: no training query has a relevant document in the corpus", c.Name)
	}
	return assemble("qrels", ix, queries, c.TrainQrels, all, opt)
}

// assemble splits the queries, mines negatives over ix and collects the groups and their texts.
func assemble(source string, ix *bm25.Index, queries []datasets.Query, qrels datasets.Qrels, all map[string]string, opt Options) (*TrainingSet, error) {
	train, dev := split(queries, opt)
	ts := &TrainingSet{Source: source, Texts: map[string]string{}}
	for _, part := range []struct {
		qs  []datasets.Query
		dst *[]TrainGroup
	}{{train, &ts.Train}, {dev, &ts.Dev}} {
		if len(part.qs) == 0 {
			continue
		}
		negs, err := Mine(ix, part.qs, qrels, opt.Mine)
		if err != nil {
			return nil, err
		}
		for _, q := range part.qs {
			g := TrainGroup{QID: q.ID, Query: q.Text, Positives: positivesOf(qrels[q.ID], all), Negatives: negs[q.ID]}
			*part.dst = append(*part.dst, g)
			for _, id := range g.Positives {
				ts.Texts[id] = all[id]
			}
			for _, id := range g.Negatives {
				ts.Texts[id] = all[id]
			}
		}
	}
	return ts, nil
}

// positivesOf lists the documents of judgements with relevance > 0 that exist in the corpus, by grade
// descending then id ascending.
func positivesOf(judged map[string]int, corpus map[string]string) []string {
	var ids []string
	for id, rel := range judged {
		if _, ok := corpus[id]; ok && rel > 0 {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(a, b string) int {
		if judged[a] != judged[b] {
			return judged[b] - judged[a]
		}
		return strings.Compare(a, b)
	})
	return ids
}

// splitStream is the second PCG seed word of the train/dev split, distinct from any query's stream.
const splitStream = 0x73706c6974 // "split"

// split permutes queries with the seed, applies MaxQueries and holds out DevFraction.
func split(queries []datasets.Query, opt Options) (train, dev []datasets.Query) {
	r := rand.New(rand.NewPCG(uint64(opt.Mine.Seed), splitStream))
	perm := r.Perm(len(queries))
	if opt.MaxQueries > 0 && opt.MaxQueries < len(perm) {
		perm = perm[:opt.MaxQueries]
	}
	nDev := int(opt.DevFraction * float64(len(perm)))
	devIdx := slices.Clone(perm[:nDev])
	trainIdx := slices.Clone(perm[nDev:])
	// Keep the collection's order within each split.
	sort.Ints(devIdx)
	sort.Ints(trainIdx)
	for _, i := range trainIdx {
		train = append(train, queries[i])
	}
	for _, i := range devIdx {
		dev = append(dev, queries[i])
	}
	return train, dev
}

// WeakPairs returns the weak-supervision pseudo-queries of c (title → body), their judgements (each
// pseudo-query's document with relevance 1) and the documents with their titles removed, in corpus
// order. A body is the document's text without the copy of the title it may begin with; documents
// whose body has no word are left out altogether, and documents without a title give no query but stay
// in the corpus (as candidate negatives).
func WeakPairs(c *datasets.Collection) (queries []datasets.Query, qrels datasets.Qrels, bodies []datasets.Document) {
	qrels = datasets.Qrels{}
	for _, d := range c.Docs {
		title := strings.Join(strings.Fields(d.Title), " ")
		body, _ := bm25.StripTitle(d.Title, d.Text)
		if len(bm25.Tokenize(body)) == 0 {
			continue // no body, or nothing but the title copy and punctuation
		}
		bodies = append(bodies, datasets.Document{ID: d.ID, Text: body})
		if title == "" {
			continue
		}
		qid := "title:" + d.ID
		queries = append(queries, datasets.Query{ID: qid, Text: title})
		qrels.Add(qid, d.ID, 1)
	}
	return queries, qrels, bodies
}

func buildWeak(c *datasets.Collection, opt Options) (*TrainingSet, error) {
	queries, qrels, bodies := WeakPairs(c)
	if len(queries) == 0 {
		return nil, fmt.Errorf("negatives: %s has no training queries and no document with both a title and a body for weak supervision", c.Name)
	}
	ix, err := bm25.Build(bodies, bm25.Config{Params: opt.BM25, Analyzer: opt.Analyzer})
	if err != nil {
		return nil, err
	}
	all := make(map[string]string, len(bodies))
	for _, d := range bodies {
		all[d.ID] = d.Text
	}
	return assemble("weak:title-body", ix, queries, qrels, all, opt)
}
