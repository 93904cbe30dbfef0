package datasets

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// The classic test collections distributed by the Glasgow IR group and the SMART archive (Cranfield,
// CACM, CISI, MEDLINE, ADI, NPL, TIME) come in three record layouts and five kinds of relevance files.
// SMARTLayout and SMARTQrelsFormat name them; FindSMART knows which files of which collection use which.

// SMARTLayout is the record layout of a classic collection's document or query file.
type SMARTLayout int

const (
	// SMARTDotted is the SMART layout of Cranfield, CACM, CISI, MEDLINE and ADI: a record starts with a
	// line ".I <id>"; a line that starts with "." and an upper-case letter (".T", ".A", ".B", ".W",
	// ".X", ".K", ".N", ...) alone or followed by a space opens a field, which runs until the next such
	// line. Text on the marker line itself belongs to the field.
	SMARTDotted SMARTLayout = iota
	// SMARTSlashed is the layout of NPL (doc-text, query-text): a line holding the id, then the text,
	// then a line holding only "/" (possibly indented).
	SMARTSlashed
	// SMARTStarred is the layout of TIME (TIME.ALL, TIME.QUE): a record starts with a line
	// "*TEXT <id> <date> PAGE <n>" or "*FIND <id>"; the text runs until the next line that starts with
	// "*"; "*STOP" ends the file.
	SMARTStarred
)

// String returns the layout's name.
func (l SMARTLayout) String() string {
	switch l {
	case SMARTDotted:
		return "dotted (.I/.T/.W)"
	case SMARTSlashed:
		return "slashed (id, text, /)"
	case SMARTStarred:
		return "starred (*TEXT/*FIND)"
	}
	return "SMARTLayout(" + strconv.Itoa(int(l)) + ")"
}

// SMARTRecord is one record of a classic collection file, as written.
type SMARTRecord struct {
	// ID is the identifier as written after ".I", on the id line, or after "*TEXT"/"*FIND".
	ID string
	// Line is the 1-based line where the record starts.
	Line int
	// Fields maps a field letter ("T", "A", "B", "W", "X", ...) to its lines, joined by "\n", with
	// trailing spaces and leading and trailing blank lines removed; a field given twice in a record (some
	// Cranfield records repeat ".W") holds both parts in order. Slashed and starred records keep their
	// text in "W"; starred records keep the rest of their header line (date, page) in "H".
	Fields map[string]string
}

// empty reports whether the record has no field at all (CACM's query.text ends with such a record,
// ".I 0" alone). Records whose fields are present but empty (Cranfield's documents 471 and 995) are not
// empty: they are real documents without text.
func (r *SMARTRecord) empty() bool { return len(r.Fields) == 0 }

// smartBuilder accumulates the lines of one record.
type smartBuilder struct {
	rec   SMARTRecord
	lines map[string][]string
	field string
}

func (b *smartBuilder) start(id string, line int) {
	b.rec = SMARTRecord{ID: id, Line: line}
	b.lines = make(map[string][]string)
	b.field = ""
}

func (b *smartBuilder) open(field string) {
	b.field = field
	if _, ok := b.lines[field]; !ok {
		b.lines[field] = nil
	}
}

func (b *smartBuilder) add(line []byte) {
	b.lines[b.field] = append(b.lines[b.field], string(bytes.TrimRight(line, " \t")))
}

func (b *smartBuilder) finish() SMARTRecord {
	r := b.rec
	r.Fields = make(map[string]string, len(b.lines))
	for k, ls := range b.lines {
		for len(ls) > 0 && ls[0] == "" {
			ls = ls[1:]
		}
		for len(ls) > 0 && ls[len(ls)-1] == "" {
			ls = ls[:len(ls)-1]
		}
		r.Fields[k] = strings.Join(ls, "\n")
	}
	return r
}

