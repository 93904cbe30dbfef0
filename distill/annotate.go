package distill

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/fnv"
	"io"
	"io/fs"
	"iter"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/datasets/bm25"
	"github.com/mimicry-ir/mimicry/distill/progress"
)

// Annotation: the teacher scores every (query, passage) pair of a source once, offline, and the scores
// become the answer key (datasets.CreateAnswerKey) that the students learn from. See Annotate for how a
// run survives being killed, and MergeAnswerKeys for sharded runs.

// DefaultChunkSize is the number of pairs per chunk of Annotate.
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
// order — and must list each query's pairs together. Annotate calls it twice.
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

// QueryTexts maps the ids of a collection's queries, training and evaluation, to their texts.
func QueryTexts(c *datasets.Collection) map[string]string {
	out := make(map[string]string, len(c.Queries)+len(c.TrainQueries))
	for _, qs := range [][]datasets.Query{c.TrainQueries, c.Queries} {
		for _, q := range qs {
			out[q.ID] = q.Text
		}
	}
	return out
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
// has them, else from texts (document id → text, e.g. Texts(collection.Docs)); a passage without text,
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
// texts come from queries and texts (ids → texts, e.g. QueryTexts and Texts of the collection); an id
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
// ignored; each query's rows must be together (as Annotate writes them). An id without a text is an
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
// together. Texts come from queries and texts; an unknown id or a malformed line is an error naming
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
// texts come from texts (Texts of the indexed documents). Queries are searched a few at a time, so
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

// BM25Scorer scores pairs with BM25 — a teacher for tests and a baseline. With an Index, a pair's score
// is the index's BM25 score of the passage text for the query, with the index's k1, b, analyzer, idf and
// average length: for a document of the index, given its bm25.Contents, it equals the score a search
// returns, bit for bit. Without one (per-pair BM25), idf is 1 and there is no length normalisation:
// score = Σ_t qtf·tf/(tf + k1) over the query's terms, with bm25.DefaultParams and DefaultAnalyzer.
type BM25Scorer struct {
	// Index supplies the statistics; nil: per-pair BM25.
	Index *bm25.Index
}

// Name implements Scorer: "bm25(k1=…,b=…)", or "bm25(per-pair)" without an index.
func (s *BM25Scorer) Name() string {
	if s.Index == nil {
		return "bm25(per-pair)"
	}
	p := s.Index.Params()
	return fmt.Sprintf("bm25(k1=%g,b=%g)", p.K1, p.B)
}

// Score implements Scorer.
func (s *BM25Scorer) Score(queries, passages []string) ([]float64, error) {
	if len(queries) != len(passages) {
		return nil, fmt.Errorf("bm25: %d queries but %d passages", len(queries), len(passages))
	}
	an, p := bm25.DefaultAnalyzer(), bm25.DefaultParams()
	if s.Index != nil {
		an, p = s.Index.Analyzer(), s.Index.Params()
	}
	out := make([]float64, len(queries))
	for i := range queries {
		terms := an.Analyze(passages[i])
		tf := make(map[string]int, len(terms))
		for _, t := range terms {
			tf[t]++
		}
		norm := p.K1
		if s.Index != nil {
			norm = 0
			if avg := s.Index.AvgDocLength(); avg > 0 {
				norm = p.K1 * (1 - p.B + p.B*float64(len(terms))/avg)
			}
		}
		// Sum in the order of the query terms' first occurrence, as bm25's search does.
		qterms := an.Analyze(queries[i])
		qtf := make(map[string]int, len(qterms))
		var order []string
		for _, t := range qterms {
			if qtf[t] == 0 {
				order = append(order, t)
			}
			qtf[t]++
		}
		score := 0.0
		for _, t := range order {
			f := float64(tf[t])
			if f == 0 {
				continue
			}
			idf := 1.0
			if s.Index != nil {
				idf = s.Index.IDF(t)
			}
			score += float64(qtf[t]) * idf * f / (f + norm)
		}
		out[i] = score
	}
	return out, nil
}

// Shard selects the part of a job one machine does: chunk c belongs to shard c mod Count. The zero
// value (or Count 1) is the whole job.
type Shard struct {
	// Index is this machine's shard, 0 ≤ Index < Count.
	Index int
	// Count is the number of shards.
	Count int
}

// ParseShard parses "i/n" (0 ≤ i < n).
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("shard %q: want i/n, e.g. 0/4", s)
	}
	sh := Shard{Index: i, Count: n}
	return sh, sh.validate()
}

