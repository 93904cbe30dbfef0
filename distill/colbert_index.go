package distill

import (
	"bufio"
	"bytes"
	"container/heap"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/datasets/bm25"
	"github.com/mimicry-ir/mimicry/distill/eval"
)

// ColBERT retrieval without the graph: a corpus is encoded once into the token embeddings that take
// part in MaxSim, kept in one flat float32 array with per-document offsets (and on disk as one
// file), and queries are scored in plain Go, in parallel — exhaustively over all documents for small
// corpora, or over BM25's top k for larger ones.
//
// # Index file format (ColBERTIndexFormat)
//
// All integers are little-endian.
//
//	offset  size            content
//	0       8               magic "MCBIDX01"
//	8       8               uint64 J: length of the JSON header
//	16      J               JSON header (ColBERTIndexMeta): format, dim, dtype, docs, tokens, provenance
//	        8·(docs+1)      uint64 token offsets: document i owns tokens [off[i], off[i+1]); off[0] = 0,
//	                        off[docs] = tokens
//	        Σ(4 + len(id))  document ids: uint32 byte length, then the UTF-8 bytes, in document order
//	        tokens·dim·w    embeddings, token-major (token t's dim values together), w = 4 bytes for
//	                        dtype "float32" (IEEE binary32), 2 for "float16" (IEEE binary16, rounded to
//	                        nearest even; L2-normalised values lose about 3 decimal digits)
//	        32              SHA-256 of every byte before it
//
// The file is written to a temporary file in the same directory and renamed into place, so a reader
// sees the old index or the new one, never a torn one; a truncated or altered file fails the checksum
// and is reported with the path and the field. Loading decodes everything to float32 in memory
// (4 bytes per value whatever the file's dtype).

// ColBERTIndexFormat is the value of ColBERTIndexMeta.Format written by this version.
const ColBERTIndexFormat = "mimicry-colbert-index/1"

// colbertIndexMagic starts every index file.
const colbertIndexMagic = "MCBIDX01"

// Storage dtypes of the index file.
const (
	// IndexFloat32 stores embeddings as 4-byte floats (exact).
	IndexFloat32 = "float32"
	// IndexFloat16 stores embeddings as 2-byte IEEE half floats (half the disk space).
	IndexFloat16 = "float16"
)

// ColBERTIndexMeta is the JSON header of an index file.
type ColBERTIndexMeta struct {
	// Format is ColBERTIndexFormat.
	Format string `json:"format"`
	// Dim is the width of the embeddings.
	Dim int `json:"dim"`
	// DType is the storage type on disk: IndexFloat32 or IndexFloat16.
	DType string `json:"dtype"`
	// Docs is the number of documents.
	Docs int `json:"docs"`
	// Tokens is the total number of stored token embeddings.
	Tokens int64 `json:"tokens"`
	// QueryLen and DocLen are the lengths the model encoded with (queries must be encoded alike).
	QueryLen int `json:"query_len,omitempty"`
	// DocLen is the passage length limit used to encode the documents.
	DocLen int `json:"doc_len,omitempty"`
	// AttendExpansion is the model's query setting.
	AttendExpansion bool `json:"attend_expansion,omitempty"`
	// Model names the model (e.g. its folder or weights digest).
	Model string `json:"model,omitempty"`
	// Collection names the corpus.
	Collection string `json:"collection,omitempty"`
	// Created is when the index was built, RFC 3339.
	Created string `json:"created,omitempty"`
}

// ColBERTIndex is an encoded corpus in memory.
type ColBERTIndex struct {
	// Meta describes the index (Docs, Tokens and Dim match the arrays below).
	Meta ColBERTIndexMeta
	// DocIDs are the documents' ids, in index order.
	DocIDs []string
	// Offsets are the token offsets: document i owns Vectors[Offsets[i]·Dim : Offsets[i+1]·Dim].
	Offsets []int64
	// Vectors are all token embeddings, token-major.
	Vectors []float32
}

// Doc returns the embeddings of document i (T × Dim, row-major); a view, not a copy.
func (ix *ColBERTIndex) Doc(i int) []float32 {
	d := int64(ix.Meta.Dim)
	return ix.Vectors[ix.Offsets[i]*d : ix.Offsets[i+1]*d]
}

// Len is the number of documents.
func (ix *ColBERTIndex) Len() int { return len(ix.DocIDs) }

