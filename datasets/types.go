// Package datasets holds Mimicry's retrieval collections: documents, queries and relevance judgements
// (qrels), the readers and writers for the formats users already have (BEIR, MS MARCO, the classic
// SMART test collections, the knowledge-distillation score files), BM25, hard-negative mining and the
// synthetic default collection.
package datasets

// Document is one passage of a corpus.
type Document struct {
	// ID is the document's identifier as the collection names it (e.g. "184" or "MED-10").
	ID string
	// Title is optional; many collections have none.
	Title string
	// Text is the body of the passage.
	Text string
}

// Query is one information need.
type Query struct {
	// ID is the query's identifier as the judgements (qrels) name it.
	ID string
	// Text is what the user typed.
	Text string
}

// Qrels maps query id → document id → graded relevance (0 = judged non-relevant, higher is better).
type Qrels map[string]map[string]int

// Add records one judgement, creating the query's map if needed.
func (q Qrels) Add(qid, docID string, relevance int) {
	m, ok := q[qid]
	if !ok {
		m = make(map[string]int)
		q[qid] = m
	}
	m[docID] = relevance
}

// Collection is a corpus with its queries and judgements, as held in memory by the pipeline.
// Split names the queries used for training and those used for evaluation: they never overlap.
type Collection struct {
	// Name identifies the collection in reports (e.g. "synthetic:42", "cranfield").
	Name string
	// Docs is the corpus in a stable order.
	Docs []Document
	// Queries are the evaluation queries.
	Queries []Query
	// Qrels are the judgements of the evaluation queries.
	Qrels Qrels
	// TrainQueries are queries for training (may be empty when the collection has none; see the
	// weak-supervision builder).
	TrainQueries []Query
	// TrainQrels are the judgements of TrainQueries.
	TrainQrels Qrels
}

// QueryTexts maps the ids of the collection's queries, training and evaluation, to their texts.
func (c *Collection) QueryTexts() map[string]string {
	out := make(map[string]string, len(c.Queries)+len(c.TrainQueries))
	for _, qs := range [][]Query{c.TrainQueries, c.Queries} {
		for _, q := range qs {
			out[q.ID] = q.Text
		}
	}
	return out
}