// String returns "i/n".
func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, max(s.Count, 1)) }

func (s Shard) validate() error {
	if s.Count < 0 || (s.Count > 0 && (s.Index < 0 || s.Index >= s.Count)) || (s.Count == 0 && s.Index != 0) {
		return fmt.Errorf("shard %d/%d: want 0 ≤ i < n", s.Index, s.Count)
	}
	return nil
}

// owns reports whether chunk c belongs to the shard.
func (s Shard) owns(c int) bool { return s.Count <= 1 || c%s.Count == s.Index }

// AnnotateOptions configure Annotate. Zero values take the defaults in brackets.
type AnnotateOptions struct {
	// Teacher scores the pairs: a CrossEncoder, an Ensemble, a BM25Scorer, ...
	Teacher Scorer
	// Pairs is the source of the pairs (NegativesPairs, KDPairs, CandidatePairs, BM25Pairs, SlicePairs).
	Pairs PairSource
	// Out is the path of the answer key; the chunks of a run in progress live in Out + ".parts".
	Out string
	// Meta is the provenance written to the key's sidecar: Teacher [Teacher.Name()], CheckpointSHA256,
	// Tokenizer, MaxQueryLength, MaxDocLength, Collection, Extra. Format, Pairs and Created are filled in,
	// and Extra gains "pairs_sha256" (the source digest), "chunk_size", "run_sha256" (the fingerprint)
	// and, for a shard, "shard" ("i/n").
	Meta datasets.AnswerKeyMeta
	// ChunkSize is the number of pairs scored and written together [DefaultChunkSize]. It is part of the
	// run's identity: a rerun must use the same.
	ChunkSize int
	// Shard restricts the run to one shard of the chunks [all].
	Shard Shard
	// Quiet hides the progress bar.
	Quiet bool
	// Log receives notes such as a damaged chunk being scored again [os.Stderr; io.Discard when Quiet].
	Log io.Writer
}

// AnnotateSummary reports what Annotate did.
type AnnotateSummary struct {
	// Out is the answer key written.
	Out string
	// Pairs is the number of pairs in the key (this shard's).
	Pairs int64
	// SourcePairs is the number of distinct pairs of the whole source.
	SourcePairs int64
	// Duplicates counts pairs skipped because their query listed the passage before.
	Duplicates int64
	// Chunks is the number of chunks of this shard.
	Chunks int
	// ChunksResumed counts chunks found complete from an earlier, interrupted run.
	ChunksResumed int
	// Scored is the number of pairs this call scored.
	Scored int64
	// AlreadyComplete is true when Out already held this run's complete key: nothing was done.
	AlreadyComplete bool
	// Seconds is the wall time of the call.
	Seconds float64
	// PairsPerSecond is Scored / ScoringSeconds.
	PairsPerSecond float64
	// ScoringSeconds is the time spent in the teacher.
	ScoringSeconds float64
	// Meta is the metadata written.
	Meta datasets.AnswerKeyMeta
}

// String is a one-line summary for logs.
func (s *AnnotateSummary) String() string {
	if s.AlreadyComplete {
		return fmt.Sprintf("%s: already complete (%d pairs); nothing to do", s.Out, s.Pairs)
	}
	return fmt.Sprintf("%s: %d pairs in %d chunks (%d resumed, %d pairs scored now, %d repeated pairs skipped) in %.1fs, %.1f pairs/s",
		s.Out, s.Pairs, s.Chunks, s.ChunksResumed, s.Scored, s.Duplicates, s.Seconds, s.PairsPerSecond)
}

// runFile is the content of <out>.parts/run.json.
type runFile struct {
	Fingerprint string `json:"fingerprint"`
	SourcePairs int64  `json:"source_pairs"`
	ChunkSize   int    `json:"chunk_size"`
	Shard       string `json:"shard"`
	Teacher     string `json:"teacher"`
}

