package datasets

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"strconv"

	"github.com/mimicry-ir/mimicry/internal/files"
)

// Mimicry's answer key is what the cross-encoder teacher says about (query, passage) pairs: a JSONL file,
// one pair a line,
//
//	{"qid":"1185869","pid":"8841807","score":1.25}
//
// and beside it "<file>.meta.json", an AnswerKeyMeta saying which teacher, checkpoint and tokenizer made
// the scores and how many pairs the file holds.

// AnswerKeyFormat is the value of AnswerKeyMeta.Format written by this version.
const AnswerKeyFormat = "mimicry-answer-key/1"

// ScoredPair is one line of an answer key: the teacher's score for one (query, passage) pair.
type ScoredPair struct {
	// QueryID names the query.
	QueryID string `json:"qid"`
	// DocID names the passage.
	DocID string `json:"pid"`
	// Score is the teacher's raw score (a logit for most cross-encoders); always finite.
	Score float64 `json:"score"`
}

// AnswerKeyMeta describes how an answer key was made. It is stored as JSON in the sidecar file
// AnswerKeyMetaPath(path).
type AnswerKeyMeta struct {
	// Format is AnswerKeyFormat; written by WriteAnswerKey and CreateAnswerKey.
	Format string `json:"format"`
	// Teacher names the teacher model (e.g. "cross-encoder/ms-marco-MiniLM-L-6-v2").
	Teacher string `json:"teacher"`
	// CheckpointSHA256 is the hex SHA-256 of the teacher's weights file.
	CheckpointSHA256 string `json:"checkpoint_sha256"`
	// Tokenizer names the tokenizer (or the hash of tokenizer.json).
	Tokenizer string `json:"tokenizer"`
	// MaxQueryLength is the query length, in tokens, the teacher truncated to (0 = unknown).
	MaxQueryLength int `json:"max_query_length"`
	// MaxDocLength is the passage length, or pair length for a cross-encoder, in tokens (0 = unknown).
	MaxDocLength int `json:"max_doc_length"`
	// Collection names the collection scored (e.g. "msmarco-passage").
	Collection string `json:"collection,omitempty"`
	// Created is when the key was written, RFC 3339.
	Created string `json:"created,omitempty"`
	// Pairs is the number of lines of the key; set by the writers and checked by LoadAnswerKey, so a
	// truncated key is noticed.
	Pairs int64 `json:"pairs"`
	// Extra holds any further provenance (command line, git revision, ...).
	Extra map[string]string `json:"extra,omitempty"`
}

// AnswerKeyMetaPath returns the path of the metadata sidecar of the answer key at path:
// path + ".meta.json".
func AnswerKeyMetaPath(path string) string { return path + ".meta.json" }

// answerKeyLine is the JSON form of one line, with pointers to tell missing members apart.
type answerKeyLine struct {
	QID   *jsonID  `json:"qid"`
	PID   *jsonID  `json:"pid"`
	Score *float64 `json:"score"`
}

// ReadAnswerKey streams an answer key (JSONL), calling fn for each pair in file order. Every line must be
// a JSON object with non-empty "qid" and "pid" (strings; integers are accepted too) and a finite number
// "score"; other members are ignored. Blank lines are ignored. Malformed lines, including scores out of
// float64 range, are a *ParseError naming name and the line; an error returned by fn is returned as is.
func ReadAnswerKey(r io.Reader, name string, fn func(ScoredPair) error) error {
	s := newLineScanner(r, name)
	for s.Scan() {
		line := s.Bytes()
		if isBlank(line) {
			continue
		}
		var l answerKeyLine
		if err := decodeJSONLine(s, line, &l); err != nil {
			return err
		}
		switch {
		case l.QID == nil || *l.QID == "":
			return s.Errorf(`missing or empty "qid"`)
		case l.PID == nil || *l.PID == "":
			return s.Errorf(`missing or empty "pid"`)
		case l.Score == nil:
			return s.Errorf(`missing "score"`)
		case math.IsNaN(*l.Score) || math.IsInf(*l.Score, 0):
			return s.Errorf("score %v is not finite", *l.Score)
		}
		if err := fn(ScoredPair{QueryID: string(*l.QID), DocID: string(*l.PID), Score: *l.Score}); err != nil {
			return err
		}
	}
	return s.Err()
}

// ReadAnswerKeyMeta reads the metadata sidecar of the answer key at path (AnswerKeyMetaPath(path)).
// Unknown members are ignored; an unknown Format, or negative lengths or counts, are errors.
func ReadAnswerKeyMeta(path string) (*AnswerKeyMeta, error) {
	mp := AnswerKeyMetaPath(path)
	b, err := os.ReadFile(mp)
	if err != nil {
		return nil, err
	}
	var m AnswerKeyMeta
	if err := json.Unmarshal(b, &m); err != nil {
		line := 0
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line = 1 + bytes.Count(b[:min(int(se.Offset), len(b))], []byte{'\n'})
		}
		return nil, &ParseError{Path: mp, Line: line, Msg: "invalid JSON: " + err.Error(), Err: err}
	}
	switch {
	case m.Format != "" && m.Format != AnswerKeyFormat:
		return nil, newParseError(mp, 0, "format %q is not %q", m.Format, AnswerKeyFormat)
	case m.MaxQueryLength < 0 || m.MaxDocLength < 0 || m.Pairs < 0:
		return nil, newParseError(mp, 0, "negative max length or pair count")
	}
	return &m, nil
}

