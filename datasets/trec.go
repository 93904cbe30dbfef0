package datasets

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Judgement is one line of a qrels file: the relevance of one document to one query.
type Judgement struct {
	// QueryID names the query.
	QueryID string
	// DocID names the document.
	DocID string
	// Relevance is the graded relevance: 0 = judged non-relevant, higher is better (negative values
	// occur in some TREC tracks, e.g. -2 for spam, and are kept as they are).
	Relevance int
}

// RunEntry is one line of a TREC run file: "qid Q0 docid rank score tag".
type RunEntry struct {
	// QueryID names the query.
	QueryID string
	// DocID names the retrieved document.
	DocID string
	// Rank is the 1-based rank the system gave the document (trec_eval ignores it and sorts by Score).
	Rank int
	// Score is the retrieval score; higher is better. Always finite.
	Score float64
	// Tag names the run.
	Tag string
}

// ReadTRECQrels streams a TREC qrels file: one judgement a line, four whitespace-separated columns
// "qid iteration docid relevance" (the iteration column, usually 0 or Q0, is ignored); MS MARCO's
// qrels.*.tsv use the same columns separated by tabs. The relevance must be an integer. Blank lines are
// ignored; anything else that does not fit is a *ParseError naming name and the line.
func ReadTRECQrels(r io.Reader, name string, fn func(Judgement) error) error {
	return readTRECQrels(r, name, func(j Judgement, _ int) error { return fn(j) })
}

func readTRECQrels(r io.Reader, name string, fn func(Judgement, int) error) error {
	s := newLineScanner(r, name)
	for s.Scan() {
		line := s.Bytes()
		if isBlank(line) {
			continue
		}
		f := strings.Fields(string(line))
		if len(f) != 4 {
			return s.Errorf("want 4 columns (qid iteration docid relevance), got %d", len(f))
		}
		rel, err := strconv.Atoi(f[3])
		if err != nil {
			return s.Errorf("relevance %q is not an integer", f[3])
		}
		if err := fn(Judgement{QueryID: f[0], DocID: f[2], Relevance: rel}, s.Line()); err != nil {
			return err
		}
	}
	return s.Err()
}

// LoadTRECQrels reads a whole TREC (or MS MARCO) qrels file, gzip-compressed when it ends in ".gz".
// The same (query, document) pair judged twice with different relevance is an error; repeated identical
// lines are accepted.
func LoadTRECQrels(path string) (Qrels, error) {
	b := newQrelsBuilder()
	err := ReadFile(path, func(r io.Reader, name string) error {
		return readTRECQrels(r, name, b.adder(name))
	})
	if err != nil {
		return nil, err
	}
	return b.qrels, nil
}

// WriteTRECQrels writes qrels as a TREC qrels file ("qid 0 docid relevance", space-separated, sorted by
// query then document id), atomically. Empty ids and ids holding white space are errors.
func WriteTRECQrels(path string, qrels Qrels) error {
	return WriteFileAtomic(path, func(w io.Writer) error { return encodeTRECQrels(w, qrels) })
}

func encodeTRECQrels(w io.Writer, qrels Qrels) error {
	return qrels.each(func(qid, did string, rel int) error {
		if err := checkTRECField("query id", qid); err != nil {
			return err
		}
		if err := checkTRECField("document id", did); err != nil {
			return err
		}
		_, err := fmt.Fprintf(w, "%s 0 %s %d\n", qid, did, rel)
		return err
	})
}

// checkTRECField fails unless v can be a column of a whitespace-separated TREC file: not empty and
// without (Unicode) white space.
func checkTRECField(what, v string) error {
	if v == "" || hasSpace(v) {
		return fmt.Errorf("datasets: %s %q is empty or holds white space", what, v)
	}
	return nil
}

// ReadTRECRun streams a TREC run file: one retrieved document a line, six whitespace-separated columns
// "qid Q0 docid rank score tag". The second column is ignored, rank must be an integer and score a finite
// number (NaN and infinities are errors). Blank lines are ignored; anything else that does not fit is a
// *ParseError naming name and the line.
func ReadTRECRun(r io.Reader, name string, fn func(RunEntry) error) error {
	s := newLineScanner(r, name)
	for s.Scan() {
		line := s.Bytes()
		if isBlank(line) {
			continue
		}
		f := strings.Fields(string(line))
		if len(f) != 6 {
			return s.Errorf("want 6 columns (qid Q0 docid rank score tag), got %d", len(f))
		}
		rank, err := strconv.Atoi(f[3])
		if err != nil {
			return s.Errorf("rank %q is not an integer", f[3])
		}
		score, err := parseScore(f[4])
		if err != nil {
			return s.Errorf("score: %v", err)
		}
		if err := fn(RunEntry{QueryID: f[0], DocID: f[2], Rank: rank, Score: score, Tag: f[5]}); err != nil {
			return err
		}
	}
	return s.Err()
}

// LoadTRECRun reads a whole TREC run file, in file order.
func LoadTRECRun(path string) ([]RunEntry, error) {
	return loadAll(path, ReadTRECRun)
}