// smartMarker recognises a dotted field marker: "." + upper-case letter, alone or followed by a space or
// tab. It returns the letter and the rest of the line.
func smartMarker(line []byte) (field string, rest []byte, ok bool) {
	if len(line) < 2 || line[0] != '.' || line[1] < 'A' || line[1] > 'Z' {
		return "", nil, false
	}
	if len(line) > 2 && line[2] != ' ' && line[2] != '\t' {
		return "", nil, false
	}
	return string(line[1:2]), bytes.TrimSpace(line[2:]), true
}

// ReadSMART streams the records of a classic collection file in the given layout, calling fn for each
// record in file order (records without any field are passed on too; the Document and Query loaders
// skip them). Malformed input is a *ParseError naming name and the line: text before the first record, text
// outside any field of a dotted record, a record id that is missing or holds spaces, text after "*STOP".
// CRLF line ends (Cranfield's) are accepted.
func ReadSMART(r io.Reader, name string, layout SMARTLayout, fn func(SMARTRecord) error) error {
	switch layout {
	case SMARTDotted:
		return readDotted(r, name, fn)
	case SMARTSlashed:
		return readSlashed(r, name, fn)
	case SMARTStarred:
		return readStarred(r, name, fn)
	}
	return fmt.Errorf("datasets: unknown SMART layout %d", int(layout))
}

func readDotted(r io.Reader, name string, fn func(SMARTRecord) error) error {
	s := newLineScanner(r, name)
	var b smartBuilder
	open := false
	for s.Scan() {
		line := s.Bytes()
		field, rest, isMarker := smartMarker(line)
		switch {
		case isMarker && field == "I":
			if open {
				if err := fn(b.finish()); err != nil {
					return err
				}
			}
			id := string(rest)
			if id == "" {
				return s.Errorf(".I without a record id")
			}
			if hasSpace(id) {
				return s.Errorf(".I %s: the record id holds white space", id)
			}
			b.start(id, s.Line())
			open = true
		case isMarker:
			if !open {
				return s.Errorf(".%s before the first .I record", field)
			}
			b.open(field)
			if len(rest) > 0 {
				b.add(rest)
			}
		case isBlank(line):
			if open && b.field != "" {
				b.add(nil)
			}
		case !open:
			return s.Errorf("text before the first .I record")
		case b.field == "":
			return s.Errorf("text after .I %s outside any field (want a marker such as .T or .W first)", b.rec.ID)
		default:
			b.add(line)
		}
	}
	if err := s.Err(); err != nil {
		return err
	}
	if open {
		return fn(b.finish())
	}
	return nil
}

func readSlashed(r io.Reader, name string, fn func(SMARTRecord) error) error {
	s := newLineScanner(r, name)
	var b smartBuilder
	open := false
	for s.Scan() {
		line := s.Bytes()
		t := bytes.TrimSpace(line)
		switch {
		case len(t) == 0:
			if open {
				b.add(nil)
			}
		case string(t) == "/":
			if !open {
				return s.Errorf("record terminator / without a record")
			}
			if err := fn(b.finish()); err != nil {
				return err
			}
			open = false
		case !open:
			if hasSpace(string(t)) {
				return s.Errorf("want a record id alone on its line, got %q", t)
			}
			b.start(string(t), s.Line())
			b.open("W")
			open = true
		default:
			b.add(line)
		}
	}
	if err := s.Err(); err != nil {
		return err
	}
	if open {
		// The last record lacks its "/": accept it rather than drop it.
		return fn(b.finish())
	}
	return nil
}

func readStarred(r io.Reader, name string, fn func(SMARTRecord) error) error {
	s := newLineScanner(r, name)
	var b smartBuilder
	open, stopped := false, false
	for s.Scan() {
		line := s.Bytes()
		if isBlank(line) {
			continue
		}
		if stopped {
			return s.Errorf("text after *STOP")
		}
		if line[0] != '*' {
			if !open {
				return s.Errorf("text before the first *TEXT or *FIND record")
			}
			b.add(line)
			continue
		}
		if open {
			if err := fn(b.finish()); err != nil {
				return err
			}
			open = false
		}
		f := strings.Fields(string(line[1:]))
		if len(f) == 0 {
			return s.Errorf("a lone * (want *TEXT <id>, *FIND <id> or *STOP)")
		}
		if f[0] == "STOP" {
			stopped = true
			continue
		}
		if len(f) < 2 {
			return s.Errorf("*%s without a record id", f[0])
		}
		b.start(f[1], s.Line())
		if len(f) > 2 {
			b.open("H")
			b.add([]byte(strings.Join(f[2:], " ")))
		}
		b.open("W")
		open = true
	}
	if err := s.Err(); err != nil {
		return err
	}
	if open {
		return fn(b.finish())
	}
	return nil
}