// Annotate scores every pair of opts.Pairs with opts.Teacher and writes the answer key opts.Out with its
// metadata sidecar, resumably and exactly once: after a crash, rerun it with the same options. A
// non-finite score is an error naming the pair (qid, pid and where it came from), and nothing of its
// chunk is written; progress goes to a bar (pairs/s, ETA) unless Quiet.
//
// # Exactly once
//
// Annotating millions of pairs takes hours, so a run must survive being killed (kill -9, a lost
// machine) at any moment: rerunning the same command finishes the job, and the final key holds every
// pair exactly once, with the scores an uninterrupted run would have written. Annotate achieves this so:
//
//  1. A first pass streams the source (nothing is scored): it counts the pairs, drops a pair repeated
//     within its query, rejects a query whose pairs are not listed together, and hashes every (qid, pid,
//     query text, passage text) into the source digest. Malformed input stops here, before any work.
//  2. The run's fingerprint is the hash of the digest, the metadata (teacher, checkpoint, tokenizer,
//     lengths, collection, Extra), the chunk size and the shard. It is stored in <out>.parts/run.json;
//     parts of another run (anything in the fingerprint changed) are an error, never mixed in.
//  3. A second pass cuts the pairs, in source order, into chunks of ChunkSize pairs. Chunk c is scored
//     with one Scorer.Score call (a cross-encoder buckets by length inside the call, so the batches —
//     and so the scores, to the last bit on a deterministic backend — are the same on a rerun) and
//     written atomically (temporary file, fsync, rename) as <out>.parts/chunk-NNNNNN.jsonl. A chunk
//     file that exists is complete: on a rerun it is read back and checked against the source (same
//     number of rows, same qid and pid in order) and not scored again; one that fails the check is
//     scored again.
//  4. When every chunk exists, the chunks are concatenated in order into <out> with its .meta.json
//     (datasets.CreateAnswerKey: temporary files renamed into place), and <out>.parts is removed. The
//     metadata records the fingerprint, so a rerun after completion, or after a kill during the removal
//     of the parts, sees a complete key and does nothing.
//
// Memory is flat in the number of pairs: one chunk of texts at a time, plus the set of query ids seen
// (to check that each query's pairs are contiguous) and the pair ids of the current query.
//
// # Shards
//
// With Shard{Index: i, Count: n}, a run scores only the chunks c with c mod n = i, so n machines
// annotate disjoint parts of the same source; MergeAnswerKeys puts the n keys back together, in the
// order of an unsharded run.
func Annotate(opts AnnotateOptions) (*AnnotateSummary, error) {
	start := time.Now()
	if opts.Teacher == nil || opts.Pairs == nil || opts.Out == "" {
		return nil, errors.New("annotate: Teacher, Pairs and Out are required")
	}
	if err := opts.Shard.validate(); err != nil {
		return nil, fmt.Errorf("annotate: %w", err)
	}
	chunkSize := opts.ChunkSize
	if chunkSize <= 0 {
		chunkSize = DefaultChunkSize
	}
	logw := opts.Log
	if logw == nil {
		logw = os.Stderr
		if opts.Quiet {
			logw = io.Discard
		}
	}

	// Pass 1: count, check and digest the source.
	digest := sha256.New()
	var total, dups int64
	err := uniquePairs(opts.Pairs, &dups)(func(p Pair) error {
		total++
		hashStrings(digest, p.QueryID, p.DocID, p.Query, p.Passage)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if total == 0 {
		return nil, errors.New("annotate: the source has no pairs")
	}
	meta := opts.Meta
	if meta.Teacher == "" {
		meta.Teacher = opts.Teacher.Name()
	}
	meta.Extra = cloneMap(meta.Extra)
	meta.Extra["pairs_sha256"] = hex.EncodeToString(digest.Sum(nil))
	meta.Extra["chunk_size"] = strconv.Itoa(chunkSize)
	delete(meta.Extra, "shard")
	delete(meta.Extra, "run_sha256")
	if opts.Shard.Count > 1 {
		meta.Extra["shard"] = opts.Shard.String()
	}
	meta.Extra["run_sha256"] = fingerprint(meta)

	nChunks := int((total + int64(chunkSize) - 1) / int64(chunkSize))
	sum := &AnnotateSummary{Out: opts.Out, SourcePairs: total, Duplicates: dups}
	for c := range nChunks {
		if opts.Shard.owns(c) {
			sum.Chunks++
			sum.Pairs += min(int64(chunkSize), total-int64(c)*int64(chunkSize))
		}
	}
	partsDir := opts.Out + ".parts"
	finish := func() (*AnnotateSummary, error) {
		sum.Seconds = time.Since(start).Seconds()
		if sum.ScoringSeconds > 0 {
			sum.PairsPerSecond = float64(sum.Scored) / sum.ScoringSeconds
		}
		return sum, nil
	}

	// Done already? (A rerun after completion, or after a kill while the parts were being removed.)
	if done, err := completeKey(opts.Out, meta.Extra["run_sha256"], sum.Pairs); err != nil {
		return nil, err
	} else if done {
		if err := os.RemoveAll(partsDir); err != nil {
			return nil, err
		}
		got, _ := datasets.ReadAnswerKeyMeta(opts.Out)
		sum.Meta, sum.AlreadyComplete, sum.ChunksResumed = *got, true, sum.Chunks
		return finish()
	}
	if err := openParts(partsDir, runFile{
		Fingerprint: meta.Extra["run_sha256"], SourcePairs: total, ChunkSize: chunkSize,
		Shard: opts.Shard.String(), Teacher: meta.Teacher,
	}); err != nil {
		return nil, err
	}
	mp := filepath.Base(datasets.AnswerKeyMetaPath(opts.Out))
	removeTemps(filepath.Dir(opts.Out), "."+filepath.Base(opts.Out)+".tmp-*", mp+".tmp-*", "."+mp+".tmp-*")

	// Pass 2: score the chunks that are missing.
	var bar *progress.Bar
	if opts.Quiet {
		bar = progress.Quiet(int(sum.Pairs))
	} else {
		bar = progress.New(int(sum.Pairs), "annotate", "pairs")
	}
	var done int64
	chunk := make([]Pair, 0, min(int64(chunkSize), total))
	pos := 0
	process := func(c int) error {
		path := chunkPath(partsDir, c)
		ok, err := checkChunk(path, chunk, logw)
		if err != nil {
			return err
		}
		if ok {
			sum.ChunksResumed++
			done += int64(len(chunk))
			bar.SetDone(int(done))
			return nil
		}
		t0 := time.Now()
		if err := scoreChunk(opts.Teacher, chunk, path); err != nil {
			return err
		}
		sum.ScoringSeconds += time.Since(t0).Seconds()
		sum.Scored += int64(len(chunk))
		done += int64(len(chunk))
		bar.Add(len(chunk), fmt.Sprintf("chunk %d/%d", c+1, nChunks))
		return nil
	}
	err = uniquePairs(opts.Pairs, new(int64))(func(p Pair) error {
		c := pos / chunkSize
		pos++
		if int64(pos) > total {
			return fmt.Errorf("annotate: the source gave %d pairs, now more: it is not deterministic", total)
		}
		if opts.Shard.owns(c) {
			chunk = append(chunk, p)
		}
		if pos%chunkSize == 0 || int64(pos) == total {
			if opts.Shard.owns(c) {
				if err := process(c); err != nil {
					return err
				}
			}
			clear(chunk)
			chunk = chunk[:0]
		}
		return nil
	})
	if err == nil && int64(pos) != total {
		err = fmt.Errorf("annotate: the source gave %d pairs, then %d: it is not deterministic", total, pos)
	}
	if err != nil {
		return nil, err
	}
	bar.Finish()

	// Concatenate the chunks into the key.
	meta.Created = time.Now().UTC().Format(time.RFC3339)
	w, err := datasets.CreateAnswerKey(opts.Out, meta)
	if err != nil {
		return nil, err
	}
	for c := range nChunks {
		if !opts.Shard.owns(c) {
			continue
		}
		err := datasets.ReadFile(chunkPath(partsDir, c), func(r io.Reader, name string) error {
			return datasets.ReadAnswerKey(r, name, w.Write)
		})
		if err != nil {
			w.Abort()
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	if err := os.RemoveAll(partsDir); err != nil {
		return nil, err
	}
	meta.Format, meta.Pairs = datasets.AnswerKeyFormat, sum.Pairs
	sum.Meta = meta
	return finish()
}

// uniquePairs wraps src: a pair repeated within its query is dropped (counted in dups), and a query
// whose pairs are not contiguous is an error. Memory: the ids of the queries seen and the passage ids of
// the current query.
func uniquePairs(src PairSource, dups *int64) PairSource {
	return func(fn func(Pair) error) error {
		seen := map[string]bool{}
		cur := ""
		pids := map[string]bool{}
		return src(func(p Pair) error {
			if p.QueryID == "" || p.DocID == "" {
				return fmt.Errorf("annotate: %s: empty query or passage id", p.where())
			}
			if p.QueryID != cur {
				if seen[p.QueryID] {
					return fmt.Errorf("annotate: %s: query %q appears again after other queries; a source must list each query's pairs together", p.where(), p.QueryID)
				}
				seen[p.QueryID] = true
				cur = p.QueryID
				clear(pids)
			}
			if pids[p.DocID] {
				*dups++
				return nil
			}
			pids[p.DocID] = true
			return fn(p)
		})
	}
}

// hashStrings feeds length-prefixed strings to h, so that no two different lists hash alike.
func hashStrings(h hash.Hash, ss ...string) {
	var n [8]byte
	for _, s := range ss {
		binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		io.WriteString(h, s)
	}
}

// fingerprint identifies a run: the metadata but Format, Pairs and Created (Extra holds the source
// digest, the chunk size and the shard).
func fingerprint(m datasets.AnswerKeyMeta) string {
	h := sha256.New()
	hashStrings(h, "mimicry-annotate/1", m.Teacher, m.CheckpointSHA256, m.Tokenizer,
		strconv.Itoa(m.MaxQueryLength), strconv.Itoa(m.MaxDocLength), m.Collection)
	keys := make([]string, 0, len(m.Extra))
	for k := range m.Extra {
		if k != "run_sha256" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		hashStrings(h, k, m.Extra[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m)+4)
	for k, v := range m {
		out[k] = v
	}
	return out
}

// completeKey reports whether path holds the complete key of the run with this fingerprint: its
// sidecar names the run and the file has the expected number of pairs.
func completeKey(path, fp string, pairs int64) (bool, error) {
	meta, err := datasets.ReadAnswerKeyMeta(path)
	if err != nil || meta.Extra["run_sha256"] != fp || meta.Pairs != pairs {
		return false, nil // no key, or another run's: it will be replaced
	}
	var n int64
	err = datasets.ReadFile(path, func(r io.Reader, name string) error {
		return datasets.ReadAnswerKey(r, name, func(datasets.ScoredPair) error { n++; return nil })
	})
	if err != nil {
		return false, nil
	}
	return n == pairs, nil
}

// openParts creates the parts directory with its run.json, or checks that an existing one belongs to
// the same run, and removes the temporary files a killed run may have left there.
func openParts(dir string, rf runFile) error {
	path := filepath.Join(dir, "run.json")
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		var old runFile
		if err := json.Unmarshal(b, &old); err != nil {
			return fmt.Errorf("annotate: %s: %v (remove %s to start over)", path, err, dir)
		}
		if old.Fingerprint != rf.Fingerprint {
			return fmt.Errorf("annotate: %s holds the chunks of another run (teacher %q, %d pairs, chunk %d, shard %s; now teacher %q, %d pairs, chunk %d, shard %s, or the pairs, texts or metadata differ): rerun that command to finish it, or remove %s to start over",
				dir, old.Teacher, old.SourcePairs, old.ChunkSize, old.Shard, rf.Teacher, rf.SourcePairs, rf.ChunkSize, rf.Shard, dir)
		}
	case errors.Is(err, fs.ErrNotExist):
		if chunks, _ := filepath.Glob(filepath.Join(dir, "chunk-*.jsonl")); len(chunks) > 0 {
			return fmt.Errorf("annotate: %s holds chunks but no run.json, so their run is unknown: remove it to start over", dir)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("annotate: %w", err)
		}
		data, _ := json.MarshalIndent(rf, "", "  ")
		if err := datasets.WriteFileAtomic(path, func(w io.Writer) error { _, err := w.Write(append(data, '\n')); return err }); err != nil {
			return fmt.Errorf("annotate: %w", err)
		}
	default:
		return fmt.Errorf("annotate: %w", err)
	}
	removeTemps(dir, ".chunk-*.tmp-*", ".run.json.tmp-*")
	return nil
}

// removeTemps removes the files of dir matching the patterns (temporary files of killed writes).
func removeTemps(dir string, patterns ...string) {
	for _, pat := range patterns {
		matches, _ := filepath.Glob(filepath.Join(dir, pat))
		for _, m := range matches {
			os.Remove(m)
		}
	}
}

func chunkPath(dir string, c int) string {
	return filepath.Join(dir, fmt.Sprintf("chunk-%06d.jsonl", c))
}

// checkChunk reports whether the chunk file at path exists and holds exactly the pairs of chunk, in
// order. A damaged or foreign file is removed (it will be scored again); a missing one is false.
func checkChunk(path string, chunk []Pair, logw io.Writer) (bool, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	i := 0
	errMismatch := errors.New("mismatch")
	err := datasets.ReadFile(path, func(r io.Reader, name string) error {
		return datasets.ReadAnswerKey(r, name, func(sp datasets.ScoredPair) error {
			if i >= len(chunk) || sp.QueryID != chunk[i].QueryID || sp.DocID != chunk[i].DocID {
				return errMismatch
			}
			i++
			return nil
		})
	})
	if err == nil && i == len(chunk) {
		return true, nil
	}
	fmt.Fprintf(logw, "annotate: %s does not hold the pairs of its chunk (%d of %d rows match); scoring it again\n", path, i, len(chunk))
	if err := os.Remove(path); err != nil {
		return false, err
	}
	return false, nil
}

// scoreChunk scores the pairs of chunk with teacher and writes them atomically to path.
func scoreChunk(teacher Scorer, chunk []Pair, path string) error {
	qs, ps := make([]string, len(chunk)), make([]string, len(chunk))
	for i, p := range chunk {
		qs[i], ps[i] = p.Query, p.Passage
	}
	scores, err := teacher.Score(qs, ps)
	if err != nil {
		return fmt.Errorf("annotate: teacher %s: pairs %s … %s: %w", teacher.Name(), chunk[0].where(), chunk[len(chunk)-1].where(), err)
	}
	if len(scores) != len(chunk) {
		return fmt.Errorf("annotate: teacher %s returned %d scores for %d pairs", teacher.Name(), len(scores), len(chunk))
	}
	for i, s := range scores {
		if math.IsNaN(s) || math.IsInf(s, 0) {
			return fmt.Errorf("annotate: teacher %s: %s: score %v is not finite", teacher.Name(), chunk[i].where(), s)
		}
	}
	return datasets.WriteFileAtomic(path, func(w io.Writer) error {
		var b []byte
		for i, p := range chunk {
			b = appendScoredPair(b[:0], p.QueryID, p.DocID, scores[i])
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
		return nil
	})
}

// appendScoredPair appends the answer-key line of one pair.
func appendScoredPair(b []byte, qid, pid string, score float64) []byte {
	q, _ := json.Marshal(qid)
	p, _ := json.Marshal(pid)
	b = append(b, `{"qid":`...)
	b = append(b, q...)
	b = append(b, `,"pid":`...)
	b = append(b, p...)
	b = append(b, `,"score":`...)
	b = strconv.AppendFloat(b, score, 'g', -1, 64)
	return append(b, "}\n"...)
}

// perRunExtra are the Extra keys that differ between the shards of one job; MergeAnswerKeys ignores
// them when comparing metadata.
var perRunExtra = []string{"shard", "run_sha256", "shards"}

// MergeAnswerKeys merges answer keys into out (with its sidecar), atomically. The inputs must have
// sidecars with the same teacher, checkpoint, tokenizer, lengths, collection and Extra (but for the
// per-shard "shard" and "run_sha256"), hold as many pairs as their sidecars say, and no (qid, pid) may
// appear twice among them. When every input is a shard of the same Annotate job (Extra "shard" i/n,
// the same n, different i), their chunks are interleaved back into the order of an unsharded run (for
// the complete set of n shards, the very rows of that run); other inputs are concatenated in the order
// given. The check for repeated pairs holds 8 bytes per pair in memory.
func MergeAnswerKeys(out string, inputs []string) error {
	if len(inputs) == 0 {
		return errors.New("merge: no input")
	}
	metas := make([]*datasets.AnswerKeyMeta, len(inputs))
	for i, in := range inputs {
		m, err := datasets.ReadAnswerKeyMeta(in)
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("merge: %s has no metadata sidecar %s, so its teacher is unknown", in, datasets.AnswerKeyMetaPath(in))
		}
		if err != nil {
			return fmt.Errorf("merge: %w", err)
		}
		metas[i] = m
		if i > 0 {
			if err := compatible(inputs[0], metas[0], in, m); err != nil {
				return err
			}
		}
	}

	// Shards of one job are interleaved chunk by chunk.
	order := slices.Clone(inputs)
	chunkSize := 0
	shards, err := shardsOf(inputs, metas)
	if err != nil {
		return err
	}
	merged := *metas[0]
	merged.Extra = cloneMap(merged.Extra)
	for _, k := range perRunExtra {
		delete(merged.Extra, k)
	}
	merged.Created = time.Now().UTC().Format(time.RFC3339)
	if shards != nil {
		chunkSize, _ = strconv.Atoi(metas[0].Extra["chunk_size"])
		idx := make([]int, len(inputs))
		for i := range idx {
			idx[i] = i
		}
		slices.SortFunc(idx, func(a, b int) int { return shards[a].Index - shards[b].Index })
		var have []string
		for j, i := range idx {
			order[j] = inputs[i]
			have = append(have, strconv.Itoa(shards[i].Index))
		}
		if len(inputs) < shards[0].Count {
			merged.Extra["shards"] = strings.Join(have, ",") + "/" + strconv.Itoa(shards[0].Count)
		}
		if chunkSize <= 0 {
			return fmt.Errorf("merge: %s: Extra \"chunk_size\" %q is not a positive integer", inputs[0], metas[0].Extra["chunk_size"])
		}
	}

	// Counts and repeated pairs.
	var hashes []uint64
	for i, in := range inputs {
		var n int64
		err := readKey(in, func(p datasets.ScoredPair) error {
			hashes = append(hashes, pairHash(p))
			n++
			return nil
		})
		if err != nil {
			return fmt.Errorf("merge: %w", err)
		}
		if n != metas[i].Pairs {
			return fmt.Errorf("merge: %s holds %d pairs but %s says %d (truncated or edited?)", in, n, datasets.AnswerKeyMetaPath(in), metas[i].Pairs)
		}
	}
	if err := findRepeats(inputs, hashes); err != nil {
		return err
	}
	hashes = nil

	w, err := datasets.CreateAnswerKey(out, merged)
	if err != nil {
		return err
	}
	if err := mergeRows(order, chunkSize, w.Write); err != nil {
		w.Abort()
		return fmt.Errorf("merge: %w", err)
	}
	return w.Close()
}

// compatible checks that two keys' metadata describe the same teacher and setup.
func compatible(pa string, a *datasets.AnswerKeyMeta, pb string, b *datasets.AnswerKeyMeta) error {
	fields := []struct{ name, x, y string }{
		{"format", a.Format, b.Format},
		{"teacher", a.Teacher, b.Teacher},
		{"checkpoint_sha256", a.CheckpointSHA256, b.CheckpointSHA256},
		{"tokenizer", a.Tokenizer, b.Tokenizer},
		{"max_query_length", strconv.Itoa(a.MaxQueryLength), strconv.Itoa(b.MaxQueryLength)},
		{"max_doc_length", strconv.Itoa(a.MaxDocLength), strconv.Itoa(b.MaxDocLength)},
		{"collection", a.Collection, b.Collection},
	}
	keys := map[string]bool{}
	for k := range a.Extra {
		keys[k] = true
	}
	for k := range b.Extra {
		keys[k] = true
	}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		if !slices.Contains(perRunExtra, k) {
			fields = append(fields, struct{ name, x, y string }{"extra." + k, a.Extra[k], b.Extra[k]})
		}
	}
	for _, f := range fields {
		if f.x != f.y {
			return fmt.Errorf("merge: %s and %s are not compatible: %s %q vs %q", pa, pb, f.name, f.x, f.y)
		}
	}
	return nil
}

// shardsOf returns the shard of each input when all are distinct shards of one job, else nil.
func shardsOf(inputs []string, metas []*datasets.AnswerKeyMeta) ([]Shard, error) {
	shards := make([]Shard, len(inputs))
	for i, m := range metas {
		s, ok := m.Extra["shard"]
		if !ok {
			return nil, nil
		}
		sh, err := ParseShard(s)
		if err != nil {
			return nil, fmt.Errorf("merge: %s: Extra \"shard\": %w", datasets.AnswerKeyMetaPath(inputs[i]), err)
		}
		shards[i] = sh
		for j := range i {
			if shards[j].Count != sh.Count {
				return nil, fmt.Errorf("merge: %s is shard %s but %s is shard %s", inputs[j], shards[j], inputs[i], sh)
			}
			if shards[j].Index == sh.Index {
				return nil, fmt.Errorf("merge: %s and %s are both shard %s", inputs[j], inputs[i], sh)
			}
		}
	}
	return shards, nil
}

// readKey streams the pairs of an answer key file.
func readKey(path string, fn func(datasets.ScoredPair) error) error {
	return datasets.ReadFile(path, func(r io.Reader, name string) error {
		return datasets.ReadAnswerKey(r, name, fn)
	})
}

// pairHash is a 64-bit hash of (qid, pid).
func pairHash(p datasets.ScoredPair) uint64 {
	h := fnv.New64a()
	io.WriteString(h, p.QueryID)
	h.Write([]byte{0})
	io.WriteString(h, p.DocID)
	return h.Sum64()
}

// findRepeats reports a (qid, pid) that appears twice in the inputs, given the hash of every row in
// input order: candidates are hashes that occur twice, confirmed (hashes collide) by a second read.
func findRepeats(inputs []string, hashes []uint64) error {
	sorted := slices.Clone(hashes)
	slices.Sort(sorted)
	suspects := map[uint64]bool{}
	for i := 1; i < len(sorted); i++ {
		if sorted[i] == sorted[i-1] {
			suspects[sorted[i]] = true
		}
	}
	if len(suspects) == 0 {
		return nil
	}
	type loc struct {
		file string
		row  int
	}
	first := map[[2]string]loc{}
	for _, in := range inputs {
		row := 0
		errFound := errors.New("found")
		var msg string
		err := readKey(in, func(p datasets.ScoredPair) error {
			row++
			if !suspects[pairHash(p)] {
				return nil
			}
			k := [2]string{p.QueryID, p.DocID}
			if l, ok := first[k]; ok {
				msg = fmt.Sprintf("merge: pair (qid %q, pid %q) appears twice: %s pair %d and %s pair %d", p.QueryID, p.DocID, l.file, l.row, in, row)
				return errFound
			}
			first[k] = loc{in, row}
			return nil
		})
		if errors.Is(err, errFound) {
			return errors.New(msg)
		}
		if err != nil {
			return fmt.Errorf("merge: %w", err)
		}
	}
	return nil
}

// mergeRows writes the rows of the inputs in order: concatenated when chunkSize is 0, else
// round-robin, chunkSize rows of each input in turn.
func mergeRows(inputs []string, chunkSize int, write func(datasets.ScoredPair) error) error {
	if chunkSize == 0 {
		for _, in := range inputs {
			if err := readKey(in, write); err != nil {
				return err
			}
		}
		return nil
	}
	type puller struct {
		next func() (datasets.ScoredPair, error, bool)
		stop func()
		done bool
	}
	ps := make([]*puller, len(inputs))
	for i, in := range inputs {
		next, stop := iter.Pull2(keyRows(in))
		defer stop()
		ps[i] = &puller{next: next, stop: stop}
	}
	for live := len(ps); live > 0; {
		live = 0
		for _, p := range ps {
			for n := 0; n < chunkSize && !p.done; n++ {
				sp, err, ok := p.next()
				if !ok {
					p.done = true
					break
				}
				if err != nil {
					return err
				}
				if err := write(sp); err != nil {
					return err
				}
			}
			if !p.done {
				live++
			}
		}
	}
	return nil
}

// keyRows iterates over the rows of an answer key file; a read error is the last item.
func keyRows(path string) iter.Seq2[datasets.ScoredPair, error] {
	return func(yield func(datasets.ScoredPair, error) bool) {
		errStop := errors.New("stop")
		err := readKey(path, func(p datasets.ScoredPair) error {
			if !yield(p, nil) {
				return errStop
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStop) {
			yield(datasets.ScoredPair{}, err)
		}
	}
}
