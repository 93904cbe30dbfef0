package distill

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"maps"
	"math"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/datasets/bm25"
	"github.com/mimicry-ir/mimicry/distill/eval"
	"github.com/mimicry-ir/mimicry/distill/progress"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

// SPLADE retrieval: the corpus is encoded once into sparse vectors (SpladeEncoder), the vectors go
// into an inverted index with quantised impact weights (BuildSparseIndex), and a query is encoded
// and scored against every document exactly, term at a time (SparseIndex.Search).

// SparseVector is a text's SPLADE representation: the vocabulary terms with a non-zero weight, in
// increasing term order, and their weights (all > 0).
type SparseVector struct {
	// Terms are token ids, increasing.
	Terms []int32
	// Weights are the terms' weights, Weights[i] for Terms[i].
	Weights []float32
}

// Len is the number of active terms.
func (v SparseVector) Len() int { return len(v.Terms) }

// Dot is the dot product of two sparse vectors (both with increasing terms), in float64.
func (v SparseVector) Dot(o SparseVector) float64 {
	var s float64
	i, j := 0, 0
	for i < len(v.Terms) && j < len(o.Terms) {
		switch {
		case v.Terms[i] < o.Terms[j]:
			i++
		case v.Terms[i] > o.Terms[j]:
			j++
		default:
			s += float64(v.Weights[i]) * float64(o.Weights[j])
			i++
			j++
		}
	}
	return s
}

// Top keeps the k largest weights (ties: the smaller term id), in increasing term order: the
// budget pruning of queries and documents. k ≤ 0 or k ≥ Len() returns v itself.
func (v SparseVector) Top(k int) SparseVector {
	if k <= 0 || k >= len(v.Terms) {
		return v
	}
	idx := make([]int, len(v.Terms))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		if c := cmp.Compare(v.Weights[b], v.Weights[a]); c != 0 {
			return c
		}
		return cmp.Compare(v.Terms[a], v.Terms[b])
	})
	idx = idx[:k]
	slices.Sort(idx)
	out := SparseVector{Terms: make([]int32, k), Weights: make([]float32, k)}
	for i, j := range idx {
		out.Terms[i], out.Weights[i] = v.Terms[j], v.Weights[j]
	}
	return out
}

// SparseFromDense turns a dense |V| vector into a SparseVector of its positive entries.
func SparseFromDense(dense []float32) SparseVector {
	var v SparseVector
	for j, w := range dense {
		if w > 0 {
			v.Terms = append(v.Terms, int32(j))
			v.Weights = append(v.Weights, w)
		}
	}
	return v
}

// TermWeight is one term of a sparse vector with its weight, for display.
type TermWeight struct {
	// Term is the vocabulary string ("river", "##ing").
	Term string `json:"term"`
	// Weight is the term's weight.
	Weight float32 `json:"weight"`
}

// TopTerms lists the k heaviest terms of v, heaviest first (ties: smaller id first), as tokenizer
// strings: what a document or query has been expanded to. k ≤ 0 lists them all.
func TopTerms(v SparseVector, tk tokenizer.Tokenizer, k int) []TermWeight {
	top := v.Top(k)
	out := make([]TermWeight, len(top.Terms))
	for i, id := range top.Terms {
		tok, ok := tk.IDToToken(int(id))
		if !ok {
			tok = fmt.Sprintf("[id %d]", id)
		}
		out[i] = TermWeight{Term: tok, Weight: top.Weights[i]}
	}
	slices.SortStableFunc(out, func(a, b TermWeight) int { return cmp.Compare(b.Weight, a.Weight) })
	return out
}

