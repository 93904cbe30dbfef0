package annotate

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/datasets/bm25"
)

// DefaultChunkSize is the number of pairs per chunk of Run.
const DefaultChunkSize = 4096

// Pair is one (query, passage) pair to annotate.
type Pair struct {
	// QueryID names the query.
	QueryID string
	// DocID names the passage.
	DocID string
	// Query is the query text.
	Query string
	// Passage is the passage text.
	Passage string
	// Origin says where the pair comes from ("train.jsonl:12"), for error messages; it may be empty.
	Origin string
}

// where describes the pair in error messages.
func (p Pair) where() string {
	s := fmt.Sprintf("query %q, passage %q", p.QueryID, p.DocID)
	if p.Origin != "" {
		s = p.Origin + ": " + s
	}
	return s
}

// PairSource streams the pairs to annotate: it calls fn for each pair and stops at, and returns, the
// first error (fn's or its own). It must be deterministic — every call yields the same pairs in the same
// order — and must list each query's pairs together. Run calls it twice.
type PairSource func(fn func(Pair) error) error

// SlicePairs is the PairSource of pairs held in memory.
func SlicePairs(pairs []Pair) PairSource {
	return func(fn func(Pair) error) error {
		for _, p := range pairs {
			if err := fn(p); err != nil {
				return err
			}
		}
		return nil
	}
}

// negativesLine is one line of the JSONL that `mimicry negatives` writes.
type negativesLine struct {
	Split         string    `json:"split"`
	QID           string    `json:"qid"`
	Query         *string   `json:"query"`
	Positives     []string  `json:"positives"`
	Negatives     []string  `json:"negatives"`
	PositiveTexts *[]string `json:"positive_texts"`
	NegativeTexts *[]string `json:"negative_texts"`
}

// NegativesPairs reads the training groups that `mimicry negatives` writes (JSONL, one group a line:
// {"split", "qid", "query", "positives": [ids], "negatives": [ids]} and, with --texts,
// "positive_texts" and "negative_texts"), gzip-compressed when path ends in ".gz". Each group gives its
// positives, then its negatives, paired with the query text; every line is used, train and dev. Passage texts come from the line when it
// has them, else from texts (document id → text, e.g. score.Texts(collection.Docs)); a passage without text,
// or any malformed line, is an error naming path and line.
func NegativesPairs(path string, texts map[string]string) PairSource {
	return func(fn func(Pair) error) error {
		return scanLines(path, func(line []byte, where string) error {
			var l negativesLine
			if err := json.Unmarshal(line, &l); err != nil {
				return fmt.Errorf("%s: invalid JSON: %v", where, err)
			}
			switch {
			case l.QID == "":
				return fmt.Errorf(`%s: missing or empty "qid"`, where)
			case l.Query == nil:
				return fmt.Errorf(`%s: query %q: missing "query"`, where, l.QID)
			case l.PositiveTexts != nil && len(*l.PositiveTexts) != len(l.Positives):
				return fmt.Errorf(`%s: query %q: %d positives but %d positive_texts`, where, l.QID, len(l.Positives), len(*l.PositiveTexts))
			case l.NegativeTexts != nil && len(*l.NegativeTexts) != len(l.Negatives):
				return fmt.Errorf(`%s: query %q: %d negatives but %d negative_texts`, where, l.QID, len(l.Negatives), len(*l.NegativeTexts))
			}
			for _, part := range []struct {
				ids   []string
				texts *[]string
			}{{l.Positives, l.PositiveTexts}, {l.Negatives, l.NegativeTexts}} {
				for i, id := range part.ids {
					p := Pair{QueryID: l.QID, DocID: id, Query: *l.Query, Origin: where}
					if id == "" {
						return fmt.Errorf("%s: query %q: empty passage id", where, l.QID)
					}
					if part.texts != nil {
						p.Passage = (*part.texts)[i]
					} else if t, ok := texts[id]; ok {
						p.Passage = t
					} else {
						return fmt.Errorf("%s: query %q: passage %q has no text: the line has no positive_texts/negative_texts and the collection has none for it", where, l.QID, id)
					}
					if err := fn(p); err != nil {
						return err
					}
				}
			}
			return nil
		})
	}
}

// KDPairs reads the (query, document) pairs of a PyLate knowledge-distillation file
// (datasets.ReadPyLateKD; its scores are ignored: the teacher scores the pairs anew). Query and passage
// texts come from queries and texts (ids → texts, e.g. QueryTexts and score.Texts of the collection); an id
// without text is an error naming the file and the example.
func KDPairs(path string, queries, texts map[string]string) PairSource {
	return func(fn func(Pair) error) error {
		n := 0
		return datasets.ReadFile(path, func(r io.Reader, name string) error {
			return datasets.ReadPyLateKD(r, name, func(ex datasets.KDExample) error {
				n++
				where := fmt.Sprintf("%s: example %d", name, n)
				q, ok := queries[ex.QueryID]
				if !ok {
					return fmt.Errorf("%s: query %q has no text in the collection", where, ex.QueryID)
				}
				for _, id := range ex.DocIDs {
					t, ok := texts[id]
					if !ok {
						return fmt.Errorf("%s: query %q: passage %q has no text in the collection", where, ex.QueryID, id)
					}
					if err := fn(Pair{QueryID: ex.QueryID, DocID: id, Query: q, Passage: t, Origin: where}); err != nil {
						return err
					}
				}
				return nil
			})
		})
	}
}

