package datasets

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// BEIR datasets (Thakur et al., 2021) are directories holding
//
//	corpus.jsonl       {"_id": "...", "title": "...", "text": "...", "metadata": {...}}
//	queries.jsonl      {"_id": "...", "text": "...", "metadata": {...}}
//	qrels/<split>.tsv  "query-id\tcorpus-id\tscore" header, then one judgement a line
//
// with split one of train, dev, test.

// beirDoc is one line of corpus.jsonl or queries.jsonl. Ids may be JSON strings or integers (some
// conversions write numbers).
type beirDoc struct {
	ID    *jsonID `json:"_id"`
	Title *string `json:"title"`
	Text  *string `json:"text"`
}

// decodeJSONLine unmarshals one JSON line into v, answering a ParseError at the scanner's line.
func decodeJSONLine(s *lineScanner, line []byte, v any) error {
	err := json.Unmarshal(line, v)
	if err == nil {
		return nil
	}
	var se *json.SyntaxError
	if errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) {
		return s.Wrap(err, "invalid JSON")
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field == "" {
		return s.Errorf("want a JSON object, got %s", te.Value)
	}
	// A well-formed line whose values do not fit: a string where a number belongs, a number out of
	// float64 range (1e999), an id that is neither a string nor an integer.
	return s.Wrap(err, "bad value")
}

// ReadBEIRCorpus streams a BEIR corpus.jsonl, calling fn for each document in file order. Every line must
// be a JSON object with a non-empty "_id" (string or integer) and a "text" string; "title" is optional and
// other members (such as "metadata") are ignored. Blank lines are ignored. Malformed lines are answered
// with a *ParseError naming name and the line; an error returned by fn stops reading and is returned as
// is.
func ReadBEIRCorpus(r io.Reader, name string, fn func(Document) error) error {
	return readBEIRCorpus(r, name, func(d Document, _ int) error { return fn(d) })
}

func readBEIRCorpus(r io.Reader, name string, fn func(Document, int) error) error {
	s := newLineScanner(r, name)
	for s.Scan() {
		line := s.Bytes()
		if isBlank(line) {
			continue
		}
		var d beirDoc
		if err := decodeJSONLine(s, line, &d); err != nil {
			return err
		}
		if d.ID == nil || *d.ID == "" {
			return s.Errorf(`missing or empty "_id"`)
		}
		if d.Text == nil {
			return s.Errorf(`document %q: missing "text"`, string(*d.ID))
		}
		doc := Document{ID: string(*d.ID), Text: *d.Text}
		if d.Title != nil {
			doc.Title = *d.Title
		}
		if err := fn(doc, s.Line()); err != nil {
			return err
		}
	}
	return s.Err()
}

// ReadBEIRQueries streams a BEIR queries.jsonl, calling fn for each query in file order. Every line must be
// a JSON object with a non-empty "_id" (string or integer) and a "text" string; other members are ignored.
// Blank lines are ignored. Errors are reported as by ReadBEIRCorpus.
func ReadBEIRQueries(r io.Reader, name string, fn func(Query) error) error {
	return readBEIRQueries(r, name, func(q Query, _ int) error { return fn(q) })
}

func readBEIRQueries(r io.Reader, name string, fn func(Query, int) error) error {
	s := newLineScanner(r, name)
	for s.Scan() {
		line := s.Bytes()
		if isBlank(line) {
			continue
		}
		var d beirDoc
		if err := decodeJSONLine(s, line, &d); err != nil {
			return err
		}
		if d.ID == nil || *d.ID == "" {
			return s.Errorf(`missing or empty "_id"`)
		}
		if d.Text == nil {
			return s.Errorf(`query %q: missing "text"`, string(*d.ID))
		}
		if err := fn(Query{ID: string(*d.ID), Text: *d.Text}, s.Line()); err != nil {
			return err
		}
	}
	return s.Err()
}

// beirQrelsHeader is the header line of BEIR's qrels files.
var beirQrelsHeader = []string{"query-id", "corpus-id", "score"}

// ReadBEIRQrels streams a BEIR qrels TSV file: an optional header "query-id\tcorpus-id\tscore" on the
// first line, then one judgement a line as three tab-separated columns, query id, document id and an
// integer relevance score. Blank lines are ignored; anything else that does not fit is a *ParseError.
func ReadBEIRQrels(r io.Reader, name string, fn func(Judgement) error) error {
	return readBEIRQrels(r, name, func(j Judgement, _ int) error { return fn(j) })
}