// SpladeEncoder encodes texts with a SPLADE model (models.KindSPLADE) into sparse vectors. Texts are
// batched by token length (little compute is wasted on padding) and returned in the caller's order.
// It is not safe for concurrent use.
type SpladeEncoder struct {
	// Model is a models.KindSPLADE model.
	Model *models.Model
	// Tokenizer encodes the texts.
	Tokenizer tokenizer.Tokenizer
	// Backend runs the graph.
	Backend backends.Backend
	// BatchSize is the largest number of texts per forward pass [DefaultBatchSize]; it is lowered so
	// that a batch's [B, L, V] logits stay within about 2^25 values.
	BatchSize int
	// Quiet hides the progress bar.
	Quiet bool

	exec *context.Exec
}

// spladeLogitBudget bounds B·L·V, the size of the MLM logits of one encoding batch.
const spladeLogitBudget = 1 << 25

// Encode returns the sparse vectors of texts, each encoded as `[CLS] text [SEP]` cut to maxLen
// tokens. label names the progress bar ("documents", "queries").
func (e *SpladeEncoder) Encode(texts []string, maxLen int, label string) ([]SparseVector, error) {
	if e.Model == nil || e.Model.Kind != models.KindSPLADE {
		return nil, fmt.Errorf("splade encoder: a %s model is required", models.KindSPLADE)
	}
	if e.exec == nil {
		if err := e.Model.Materialize(e.Backend); err != nil {
			return nil, err
		}
		m := e.Model
		exec, err := context.NewExec(e.Backend, m.Ctx, func(ctx *context.Context, ids, types, mask *Node) *Node {
			return models.SpladeVectors(ctx.In(models.ModelScope), m.Config, ids, types, mask)
		})
		if err != nil {
			return nil, err
		}
		e.exec = exec
	}
	tk := e.Tokenizer
	ids := tokenizer.EncodeAll(tk, texts)
	order := make([]int, len(texts))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return len(ids[order[a]]) < len(ids[order[b]]) })
	vocab := e.Model.Config.VocabSize
	bs := batchSize(e.BatchSize)
	bar := progress.Quiet(len(texts))
	if !e.Quiet {
		bar = progress.New(len(texts), "splade encode "+label, label)
	}
	out := make([]SparseVector, len(texts))
	for start := 0; start < len(order); {
		// The batch's padded length is at most that of its longest (last) text.
		longest := min(len(ids[order[min(start+bs, len(order))-1]])+2, maxLen)
		n := max(1, min(bs, spladeLogitBudget/max(1, (longest+7)/8*8*vocab)))
		idx := order[start:min(start+n, len(order))]
		rows := make([][]int, len(idx))
		for j, i := range idx {
			rows[j] = ids[i]
		}
		b, err := tokenizer.BatchFromIDs(tk, rows, maxLen, tokenizer.WithPadToMultiple(8))
		if err != nil {
			return nil, err
		}
		res, err := e.exec.Exec(
			tensors.FromFlatDataAndDimensions(b.IDs, b.Size, b.Len),
			tensors.FromFlatDataAndDimensions(b.TypeIDs, b.Size, b.Len),
			tensors.FromFlatDataAndDimensions(b.Mask, b.Size, b.Len))
		if err != nil {
			return nil, err
		}
		flat, err := spladeFloat32s(res[0])
		if err != nil {
			return nil, err
		}
		for j, i := range idx {
			out[i] = SparseFromDense(flat[j*vocab : (j+1)*vocab])
		}
		start += len(idx)
		bar.Add(len(idx), "")
	}
	bar.Finish()
	return out, nil
}

// spladeFloat32s reads a float tensor as float32s.
func spladeFloat32s(t *tensors.Tensor) ([]float32, error) {
	switch v := t.Value().(type) {
	case []float32:
		return v, nil
	case [][]float32:
		return slices.Concat(v...), nil
	case [][]float64:
		out := make([]float32, 0, len(v)*max(1, len(v[0])))
		for _, row := range v {
			for _, x := range row {
				out = append(out, float32(x))
			}
		}
		return out, nil
	}
	if f, err := tensors.CopyFlatData[float32](t); err == nil {
		return f, nil
	}
	f64, err := tensors.CopyFlatData[float64](t)
	if err != nil {
		return nil, fmt.Errorf("splade: unexpected output %s", t.Shape())
	}
	out := make([]float32, len(f64))
	for i, x := range f64 {
		out[i] = float32(x)
	}
	return out, nil
}