// BuildColBERTIndex encodes docs (their bm25.Contents, as Texts gives them) with enc — batched by
// length, with a progress bar for long corpora unless enc.Quiet — into an index.
func BuildColBERTIndex(enc *ColBERTEncoder, docs []datasets.Document) (*ColBERTIndex, error) {
	texts := make([]string, len(docs))
	ids := make([]string, len(docs))
	seen := make(map[string]bool, len(docs))
	for i, d := range docs {
		if seen[d.ID] {
			return nil, fmt.Errorf("colbert index: document %q appears twice in the corpus", d.ID)
		}
		seen[d.ID] = true
		ids[i], texts[i] = d.ID, bm25.Contents(d)
	}
	embs, err := enc.EncodeDocs(texts)
	if err != nil {
		return nil, err
	}
	dim := enc.Dim()
	ix := &ColBERTIndex{
		Meta: ColBERTIndexMeta{Format: ColBERTIndexFormat, Dim: dim, DType: IndexFloat32, Docs: len(docs),
			QueryLen: enc.queryLen(), DocLen: enc.docLen(), AttendExpansion: enc.AttendExpansion,
			Created: time.Now().UTC().Format(time.RFC3339)},
		DocIDs:  ids,
		Offsets: make([]int64, len(docs)+1),
	}
	total := 0
	for i, e := range embs {
		total += len(e)
		ix.Offsets[i+1] = int64(total / dim)
	}
	ix.Vectors = make([]float32, 0, total)
	for _, e := range embs {
		ix.Vectors = append(ix.Vectors, e...)
	}
	ix.Meta.Tokens = ix.Offsets[len(docs)]
	return ix, nil
}

// check verifies that the arrays agree with each other and with Meta.
func (ix *ColBERTIndex) check() error {
	m := ix.Meta
	switch {
	case m.Dim <= 0:
		return fmt.Errorf("field \"dim\" must be positive, got %d", m.Dim)
	case m.Docs != len(ix.DocIDs) || len(ix.Offsets) != m.Docs+1:
		return fmt.Errorf("field \"docs\" is %d but there are %d ids and %d offsets", m.Docs, len(ix.DocIDs), len(ix.Offsets))
	case ix.Offsets[0] != 0 || ix.Offsets[m.Docs] != m.Tokens:
		return fmt.Errorf("offsets run from %d to %d, want 0 to \"tokens\" = %d", ix.Offsets[0], ix.Offsets[m.Docs], m.Tokens)
	case int64(len(ix.Vectors)) != m.Tokens*int64(m.Dim):
		return fmt.Errorf("%d embedding values, want tokens × dim = %d", len(ix.Vectors), m.Tokens*int64(m.Dim))
	}
	for i := range m.Docs {
		if ix.Offsets[i+1] < ix.Offsets[i] {
			return fmt.Errorf("offset of document %d (%q) decreases: %d < %d", i+1, ix.DocIDs[i], ix.Offsets[i+1], ix.Offsets[i])
		}
	}
	return nil
}