// SMARTQrelsFormat is the format of a classic collection's relevance file.
type SMARTQrelsFormat int

const (
	// SMARTQrelsAuto decides from the first line: 3 columns → SMARTQrelsCranfield; 4 columns whose second
	// is "0" → SMARTQrelsTREC; 2 or 4 columns otherwise → SMARTQrelsPairs.
	SMARTQrelsAuto SMARTQrelsFormat = iota
	// SMARTQrelsCranfield is cranqrel: "query doc code" with Cleverdon's relevance codes, which
	// CranfieldRelevance maps to graded relevance.
	SMARTQrelsCranfield
	// SMARTQrelsPairs is "query doc" optionally followed by two numeric columns, as in CACM's qrels.text
	// ("query doc 0 0"), CISI.REL and ADI.REL ("query doc 0 0.000000"): every pair listed is relevant
	// (relevance 1).
	SMARTQrelsPairs
	// SMARTQrelsTREC is TREC's "query 0 doc relevance", as in MED.REL.
	SMARTQrelsTREC
	// SMARTQrelsSlashed is NPL's rlv-ass: a query id line, the relevant document ids (any number a line),
	// a line "/"; relevance 1.
	SMARTQrelsSlashed
	// SMARTQrelsLists is TIME.REL: one line per query, "query doc doc ...", blank lines between;
	// relevance 1.
	SMARTQrelsLists
)

// CranfieldRelevance converts a Cranfield relevance code to graded relevance, higher is better, as
// trec_eval's nDCG and Mimicry's evaluation expect. Cleverdon's codes (cranqrel.readme) run the other
// way, 1 most relevant:
//
//	 1 "complete answer to the question"           → 4
//	 2 "high degree of relevance"                  → 3
//	 3 "useful as background"                      → 2
//	 4 "minimum interest" (historical)             → 1
//	 5 "no interest" (not in the distributed file) → 0, judged non-relevant
//	-1 (one a query in this copy; undocumented)    → 0, judged non-relevant
//
// that is 5 − code, with -1 read as Cleverdon's 5. Binary measures are unchanged by this choice:
// trec_eval counts relevance > 0 as relevant, so codes 1–4 are relevant and -1 is judged non-relevant
// whether one feeds it the raw file or the converted one, and MAP or P@k agree. Graded measures are what
// the conversion is for: with the raw codes (which some loaders pass on as they are) nDCG would value a
// "minimum interest" reference four times as much as a complete answer. Any other code is an error (ok
// is false).
func CranfieldRelevance(code int) (rel int, ok bool) {
	switch code {
	case 1, 2, 3, 4, 5:
		return 5 - code, true
	case -1:
		return 0, true
	}
	return 0, false
}

// ReadSMARTQrels streams a classic collection's relevance file in the given format, calling fn for each
// judgement. Ids are passed on as written (see CanonicalID for the normalisation LoadSMARTFiles applies).
// Blank lines are ignored; anything else that does not fit is a *ParseError naming name and the line.
func ReadSMARTQrels(r io.Reader, name string, format SMARTQrelsFormat, fn func(Judgement) error) error {
	return readSMARTQrels(r, name, format, func(j Judgement, _ int) error { return fn(j) })
}