// SparseIndexOptions configure BuildSparseIndex. Zero values take the defaults in brackets.
type SparseIndexOptions struct {
	// Bits is the precision of the quantised impacts: 8 [default] or 16.
	Bits int
	// MaxDocTerms keeps only each document's MaxDocTerms heaviest terms (0: all).
	MaxDocTerms int
}

// SparseIndex is an inverted index of SPLADE document vectors with quantised impact weights.
//
// Quantisation. With M the largest document weight in the collection and L = 2^Bits − 1 levels, a
// weight w is stored as the integer impact round(w·L/M) and read back as impact·M/L: the global
// scale Scale() = M/L. The error on each stored weight is at most Scale()/2, so the error on a
// score is at most Scale()/2 · Σ_j q_j (the query's L1 norm). Weights below Scale()/2 round to 0
// and are left out of the index (with 8 bits, those under 1/510 of the largest weight).
//
// Search is exact for the stored weights: term at a time, each query term's postings add
// q_j · impact · Scale() to an accumulator per document, then a bounded heap picks the top k.
type SparseIndex struct {
	vocab   int
	bits    int
	scale   float32
	ids     []string
	offsets []int64  // term t's postings are [offsets[t], offsets[t+1])
	docs    []uint32 // document numbers, increasing within a term
	impacts []uint16 // quantised weights

	pool sync.Pool // *[]float32 accumulators
}

// BuildSparseIndex indexes the document vectors docs[i] of the documents named ids[i], over a
// vocabulary of vocab terms. Terms must lie in [0, vocab) and weights be finite and ≥ 0.
func BuildSparseIndex(ids []string, docs []SparseVector, vocab int, opts SparseIndexOptions) (*SparseIndex, error) {
	if len(ids) != len(docs) {
		return nil, fmt.Errorf("sparse index: %d ids but %d vectors", len(ids), len(docs))
	}
	if vocab <= 0 {
		return nil, fmt.Errorf("sparse index: vocabulary size %d", vocab)
	}
	if len(docs) > math.MaxUint32 {
		return nil, fmt.Errorf("sparse index: %d documents is more than %d", len(docs), math.MaxUint32)
	}
	bits := opts.Bits
	if bits == 0 {
		bits = 8
	}
	if bits != 8 && bits != 16 {
		return nil, fmt.Errorf("sparse index: impacts have 8 or 16 bits, not %d", bits)
	}
	var maxW float32
	for i, d := range docs {
		if len(d.Terms) != len(d.Weights) {
			return nil, fmt.Errorf("sparse index: document %q: %d terms but %d weights", ids[i], len(d.Terms), len(d.Weights))
		}
		for j, t := range d.Terms {
			w := d.Weights[j]
			if t < 0 || int(t) >= vocab {
				return nil, fmt.Errorf("sparse index: document %q: term %d outside the vocabulary [0, %d)", ids[i], t, vocab)
			}
			if !(w >= 0) || math.IsInf(float64(w), 0) {
				return nil, fmt.Errorf("sparse index: document %q: term %d has weight %v (want finite and ≥ 0)", ids[i], t, w)
			}
			maxW = max(maxW, w)
		}
	}
	levels := float32(uint32(1)<<bits - 1)
	scale := float32(1)
	if maxW > 0 {
		scale = maxW / levels
	}
	quant := func(w float32) uint16 {
		return uint16(min(levels, float32(math.Round(float64(w/scale)))))
	}
	ix := &SparseIndex{vocab: vocab, bits: bits, scale: scale, ids: slices.Clone(ids), offsets: make([]int64, vocab+1)}
	pruned := make([]SparseVector, len(docs))
	for i, d := range docs {
		pruned[i] = d.Top(opts.MaxDocTerms)
		for j, t := range pruned[i].Terms {
			if quant(pruned[i].Weights[j]) > 0 {
				ix.offsets[t+1]++
			}
		}
	}
	for t := range vocab {
		ix.offsets[t+1] += ix.offsets[t]
	}
	n := ix.offsets[vocab]
	ix.docs, ix.impacts = make([]uint32, n), make([]uint16, n)
	next := slices.Clone(ix.offsets[:vocab])
	for i, d := range pruned {
		for j, t := range d.Terms {
			if q := quant(d.Weights[j]); q > 0 {
				p := next[t]
				ix.docs[p], ix.impacts[p] = uint32(i), q
				next[t]++
			}
		}
	}
	return ix, nil
}

