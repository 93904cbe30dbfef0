package datasets

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Teacher-score files of other knowledge-distillation toolkits, and converters between them and
// Mimicry's answer key (answerkey.go):
//
//   - Hofstätter et al. (2020), "Improving Efficient Neural Ranking Models with Cross-Architecture
//     Knowledge Distillation": a TSV "pos_score \t neg_score \t qid \t pid_pos \t pid_neg" (MarginTriple);
//   - PyLate's knowledge-distillation JSONL: {"query_id": ..., "document_ids": [...], "scores": [...]}
//     (KDExample);
//   - sentence-transformers' msmarco-hard-negatives.jsonl: {"qid": ..., "pos": [...],
//     "neg": {"bm25": [...], ...}} (HardNegatives).

// MarginTriple is one line of a Margin-MSE teacher-score file.
type MarginTriple struct {
	// QueryID, PosID and NegID name the query, its positive and its negative passage.
	QueryID, PosID, NegID string
	// PosScore and NegScore are the teacher's scores of (query, positive) and (query, negative).
	PosScore, NegScore float64
}

// ReadMarginMSETSV streams a Margin-MSE teacher-score file (Hofstätter et al.'s
// bert_cat_ensemble_msmarcopassage_train_scores_ids.tsv layout): five tab-separated columns
// "pos_score \t neg_score \t qid \t pid_pos \t pid_neg". Scores must be finite numbers, ids non-empty and
// without spaces. Blank lines are ignored; anything else that does not fit is a *ParseError naming name
// and the line.
func ReadMarginMSETSV(r io.Reader, name string, fn func(MarginTriple) error) error {
	s := newLineScanner(r, name)
	for s.Scan() {
		line := s.Bytes()
		if isBlankTSV(line) {
			continue
		}
		cols := strings.Split(string(line), "\t")
		if len(cols) != 5 {
			return s.Errorf("want 5 tab-separated columns (pos_score neg_score qid pid_pos pid_neg), got %d", len(cols))
		}
		pos, err := parseScore(strings.TrimSpace(cols[0]))
		if err != nil {
			return s.Errorf("pos_score: %v", err)
		}
		neg, err := parseScore(strings.TrimSpace(cols[1]))
		if err != nil {
			return s.Errorf("neg_score: %v", err)
		}
		for i := 2; i < 5; i++ {
			cols[i] = strings.TrimSpace(cols[i])
			if !validID(cols[i]) {
				return s.Errorf("%s %q is empty or holds white space", [...]string{"qid", "pid_pos", "pid_neg"}[i-2], cols[i])
			}
		}
		if err := fn(MarginTriple{QueryID: cols[2], PosID: cols[3], NegID: cols[4], PosScore: pos, NegScore: neg}); err != nil {
			return err
		}
	}
	return s.Err()
}

// LoadMarginMSETSV reads a whole Margin-MSE teacher-score file (gzip-compressed when it ends in ".gz").
func LoadMarginMSETSV(path string) ([]MarginTriple, error) {
	return loadAll(path, ReadMarginMSETSV)
}

// WriteMarginMSETSV writes triples as a Margin-MSE teacher-score TSV file, atomically. Scores are written
// with the shortest representation that reads back exactly; empty ids, ids with whitespace and
// non-finite scores are errors.
func WriteMarginMSETSV(path string, triples []MarginTriple) error {
	return WriteFileAtomic(path, func(w io.Writer) error { return encodeMarginMSETSV(w, triples) })
}