// LoadAnswerKey reads a whole answer key and its metadata sidecar. meta is nil when the key has no
// sidecar (a hand-made key); when it has one, its Pairs must match the number of lines read, so that a
// truncated key is an error.
func LoadAnswerKey(path string) (pairs []ScoredPair, meta *AnswerKeyMeta, err error) {
	meta, err = ReadAnswerKeyMeta(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, err
	}
	err = ReadFile(path, func(r io.Reader, name string) error {
		return ReadAnswerKey(r, name, func(p ScoredPair) error {
			pairs = append(pairs, p)
			return nil
		})
	})
	if err != nil {
		return nil, nil, err
	}
	if meta != nil && meta.Pairs != int64(len(pairs)) {
		return nil, nil, fmt.Errorf("datasets: %s holds %d pairs but %s says %d (truncated or edited?)",
			path, len(pairs), AnswerKeyMetaPath(path), meta.Pairs)
	}
	return pairs, meta, nil
}

// WriteAnswerKey writes pairs as an answer key at path and meta (with Format and Pairs filled in) as its
// sidecar, atomically: on error neither file is left behind (an older key at path is replaced only when
// everything succeeded). Empty ids and non-finite scores are errors.
func WriteAnswerKey(path string, pairs []ScoredPair, meta AnswerKeyMeta) error {
	w, err := CreateAnswerKey(path, meta)
	if err != nil {
		return err
	}
	for _, p := range pairs {
		if err := w.Write(p); err != nil {
			w.Abort()
			return err
		}
	}
	return w.Close()
}

// AnswerKeyWriter streams an answer key to disk, for teachers that score more pairs than fit in memory.
// Nothing appears at the final path until Close succeeds.
type AnswerKeyWriter struct {
	meta AnswerKeyMeta
	out  *files.File
	buf  []byte
	n    int64
	err  error
}

// CreateAnswerKey starts writing an answer key at path (a temporary file in the same directory until
// Close); meta is written to the sidecar by Close, with Format and Pairs filled in.
func CreateAnswerKey(path string, meta AnswerKeyMeta) (*AnswerKeyWriter, error) {
	out, err := files.Create(path, 0o644)
	if err != nil {
		return nil, err
	}
	return &AnswerKeyWriter{meta: meta, out: out}, nil
}

// Write appends one pair. Empty ids and non-finite scores are errors, after which the writer only
// accepts Abort (Close returns the error too).
func (w *AnswerKeyWriter) Write(p ScoredPair) error {
	if w.err != nil {
		return w.err
	}
	var err error
	if w.buf, err = appendAnswerKeyLine(w.buf[:0], p); err != nil {
		w.err = fmt.Errorf("datasets: answer key pair %d: %w", w.n+1, err)
		return w.err
	}
	if _, err := w.out.Write(w.buf); err != nil {
		w.err = err
		return err
	}
	w.n++
	return nil
}

// Abort discards what was written. It is safe to call after Close.
func (w *AnswerKeyWriter) Abort() { w.out.Abort() }

// Close moves the key to its path and writes the sidecar, both or neither (files.Commit).
func (w *AnswerKeyWriter) Close() (err error) {
	if w.err != nil {
		w.Abort()
		return w.err
	}
	meta := w.meta
	meta.Format, meta.Pairs = AnswerKeyFormat, w.n
	mb, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		w.Abort()
		return err
	}
	sidecar, err := files.Create(AnswerKeyMetaPath(w.out.Path()), 0o644)
	if err != nil {
		w.Abort()
		return err
	}
	if _, err := sidecar.Write(append(mb, '\n')); err != nil {
		sidecar.Abort()
		w.Abort()
		return err
	}
	return files.Commit(w.out, sidecar)
}

// appendAnswerKeyLine appends the JSON line of p, failing on empty ids and non-finite scores.
func appendAnswerKeyLine(b []byte, p ScoredPair) ([]byte, error) {
	switch {
	case p.QueryID == "" || p.DocID == "":
		return b, fmt.Errorf("empty query or passage id (%q, %q)", p.QueryID, p.DocID)
	case math.IsNaN(p.Score) || math.IsInf(p.Score, 0):
		return b, fmt.Errorf("query %q, passage %q: score %v is not finite", p.QueryID, p.DocID, p.Score)
	}
	b = append(b, `{"qid":`...)
	b = appendJSONString(b, p.QueryID)
	b = append(b, `,"pid":`...)
	b = appendJSONString(b, p.DocID)
	b = append(b, `,"score":`...)
	b = strconv.AppendFloat(b, p.Score, 'g', -1, 64)
	return append(b, "}\n"...), nil
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // cannot fail for a string
	return append(b, q...)
}