// Len is the number of documents.
func (ix *SparseIndex) Len() int { return len(ix.ids) }

// Vocab is the vocabulary size.
func (ix *SparseIndex) Vocab() int { return ix.vocab }

// Bits is the precision of the impacts.
func (ix *SparseIndex) Bits() int { return ix.bits }

// Scale is the weight of impact 1: a stored weight is impact × Scale().
func (ix *SparseIndex) Scale() float32 { return ix.scale }

// Postings is the number of (term, document) entries.
func (ix *SparseIndex) Postings() int64 { return int64(len(ix.docs)) }

// DocID is the id of document number i.
func (ix *SparseIndex) DocID(i int) string { return ix.ids[i] }

// DocFreq is the number of documents in which term t has a stored weight.
func (ix *SparseIndex) DocFreq(t int) int {
	if t < 0 || t >= ix.vocab {
		return 0
	}
	return int(ix.offsets[t+1] - ix.offsets[t])
}

// AvgDocTerms is the average number of stored terms per document.
func (ix *SparseIndex) AvgDocTerms() float64 {
	if len(ix.ids) == 0 {
		return 0
	}
	return float64(len(ix.docs)) / float64(len(ix.ids))
}

// Document reconstructs document i's stored (dequantised) vector.
func (ix *SparseIndex) Document(i int) SparseVector {
	var v SparseVector
	for t := range ix.vocab {
		lo, hi := ix.offsets[t], ix.offsets[t+1]
		if p, ok := slices.BinarySearch(ix.docs[lo:hi], uint32(i)); ok {
			v.Terms = append(v.Terms, int32(t))
			v.Weights = append(v.Weights, float32(ix.impacts[lo+int64(p)])*ix.scale)
		}
	}
	return v
}

// Search returns the k documents with the highest dot product with q (over the stored weights),
// best first; ties go to the document indexed first. Documents scoring 0 are not returned. Terms of
// q outside the vocabulary are ignored. It is safe for concurrent use.
func (ix *SparseIndex) Search(q SparseVector, k int) []bm25.Hit {
	if k <= 0 || len(ix.ids) == 0 {
		return nil
	}
	accp, _ := ix.pool.Get().(*[]float32)
	if accp == nil || len(*accp) != len(ix.ids) {
		a := make([]float32, len(ix.ids))
		accp = &a
	}
	acc := *accp
	for i, t := range q.Terms {
		w := q.Weights[i]
		if t < 0 || int(t) >= ix.vocab || !(w > 0) {
			continue
		}
		lo, hi := ix.offsets[t], ix.offsets[t+1]
		qw := w * ix.scale
		docs, imps := ix.docs[lo:hi], ix.impacts[lo:hi]
		imps = imps[:len(docs)]
		for j, d := range docs {
			acc[d] += qw * float32(imps[j])
		}
	}
	top := sparseTopDocs(acc, k)
	clear(acc)
	ix.pool.Put(accp)
	hits := make([]bm25.Hit, len(top))
	for i, d := range top {
		hits[i] = bm25.Hit{DocID: ix.ids[d.doc], Score: float64(d.score)}
	}
	return hits
}

// sparseScoredDoc is a document number and its score.
type sparseScoredDoc struct {
	doc   uint32
	score float32
}