// KeyPairs streams the pairs of an answer key, in its order, for another teacher to score: e.g. a
// larger student re-annotating its teacher's pairs for self-distillation. The key's scores are
// ignored; each query's rows must be together (as Run writes them). An id without a text is an
// error naming the row.
func KeyPairs(key []datasets.ScoredPair, queries, texts map[string]string) PairSource {
	return func(fn func(Pair) error) error {
		for i, p := range key {
			q, ok := queries[p.QueryID]
			if !ok {
				return fmt.Errorf("answer key row %d: query %q has no text in the collection", i+1, p.QueryID)
			}
			t, ok := texts[p.DocID]
			if !ok {
				return fmt.Errorf("answer key row %d: query %q: passage %q has no text in the collection", i+1, p.QueryID, p.DocID)
			}
			if err := fn(Pair{QueryID: p.QueryID, DocID: p.DocID, Query: q, Passage: t, Origin: fmt.Sprintf("answer key row %d", i+1)}); err != nil {
				return err
			}
		}
		return nil
	}
}

// CandidatePairs reads a candidates file: one "qid<TAB>pid" a line (or two words separated by spaces;
// blank lines ignored), or the lines
// of a TREC run ("qid Q0 pid rank score tag", whose ranks and scores are ignored), each query's lines
// together. score.Texts come from queries and texts; an unknown id or a malformed line is an error naming
// path and line.
func CandidatePairs(path string, queries, texts map[string]string) PairSource {
	return func(fn func(Pair) error) error {
		return scanLines(path, func(line []byte, where string) error {
			var qid, pid string
			fields, words := strings.Split(string(line), "\t"), strings.Fields(string(line))
			switch {
			case len(fields) == 2:
				qid, pid = strings.TrimSpace(fields[0]), strings.TrimSpace(fields[1])
			case len(words) == 2:
				qid, pid = words[0], words[1]
			case len(words) == 6 && words[1] == "Q0":
				qid, pid = words[0], words[2]
			default:
				return fmt.Errorf("%s: want \"qid<TAB>pid\" or a TREC run line, got %q", where, truncate(string(line), 80))
			}
			if qid == "" || pid == "" {
				return fmt.Errorf("%s: empty query or passage id", where)
			}
			q, ok := queries[qid]
			if !ok {
				return fmt.Errorf("%s: query %q has no text in the collection", where, qid)
			}
			t, ok := texts[pid]
			if !ok {
				return fmt.Errorf("%s: query %q: passage %q has no text in the collection", where, qid, pid)
			}
			return fn(Pair{QueryID: qid, DocID: pid, Query: q, Passage: t, Origin: where})
		})
	}
}

// BM25Pairs pairs each query, in the given order, with its top k BM25 results in rank order; passage
// texts come from texts (score.Texts of the indexed documents). Queries are searched a few at a time, so
// memory does not grow with the number of queries.
func BM25Pairs(ix *bm25.Index, queries []datasets.Query, texts map[string]string, k int) PairSource {
	const batch = 64
	return func(fn func(Pair) error) error {
		if ix == nil || k <= 0 {
			return fmt.Errorf("bm25 pairs: need an index and k > 0 (k = %d)", k)
		}
		for start := 0; start < len(queries); start += batch {
			qs := queries[start:min(start+batch, len(queries))]
			hits := ix.SearchBatch(qs, k)
			for _, q := range qs {
				for _, h := range hits[q.ID] {
					t, ok := texts[h.DocID]
					if !ok {
						return fmt.Errorf("bm25 pairs: query %q: passage %q has no text", q.ID, h.DocID)
					}
					if err := fn(Pair{QueryID: q.ID, DocID: h.DocID, Query: q.Text, Passage: t}); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
}

// scanLines calls fn for every non-blank line of path (gzip-compressed when it ends in ".gz"), without
// the line end or a leading byte-order mark, with "path:line" for messages.
func scanLines(path string, fn func(line []byte, where string) error) error {
	return datasets.ReadFile(path, func(r io.Reader, name string) error {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 64<<10), datasets.MaxLineBytes)
		n := 0
		for sc.Scan() {
			n++
			line := bytes.TrimRight(sc.Bytes(), "\r")
			if n == 1 {
				line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
			}
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			if err := fn(line, fmt.Sprintf("%s:%d", name, n)); err != nil {
				return err
			}
		}
		if err := sc.Err(); err != nil {
			return fmt.Errorf("%s:%d: %w", name, n+1, err)
		}
		return nil
	})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