// Write saves the index at path (see the format above), storing the embeddings as dtype
// (IndexFloat32, or IndexFloat16 for half the space; "" means float32), atomically.
func (ix *ColBERTIndex) Write(path, dtype string) error {
	if dtype == "" {
		dtype = IndexFloat32
	}
	if dtype != IndexFloat32 && dtype != IndexFloat16 {
		return fmt.Errorf("colbert index %s: unknown dtype %q (want %q or %q)", path, dtype, IndexFloat32, IndexFloat16)
	}
	if err := ix.check(); err != nil {
		return fmt.Errorf("colbert index %s: %w", path, err)
	}
	meta := ix.Meta
	meta.Format, meta.DType = ColBERTIndexFormat, dtype
	header, err := json.Marshal(meta)
	if err != nil {
		return err
	}
	err = datasets.WriteFileAtomic(path, func(w io.Writer) error {
		h := sha256.New()
		bw := bufio.NewWriterSize(io.MultiWriter(w, h), 1<<20)
		var buf [8]byte
		bw.WriteString(colbertIndexMagic)
		binary.LittleEndian.PutUint64(buf[:], uint64(len(header)))
		bw.Write(buf[:])
		bw.Write(header)
		for _, off := range ix.Offsets {
			binary.LittleEndian.PutUint64(buf[:], uint64(off))
			bw.Write(buf[:])
		}
		for _, id := range ix.DocIDs {
			binary.LittleEndian.PutUint32(buf[:4], uint32(len(id)))
			bw.Write(buf[:4])
			bw.WriteString(id)
		}
		for _, v := range ix.Vectors {
			if dtype == IndexFloat16 {
				binary.LittleEndian.PutUint16(buf[:2], colbertToHalf(v))
				bw.Write(buf[:2])
			} else {
				binary.LittleEndian.PutUint32(buf[:4], math.Float32bits(v))
				bw.Write(buf[:4])
			}
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		_, err := w.Write(h.Sum(nil))
		return err
	})
	if err != nil {
		return fmt.Errorf("writing colbert index %s: %w", path, err)
	}
	return nil
}

// ReadColBERTIndex loads an index written by Write, checking its magic, header, offsets and
// checksum; errors name the path and what is wrong.
func ReadColBERTIndex(path string) (*ColBERTIndex, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("colbert index %s: %s", path, fmt.Sprintf(format, args...))
	}
	if len(data) < len(colbertIndexMagic)+8+sha256.Size || string(data[:len(colbertIndexMagic)]) != colbertIndexMagic {
		return nil, fail("not a Mimicry ColBERT index (no %q magic, or shorter than its fixed fields)", colbertIndexMagic)
	}
	body, sum := data[:len(data)-sha256.Size], data[len(data)-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return nil, fail("checksum mismatch: the file is truncated or damaged")
	}
	r := &colbertReader{data: body, pos: len(colbertIndexMagic)}
	hlen, ok := r.uint64()
	if !ok || hlen > uint64(len(body)) {
		return nil, fail("header length %d exceeds the file", hlen)
	}
	headerBytes, _ := r.bytes(int(hlen))
	var meta ColBERTIndexMeta
	dec := json.NewDecoder(bytes.NewReader(headerBytes))
	if err := dec.Decode(&meta); err != nil {
		return nil, fail("header: invalid JSON: %v", err)
	}
	width := 0
	switch {
	case meta.Format != ColBERTIndexFormat:
		return nil, fail("header field \"format\" is %q, want %q", meta.Format, ColBERTIndexFormat)
	case meta.DType == IndexFloat32:
		width = 4
	case meta.DType == IndexFloat16:
		width = 2
	default:
		return nil, fail("header field \"dtype\" is %q, want %q or %q", meta.DType, IndexFloat32, IndexFloat16)
	}
	switch {
	case meta.Dim <= 0:
		return nil, fail("header field \"dim\" must be positive, got %d", meta.Dim)
	case meta.Docs < 0 || meta.Tokens < 0:
		return nil, fail("header fields \"docs\" (%d) and \"tokens\" (%d) must not be negative", meta.Docs, meta.Tokens)
	case uint64(meta.Docs+1)*8 > uint64(r.left()):
		return nil, fail("header field \"docs\" (%d) is larger than the file allows", meta.Docs)
	}
	ix := &ColBERTIndex{Meta: meta, DocIDs: make([]string, meta.Docs), Offsets: make([]int64, meta.Docs+1)}
	for i := range ix.Offsets {
		v, _ := r.uint64()
		if v > uint64(meta.Tokens) {
			return nil, fail("offset %d (%d) exceeds \"tokens\" (%d)", i, v, meta.Tokens)
		}
		ix.Offsets[i] = int64(v)
	}
	for i := range ix.DocIDs {
		n, ok := r.uint32()
		if !ok {
			return nil, fail("document id %d: unexpected end of file", i+1)
		}
		b, ok := r.bytes(int(n))
		if !ok {
			return nil, fail("document id %d: length %d runs past the end of the file", i+1, n)
		}
		ix.DocIDs[i] = string(b)
	}
	want := uint64(meta.Tokens) * uint64(meta.Dim) * uint64(width)
	if uint64(r.left()) != want {
		return nil, fail("embeddings take %d bytes, want tokens × dim × %d = %d", r.left(), width, want)
	}
	raw, _ := r.bytes(int(want))
	ix.Vectors = make([]float32, meta.Tokens*int64(meta.Dim))
	if width == 4 {
		for i := range ix.Vectors {
			ix.Vectors[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	} else {
		for i := range ix.Vectors {
			ix.Vectors[i] = colbertFromHalf(binary.LittleEndian.Uint16(raw[2*i:]))
		}
	}
	if err := ix.check(); err != nil {
		return nil, fail("%v", err)
	}
	return ix, nil
}

// colbertReader reads little-endian fields from a byte slice.
type colbertReader struct {
	data []byte
	pos  int
}

func (r *colbertReader) left() int { return len(r.data) - r.pos }

func (r *colbertReader) bytes(n int) ([]byte, bool) {
	if n < 0 || n > r.left() {
		return nil, false
	}
	b := r.data[r.pos : r.pos+n]
	r.pos += n
	return b, true
}

func (r *colbertReader) uint64() (uint64, bool) {
	b, ok := r.bytes(8)
	if !ok {
		return 0, false
	}
	return binary.LittleEndian.Uint64(b), true
}

func (r *colbertReader) uint32() (uint32, bool) {
	b, ok := r.bytes(4)
	if !ok {
		return 0, false
	}
	return binary.LittleEndian.Uint32(b), true
}

// colbertToHalf rounds f to the nearest IEEE 754 binary16 value (ties to even); values beyond
// the half range become ±Inf, NaN stays NaN.
func colbertToHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	switch {
	case e >= 0x1f:
		return sign | 0x7c00
	case e <= 0:
		if e < -10 {
			return sign
		}
		full := mant | 0x800000
		shift := uint(14 - e)
		half := full >> shift
		rem := full & (1<<shift - 1)
		halfway := uint32(1) << (shift - 1)
		if rem > halfway || (rem == halfway && half&1 == 1) {
			half++
		}
		return sign | uint16(half)
	}
	half := uint32(e)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && half&1 == 1) {
		half++ // a carry into the exponent is right, up to +Inf
	}
	return sign | uint16(half)
}