// before reports whether a ranks before b: higher score, then smaller document number.
func (a sparseScoredDoc) before(b sparseScoredDoc) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	return a.doc < b.doc
}

// sparseTopDocs returns the k best documents of the accumulators with a positive score, best first.
func sparseTopDocs(acc []float32, k int) []sparseScoredDoc {
	heap := make([]sparseScoredDoc, 0, k) // heap[0] is the worst of the best k so far
	for d, s := range acc {
		if s <= 0 {
			continue
		}
		c := sparseScoredDoc{uint32(d), s}
		if len(heap) < k {
			heap = append(heap, c)
			for i := len(heap) - 1; i > 0; {
				p := (i - 1) / 2
				if !heap[p].before(heap[i]) {
					break
				}
				heap[p], heap[i] = heap[i], heap[p]
				i = p
			}
			continue
		}
		if !c.before(heap[0]) {
			continue
		}
		heap[0] = c
		for i := 0; ; {
			l := 2*i + 1
			if l >= len(heap) {
				break
			}
			w := l
			if r := l + 1; r < len(heap) && heap[l].before(heap[r]) {
				w = r
			}
			if !heap[i].before(heap[w]) {
				break
			}
			heap[i], heap[w] = heap[w], heap[i]
			i = w
		}
	}
	slices.SortFunc(heap, func(a, b sparseScoredDoc) int {
		if a.before(b) {
			return -1
		}
		if b.before(a) {
			return 1
		}
		return 0
	})
	return heap
}

// sparseIndexMagic starts a saved SparseIndex; the last byte is the format version.
const sparseIndexMagic = "MIMSPLX\x01"

// sparseIndexHeader is the JSON header of a saved index.
type sparseIndexHeader struct {
	Vocab    int     `json:"vocab"`
	Docs     int     `json:"docs"`
	Bits     int     `json:"bits"`
	Scale    float32 `json:"scale"`
	Postings int64   `json:"postings"`
}

// Save writes the index to path atomically (a temporary file renamed into place; nothing is left at
// path on error). The format is little-endian binary: the magic "MIMSPLX\x01", a uint32 length and
// a JSON header (vocab, docs, bits, scale, postings), the document ids (uvarint length + bytes),
// the vocab+1 posting offsets (uint64), the document numbers (uint32), the impacts (1 or 2 bytes),
// and a CRC-32 (IEEE) of everything before it.
func (ix *SparseIndex) Save(path string) error {
	return datasets.WriteFileAtomic(path, func(out io.Writer) error {
		h := crc32.NewIEEE()
		w := bufio.NewWriterSize(io.MultiWriter(out, h), 1<<20)
		hdr, _ := json.Marshal(sparseIndexHeader{Vocab: ix.vocab, Docs: len(ix.ids), Bits: ix.bits, Scale: ix.scale, Postings: int64(len(ix.docs))})
		w.WriteString(sparseIndexMagic)
		binary.Write(w, binary.LittleEndian, uint32(len(hdr)))
		w.Write(hdr)
		var buf [binary.MaxVarintLen64]byte
		for _, id := range ix.ids {
			w.Write(buf[:binary.PutUvarint(buf[:], uint64(len(id)))])
			w.WriteString(id)
		}
		for _, o := range ix.offsets {
			binary.Write(w, binary.LittleEndian, uint64(o))
		}
		chunk := make([]byte, 0, 1<<16)
		for start := 0; start < len(ix.docs); start += 1 << 14 {
			chunk = chunk[:0]
			for _, d := range ix.docs[start:min(start+1<<14, len(ix.docs))] {
				chunk = binary.LittleEndian.AppendUint32(chunk, d)
			}
			w.Write(chunk)
		}
		for start := 0; start < len(ix.impacts); start += 1 << 14 {
			chunk = chunk[:0]
			for _, v := range ix.impacts[start:min(start+1<<14, len(ix.impacts))] {
				if ix.bits == 8 {
					chunk = append(chunk, byte(v))
				} else {
					chunk = binary.LittleEndian.AppendUint16(chunk, v)
				}
			}
			w.Write(chunk)
		}
		if err := w.Flush(); err != nil {
			return err
		}
		return binary.Write(out, binary.LittleEndian, h.Sum32())
	})
}