func readSMARTQrels(r io.Reader, name string, format SMARTQrelsFormat, fn func(Judgement, int) error) error {
	switch format {
	case SMARTQrelsSlashed:
		return readSlashed(r, name, func(rec SMARTRecord) error {
			for _, did := range strings.Fields(rec.Fields["W"]) {
				if err := fn(Judgement{QueryID: rec.ID, DocID: did, Relevance: 1}, rec.Line); err != nil {
					return err
				}
			}
			return nil
		})
	case SMARTQrelsAuto, SMARTQrelsCranfield, SMARTQrelsPairs, SMARTQrelsTREC, SMARTQrelsLists:
	default:
		return fmt.Errorf("datasets: unknown SMART qrels format %d", int(format))
	}
	s := newLineScanner(r, name)
	for s.Scan() {
		line := s.Bytes()
		if isBlank(line) {
			continue
		}
		f := strings.Fields(string(line))
		if format == SMARTQrelsAuto {
			switch {
			case len(f) == 3:
				format = SMARTQrelsCranfield
			case len(f) == 4 && f[1] == "0":
				format = SMARTQrelsTREC
			case len(f) == 2 || len(f) == 4:
				format = SMARTQrelsPairs
			default:
				return s.Errorf("cannot tell the relevance file's format from %d columns (want 2, 3 or 4)", len(f))
			}
		}
		emit := func(qid, did string, rel int) error {
			return fn(Judgement{QueryID: qid, DocID: did, Relevance: rel}, s.Line())
		}
		var err error
		switch format {
		case SMARTQrelsCranfield:
			if len(f) != 3 {
				return s.Errorf("want 3 columns (query doc code), got %d", len(f))
			}
			code, perr := strconv.Atoi(f[2])
			rel, ok := CranfieldRelevance(code)
			if perr != nil || !ok {
				return s.Errorf("relevance code %q is not a Cranfield code (1-5 or -1)", f[2])
			}
			err = emit(f[0], f[1], rel)
		case SMARTQrelsPairs:
			if len(f) != 2 && len(f) != 4 {
				return s.Errorf("want 2 columns (query doc) or 4 (query doc 0 0), got %d", len(f))
			}
			for _, x := range f[2:] {
				if _, perr := strconv.ParseFloat(x, 64); perr != nil {
					return s.Errorf("column %q is not a number", x)
				}
			}
			err = emit(f[0], f[1], 1)
		case SMARTQrelsTREC:
			if len(f) != 4 {
				return s.Errorf("want 4 columns (query 0 doc relevance), got %d", len(f))
			}
			rel, perr := strconv.Atoi(f[3])
			if perr != nil {
				return s.Errorf("relevance %q is not an integer", f[3])
			}
			err = emit(f[0], f[2], rel)
		case SMARTQrelsLists:
			if len(f) < 2 {
				return s.Errorf("want a query id followed by document ids, got %d column", len(f))
			}
			for _, did := range f[1:] {
				if err = emit(f[0], did, 1); err != nil {
					break
				}
			}
		}
		if err != nil {
			return err
		}
	}
	return s.Err()
}

// CanonicalID normalises a classic collection's numeric id by dropping leading zeros ("001" → "1",
// "0046" → "46", "0" stays "0"), since the same collection writes the same id with and without them
// (CACM's qrels.text says "01" for query 1, Cranfield's cran.qry "001"). Other ids are returned as they
// are.
func CanonicalID(id string) string {
	if !isDigits(id) {
		return id
	}
	t := strings.TrimLeft(id, "0")
	if t == "" {
		return "0"
	}
	return t
}

// SMARTFiles says where a classic collection's files are and how to read them.
type SMARTFiles struct {
	// Name names the collection (e.g. "cranfield").
	Name string
	// Docs, Queries and Qrels are the paths of the document, query and relevance files.
	Docs, Queries, Qrels string
	// Layout is the record layout of Docs and Queries.
	Layout SMARTLayout
	// QrelsFormat is the format of Qrels.
	QrelsFormat SMARTQrelsFormat
	// QueryIDsByPosition numbers the queries 1, 2, 3 ... in file order instead of using the ids the
	// query file writes, because the relevance file does so (Cranfield).
	QueryIDsByPosition bool
	// DocIDsByPosition numbers the documents 1, 2, 3 ... in file order (TIME, whose TIME.REL numbers the
	// articles by position rather than by their *TEXT numbers).
	DocIDsByPosition bool
}

