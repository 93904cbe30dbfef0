package datasets

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MS MARCO passage ranking (Bajaj et al., 2016) ships tab-separated files:
//
//	collection.tsv            pid \t passage text              (8,841,823 lines, about 3 GB)
//	queries.{train,dev,eval}.tsv, queries.dev.small.tsv        qid \t query text
//	qrels.{train,dev}.tsv, qrels.dev.small.tsv                 qid \t 0 \t pid \t 1   (TREC qrels)
//	qidpidtriples.train.full.2.tsv                             qid \t pid+ \t pid-
//	triples.train.small.tsv                                    query \t positive text \t negative text

// ReadMSMARCOCollection streams an MS MARCO collection.tsv, calling fn for each passage in file order.
// Every line must hold exactly two tab-separated columns, a non-empty passage id without spaces and the
// passage text (which may be empty); the documents have no Title. Blank lines are ignored; anything else
// that does not fit is a *ParseError naming name and the line. Only one line is held in memory at a
// time, so the 3 GB collection streams in a few MB.
func ReadMSMARCOCollection(r io.Reader, name string, fn func(Document) error) error {
	return readIDTextTSV(r, name, "passage", func(id, text string, _ int) error {
		return fn(Document{ID: id, Text: text})
	})
}

// ReadMSMARCOQueries streams an MS MARCO queries.*.tsv file ("qid \t text"), calling fn for each query in
// file order. Errors are reported as by ReadMSMARCOCollection.
func ReadMSMARCOQueries(r io.Reader, name string, fn func(Query) error) error {
	return readIDTextTSV(r, name, "query", func(id, text string, _ int) error {
		return fn(Query{ID: id, Text: text})
	})
}

// readIDTextTSV reads "id \t text" lines.
func readIDTextTSV(r io.Reader, name, what string, fn func(id, text string, line int) error) error {
	s := newLineScanner(r, name)
	for s.Scan() {
		line := s.Bytes()
		if isBlankTSV(line) {
			continue
		}
		id, text, ok := bytes.Cut(line, []byte{'\t'})
		if !ok {
			return s.Errorf("want 2 tab-separated columns (%s id, text), found no tab", what)
		}
		if bytes.IndexByte(text, '\t') >= 0 {
			return s.Errorf("want 2 tab-separated columns (%s id, text), got %d", what, bytes.Count(line, []byte{'\t'})+1)
		}
		sid := string(bytes.TrimSpace(id))
		if sid == "" {
			return s.Errorf("empty %s id", what)
		}
		if !validID(sid) {
			return s.Errorf("%s id %q holds white space", what, sid)
		}
		if err := fn(sid, string(text), s.Line()); err != nil {
			return err
		}
	}
	return s.Err()
}

