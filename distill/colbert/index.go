package colbert

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/datasets/bm25"
)

// IndexFormat is the value of IndexMeta.Format written by this version.
const IndexFormat = "mimicry-colbert-index/1"

// colbertIndexMagic starts every index file.
const colbertIndexMagic = "MCBIDX01"

// Storage dtypes of the index file.
const (
	// IndexFloat32 stores embeddings as 4-byte teacher.floats (exact).
	IndexFloat32 = "float32"
	// IndexFloat16 stores embeddings as 2-byte IEEE half teacher.floats (half the disk space).
	IndexFloat16 = "float16"
)

// IndexMeta is the JSON header of an index file.
type IndexMeta struct {
	// Format is IndexFormat.
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

// Index is an encoded corpus in memory.
type Index struct {
	// Meta describes the index (Docs, Tokens and Dim match the arrays below).
	Meta IndexMeta
	// DocIDs are the documents' ids, in index order.
	DocIDs []string
	// Offsets are the token offsets: document i owns Vectors[Offsets[i]·Dim : Offsets[i+1]·Dim].
	Offsets []int64
	// Vectors are all token embeddings, token-major.
	Vectors []float32
}

// Doc returns the embeddings of document i (T × Dim, row-major); a view, not a copy.
func (ix *Index) Doc(i int) []float32 {
	d := int64(ix.Meta.Dim)
	return ix.Vectors[ix.Offsets[i]*d : ix.Offsets[i+1]*d]
}

// Len is the number of documents.
func (ix *Index) Len() int { return len(ix.DocIDs) }

// BuildIndex encodes docs (their bm25.Contents, as score.Texts gives them) with enc — batched by
// length, with a progress bar for long corpora unless enc.Quiet — into an index.
func BuildIndex(enc *Encoder, docs []datasets.Document) (*Index, error) {
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
	ix := &Index{
		Meta: IndexMeta{Format: IndexFormat, Dim: dim, DType: IndexFloat32, Docs: len(docs),
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
func (ix *Index) check() error {
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
func (ix *Index) Write(path, dtype string) error {
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
	meta.Format, meta.DType = IndexFormat, dtype
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

// ReadIndex loads an index written by Write, checking its magic, header, offsets and
// checksum; errors name the path and what is wrong.
func ReadIndex(path string) (*Index, error) {
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
	var meta IndexMeta
	dec := json.NewDecoder(bytes.NewReader(headerBytes))
	if err := dec.Decode(&meta); err != nil {
		return nil, fail("header: invalid JSON: %v", err)
	}
	width := 0
	switch {
	case meta.Format != IndexFormat:
		return nil, fail("header field \"format\" is %q, want %q", meta.Format, IndexFormat)
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
	ix := &Index{Meta: meta, DocIDs: make([]string, meta.Docs), Offsets: make([]int64, meta.Docs+1)}
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
