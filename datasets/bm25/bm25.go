// Package bm25 is Okapi BM25 over an in-memory inverted index, computed the way Lucene (and so
// Anserini/Pyserini) computes it, with the analysis chain of Lucene's EnglishAnalyzer.
//
// Scoring. For a query q and document d,
//
//	score(q, d) = Σ_{t ∈ q} qtf(t) · idf(t) · tf(t,d) / (tf(t,d) + k1 · (1 − b + b · |d| / avgdl))
//	idf(t)      = ln(1 + (N − df(t) + 0.5) / (df(t) + 0.5))
//
// where tf is the term's frequency in d, |d| the number of index terms of d (after stop-word removal),
// avgdl the mean of |d| over the N documents that have at least one term, df(t) the number of
// documents containing t, and qtf(t) the number of times t occurs in the analyzed query (Anserini's
// bag-of-words query boosts repeated terms by their count). This is Lucene ≥ 8's BM25Similarity, which
// dropped the constant factor (k1 + 1) of Robertson's formula: multiply by (k1 + 1) to get classic
// scores; rankings are identical. Defaults are Anserini's k1 = 0.9, b = 0.4.
//
// Differences from Lucene, on purpose: document lengths are exact (Lucene stores |d| in one lossy byte,
// SmallFloat.intToByte4, so long documents get slightly different scores), and arithmetic is float64
// (Lucene uses float32). Rankings therefore match Anserini's except where scores nearly tie.
//
// Results are ordered by score descending, ties broken by document id ascending (Anserini's order),
// so a search is fully deterministic. Only documents matching at least one query term are returned.
package bm25

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/mimicry-ir/mimicry/datasets"
)

// Params are BM25's free parameters.
type Params struct {
	// K1 controls term-frequency saturation (Anserini default 0.9).
	K1 float64
	// B controls document-length normalisation, 0 (none) to 1 (full) (Anserini default 0.4).
	B float64
}

// DefaultParams returns Anserini's defaults, k1 = 0.9 and b = 0.4.
func DefaultParams() Params { return Params{K1: 0.9, B: 0.4} }

// Validate reports parameters outside BM25's domain (k1 ≥ 0, 0 ≤ b ≤ 1).
func (p Params) Validate() error {
	if p.K1 < 0 || math.IsNaN(p.K1) || math.IsInf(p.K1, 0) {
		return fmt.Errorf("bm25: k1 must be a finite number ≥ 0, got %v", p.K1)
	}
	if !(p.B >= 0 && p.B <= 1) {
		return fmt.Errorf("bm25: b must be in [0, 1], got %v", p.B)
	}
	return nil
}

// Hit is one retrieved document.
type Hit struct {
	// DocID is the document's identifier.
	DocID string
	// Score is its BM25 score (higher is better).
	Score float64
}

// posting lists the documents containing a term, in increasing document order.
type posting struct {
	docs []int32
	tfs  []int32
}

// Index is an immutable in-memory inverted index; it is safe for concurrent searches.
type Index struct {
	params   Params
	analyzer *Analyzer
	ids      []string
	lengths  []int32
	norms    []float64 // k1 · (1 − b + b·|d|/avgdl) per document
	terms    map[string]*posting
	n        int // documents with at least one term (Lucene's docCount)
	avgdl    float64
}

// Config tells [Build] how to index.
type Config struct {
	// Params are k1 and b; the zero value means [DefaultParams].
	Params *Params
	// Analyzer analyzes documents and queries; nil means [DefaultAnalyzer].
	Analyzer *Analyzer
}

// Contents is the text of a document that gets indexed: the title and the body separated by a newline
// (like Anserini's BEIR "flat" indexes), or the body alone when it already begins with a copy of the
// title (as many Cranfield abstracts do; see [StripTitle]) or when there is no title.
func Contents(d datasets.Document) string {
	title := strings.TrimSpace(d.Title)
	if title == "" {
		return d.Text
	}
	if body, stripped := StripTitle(d.Title, d.Text); stripped {
		if strings.TrimSpace(body) == "" {
			return d.Title
		}
		return d.Text
	}
	if strings.TrimSpace(d.Text) == "" {
		return d.Title
	}
	return d.Title + "\n" + d.Text
}