// knownSMART lists the classic collections FindSMART recognises, by their usual file names (matched
// without regard to case).
var knownSMART = []SMARTFiles{
	{Name: "cranfield", Docs: "cran.all.1400", Queries: "cran.qry", Qrels: "cranqrel", Layout: SMARTDotted, QrelsFormat: SMARTQrelsCranfield, QueryIDsByPosition: true},
	{Name: "cacm", Docs: "cacm.all", Queries: "query.text", Qrels: "qrels.text", Layout: SMARTDotted, QrelsFormat: SMARTQrelsPairs},
	{Name: "cisi", Docs: "CISI.ALL", Queries: "CISI.QRY", Qrels: "CISI.REL", Layout: SMARTDotted, QrelsFormat: SMARTQrelsPairs},
	{Name: "medline", Docs: "MED.ALL", Queries: "MED.QRY", Qrels: "MED.REL", Layout: SMARTDotted, QrelsFormat: SMARTQrelsTREC},
	{Name: "adi", Docs: "ADI.ALL", Queries: "ADI.QRY", Qrels: "ADI.REL", Layout: SMARTDotted, QrelsFormat: SMARTQrelsPairs},
	{Name: "npl", Docs: "doc-text", Queries: "query-text", Qrels: "rlv-ass", Layout: SMARTSlashed, QrelsFormat: SMARTQrelsSlashed},
	{Name: "time", Docs: "TIME.ALL", Queries: "TIME.QUE", Qrels: "TIME.REL", Layout: SMARTStarred, QrelsFormat: SMARTQrelsLists, DocIDsByPosition: true},
}

// KnownSMART returns the classic collections FindSMART recognises, with bare file names.
func KnownSMART() []SMARTFiles { return slices.Clone(knownSMART) }

// FindSMART looks in dir, and in its immediate subdirectories (archives often unpack into one), for the
// files of a known classic collection (see KnownSMART): Cranfield (cran.all.1400, cran.qry, cranqrel),
// CACM (cacm.all, query.text, qrels.text), CISI (CISI.ALL, CISI.QRY, CISI.REL), MEDLINE (MED.ALL,
// MED.QRY, MED.REL), ADI (ADI.ALL, ADI.QRY, ADI.REL), NPL (doc-text, query-text, rlv-ass) and TIME
// (TIME.ALL, TIME.QUE, TIME.REL), matching names without regard to case. It fails when it finds none,
// or more than one, complete collection.
func FindSMART(dir string) (SMARTFiles, error) {
	dirs := []string{dir}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return SMARTFiles{}, err
	}
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, filepath.Join(dir, e.Name()))
		}
	}
	var found []SMARTFiles
	for _, d := range dirs {
		names := make(map[string]string) // lower-case name → actual name
		ents, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range ents {
			if !e.IsDir() {
				names[strings.ToLower(e.Name())] = e.Name()
			}
		}
		for _, k := range knownSMART {
			docs, ok1 := names[strings.ToLower(k.Docs)]
			qry, ok2 := names[strings.ToLower(k.Queries)]
			rel, ok3 := names[strings.ToLower(k.Qrels)]
			if k.Name == "cranfield" && !ok1 {
				docs, ok1 = names["cran.all"]
			}
			if ok1 && ok2 && ok3 {
				f := k
				f.Docs, f.Queries, f.Qrels = filepath.Join(d, docs), filepath.Join(d, qry), filepath.Join(d, rel)
				found = append(found, f)
			}
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		var want []string
		for _, k := range knownSMART {
			want = append(want, fmt.Sprintf("%s (%s, %s, %s)", k.Name, k.Docs, k.Queries, k.Qrels))
		}
		return SMARTFiles{}, fmt.Errorf("datasets: %s: no classic test collection found; want the files of one of: %s",
			dir, strings.Join(want, "; "))
	}
	var names []string
	for _, f := range found {
		names = append(names, f.Name+" in "+filepath.Dir(f.Docs))
	}
	return SMARTFiles{}, fmt.Errorf("datasets: %s: several collections found (%s); point at one directory or use LoadSMARTFiles",
		dir, strings.Join(names, ", "))
}