// WriteTRECRun writes run as a TREC run file ("qid Q0 docid rank score tag"), in the given order,
// atomically. Scores are written with the shortest representation that reads back exactly. Empty ids or
// tags, ids or tags holding whitespace, and non-finite scores are errors.
func WriteTRECRun(path string, run []RunEntry) error {
	return WriteFileAtomic(path, func(w io.Writer) error { return encodeTRECRun(w, run) })
}

func encodeTRECRun(w io.Writer, run []RunEntry) error {
	for i, e := range run {
		for _, f := range [...]struct{ what, v string }{{"query id", e.QueryID}, {"document id", e.DocID}, {"run tag", e.Tag}} {
			if err := checkTRECField(f.what, f.v); err != nil {
				return fmt.Errorf("run entry %d: %w", i, err)
			}
		}
		if math.IsNaN(e.Score) || math.IsInf(e.Score, 0) {
			return fmt.Errorf("datasets: run entry %d (query %q, document %q): score %v is not finite", i, e.QueryID, e.DocID, e.Score)
		}
		if _, err := fmt.Fprintf(w, "%s Q0 %s %d %s %s\n", e.QueryID, e.DocID, e.Rank,
			strconv.FormatFloat(e.Score, 'g', -1, 64), e.Tag); err != nil {
			return err
		}
	}
	return nil
}

// RankRun turns per-query document scores into a run: for each query (in sorted id order) the documents
// by decreasing score, ties broken by document id, ranked from 1, keeping at most depth documents per
// query (all when depth <= 0). Non-finite scores are an error.
func RankRun(scores map[string]map[string]float64, tag string, depth int) ([]RunEntry, error) {
	var run []RunEntry
	for _, qid := range sortedKeys(scores) {
		docs := scores[qid]
		entries := make([]RunEntry, 0, len(docs))
		for did, s := range docs {
			if math.IsNaN(s) || math.IsInf(s, 0) {
				return nil, fmt.Errorf("datasets: query %q, document %q: score %v is not finite", qid, did, s)
			}
			entries = append(entries, RunEntry{QueryID: qid, DocID: did, Score: s, Tag: tag})
		}
		slices.SortFunc(entries, func(a, b RunEntry) int {
			if c := cmp.Compare(b.Score, a.Score); c != 0 {
				return c
			}
			return strings.Compare(a.DocID, b.DocID)
		})
		if depth > 0 && len(entries) > depth {
			entries = entries[:depth]
		}
		for i := range entries {
			entries[i].Rank = i + 1
		}
		run = append(run, entries...)
	}
	return run, nil
}

// parseScore parses a finite floating-point score.
func parseScore(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if errors.Is(err, strconv.ErrRange) && (math.IsInf(v, 0)) {
		return 0, fmt.Errorf("%q is out of range (not finite as a float64)", s)
	}
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not finite", s)
	}
	return v, nil
}

// qrelsBuilder accumulates judgements, refusing conflicting ones.
type qrelsBuilder struct {
	qrels Qrels
}

func newQrelsBuilder() *qrelsBuilder { return &qrelsBuilder{qrels: Qrels{}} }

// adder returns a callback that adds judgements read from the file name, failing with a ParseError on a
// pair already judged with another relevance.
func (b *qrelsBuilder) adder(name string) func(Judgement, int) error {
	return func(j Judgement, line int) error {
		if old, ok := b.qrels[j.QueryID][j.DocID]; ok && old != j.Relevance {
			return newParseError(name, line, "query %q, document %q judged %d here but %d earlier", j.QueryID, j.DocID, j.Relevance, old)
		}
		b.qrels.Add(j.QueryID, j.DocID, j.Relevance)
		return nil
	}
}

// each calls fn for every judgement of q, sorted by query id then document id.
func (q Qrels) each(fn func(qid, did string, rel int) error) error {
	for _, qid := range sortedKeys(q) {
		docs := q[qid]
		for _, did := range sortedKeys(docs) {
			if err := fn(qid, did, docs[did]); err != nil {
				return err
			}
		}
	}
	return nil
}

// sortedKeys returns the keys of m in increasing order of compareIDs.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareIDs)
	return keys
}

// compareIDs orders ids numerically when both are decimal numbers without sign ("2" < "10") and
// byte-wise otherwise.
func compareIDs(a, b string) int {
	if isDigits(a) && isDigits(b) {
		ta, tb := strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
		if c := cmp.Compare(len(ta), len(tb)); c != 0 {
			return c
		}
		if c := strings.Compare(ta, tb); c != 0 {
			return c
		}
	}
	return strings.Compare(a, b)
}

// isDigits reports whether s is a non-empty string of ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// idSet detects duplicate ids while a file is read.
type idSet struct {
	name, what string
	first      map[string]int
}

// add records id seen at line, failing with a ParseError when it was seen before.
func (s *idSet) add(id string, line int) error {
	if s.first == nil {
		s.first = make(map[string]int)
	}
	if prev, dup := s.first[id]; dup {
		return newParseError(s.name, line, "duplicate %s id %q (first at line %d)", s.what, id, prev)
	}
	s.first[id] = line
	return nil
}