// StripTitle removes a copy of title from the beginning of text, comparing case-insensitively and
// ignoring differences in white space (Cranfield's bodies repeat the title with other line breaks),
// together with the punctuation that may follow it ("Title. Body"). A body that repeats the title
// several times (Cranfield's document 410) loses every leading copy. It returns the remaining body
// (trimmed) and whether a copy was found; text comes back trimmed and otherwise unchanged when not.
func StripTitle(title, text string) (string, bool) {
	tw := strings.Fields(strings.ToLower(title))
	if len(tw) == 0 {
		return strings.TrimSpace(text), false
	}
	found := false
	rest := text
	for {
		r, ok := stripOnce(tw, rest)
		if !ok {
			break
		}
		rest, found = r, true
	}
	return strings.TrimSpace(rest), found
}

// stripOnce removes one leading copy of the title words tw from text.
func stripOnce(tw []string, text string) (string, bool) {
	rest := text
	for _, w := range tw {
		rest = strings.TrimLeft(rest, " \t\r\n\f\v")
		if len(rest) < len(w) || strings.ToLower(rest[:len(w)]) != w {
			return text, false
		}
		rest = rest[len(w):]
	}
	// The copy must end at a word boundary.
	if rest != "" && !strings.ContainsAny(rest[:1], " \t\r\n\f\v.,;:!?") {
		return text, false
	}
	return strings.TrimLeft(rest, " \t\r\n\f\v.,;:!?-"), true
}

// Build indexes docs (analysis runs in parallel). Document ids must be unique and non-empty.
func Build(docs []datasets.Document, cfg Config) (*Index, error) {
	p := DefaultParams()
	if cfg.Params != nil {
		p = *cfg.Params
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	a := cfg.Analyzer
	if a == nil {
		a = DefaultAnalyzer()
	}
	ix := &Index{
		params:   p,
		analyzer: a,
		ids:      make([]string, len(docs)),
		lengths:  make([]int32, len(docs)),
		norms:    make([]float64, len(docs)),
		terms:    make(map[string]*posting),
	}
	seen := make(map[string]bool, len(docs))
	for i, d := range docs {
		if d.ID == "" {
			return nil, fmt.Errorf("bm25: document %d has an empty id", i)
		}
		if seen[d.ID] {
			return nil, fmt.Errorf("bm25: duplicate document id %q", d.ID)
		}
		seen[d.ID] = true
		ix.ids[i] = d.ID
	}
	if len(docs) > math.MaxInt32 {
		return nil, errors.New("bm25: too many documents")
	}

	// Analyze in parallel into per-document term counts.
	type termFreq struct {
		term string
		tf   int32
	}
	perDoc := make([][]termFreq, len(docs))
	parallel(len(docs), func(i int) {
		terms := a.Analyze(Contents(docs[i]))
		ix.lengths[i] = int32(len(terms))
		counts := make(map[string]int32, len(terms))
		for _, t := range terms {
			counts[t]++
		}
		tfs := make([]termFreq, 0, len(counts))
		for t, c := range counts {
			tfs = append(tfs, termFreq{t, c})
		}
		perDoc[i] = tfs
	})

	// Invert sequentially so postings are in document order.
	var total int64
	for i, tfs := range perDoc {
		if ix.lengths[i] > 0 {
			ix.n++
			total += int64(ix.lengths[i])
		}
		for _, tf := range tfs {
			pl := ix.terms[tf.term]
			if pl == nil {
				pl = &posting{}
				ix.terms[tf.term] = pl
			}
			pl.docs = append(pl.docs, int32(i))
			pl.tfs = append(pl.tfs, tf.tf)
		}
	}
	if ix.n > 0 {
		ix.avgdl = float64(total) / float64(ix.n)
	}
	for i, l := range ix.lengths {
		if ix.avgdl > 0 {
			ix.norms[i] = p.K1 * (1 - p.B + p.B*float64(l)/ix.avgdl)
		}
	}
	return ix, nil
}

// Params returns the index's k1 and b.
func (ix *Index) Params() Params { return ix.params }

// Analyzer returns the analyzer used for documents and queries.
func (ix *Index) Analyzer() *Analyzer { return ix.analyzer }

// Len returns the number of documents indexed.
func (ix *Index) Len() int { return len(ix.ids) }

// DocCount returns N of the idf formula: the number of documents with at least one index term.
func (ix *Index) DocCount() int { return ix.n }

// AvgDocLength returns avgdl, the mean number of index terms of the documents counted by DocCount.
func (ix *Index) AvgDocLength() float64 { return ix.avgdl }

// DocFreq returns the number of documents containing the (already analyzed) term.
func (ix *Index) DocFreq(term string) int {
	if pl := ix.terms[term]; pl != nil {
		return len(pl.docs)
	}
	return 0
}

// IDF returns Lucene's BM25 idf of an analyzed term, ln(1 + (N − df + 0.5)/(df + 0.5)).
func (ix *Index) IDF(term string) float64 {
	df := float64(ix.DocFreq(term))
	return math.Log(1 + (float64(ix.n)-df+0.5)/(df+0.5))
}

// Search returns the k best documents for query (k ≤ 0 returns nothing), by score descending and
// then document id ascending.
func (ix *Index) Search(query string, k int) []Hit {
	s := ix.newSearcher()
	return s.search(query, k)
}

// SearchBatch searches every query in parallel (one worker per CPU) and returns the hits by query id.
func (ix *Index) SearchBatch(queries []datasets.Query, k int) map[string][]Hit {
	res := make([][]Hit, len(queries))
	workers := min(runtime.GOMAXPROCS(0), max(1, len(queries)))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := ix.newSearcher()
			for i := range next {
				res[i] = s.search(queries[i].Text, k)
			}
		}()
	}
	for i := range queries {
		next <- i
	}
	close(next)
	wg.Wait()
	out := make(map[string][]Hit, len(queries))
	for i, q := range queries {
		out[q.ID] = res[i]
	}
	return out
}