// LoadMSMARCOCollection reads a whole MS MARCO collection.tsv (gzip-compressed when it ends in ".gz").
// Duplicate passage ids are an error.
func LoadMSMARCOCollection(path string) ([]Document, error) {
	var docs []Document
	err := ReadFile(path, func(r io.Reader, name string) error {
		seen := idSet{name: name, what: "passage"}
		return readIDTextTSV(r, name, "passage", func(id, text string, line int) error {
			if err := seen.add(id, line); err != nil {
				return err
			}
			docs = append(docs, Document{ID: id, Text: text})
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return docs, nil
}

// LoadMSMARCOQueries reads a whole MS MARCO queries file. Duplicate query ids are an error.
func LoadMSMARCOQueries(path string) ([]Query, error) {
	var qs []Query
	err := ReadFile(path, func(r io.Reader, name string) error {
		seen := idSet{name: name, what: "query"}
		return readIDTextTSV(r, name, "query", func(id, text string, line int) error {
			if err := seen.add(id, line); err != nil {
				return err
			}
			qs = append(qs, Query{ID: id, Text: text})
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return qs, nil
}

// WriteMSMARCOCollection writes docs as an MS MARCO collection.tsv ("pid \t text"), atomically. The
// format has no title column: a non-empty Title is written in front of the text, separated by a space.
// Ids that are empty or hold whitespace, and texts holding tabs or line breaks, are errors (the format
// has no escapes).
func WriteMSMARCOCollection(path string, docs []Document) error {
	return WriteFileAtomic(path, func(w io.Writer) error { return encodeMSMARCOCollection(w, docs) })
}

func encodeMSMARCOCollection(w io.Writer, docs []Document) error {
	for _, d := range docs {
		text := d.Text
		if d.Title != "" {
			text = d.Title + " " + text
		}
		if err := writeIDText(w, "passage", d.ID, text); err != nil {
			return err
		}
	}
	return nil
}

// WriteMSMARCOQueries writes queries as an MS MARCO queries file ("qid \t text"), atomically, with the
// same restrictions as WriteMSMARCOCollection.
func WriteMSMARCOQueries(path string, queries []Query) error {
	return WriteFileAtomic(path, func(w io.Writer) error { return encodeMSMARCOQueries(w, queries) })
}

func encodeMSMARCOQueries(w io.Writer, queries []Query) error {
	for _, q := range queries {
		if err := writeIDText(w, "query", q.ID, q.Text); err != nil {
			return err
		}
	}
	return nil
}

func writeIDText(w io.Writer, what, id, text string) error {
	if !validID(id) || strings.TrimSpace(id) != id {
		return fmt.Errorf("datasets: %s id %q is empty or holds white space", what, id)
	}
	if err := checkTSVText(text, true); err != nil {
		return fmt.Errorf("datasets: %s %q: %w", what, id, err)
	}
	_, err := fmt.Fprintf(w, "%s\t%s\n", id, text)
	return err
}

// checkTSVText fails when text cannot be written as a column of a TSV line and read back: a tab or a
// line feed, or, in the last column, a trailing carriage return (read as part of a CRLF line end).
func checkTSVText(text string, last bool) error {
	if strings.ContainsAny(text, "\t\n") {
		return errors.New("text holds a tab or line feed, which TSV cannot represent")
	}
	if last && strings.HasSuffix(text, "\r") {
		return errors.New("text ends with a carriage return, which would read as part of the line end")
	}
	return nil
}

// TripleFormat says which kind of MS MARCO training triples a file holds.
type TripleFormat int

const (
	// TriplesAuto decides from the first line: ids when its three columns are decimal numbers (as in MS
	// MARCO), texts otherwise. Every later line must then fit the same kind.
	TriplesAuto TripleFormat = iota
	// TriplesIDs is "qid \t pid+ \t pid-", as in qidpidtriples.train.full.2.tsv.
	TriplesIDs
	// TriplesText is "query \t positive passage \t negative passage", as in triples.train.small.tsv.
	TriplesText
)

// Triple is one MS MARCO training triple. Files of ids fill the ID fields, files of texts the text ones.
type Triple struct {
	// QueryID, PosID and NegID are set for TriplesIDs.
	QueryID, PosID, NegID string
	// Query, Pos and Neg are set for TriplesText.
	Query, Pos, Neg string
}

// ReadMSMARCOTriples streams an MS MARCO triples file of the given format (see TripleFormat), calling fn
// for each triple. Every line must hold exactly three tab-separated columns; in an id file they must be
// non-empty and hold no spaces. Blank lines are ignored; anything else that does not fit is a *ParseError
// naming name and the line.
func ReadMSMARCOTriples(r io.Reader, name string, format TripleFormat, fn func(Triple) error) error {
	s := newLineScanner(r, name)
	for s.Scan() {
		line := s.Bytes()
		if isBlankTSV(line) {
			continue
		}
		cols := strings.Split(string(line), "\t")
		if len(cols) != 3 {
			return s.Errorf("want 3 tab-separated columns, got %d", len(cols))
		}
		if format == TriplesAuto {
			format = TriplesText
			if isDigits(strings.TrimSpace(cols[0])) && isDigits(strings.TrimSpace(cols[1])) && isDigits(strings.TrimSpace(cols[2])) {
				format = TriplesIDs
			}
		}
		var t Triple
		if format == TriplesIDs {
			for i := range cols {
				cols[i] = strings.TrimSpace(cols[i])
				if !validID(cols[i]) {
					return s.Errorf("want three ids (qid, positive pid, negative pid), got %q: empty or with white space", cols[i])
				}
			}
			t = Triple{QueryID: cols[0], PosID: cols[1], NegID: cols[2]}
		} else {
			t = Triple{Query: cols[0], Pos: cols[1], Neg: cols[2]}
		}
		if err := fn(t); err != nil {
			return err
		}
	}
	return s.Err()
}

// LoadMSMARCOTriples reads a whole MS MARCO triples file (see ReadMSMARCOTriples).
func LoadMSMARCOTriples(path string, format TripleFormat) ([]Triple, error) {
	return loadAll(path, func(r io.Reader, name string, fn func(Triple) error) error {
		return ReadMSMARCOTriples(r, name, format, fn)
	})
}

// WriteMSMARCOTriples writes triples atomically, as ids (TriplesIDs) or texts (TriplesText; TriplesAuto
// picks ids when the first triple has a QueryID). Empty ids, ids with white space, and texts holding tabs
// or line feeds are errors.
func WriteMSMARCOTriples(path string, triples []Triple, format TripleFormat) error {
	return WriteFileAtomic(path, func(w io.Writer) error { return encodeMSMARCOTriples(w, triples, format) })
}

func encodeMSMARCOTriples(w io.Writer, triples []Triple, format TripleFormat) error {
	if format == TriplesAuto {
		format = TriplesText
		if len(triples) > 0 && triples[0].QueryID != "" {
			format = TriplesIDs
		}
	}
	for i, t := range triples {
		cols := [3]string{t.Query, t.Pos, t.Neg}
		if format == TriplesIDs {
			cols = [3]string{t.QueryID, t.PosID, t.NegID}
			for _, c := range cols {
				if !validID(c) || strings.TrimSpace(c) != c {
					return fmt.Errorf("datasets: triple %d: id %q is empty or holds white space", i, c)
				}
			}
		} else {
			for j, c := range cols {
				if err := checkTSVText(c, j == 2); err != nil {
					return fmt.Errorf("datasets: triple %d: %w", i, err)
				}
			}
		}
		if _, err := fmt.Fprintf(w, "%s\t%s\t%s\n", cols[0], cols[1], cols[2]); err != nil {
			return err
		}
	}
	return nil
}

// LoadMSMARCO reads MS MARCO passage ranking from dir: collection.tsv, the evaluation queries and qrels
// (queries.dev.small.tsv with qrels.dev.small.tsv, or else queries.dev.tsv with qrels.dev.tsv) and, when
// present, queries.train.tsv with qrels.train.tsv as TrainQueries and TrainQrels. Each file may also be
// gzip-compressed with a ".gz" suffix. All queries of the queries files are kept, judged or not (about
// half of queries.dev.tsv is judged). The collection is held in memory: the full MS MARCO corpus needs
// several GB.
func LoadMSMARCO(dir string) (*Collection, error) {
	collPath, err := firstExisting(dir, "collection.tsv", "collection.tsv.gz")
	if err != nil {
		return nil, err
	}
	c := &Collection{Name: "msmarco-passage"}
	found := false
	for _, split := range []string{"dev.small", "dev"} {
		qp, err1 := firstExisting(dir, "queries."+split+".tsv", "queries."+split+".tsv.gz")
		rp, err2 := firstExisting(dir, "qrels."+split+".tsv", "qrels."+split+".tsv.gz")
		if err1 != nil || err2 != nil {
			continue
		}
		if c.Queries, err = LoadMSMARCOQueries(qp); err != nil {
			return nil, err
		}
		if c.Qrels, err = LoadTRECQrels(rp); err != nil {
			return nil, err
		}
		found = true
		break
	}
	if !found {
		return nil, fmt.Errorf("datasets: %s: no evaluation queries: want queries.dev.small.tsv and qrels.dev.small.tsv (or queries.dev.tsv and qrels.dev.tsv)", dir)
	}
	tq, err1 := firstExisting(dir, "queries.train.tsv", "queries.train.tsv.gz")
	tr, err2 := firstExisting(dir, "qrels.train.tsv", "qrels.train.tsv.gz")
	if err1 == nil && err2 == nil {
		if c.TrainQueries, err = LoadMSMARCOQueries(tq); err != nil {
			return nil, err
		}
		if c.TrainQrels, err = LoadTRECQrels(tr); err != nil {
			return nil, err
		}
	}
	if c.Docs, err = LoadMSMARCOCollection(collPath); err != nil {
		return nil, err
	}
	return c, nil
}
