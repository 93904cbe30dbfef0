package annotate

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/distill/progress"
	"github.com/mimicry-ir/mimicry/distill/score"
)

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

// Options configure Run. Zero values take the defaults in brackets.
type Options struct {
	// Teacher scores the pairs: a teacher.CrossEncoder, an score.Ensemble, a score.BM25, ...
	Teacher score.Scorer
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

// Summary reports what Run did.
type Summary struct {
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
func (s *Summary) String() string {
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

// Run scores every pair of opts.Pairs with opts.Teacher and writes the answer key opts.Out with its
// metadata sidecar, resumably and exactly once: after a crash, rerun it with the same options. A
// non-finite score is an error naming the pair (qid, pid and where it came from), and nothing of its
// chunk is written; progress goes to a bar (pairs/s, ETA) unless Quiet.
//
// # Exactly once
//
// Annotating millions of pairs takes hours, so a run must survive being killed (kill -9, a lost
// machine) at any moment: rerunning the same command finishes the job, and the final key holds every
// pair exactly once, with the scores an uninterrupted run would have written. Run achieves this so:
//
//  1. A first pass streams the source (nothing is scored): it counts the pairs, drops a pair repeated
//     within its query, rejects a query whose pairs are not listed together, and hashes every (qid, pid,
//     query text, passage text) into the source digest. Malformed input stops here, before any work.
//  2. The run's fingerprint is the hash of the digest, the metadata (teacher, checkpoint, tokenizer,
//     lengths, collection, Extra), the chunk size and the shard. It is stored in <out>.parts/run.json;
//     parts of another run (anything in the fingerprint changed) are an error, never mixed in.
//  3. A second pass cuts the pairs, in source order, into chunks of ChunkSize pairs. Chunk c is scored
//     with one score.Scorer.Score call (a cross-encoder buckets by length inside the call, so the batches —
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
// annotate disjoint parts of the same source; Merge puts the n keys back together, in the
// order of an unsharded run.
func Run(opts Options) (*Summary, error) {
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
	sum := &Summary{Out: opts.Out, SourcePairs: total, Duplicates: dups}
	for c := range nChunks {
		if opts.Shard.owns(c) {
			sum.Chunks++
			sum.Pairs += min(int64(chunkSize), total-int64(c)*int64(chunkSize))
		}
	}
	partsDir := opts.Out + ".parts"
	finish := func() (*Summary, error) {
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
func scoreChunk(teacher score.Scorer, chunk []Pair, path string) error {
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