// LoadSparseIndex reads an index written by Save, checking its structure and checksum; a damaged or
// truncated file is an error naming path.
func LoadSparseIndex(path string) (*SparseIndex, error) {
	var ix *SparseIndex
	err := datasets.ReadFile(path, func(r io.Reader, name string) error {
		var err error
		ix, err = readSparseIndex(r)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				err = errors.New("truncated file")
			}
			return fmt.Errorf("%s: not a valid SPLADE index: %w", name, err)
		}
		return nil
	})
	return ix, err
}

// readSparseIndex parses a saved index.
func readSparseIndex(in io.Reader) (*SparseIndex, error) {
	r := &sparseHashingReader{r: bufio.NewReaderSize(in, 1<<20), h: crc32.NewIEEE()}
	magic := make([]byte, len(sparseIndexMagic))
	if _, err := io.ReadFull(r, magic); err != nil {
		return nil, err
	}
	if string(magic) != sparseIndexMagic {
		return nil, fmt.Errorf("bad magic %q (want %q)", magic, sparseIndexMagic)
	}
	var hlen uint32
	if err := binary.Read(r, binary.LittleEndian, &hlen); err != nil {
		return nil, err
	}
	if hlen > 1<<20 {
		return nil, fmt.Errorf("header of %d bytes", hlen)
	}
	hb := make([]byte, hlen)
	if _, err := io.ReadFull(r, hb); err != nil {
		return nil, err
	}
	var hdr sparseIndexHeader
	if err := json.Unmarshal(hb, &hdr); err != nil {
		return nil, fmt.Errorf("header: %v", err)
	}
	switch {
	case hdr.Vocab <= 0 || hdr.Vocab > 1<<26:
		return nil, fmt.Errorf("header: vocabulary size %d", hdr.Vocab)
	case hdr.Docs < 0 || hdr.Docs > math.MaxUint32:
		return nil, fmt.Errorf("header: %d documents", hdr.Docs)
	case hdr.Bits != 8 && hdr.Bits != 16:
		return nil, fmt.Errorf("header: %d bits", hdr.Bits)
	case !(hdr.Scale > 0) || math.IsInf(float64(hdr.Scale), 0):
		return nil, fmt.Errorf("header: scale %v", hdr.Scale)
	case hdr.Postings < 0 || hdr.Postings > 1<<40:
		return nil, fmt.Errorf("header: %d postings", hdr.Postings)
	}
	ix := &SparseIndex{vocab: hdr.Vocab, bits: hdr.Bits, scale: hdr.Scale}
	ix.ids = make([]string, 0, min(hdr.Docs, 1<<20))
	for i := 0; i < hdr.Docs; i++ {
		n, err := binary.ReadUvarint(r)
		if err != nil {
			return nil, err
		}
		if n > 1<<20 {
			return nil, fmt.Errorf("document %d: id of %d bytes", i, n)
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, err
		}
		ix.ids = append(ix.ids, string(b))
	}
	offs := make([]uint64, hdr.Vocab+1)
	if err := binary.Read(r, binary.LittleEndian, offs); err != nil {
		return nil, err
	}
	ix.offsets = make([]int64, len(offs))
	for t, o := range offs {
		if o > uint64(hdr.Postings) || (t > 0 && o < offs[t-1]) || (t == 0 && o != 0) {
			return nil, fmt.Errorf("posting offset of term %d is %d (postings %d)", t, o, hdr.Postings)
		}
		ix.offsets[t] = int64(o)
	}
	if ix.offsets[hdr.Vocab] != hdr.Postings {
		return nil, fmt.Errorf("posting offsets end at %d, header says %d postings", ix.offsets[hdr.Vocab], hdr.Postings)
	}
	ix.docs = make([]uint32, hdr.Postings)
	ix.impacts = make([]uint16, hdr.Postings)
	width := hdr.Bits / 8
	buf := make([]byte, 1<<16)
	for start := int64(0); start < hdr.Postings; start += 1 << 14 {
		part := ix.docs[start:min(start+1<<14, hdr.Postings)]
		if _, err := io.ReadFull(r, buf[:4*len(part)]); err != nil {
			return nil, err
		}
		for i := range part {
			part[i] = binary.LittleEndian.Uint32(buf[4*i:])
		}
	}
	for start := int64(0); start < hdr.Postings; start += 1 << 14 {
		part := ix.impacts[start:min(start+1<<14, hdr.Postings)]
		if _, err := io.ReadFull(r, buf[:width*len(part)]); err != nil {
			return nil, err
		}
		for i := range part {
			if width == 1 {
				part[i] = uint16(buf[i])
			} else {
				part[i] = binary.LittleEndian.Uint16(buf[2*i:])
			}
		}
	}
	want := r.h.Sum32() // the checksum of everything before the stored one
	var sum [4]byte
	if _, err := io.ReadFull(r.r, sum[:]); err != nil {
		return nil, err
	}
	if got := binary.LittleEndian.Uint32(sum[:]); got != want {
		return nil, fmt.Errorf("checksum mismatch (stored %08x, computed %08x): the file is damaged", got, want)
	}
	if _, err := r.r.ReadByte(); err != io.EOF {
		return nil, errors.New("trailing data after the checksum")
	}
	for t := range hdr.Vocab {
		for p := ix.offsets[t]; p < ix.offsets[t+1]; p++ {
			if int(ix.docs[p]) >= hdr.Docs || (p > ix.offsets[t] && ix.docs[p] <= ix.docs[p-1]) {
				return nil, fmt.Errorf("term %d: posting %d names document %d (of %d, out of order?)", t, p, ix.docs[p], hdr.Docs)
			}
		}
	}
	return ix, nil
}