func encodeMarginMSETSV(w io.Writer, triples []MarginTriple) error {
	var b []byte
	for i, t := range triples {
		for _, id := range [...]string{t.QueryID, t.PosID, t.NegID} {
			if !validID(id) || strings.TrimSpace(id) != id {
				return fmt.Errorf("datasets: triple %d: id %q is empty or holds white space", i, id)
			}
		}
		if !finite(t.PosScore) || !finite(t.NegScore) {
			return fmt.Errorf("datasets: triple %d (query %q): score not finite", i, t.QueryID)
		}
		b = strconv.AppendFloat(b[:0], t.PosScore, 'g', -1, 64)
		b = append(b, '\t')
		b = strconv.AppendFloat(b, t.NegScore, 'g', -1, 64)
		b = append(b, '\t')
		b = append(b, t.QueryID...)
		b = append(b, '\t')
		b = append(b, t.PosID...)
		b = append(b, '\t')
		b = append(b, t.NegID...)
		b = append(b, '\n')
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// KDExample is one line of a PyLate knowledge-distillation file: a query, the documents scored for it
// and the teacher's scores, in the same order.
type KDExample struct {
	// QueryID names the query.
	QueryID string
	// DocIDs name the scored documents.
	DocIDs []string
	// Scores are the teacher's scores, Scores[i] for DocIDs[i]; always finite.
	Scores []float64
}

// pyLateLine is the JSON form of a KDExample: ids may be strings or integers, and the lists may be
// JSON arrays or, as in some Hugging Face exports that PyLate reads with ast.literal_eval, strings
// holding a Python list literal.
type pyLateLine struct {
	QueryID     *jsonID         `json:"query_id"`
	DocumentIDs json.RawMessage `json:"document_ids"`
	Scores      json.RawMessage `json:"scores"`
}

// ReadPyLateKD streams a PyLate knowledge-distillation JSONL file, calling fn for each example. Every line
// must be a JSON object with "query_id" (string or integer), "document_ids" (array of strings or integers)
// and "scores" (array of finite numbers) of the same, non-zero length; the two lists may also be given as
// strings holding Python list literals ("['12', '7']", "[0.5, 0.25]"), which PyLate accepts. Other members
// are ignored, blank lines too. Anything else is a *ParseError naming name and the line.
func ReadPyLateKD(r io.Reader, name string, fn func(KDExample) error) error {
	s := newLineScanner(r, name)
	for s.Scan() {
		line := s.Bytes()
		if isBlank(line) {
			continue
		}
		var l pyLateLine
		if err := decodeJSONLine(s, line, &l); err != nil {
			return err
		}
		if l.QueryID == nil || *l.QueryID == "" {
			return s.Errorf(`missing or empty "query_id"`)
		}
		ids, err := decodeIDList(l.DocumentIDs)
		if err != nil {
			return s.Errorf(`"document_ids": %v`, err)
		}
		scores, err := decodeScoreList(l.Scores)
		if err != nil {
			return s.Errorf(`"scores": %v`, err)
		}
		if len(ids) == 0 {
			return s.Errorf(`query %q: empty "document_ids"`, string(*l.QueryID))
		}
		if len(ids) != len(scores) {
			return s.Errorf(`query %q: %d document_ids but %d scores`, string(*l.QueryID), len(ids), len(scores))
		}
		if err := fn(KDExample{QueryID: string(*l.QueryID), DocIDs: ids, Scores: scores}); err != nil {
			return err
		}
	}
	return s.Err()
}

// decodeIDList decodes a JSON array of string or integer ids, or a string holding a Python list of them.
func decodeIDList(raw json.RawMessage) ([]string, error) {
	if raw == nil || string(raw) == "null" {
		return nil, errors.New("missing")
	}
	if s, isStr, err := rawString(raw); isStr {
		if err != nil {
			return nil, err
		}
		items, err := parsePyList(s)
		if err != nil {
			return nil, err
		}
		out := make([]string, len(items))
		for i, it := range items {
			if !it.quoted {
				if _, err := strconv.ParseInt(it.text, 10, 64); err != nil {
					return nil, fmt.Errorf("item %d: %s is neither a string nor an integer", i, it.text)
				}
			}
			if it.text == "" {
				return nil, fmt.Errorf("item %d: empty id", i)
			}
			out[i] = it.text
		}
		return out, nil
	}
	var ids []jsonID
	if err := json.Unmarshal(raw, &ids); err != nil {
		return nil, err
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		if id == "" {
			return nil, fmt.Errorf("item %d: empty id", i)
		}
		out[i] = string(id)
	}
	return out, nil
}

// decodeScoreList decodes a JSON array of finite numbers, or a string holding a Python list of them.
func decodeScoreList(raw json.RawMessage) ([]float64, error) {
	if raw == nil || string(raw) == "null" {
		return nil, errors.New("missing")
	}
	var out []float64
	if s, isStr, err := rawString(raw); isStr {
		if err != nil {
			return nil, err
		}
		items, err := parsePyList(s)
		if err != nil {
			return nil, err
		}
		for i, it := range items {
			if it.quoted {
				return nil, fmt.Errorf("item %d: %q is a string, not a number", i, it.text)
			}
			v, err := parseScore(it.text)
			if err != nil {
				return nil, fmt.Errorf("item %d: %v", i, err)
			}
			out = append(out, v)
		}
		return out, nil
	}
	var ptrs []*float64
	if err := json.Unmarshal(raw, &ptrs); err != nil {
		return nil, err
	}
	for i, v := range ptrs {
		if v == nil {
			return nil, fmt.Errorf("item %d is null", i)
		}
		out = append(out, *v)
	}
	return out, nil
}

// rawString reports whether raw is a JSON string and, if so, decodes it.
func rawString(raw json.RawMessage) (s string, isString bool, err error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '"' {
		return "", false, nil
	}
	err = json.Unmarshal(raw, &s)
	return s, true, err
}

// pyItem is one element of a Python list literal.
type pyItem struct {
	text   string
	quoted bool
}

// parsePyList parses the Python list literals PyLate's datasets store as strings: "[" items "]" where an
// item is a quoted string ('...' or "...", with backslash escapes) or a bare number.
func parsePyList(s string) ([]pyItem, error) {
	s = strings.TrimSpace(s)
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
		return nil, errors.New("string is not a list literal [...]")
	}
	body := s[1 : len(s)-1]
	var items []pyItem
	i := 0
	skip := func() {
		for i < len(body) && (body[i] == ' ' || body[i] == '\t' || body[i] == '\n' || body[i] == '\r') {
			i++
		}
	}
	for {
		skip()
		if i == len(body) {
			return items, nil // "[]"
		}
		var it pyItem
		if q := body[i]; q == '\'' || q == '"' {
			i++
			var sb strings.Builder
			closed := false
			for i < len(body) {
				c := body[i]
				if c == '\\' && i+1 < len(body) {
					i++
					switch e := body[i]; e {
					case 'n':
						sb.WriteByte('\n')
					case 't':
						sb.WriteByte('\t')
					case 'r':
						sb.WriteByte('\r')
					default:
						sb.WriteByte(e)
					}
					i++
					continue
				}
				if c == q {
					closed = true
					i++
					break
				}
				sb.WriteByte(c)
				i++
			}
			if !closed {
				return nil, errors.New("unterminated string in list literal")
			}
			it = pyItem{text: sb.String(), quoted: true}
		} else {
			j := i
			for j < len(body) && body[j] != ',' && body[j] != ' ' && body[j] != '\t' {
				j++
			}
			if j == i {
				return nil, fmt.Errorf("empty item at offset %d of list literal", i+1)
			}
			it = pyItem{text: body[i:j]}
			i = j
		}
		if !utf8.ValidString(it.text) {
			return nil, errors.New("list literal holds invalid UTF-8")
		}
		items = append(items, it)
		skip()
		if i == len(body) {
			return items, nil
		}
		if body[i] != ',' {
			return nil, fmt.Errorf("want ',' at offset %d of list literal, got %q", i+1, body[i])
		}
		i++
		skip()
		if i == len(body) {
			return items, nil // a trailing comma, as Python allows
		}
	}
}

// LoadPyLateKD reads a whole PyLate knowledge-distillation file (gzip-compressed when it ends in ".gz").
func LoadPyLateKD(path string) ([]KDExample, error) {
	return loadAll(path, ReadPyLateKD)
}

// WritePyLateKD writes examples as a PyLate knowledge-distillation JSONL file, atomically. Ids are written
// as JSON integers when every query id (respectively every document id) of the file is a plain decimal
// integer, as in the MS MARCO datasets PyLate's examples use, and as strings otherwise, so that each
// column has one type. Empty ids, lists of different lengths, empty lists and non-finite scores are errors.
func WritePyLateKD(path string, examples []KDExample) error {
	return WriteFileAtomic(path, func(w io.Writer) error { return encodePyLateKD(w, examples) })
}

func encodePyLateKD(w io.Writer, examples []KDExample) error {
	qNum, dNum := true, true
	for i, e := range examples {
		if len(e.DocIDs) == 0 || len(e.DocIDs) != len(e.Scores) {
			return fmt.Errorf("datasets: KD example %d (query %q): %d document ids, %d scores", i, e.QueryID, len(e.DocIDs), len(e.Scores))
		}
		qNum = qNum && isJSONInt(e.QueryID)
		for _, d := range e.DocIDs {
			dNum = dNum && isJSONInt(d)
		}
	}
	var b []byte
	for i, e := range examples {
		if e.QueryID == "" {
			return fmt.Errorf("datasets: KD example %d: empty query id", i)
		}
		b = append(b[:0], `{"query_id":`...)
		b = appendID(b, e.QueryID, qNum)
		b = append(b, `,"document_ids":[`...)
		for j, d := range e.DocIDs {
			if d == "" {
				return fmt.Errorf("datasets: KD example %d (query %q): empty document id", i, e.QueryID)
			}
			if j > 0 {
				b = append(b, ',')
			}
			b = appendID(b, d, dNum)
		}
		b = append(b, `],"scores":[`...)
		for j, v := range e.Scores {
			if !finite(v) {
				return fmt.Errorf("datasets: KD example %d (query %q): score %v is not finite", i, e.QueryID, v)
			}
			if j > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendFloat(b, v, 'g', -1, 64)
		}
		b = append(b, "]}\n"...)
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// HardNegatives is one line of a sentence-transformers hard-negatives file: a query, its positive
// passages and, per retrieval system, the negatives that system mined.
type HardNegatives struct {
	// QueryID names the query.
	QueryID string
	// Pos are the positive passages.
	Pos []string
	// Neg maps a system name ("bm25", "msmarco-distilbert-base-tas-b", ...) to its mined negatives, in
	// rank order.
	Neg map[string][]string
}

type hardNegLine struct {
	QID *jsonID              `json:"qid"`
	Pos *[]jsonID            `json:"pos"`
	Neg *map[string][]jsonID `json:"neg"`
}

// ReadHardNegatives streams a sentence-transformers hard-negatives JSONL file (msmarco-hard-negatives.jsonl),
// calling fn for each query. Every line must be a JSON object with "qid" (string or integer), "pos" (an
// array of ids) and "neg" (an object mapping system names to arrays of ids; ids are strings or integers,
// never empty). Blank lines are ignored; anything else is a *ParseError naming name and the line.
func ReadHardNegatives(r io.Reader, name string, fn func(HardNegatives) error) error {
	s := newLineScanner(r, name)
	for s.Scan() {
		line := s.Bytes()
		if isBlank(line) {
			continue
		}
		var l hardNegLine
		if err := decodeJSONLine(s, line, &l); err != nil {
			return err
		}
		switch {
		case l.QID == nil || *l.QID == "":
			return s.Errorf(`missing or empty "qid"`)
		case l.Pos == nil:
			return s.Errorf(`query %q: missing "pos"`, string(*l.QID))
		case l.Neg == nil:
			return s.Errorf(`query %q: missing "neg"`, string(*l.QID))
		}
		h := HardNegatives{QueryID: string(*l.QID), Pos: make([]string, len(*l.Pos)), Neg: make(map[string][]string, len(*l.Neg))}
		for i, p := range *l.Pos {
			if p == "" {
				return s.Errorf(`query %q: empty id in "pos"`, h.QueryID)
			}
			h.Pos[i] = string(p)
		}
		for sys, ids := range *l.Neg {
			out := make([]string, len(ids))
			for i, id := range ids {
				if id == "" {
					return s.Errorf(`query %q: empty id in "neg"[%q]`, h.QueryID, sys)
				}
				out[i] = string(id)
			}
			h.Neg[sys] = out
		}
		if err := fn(h); err != nil {
			return err
		}
	}
	return s.Err()
}

// LoadHardNegatives reads a whole hard-negatives file (msmarco-hard-negatives.jsonl.gz is read through
// gzip).
func LoadHardNegatives(path string) ([]HardNegatives, error) {
	return loadAll(path, ReadHardNegatives)
}

// WriteHardNegatives writes hs as a sentence-transformers hard-negatives JSONL file, atomically, systems
// in name order. As in the original file, ids are written as JSON integers when every query id
// (respectively every passage id) of the file is a plain decimal integer, and as strings otherwise.
// Empty ids are errors.
func WriteHardNegatives(path string, hs []HardNegatives) error {
	return WriteFileAtomic(path, func(w io.Writer) error { return encodeHardNegatives(w, hs) })
}

func encodeHardNegatives(w io.Writer, hs []HardNegatives) error {
	qNum, dNum := true, true
	for _, h := range hs {
		qNum = qNum && isJSONInt(h.QueryID)
		for _, p := range h.Pos {
			dNum = dNum && isJSONInt(p)
		}
		for _, ids := range h.Neg {
			for _, id := range ids {
				dNum = dNum && isJSONInt(id)
			}
		}
	}
	var b []byte
	for i, h := range hs {
		if h.QueryID == "" {
			return fmt.Errorf("datasets: hard negatives %d: empty query id", i)
		}
		b = append(b[:0], `{"qid":`...)
		b = appendID(b, h.QueryID, qNum)
		b = append(b, `,"pos":`...)
		var err error
		if b, err = appendIDList(b, h.Pos, dNum); err != nil {
			return fmt.Errorf("datasets: hard negatives of query %q: %w", h.QueryID, err)
		}
		b = append(b, `,"neg":{`...)
		for j, sys := range sortedKeys(h.Neg) {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, sys)
			b = append(b, ':')
			if b, err = appendIDList(b, h.Neg[sys], dNum); err != nil {
				return fmt.Errorf("datasets: hard negatives of query %q, system %q: %w", h.QueryID, sys, err)
			}
		}
		b = append(b, "}}\n"...)
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

func appendIDList(b []byte, ids []string, numeric bool) ([]byte, error) {
	b = append(b, '[')
	for i, id := range ids {
		if id == "" {
			return nil, errors.New("empty id")
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = appendID(b, id, numeric)
	}
	return append(b, ']'), nil
}

// appendID appends id as a JSON integer when numeric, else as a JSON string.
func appendID(b []byte, id string, numeric bool) []byte {
	if numeric {
		return append(b, id...)
	}
	return appendJSONString(b, id)
}

// isJSONInt reports whether id is a decimal integer that reads back from JSON as the same text: no sign,
// no leading zeros, within int64.
func isJSONInt(id string) bool {
	if !isDigits(id) || (len(id) > 1 && id[0] == '0') {
		return false
	}
	_, err := strconv.ParseInt(id, 10, 64)
	return err == nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// AnswerKeyToKD groups an answer key's pairs by query into PyLate examples: queries in order of first
// appearance, documents in file order. A (query, passage) pair listed twice with different scores is an
// error; identical repeats are merged.
func AnswerKeyToKD(pairs []ScoredPair) ([]KDExample, error) {
	index := make(map[string]int)
	seen := make(map[[2]string]float64)
	var out []KDExample
	for _, p := range pairs {
		k := [2]string{p.QueryID, p.DocID}
		if old, dup := seen[k]; dup {
			if old != p.Score {
				return nil, fmt.Errorf("datasets: answer key scores query %q, passage %q twice (%v, %v)", p.QueryID, p.DocID, old, p.Score)
			}
			continue
		}
		seen[k] = p.Score
		i, ok := index[p.QueryID]
		if !ok {
			i = len(out)
			index[p.QueryID] = i
			out = append(out, KDExample{QueryID: p.QueryID})
		}
		out[i].DocIDs = append(out[i].DocIDs, p.DocID)
		out[i].Scores = append(out[i].Scores, p.Score)
	}
	return out, nil
}

// KDToAnswerKey flattens PyLate examples into answer-key pairs, in order.
func KDToAnswerKey(examples []KDExample) ([]ScoredPair, error) {
	var out []ScoredPair
	for i, e := range examples {
		if len(e.DocIDs) != len(e.Scores) {
			return nil, fmt.Errorf("datasets: KD example %d (query %q): %d document ids, %d scores", i, e.QueryID, len(e.DocIDs), len(e.Scores))
		}
		for j, d := range e.DocIDs {
			out = append(out, ScoredPair{QueryID: e.QueryID, DocID: d, Score: e.Scores[j]})
		}
	}
	return out, nil
}

// MarginOptions controls how AnswerKeyToMarginMSE pairs positives with negatives.
type MarginOptions struct {
	// Positives says which passages are positives: those Positives judges with relevance >=
	// MinRelevance. Qrels from a collection serve, as does a set of positive ids built with Qrels.Add(q, p, 1).
	Positives Qrels
	// MinRelevance is the least relevance of a positive; 0 means 1.
	MinRelevance int
	// MaxNegativesPerPositive keeps, for each positive, the first n negatives in answer-key order
	// (0 = all).
	MaxNegativesPerPositive int
}

// AnswerKeyToMarginMSE derives Margin-MSE triples from an answer key: for each query, every scored
// positive (see MarginOptions) is paired with every scored non-positive of the same query (unjudged
// passages count as negatives, as in MS MARCO practice), in answer-key order. Queries that yield no triple
// (no scored positive, or no scored negative) are listed in skipped, in order, so that nothing is dropped
// unnoticed. A pair scored twice with different scores is an error.
func AnswerKeyToMarginMSE(pairs []ScoredPair, opts MarginOptions) (triples []MarginTriple, skipped []string, err error) {
	if opts.Positives == nil {
		return nil, nil, errors.New("datasets: AnswerKeyToMarginMSE needs positives (MarginOptions.Positives)")
	}
	minRel := opts.MinRelevance
	if minRel == 0 {
		minRel = 1
	}
	examples, err := AnswerKeyToKD(pairs)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range examples {
		judged := opts.Positives[e.QueryID]
		var pos, neg []int
		for i, d := range e.DocIDs {
			if rel, ok := judged[d]; ok && rel >= minRel {
				pos = append(pos, i)
			} else {
				neg = append(neg, i)
			}
		}
		if len(pos) == 0 || len(neg) == 0 {
			skipped = append(skipped, e.QueryID)
			continue
		}
		if n := opts.MaxNegativesPerPositive; n > 0 && len(neg) > n {
			neg = neg[:n]
		}
		for _, p := range pos {
			for _, n := range neg {
				triples = append(triples, MarginTriple{
					QueryID: e.QueryID, PosID: e.DocIDs[p], NegID: e.DocIDs[n],
					PosScore: e.Scores[p], NegScore: e.Scores[n],
				})
			}
		}
	}
	return triples, skipped, nil
}

// MarginScoreTolerance is how far two scores of the same (query, passage) pair in a Margin-MSE file may
// differ, relative to max(1, |score|), for MarginMSEToAnswerKey to treat them as the same score (teacher
// scores recomputed in different batches differ in the last bits).
const MarginScoreTolerance = 1e-4

// MarginMSEToAnswerKey collects the distinct (query, passage) pairs of Margin-MSE triples with their
// scores, in order of first appearance. A pair that appears again keeps its first score; a later score
// that differs by more than MarginScoreTolerance is an error.
func MarginMSEToAnswerKey(triples []MarginTriple) ([]ScoredPair, error) {
	seen := make(map[[2]string]float64)
	var out []ScoredPair
	add := func(i int, q, p string, s float64) error {
		k := [2]string{q, p}
		if old, dup := seen[k]; dup {
			if math.Abs(old-s) > MarginScoreTolerance*max(1, math.Abs(old), math.Abs(s)) {
				return fmt.Errorf("datasets: triple %d scores query %q, passage %q as %v, an earlier one as %v", i, q, p, s, old)
			}
			return nil
		}
		seen[k] = s
		out = append(out, ScoredPair{QueryID: q, DocID: p, Score: s})
		return nil
	}
	for i, t := range triples {
		if err := add(i, t.QueryID, t.PosID, t.PosScore); err != nil {
			return nil, err
		}
		if err := add(i, t.QueryID, t.NegID, t.NegScore); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// KDToMarginMSE is AnswerKeyToMarginMSE of KDToAnswerKey(examples).
func KDToMarginMSE(examples []KDExample, opts MarginOptions) ([]MarginTriple, []string, error) {
	pairs, err := KDToAnswerKey(examples)
	if err != nil {
		return nil, nil, err
	}
	return AnswerKeyToMarginMSE(pairs, opts)
}

// MarginMSEToKD is AnswerKeyToKD of MarginMSEToAnswerKey(triples).
func MarginMSEToKD(triples []MarginTriple) ([]KDExample, error) {
	pairs, err := MarginMSEToAnswerKey(triples)
	if err != nil {
		return nil, err
	}
	return AnswerKeyToKD(pairs)
}