// colbertFromHalf widens an IEEE 754 binary16 value exactly.
func colbertFromHalf(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0:
		if mant == 0 {
			return math.Float32frombits(sign)
		}
		e := uint32(127 - 15 + 1)
		for mant&0x400 == 0 {
			mant <<= 1
			e--
		}
		return math.Float32frombits(sign | e<<23 | (mant&0x3ff)<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// MaxSimScore is ColBERT's late-interaction score computed on the CPU: q holds the query's Lq token
// embeddings and d the document's T token embeddings, both row-major with width dim; the result is
// Σ_i max_j q_i·d_j, and 0 for a document without tokens — what models.MaxSim computes in the graph.
func MaxSimScore(q, d []float32, dim int) float32 {
	return maxSimScore(q, d, dim, make([]float32, len(q)/dim))
}

// maxSimScore is MaxSimScore with a scratch slice of len(q)/dim values.
func maxSimScore(q, d []float32, dim int, best []float32) float32 {
	lq, nd := len(q)/dim, len(d)/dim
	if nd == 0 || lq == 0 {
		return 0
	}
	best = best[:lq]
	for i := range best {
		best[i] = float32(math.Inf(-1))
	}
	for j := range nd {
		dj := d[j*dim : (j+1)*dim : (j+1)*dim]
		i := 0
		// Four query tokens at a time: each document value loaded once serves four dot products.
		for ; i+4 <= lq; i += 4 {
			q0 := q[i*dim : (i+1)*dim : (i+1)*dim]
			q1 := q[(i+1)*dim : (i+2)*dim : (i+2)*dim]
			q2 := q[(i+2)*dim : (i+3)*dim : (i+3)*dim]
			q3 := q[(i+3)*dim : (i+4)*dim : (i+4)*dim]
			var s0, s1, s2, s3 float32
			for k, v := range dj {
				s0 += q0[k] * v
				s1 += q1[k] * v
				s2 += q2[k] * v
				s3 += q3[k] * v
			}
			best[i] = max(best[i], s0)
			best[i+1] = max(best[i+1], s1)
			best[i+2] = max(best[i+2], s2)
			best[i+3] = max(best[i+3], s3)
		}
		for ; i < lq; i++ {
			qi := q[i*dim : (i+1)*dim : (i+1)*dim]
			var s float32
			for k, v := range dj {
				s += qi[k] * v
			}
			best[i] = max(best[i], s)
		}
	}
	var sum float32
	for _, b := range best {
		sum += b
	}
	return sum
}

// colbertParallel calls fn(i) for i in [0, n) on GOMAXPROCS goroutines.
func colbertParallel(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	next := 0
	for range workers {
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= n {
					return
				}
				fn(i)
			}
		})
	}
	wg.Wait()
}