// sparseHashingReader reads through a buffer and hashes what it hands out.
type sparseHashingReader struct {
	r *bufio.Reader
	h hash.Hash32
}

// Read implements io.Reader.
func (h *sparseHashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	return n, err
}

// ReadByte implements io.ByteReader.
func (h *sparseHashingReader) ReadByte() (byte, error) {
	b, err := h.r.ReadByte()
	if err == nil {
		h.h.Write([]byte{b})
	}
	return b, err
}

// SparseSearchOptions configure SpladeSearch.
type SparseSearchOptions struct {
	// MaxQueryTerms keeps only each query's MaxQueryTerms heaviest terms (0: all).
	MaxQueryTerms int
	// QueryMaxLen is the query length limit in tokens [tokenizer.QueryMaxLen].
	QueryMaxLen int
}

// SparseSearchStats describe a batch of searches.
type SparseSearchStats struct {
	// Queries is the number of queries searched.
	Queries int `json:"queries"`
	// MedianMs, MeanMs and P95Ms are the index search latencies per query (encoding excluded), in ms.
	MedianMs float64 `json:"median_ms"`
	MeanMs   float64 `json:"mean_ms"`
	P95Ms    float64 `json:"p95_ms"`
	// EncodeMs is the mean time to encode a query with the model (batched), in ms.
	EncodeMs float64 `json:"encode_ms"`
	// AvgQueryTerms is the average number of query terms searched (after pruning).
	AvgQueryTerms float64 `json:"avg_query_terms"`
	// FLOPS is the expected number of multiplications per (query, document) pair:
	// Σ_j p_q(j)·p_d(j), with p_q(j) the fraction of the queries and p_d(j) the fraction of the
	// indexed documents where term j is active.
	FLOPS float64 `json:"flops"`
}