// LoadSMART reads the classic test collection in dir (see FindSMART for the collections and file names
// recognised, and LoadSMARTFiles for how they are read).
func LoadSMART(dir string) (*Collection, error) {
	f, err := FindSMART(dir)
	if err != nil {
		return nil, err
	}
	return LoadSMARTFiles(f)
}

// LoadSMARTFiles reads a classic test collection.
//
// Documents get Title = the ".T" field and Text = the ".W" field (slashed and starred files: the whole
// text), each with its whitespace collapsed to single spaces; Cranfield's habit of repeating the title at
// the start of ".W" is left as it is. A query's Text is its ".T" and ".W" fields, in that order. A record
// without any field (the lone ".I 0" that ends CACM's query.text) is skipped; records whose fields are
// empty (Cranfield's documents 471 and 995) are kept as documents without text.
//
// Ids: numeric ids lose their leading zeros everywhere (CanonicalID), so that CACM's qrels "01 1410"
// refers to query "1". With QueryIDsByPosition (Cranfield) the queries are numbered 1..n in file order:
// cran.qry's ".I" numbers run 001, 002, 004, 008, ... 365, but cranqrel numbers the 225 queries 1..225,
// so the query written ".I 004" is query "3". With DocIDsByPosition (TIME) the documents are numbered
// likewise.
//
// Relevance: Cranfield's codes are converted by CranfieldRelevance (1→4, 2→3, 3→2, 4→1, 5 and -1→0);
// the other collections list relevant pairs only (relevance 1), except MEDLINE, whose MED.REL carries
// TREC relevance values. Queries without judgements (12 of CACM's 64) are kept in Queries.
//
// Duplicate document or query ids, conflicting judgements, and judgements that name a query or document
// the collection lacks are errors naming the file and line.
func LoadSMARTFiles(f SMARTFiles) (*Collection, error) {
	c := &Collection{Name: f.Name, Qrels: Qrels{}}
	if c.Name == "" {
		c.Name = collectionName(filepath.Dir(f.Docs))
	}
	docIDs := make(map[string]int)
	err := ReadFile(f.Docs, func(r io.Reader, name string) error {
		return ReadSMART(r, name, f.Layout, func(rec SMARTRecord) error {
			if rec.empty() {
				return nil
			}
			id := CanonicalID(rec.ID)
			if f.DocIDsByPosition {
				id = strconv.Itoa(len(c.Docs) + 1)
			}
			if prev, dup := docIDs[id]; dup {
				return newParseError(name, rec.Line, "duplicate document id %q (first at line %d)", id, prev)
			}
			docIDs[id] = rec.Line
			c.Docs = append(c.Docs, Document{ID: id, Title: collapseSpace(rec.Fields["T"]), Text: collapseSpace(rec.Fields["W"])})
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	queryIDs := make(map[string]int)
	err = ReadFile(f.Queries, func(r io.Reader, name string) error {
		return ReadSMART(r, name, f.Layout, func(rec SMARTRecord) error {
			if rec.empty() {
				return nil
			}
			id := CanonicalID(rec.ID)
			if f.QueryIDsByPosition {
				id = strconv.Itoa(len(c.Queries) + 1)
			}
			if prev, dup := queryIDs[id]; dup {
				return newParseError(name, rec.Line, "duplicate query id %q (first at line %d)", id, prev)
			}
			queryIDs[id] = rec.Line
			text := collapseSpace(rec.Fields["T"] + "\n" + rec.Fields["W"])
			c.Queries = append(c.Queries, Query{ID: id, Text: text})
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	b := &qrelsBuilder{qrels: c.Qrels}
	err = ReadFile(f.Qrels, func(r io.Reader, name string) error {
		add := b.adder(name)
		return readSMARTQrels(r, name, f.QrelsFormat, func(j Judgement, line int) error {
			j.QueryID, j.DocID = CanonicalID(j.QueryID), CanonicalID(j.DocID)
			if _, ok := queryIDs[j.QueryID]; !ok {
				return newParseError(name, line, "judges query %q, which %s lacks", j.QueryID, filepath.Base(f.Queries))
			}
			if _, ok := docIDs[j.DocID]; !ok {
				return newParseError(name, line, "judges document %q, which %s lacks", j.DocID, filepath.Base(f.Docs))
			}
			return add(j, line)
		})
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// collapseSpace trims s and replaces every run of white space in it by one space.
func collapseSpace(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// WriteSMARTDocs writes docs as a dotted SMART file (".I id", ".T" title when not empty, ".W" text),
// atomically. A text line that would read as a field marker is written with a leading space, which the
// readers' whitespace collapsing removes again. Ids that are empty or hold whitespace are errors.
func WriteSMARTDocs(path string, docs []Document) error {
	return WriteFileAtomic(path, func(w io.Writer) error { return encodeSMARTDocs(w, docs) })
}

func encodeSMARTDocs(w io.Writer, docs []Document) error {
	for _, d := range docs {
		if err := writeSMARTRecord(w, d.ID, d.Title, d.Text); err != nil {
			return err
		}
	}
	return nil
}

// WriteSMARTQueries writes queries as a dotted SMART file (".I id", ".W" text), atomically, as
// WriteSMARTDocs does.
func WriteSMARTQueries(path string, queries []Query) error {
	return WriteFileAtomic(path, func(w io.Writer) error {
		for _, q := range queries {
			if err := writeSMARTRecord(w, q.ID, "", q.Text); err != nil {
				return err
			}
		}
		return nil
	})
}

func writeSMARTRecord(w io.Writer, id, title, text string) error {
	if id == "" || hasSpace(id) {
		return fmt.Errorf("datasets: SMART record id %q is empty or holds white space", id)
	}
	var sb strings.Builder
	sb.WriteString(".I " + id + "\n")
	field := func(marker, v string) {
		sb.WriteString(marker + "\n")
		for l := range strings.Lines(v) {
			l = strings.TrimRight(l, "\r\n")
			if _, _, isMarker := smartMarker([]byte(l)); isMarker {
				sb.WriteByte(' ')
			}
			sb.WriteString(l + "\n")
		}
	}
	if title != "" {
		field(".T", title)
	}
	field(".W", text)
	_, err := io.WriteString(w, sb.String())
	return err
}

// errNotSMART is returned by smartFilesFromSpec for a malformed explicit list.
var errNotSMART = errors.New("want smart:<dir> or smart:<docs>,<queries>,<qrels>")

// smartFilesFromSpec interprets the argument of a "smart:" spec: a directory, or three comma-separated
// files (documents, queries, relevance) read as a dotted collection whose relevance format is detected,
// unless the document file's name is a known one.
func smartFilesFromSpec(arg string) (SMARTFiles, error) {
	parts := strings.Split(arg, ",")
	if len(parts) == 1 {
		return FindSMART(arg)
	}
	if len(parts) != 3 || slices.Contains(parts, "") {
		return SMARTFiles{}, errNotSMART
	}
	f := SMARTFiles{Docs: parts[0], Queries: parts[1], Qrels: parts[2], Layout: SMARTDotted, QrelsFormat: SMARTQrelsAuto}
	for _, k := range knownSMART {
		if strings.EqualFold(filepath.Base(parts[0]), k.Docs) {
			f.Name, f.Layout, f.QrelsFormat = k.Name, k.Layout, k.QrelsFormat
			f.QueryIDsByPosition, f.DocIDsByPosition = k.QueryIDsByPosition, k.DocIDsByPosition
		}
	}
	for _, p := range parts {
		if _, err := os.Stat(p); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return SMARTFiles{}, fmt.Errorf("datasets: %s: no such file", p)
			}
			return SMARTFiles{}, err
		}
	}
	return f, nil
}