// colbertHit is a document index with its score.
type colbertHit struct {
	doc   int
	score float32
}

// colbertTopHeap is a min-heap of the best documents so far: the worst on top.
type colbertTopHeap []colbertHit

func (h colbertTopHeap) Len() int      { return len(h) }
func (h colbertTopHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h colbertTopHeap) Less(i, j int) bool {
	return colbertWorse(h[i], h[j])
}
func (h *colbertTopHeap) Push(x any) { *h = append(*h, x.(colbertHit)) }
func (h *colbertTopHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// colbertWorse orders results: lower score, then larger document index (so ties keep index order).
func colbertWorse(a, b colbertHit) bool {
	if a.score != b.score {
		return a.score < b.score
	}
	return a.doc > b.doc
}

// ScoreQuery returns the MaxSim score of a query (Lq × Dim embeddings) against every document,
// computed in parallel over documents.
func (ix *ColBERTIndex) ScoreQuery(q []float32) []float32 {
	n := ix.Len()
	scores := make([]float32, n)
	const chunk = 256
	chunks := (n + chunk - 1) / chunk
	dim := ix.Meta.Dim
	colbertParallel(chunks, func(c int) {
		best := make([]float32, len(q)/dim)
		for i := c * chunk; i < min(n, (c+1)*chunk); i++ {
			scores[i] = maxSimScore(q, ix.Doc(i), dim, best)
		}
	})
	return scores
}

// encodeQueries checks that enc matches the index and encodes the queries.
func (ix *ColBERTIndex) encodeQueries(enc *ColBERTEncoder, queries []datasets.Query) ([][]float32, error) {
	if enc.Dim() != ix.Meta.Dim {
		return nil, fmt.Errorf("colbert search: the model's embeddings have %d dimensions, the index's %d", enc.Dim(), ix.Meta.Dim)
	}
	texts := make([]string, len(queries))
	for i, q := range queries {
		texts[i] = q.Text
	}
	return enc.EncodeQueries(texts)
}

// SearchExhaustive scores every query against every document (plain-Go MaxSim, parallel over
// documents) and keeps each query's top k (all documents when k ≤ 0). A residual student's score
// (enc.BM25Weight() > 0) adds its weight times BM25 before the top k are taken.
func (ix *ColBERTIndex) SearchExhaustive(enc *ColBERTEncoder, queries []datasets.Query, k int) (eval.Run, error) {
	qe, err := ix.encodeQueries(enc, queries)
	if err != nil {
		return nil, err
	}
	bonus, err := ix.lexicalBonus(enc, queries)
	if err != nil {
		return nil, err
	}
	return ix.searchEmbeddings(queries, qe, k, bonus), nil
}

// SearchEmbeddings is SearchExhaustive for queries already encoded (qe[i] goes with queries[i]),
// by MaxSim alone.
func (ix *ColBERTIndex) SearchEmbeddings(queries []datasets.Query, qe [][]float32, k int) eval.Run {
	return ix.searchEmbeddings(queries, qe, k, nil)
}

// lexicalBonus is, for a residual student, each query's BM25Weight·BM25 score of every document
// BM25 matches, keyed by position in the index; nil for a plain student.
func (ix *ColBERTIndex) lexicalBonus(enc *ColBERTEncoder, queries []datasets.Query) ([]map[int]float32, error) {
	w := enc.BM25Weight()
	if w <= 0 {
		return nil, nil
	}
	if enc.BM25 == nil {
		_, err := enc.lexical(nil, nil)
		return nil, err
	}
	pos := make(map[string]int, ix.Len())
	for i, id := range ix.DocIDs {
		pos[id] = i
	}
	hits := enc.BM25.SearchBatch(queries, enc.BM25.Len())
	out := make([]map[int]float32, len(queries))
	for i, q := range queries {
		out[i] = make(map[int]float32, len(hits[q.ID]))
		for _, h := range hits[q.ID] {
			if p, ok := pos[h.DocID]; ok {
				out[i][p] = float32(w * h.Score)
			}
		}
	}
	return out, nil
}

// searchEmbeddings keeps each query's top k by MaxSim plus bonus[i] (when bonus is not nil).
func (ix *ColBERTIndex) searchEmbeddings(queries []datasets.Query, qe [][]float32, k int, bonus []map[int]float32) eval.Run {
	if k <= 0 || k > ix.Len() {
		k = ix.Len()
	}
	run := eval.Run{}
	for i, q := range queries {
		scores := ix.ScoreQuery(qe[i])
		if bonus != nil {
			for d, b := range bonus[i] {
				scores[d] += b
			}
		}
		h := make(colbertTopHeap, 0, k+1)
		for d, s := range scores {
			sd := colbertHit{d, s}
			if len(h) < k {
				heap.Push(&h, sd)
			} else if colbertWorse(h[0], sd) {
				h[0] = sd
				heap.Fix(&h, 0)
			}
		}
		docs := make(map[string]float64, len(h))
		for _, sd := range h {
			docs[ix.DocIDs[sd.doc]] = float64(sd.score)
		}
		run[q.ID] = docs
	}
	return run
}

// Rerank scores each query's candidates (document ids, e.g. BM25's top k from Candidates) against
// the index, in parallel over queries; a residual student adds its weight times BM25. A candidate
// missing from the index is an error naming it.
func (ix *ColBERTIndex) Rerank(enc *ColBERTEncoder, queries []datasets.Query, candidates map[string][]string) (eval.Run, error) {
	qe, err := ix.encodeQueries(enc, queries)
	if err != nil {
		return nil, err
	}
	bonus, err := ix.lexicalBonus(enc, queries)
	if err != nil {
		return nil, err
	}
	return ix.rerankEmbeddings(queries, qe, candidates, bonus)
}

// RerankEmbeddings is Rerank for queries already encoded (qe[i] goes with queries[i]), by MaxSim
// alone.
func (ix *ColBERTIndex) RerankEmbeddings(queries []datasets.Query, qe [][]float32, candidates map[string][]string) (eval.Run, error) {
	return ix.rerankEmbeddings(queries, qe, candidates, nil)
}

// rerankEmbeddings scores the candidates by MaxSim plus bonus[i] (when bonus is not nil).
func (ix *ColBERTIndex) rerankEmbeddings(queries []datasets.Query, qe [][]float32, candidates map[string][]string, bonus []map[int]float32) (eval.Run, error) {
	pos := make(map[string]int, ix.Len())
	for i, id := range ix.DocIDs {
		pos[id] = i
	}
	for _, q := range queries {
		for _, did := range candidates[q.ID] {
			if _, ok := pos[did]; !ok {
				return nil, fmt.Errorf("colbert rerank: query %q: candidate %q is not in the index", q.ID, did)
			}
		}
	}
	results := make([]map[string]float64, len(queries))
	dim := ix.Meta.Dim
	colbertParallel(len(queries), func(i int) {
		best := make([]float32, len(qe[i])/dim)
		docs := map[string]float64{}
		for _, did := range candidates[queries[i].ID] {
			s := maxSimScore(qe[i], ix.Doc(pos[did]), dim, best)
			if bonus != nil {
				s += bonus[i][pos[did]]
			}
			docs[did] = float64(s)
		}
		results[i] = docs
	})
	run := eval.Run{}
	for i, q := range queries {
		if len(results[i]) > 0 {
			run[q.ID] = results[i]
		}
	}
	return run, nil
}

// ErrIndexMismatch is returned (wrapped) when an index was built with other encoding settings than
// the encoder that queries it.
var ErrIndexMismatch = errors.New("index and encoder disagree")

// CheckEncoder verifies that enc encodes as the index was built: same dimension and, when the index
// records them, the same query length and expansion setting.
func (ix *ColBERTIndex) CheckEncoder(enc *ColBERTEncoder) error {
	var diffs []string
	if enc.Dim() != ix.Meta.Dim {
		diffs = append(diffs, fmt.Sprintf("dim %d vs %d", enc.Dim(), ix.Meta.Dim))
	}
	if ix.Meta.QueryLen > 0 && enc.queryLen() != ix.Meta.QueryLen {
		diffs = append(diffs, fmt.Sprintf("query length %d vs %d", enc.queryLen(), ix.Meta.QueryLen))
	}
	if ix.Meta.DocLen > 0 && enc.docLen() != ix.Meta.DocLen {
		diffs = append(diffs, fmt.Sprintf("document length %d vs %d", enc.docLen(), ix.Meta.DocLen))
	}
	if len(diffs) > 0 {
		return fmt.Errorf("%w: %s", ErrIndexMismatch, strings.Join(diffs, ", "))
	}
	return nil
}