func readBEIRQrels(r io.Reader, name string, fn func(Judgement, int) error) error {
	s := newLineScanner(r, name)
	first := true
	for s.Scan() {
		line := s.Bytes()
		if isBlankTSV(line) {
			continue
		}
		cols := strings.Split(string(line), "\t")
		if len(cols) != 3 {
			return s.Errorf("want 3 tab-separated columns (query-id, corpus-id, score), got %d", len(cols))
		}
		if first {
			first = false
			if slices.Equal(cols, beirQrelsHeader) {
				continue
			}
		}
		qid, did := strings.TrimSpace(cols[0]), strings.TrimSpace(cols[1])
		if qid == "" || did == "" {
			return s.Errorf("empty query or corpus id")
		}
		score, err := strconv.Atoi(strings.TrimSpace(cols[2]))
		if err != nil {
			return s.Errorf("score %q is not an integer", cols[2])
		}
		if err := fn(Judgement{QueryID: qid, DocID: did, Relevance: score}, s.Line()); err != nil {
			return err
		}
	}
	return s.Err()
}

// LoadBEIRCorpus reads a whole BEIR corpus.jsonl (or .jsonl.gz). Duplicate ids are an error.
func LoadBEIRCorpus(path string) ([]Document, error) {
	var docs []Document
	err := ReadFile(path, func(r io.Reader, name string) error {
		seen := idSet{name: name, what: "document"}
		return readBEIRCorpus(r, name, func(d Document, line int) error {
			if err := seen.add(d.ID, line); err != nil {
				return err
			}
			docs = append(docs, d)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return docs, nil
}

// LoadBEIRQueries reads a whole BEIR queries.jsonl (or .jsonl.gz). Duplicate ids are an error.
func LoadBEIRQueries(path string) ([]Query, error) {
	var qs []Query
	err := ReadFile(path, func(r io.Reader, name string) error {
		seen := idSet{name: name, what: "query"}
		return readBEIRQueries(r, name, func(q Query, line int) error {
			if err := seen.add(q.ID, line); err != nil {
				return err
			}
			qs = append(qs, q)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return qs, nil
}

// LoadBEIRQrels reads a whole BEIR qrels TSV file. The same (query, document) pair judged twice with
// different scores is an error.
func LoadBEIRQrels(path string) (Qrels, error) {
	b := newQrelsBuilder()
	err := ReadFile(path, func(r io.Reader, name string) error {
		return readBEIRQrels(r, name, b.adder(name))
	})
	if err != nil {
		return nil, err
	}
	return b.qrels, nil
}

// LoadBEIR reads a BEIR dataset directory: corpus.jsonl, queries.jsonl and qrels/<split>.tsv (each may
// also be gzip-compressed with a ".gz" suffix). split defaults to "test". The collection's Queries are the
// queries judged in that split, in queries.jsonl order; when split is not "train" and qrels/train.tsv
// exists, the queries judged there become TrainQueries and TrainQrels (minus any query that the evaluation
// split also judges, so that the two never overlap). A query judged in a qrels file but missing from
// queries.jsonl is an error.
func LoadBEIR(dir, split string) (*Collection, error) {
	if split == "" {
		split = "test"
	}
	corpusPath, err := firstExisting(dir, "corpus.jsonl", "corpus.jsonl.gz")
	if err != nil {
		return nil, err
	}
	queriesPath, err := firstExisting(dir, "queries.jsonl", "queries.jsonl.gz")
	if err != nil {
		return nil, err
	}
	qrelsPath, err := firstExisting(filepath.Join(dir, "qrels"), split+".tsv", split+".tsv.gz")
	if err != nil {
		return nil, fmt.Errorf("datasets: BEIR split %q: %w", split, err)
	}
	docs, err := LoadBEIRCorpus(corpusPath)
	if err != nil {
		return nil, err
	}
	queries, err := LoadBEIRQueries(queriesPath)
	if err != nil {
		return nil, err
	}
	qrels, err := LoadBEIRQrels(qrelsPath)
	if err != nil {
		return nil, err
	}
	name := collectionName(dir)
	if split != "test" {
		name += ":" + split
	}
	c := &Collection{Name: name, Docs: docs, Qrels: qrels}
	if c.Queries, err = judgedQueries(queries, qrels, qrelsPath); err != nil {
		return nil, err
	}
	if split != "train" {
		if trainPath, err := firstExisting(filepath.Join(dir, "qrels"), "train.tsv", "train.tsv.gz"); err == nil {
			train, err := LoadBEIRQrels(trainPath)
			if err != nil {
				return nil, err
			}
			for qid := range train {
				if _, inEval := qrels[qid]; inEval {
					delete(train, qid)
				}
			}
			if c.TrainQueries, err = judgedQueries(queries, train, trainPath); err != nil {
				return nil, err
			}
			c.TrainQrels = train
		}
	}
	return c, nil
}

// judgedQueries returns the queries that qrels judges, in the order of queries, and fails when qrels
// judges a query that queries lacks.
func judgedQueries(queries []Query, qrels Qrels, qrelsPath string) ([]Query, error) {
	var out []Query
	have := make(map[string]struct{}, len(queries))
	for _, q := range queries {
		have[q.ID] = struct{}{}
		if _, ok := qrels[q.ID]; ok {
			out = append(out, q)
		}
	}
	var missing []string
	for qid := range qrels {
		if _, ok := have[qid]; !ok {
			missing = append(missing, qid)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		if len(missing) > 5 {
			missing = append(missing[:5], "...")
		}
		return nil, fmt.Errorf("%s: judges %d queries missing from the queries file: %s", qrelsPath, len(missing), strings.Join(missing, ", "))
	}
	return out, nil
}

// WriteBEIRCorpus writes docs as a BEIR corpus.jsonl ({"_id", "title", "text"}), atomically.
func WriteBEIRCorpus(path string, docs []Document) error {
	return WriteFileAtomic(path, func(w io.Writer) error { return encodeBEIRCorpus(w, docs) })
}

func encodeBEIRCorpus(w io.Writer, docs []Document) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i, d := range docs {
		if d.ID == "" {
			return fmt.Errorf("datasets: document %d has an empty id", i)
		}
		if err := enc.Encode(struct {
			ID    string `json:"_id"`
			Title string `json:"title"`
			Text  string `json:"text"`
		}{d.ID, d.Title, d.Text}); err != nil {
			return err
		}
	}
	return nil
}

// WriteBEIRQueries writes queries as a BEIR queries.jsonl ({"_id", "text"}), atomically.
func WriteBEIRQueries(path string, queries []Query) error {
	return WriteFileAtomic(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for i, q := range queries {
			if q.ID == "" {
				return fmt.Errorf("datasets: query %d has an empty id", i)
			}
			if err := enc.Encode(struct {
				ID   string `json:"_id"`
				Text string `json:"text"`
			}{q.ID, q.Text}); err != nil {
				return err
			}
		}
		return nil
	})
}

// WriteBEIRQrels writes qrels as a BEIR qrels TSV file with its header, sorted by query then document
// id, atomically. Empty ids, ids holding tabs or line feeds, and ids with leading or trailing white space
// (which the reader trims) are errors.
func WriteBEIRQrels(path string, qrels Qrels) error {
	return WriteFileAtomic(path, func(w io.Writer) error { return encodeBEIRQrels(w, qrels) })
}

func encodeBEIRQrels(w io.Writer, qrels Qrels) error {
	if _, err := io.WriteString(w, strings.Join(beirQrelsHeader, "\t")+"\n"); err != nil {
		return err
	}
	return qrels.each(func(qid, did string, rel int) error {
		for _, id := range [...]string{qid, did} {
			if id == "" || strings.ContainsAny(id, "\t\n") || strings.TrimSpace(id) != id {
				return fmt.Errorf("datasets: qrels id %q is empty, holds a tab or line feed, or starts or ends with white space", id)
			}
		}
		_, err := fmt.Fprintf(w, "%s\t%s\t%d\n", qid, did, rel)
		return err
	})
}

// firstExisting returns the first of names that exists in dir.
func firstExisting(dir string, names ...string) (string, error) {
	for _, n := range names {
		p := filepath.Join(dir, n)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("datasets: none of %s found in %s", strings.Join(names, ", "), dir)
}

// jsonID is an identifier that JSON files write as a string or as an integer.
type jsonID string

// UnmarshalJSON accepts a JSON string or an integer number.
func (id *jsonID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*id = jsonID(s)
		return nil
	}
	if _, err := strconv.ParseInt(string(b), 10, 64); err != nil {
		return fmt.Errorf("id %s is neither a string nor an integer", b)
	}
	*id = jsonID(b)
	return nil
}