// SpladeSearch encodes the queries with enc, retrieves each one's top k from ix, one query at a time,
// and returns the run and the latency and sparsity statistics.
func SpladeSearch(enc *SpladeEncoder, ix *SparseIndex, queries []datasets.Query, k int, opts SparseSearchOptions) (eval.Run, *SparseSearchStats, error) {
	texts := make([]string, len(queries))
	for i, q := range queries {
		texts[i] = q.Text
	}
	start := time.Now()
	vecs, err := enc.Encode(texts, defaultInt(opts.QueryMaxLen, tokenizer.QueryMaxLen), "queries")
	if err != nil {
		return nil, nil, err
	}
	st := &SparseSearchStats{Queries: len(queries)}
	if len(queries) > 0 {
		st.EncodeMs = float64(time.Since(start).Microseconds()) / 1000 / float64(len(queries))
	}
	for i := range vecs {
		vecs[i] = vecs[i].Top(opts.MaxQueryTerms)
	}
	run, lat := SearchSparse(ix, queries, vecs, k)
	st.MedianMs, st.MeanMs, st.P95Ms = sparseLatencyStats(lat)
	st.AvgQueryTerms, st.FLOPS = sparseQueryStats(ix, vecs)
	return run, st, nil
}

// SearchSparse searches ix for each query's vector (vecs[i] for queries[i]) and returns the run and
// each search's latency.
func SearchSparse(ix *SparseIndex, queries []datasets.Query, vecs []SparseVector, k int) (eval.Run, []time.Duration) {
	hits := make(map[string][]bm25.Hit, len(queries))
	lat := make([]time.Duration, len(queries))
	for i, q := range queries {
		t0 := time.Now()
		hits[q.ID] = ix.Search(vecs[i], k)
		lat[i] = time.Since(t0)
	}
	return RunFromHits(hits), lat
}

// sparseLatencyStats returns the median, mean and 95th percentile of lat, in ms.
func sparseLatencyStats(lat []time.Duration) (median, mean, p95 float64) {
	if len(lat) == 0 {
		return 0, 0, 0
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	ms := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	n := len(s)
	median = ms(s[n/2])
	if n%2 == 0 {
		median = (ms(s[n/2-1]) + ms(s[n/2])) / 2
	}
	return median, ms(sum) / float64(n), ms(s[min(n-1, int(math.Ceil(0.95*float64(n)))-1)])
}

// sparseQueryStats returns the average number of terms of the query vectors and the FLOPS estimate
// Σ_j p_q(j)·p_d(j) against the index.
func sparseQueryStats(ix *SparseIndex, vecs []SparseVector) (avgTerms, flops float64) {
	if len(vecs) == 0 || ix.Len() == 0 {
		return 0, 0
	}
	qf := map[int32]int{}
	total := 0
	for _, v := range vecs {
		total += v.Len()
		for _, t := range v.Terms {
			qf[t]++
		}
	}
	terms := slices.Collect(maps.Keys(qf))
	slices.Sort(terms) // a fixed summation order: the same vectors give the same bits
	for _, t := range terms {
		flops += float64(qf[t]) / float64(len(vecs)) * float64(ix.DocFreq(int(t))) / float64(ix.Len())
	}
	return float64(total) / float64(len(vecs)), flops
}

// IndexCorpus encodes the documents with enc (cut to maxLen tokens) and indexes them. It returns the
// index and the documents' vectors as encoded (before pruning and quantisation).
func IndexCorpus(enc *SpladeEncoder, docs []datasets.Document, maxLen int, opts SparseIndexOptions) (*SparseIndex, []SparseVector, error) {
	texts := make([]string, len(docs))
	ids := make([]string, len(docs))
	for i, d := range docs {
		texts[i], ids[i] = bm25.Contents(d), d.ID
	}
	vecs, err := enc.Encode(texts, defaultInt(maxLen, tokenizer.DocMaxLen), "documents")
	if err != nil {
		return nil, nil, err
	}
	ix, err := BuildSparseIndex(ids, vecs, enc.Model.Config.VocabSize, opts)
	if err != nil {
		return nil, nil, err
	}
	return ix, vecs, nil
}