// searcher holds one goroutine's scratch space.
type searcher struct {
	ix      *Index
	acc     []float64
	touched []int32
}

func (ix *Index) newSearcher() *searcher {
	return &searcher{ix: ix, acc: make([]float64, len(ix.ids))}
}

func (s *searcher) search(query string, k int) []Hit {
	ix := s.ix
	if k <= 0 || ix.n == 0 {
		return nil
	}
	terms := ix.analyzer.Analyze(query)
	qtf := make(map[string]int, len(terms))
	order := make([]string, 0, len(terms))
	for _, t := range terms {
		if qtf[t] == 0 {
			order = append(order, t)
		}
		qtf[t]++
	}
	s.touched = s.touched[:0]
	for _, t := range order {
		pl := ix.terms[t]
		if pl == nil {
			continue
		}
		w := float64(qtf[t]) * ix.IDF(t)
		for j, d := range pl.docs {
			tf := float64(pl.tfs[j])
			if s.acc[d] == 0 {
				s.touched = append(s.touched, d)
			}
			s.acc[d] += w * tf / (tf + ix.norms[d])
		}
	}
	hits := make([]Hit, 0, len(s.touched))
	for _, d := range s.touched {
		hits = append(hits, Hit{DocID: ix.ids[d], Score: s.acc[d]})
		s.acc[d] = 0
	}
	return topK(hits, k)
}

// better reports whether a ranks before b: higher score, then smaller document id.
func better(a, b Hit) bool {
	if a.Score != b.Score {
		return a.Score > b.Score
	}
	return a.DocID < b.DocID
}

// compareHits orders hits best first.
func compareHits(a, b Hit) int {
	switch {
	case better(a, b):
		return -1
	case better(b, a):
		return 1
	}
	return 0
}

// topK returns the k best hits in order, selecting with a bounded min-heap when k is small.
func topK(hits []Hit, k int) []Hit {
	if len(hits) <= k || k*8 >= len(hits) {
		slices.SortFunc(hits, compareHits)
		if len(hits) > k {
			hits = hits[:k]
		}
		return hits
	}
	// heap[0] is the worst of the k best so far.
	heap := make([]Hit, 0, k)
	down := func(i int) {
		for {
			l := 2*i + 1
			if l >= len(heap) {
				return
			}
			w := l
			if r := l + 1; r < len(heap) && better(heap[l], heap[r]) {
				w = r
			}
			if !better(heap[i], heap[w]) {
				return
			}
			heap[i], heap[w] = heap[w], heap[i]
			i = w
		}
	}
	for _, h := range hits {
		if len(heap) < k {
			heap = append(heap, h)
			for i := len(heap) - 1; i > 0; {
				p := (i - 1) / 2
				if !better(heap[p], heap[i]) {
					break
				}
				heap[p], heap[i] = heap[i], heap[p]
				i = p
			}
			continue
		}
		if better(h, heap[0]) {
			heap[0] = h
			down(0)
		}
	}
	slices.SortFunc(heap, compareHits)
	return heap
}

// parallel runs f(0..n-1) on one goroutine per CPU.
func parallel(n int, f func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), max(1, n))
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += workers {
				f(i)
			}
		}(w)
	}
	wg.Wait()
}
