// Package embed encodes texts with a model of package models — a folder, or a hub id resolved in
// the Hugging Face cache — into what its head makes of one text: a dense vector (bi-encoder,
// e.g. a sentence-transformers model), one vector per token (ColBERT, e.g. a PyLate model), or a
// sparse vocabulary vector (SPLADE). It is what `mimicry encode` runs.
package embed

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

// DefaultBatchSize is the number of texts per forward pass.
const DefaultBatchSize = 32

// tokenBudget is the average number of tokens per text a batch may hold once padded: long texts go
// in smaller batches.
const tokenBudget = 64

// Encoder encodes texts with a model.
type Encoder struct {
	// Model is a bi-encoder, ColBERT or SPLADE model (a cross-encoder reads pairs, not texts).
	Model *models.Model
	// Tokenizer is the model's.
	Tokenizer tokenizer.Tokenizer
	// Backend runs the graphs.
	Backend backends.Backend
	// MaxLen cuts texts (in tokens, special ones included); 0: the model's MaxSeqLength, else its
	// max_position_embeddings. ColBERT queries are always padded to the query length instead
	// (the checkpoint's, else tokenizer.QueryMaxLen).
	MaxLen int
	// BatchSize is the number of texts per forward pass (0: DefaultBatchSize).
	BatchSize int

	exec *context.Exec
}

// Load reads a model (folder or hub id, see models.ResolveDir) and its tokenizer.
func Load(ref string, be backends.Backend) (*Encoder, error) {
	dir, err := models.ResolveDir(ref)
	if err != nil {
		return nil, err
	}
	m, report, err := models.ImportHF(dir, "", 0)
	if err != nil {
		return nil, err
	}
	if len(report.Missing) > 0 {
		return nil, fmt.Errorf("%s: the checkpoint lacks %d parameters of a %s model (e.g. %s): it would encode with random weights",
			ref, len(report.Missing), m.Kind, report.Missing[0])
	}
	tk, err := models.LoadHFTokenizer(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: tokenizer: %w", ref, err)
	}
	if tk.VocabSize() != m.Config.VocabSize {
		return nil, fmt.Errorf("%s: the tokenizer has %d tokens but config.json's vocab_size is %d", ref, tk.VocabSize(), m.Config.VocabSize)
	}
	return &Encoder{Model: m, Tokenizer: tk, Backend: be}, nil
}

// Embedding is what the model makes of one text; one of its groups of fields is set.
type Embedding struct {
	// Text is the text encoded.
	Text string `json:"text"`
	// Vector is a bi-encoder's embedding.
	Vector []float32 `json:"embedding,omitempty"`
	// Tokens and TokenVectors are ColBERT's: the tokens that take part in MaxSim (padding and,
	// for documents, punctuation dropped, as PyLate does) and their embeddings.
	Tokens       []string    `json:"tokens,omitempty"`
	TokenVectors [][]float32 `json:"token_embeddings,omitempty"`
	// Terms is SPLADE's vector: the weight of every vocabulary term with a positive weight.
	Terms map[string]float32 `json:"terms,omitempty"`
}

// Encode encodes texts; query matters to ColBERT only (query marker and [MASK] padding instead of
// the document marker). Texts are batched by length and returned in the caller's order.
func (e *Encoder) Encode(texts []string, query bool) ([]Embedding, error) {
	if e.Model.Kind == models.KindCrossEncoder {
		return nil, errors.New("a cross-encoder scores (query, passage) pairs and has no embedding of one text: use `mimicry annotate`")
	}
	if err := e.Model.Materialize(e.Backend); err != nil {
		return nil, err
	}
	if e.exec == nil {
		exec, err := context.NewExec(e.Backend, e.Model.Ctx, e.graph)
		if err != nil {
			return nil, err
		}
		// One program per (batch, length) shape: batches are padded to a power of two texts and
		// lengths to a multiple of 8 (layout), which bounds the shapes by a few hundred at most.
		e.exec = exec.SetMaxCache(-1)
	}
	maxLen, opts, err := e.layout(query)
	if err != nil {
		return nil, err
	}
	lengths, err := tokenizer.Lengths(e.Tokenizer, texts, maxLen, opts...)
	if err != nil {
		return nil, err
	}
	order := make([]int, len(texts))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return lengths[order[a]] < lengths[order[b]] })
	size := e.BatchSize
	if size <= 0 {
		size = DefaultBatchSize
	}
	out := make([]Embedding, len(texts))
	for start := 0; start < len(order); {
		// At most size texts, and at most size·tokenBudget tokens once padded to the longest.
		end := start + 1
		for end < len(order) && end-start < size && (end-start+1)*lengths[order[end]] <= size*tokenBudget {
			end++
		}
		idx := order[start:end]
		start = end
		part := make([]string, len(idx), paddedBatch(len(idx), size))
		for k, i := range idx {
			part[k] = texts[i]
		}
		for len(part) < cap(part) {
			part = append(part, part[len(part)-1]) // filler rows, dropped below
		}
		embs, err := e.encodeBatch(part, maxLen, opts, query)
		if err != nil {
			return nil, err
		}
		for k, i := range idx {
			out[i] = embs[k]
		}
	}
	return out, nil
}

// paddedBatch is the number of rows a batch of n texts is run with: the next power of two, at most
// size (or n when larger), so that callers encoding a few new texts at a time (the teacher's dense
// residual, one training batch after another) compile a handful of programs instead of one per count.
func paddedBatch(n, size int) int {
	p := 1
	for p < n {
		p *= 2
	}
	return max(n, min(p, size))
}

// layout is the length and tokenizer options of the model's inputs.
func (e *Encoder) layout(query bool) (int, []tokenizer.Option, error) {
	m := e.Model
	maxLen := e.MaxLen
	if maxLen <= 0 {
		maxLen = m.MaxSeqLength
	}
	if maxLen <= 0 {
		maxLen = m.Config.MaxPositionEmbeddings
	}
	if m.Kind != models.KindColBERT {
		return maxLen, []tokenizer.Option{tokenizer.WithPadToMultiple(8)}, nil
	}
	text := models.ColBERTText{QueryPrefix: tokenizer.QueryMarker, DocumentPrefix: tokenizer.DocMarker}
	if m.ColBERTText != nil {
		text = *m.ColBERTText
	}
	if query {
		qLen := text.QueryLength
		if qLen <= 0 {
			qLen = tokenizer.QueryMaxLen
		}
		return qLen, []tokenizer.Option{tokenizer.WithMarker(text.QueryPrefix), tokenizer.WithPadToken(tokenizer.MaskToken)}, nil
	}
	if e.MaxLen <= 0 && m.MaxSeqLength <= 0 {
		maxLen = tokenizer.DocMaxLen
	}
	return maxLen, []tokenizer.Option{tokenizer.WithMarker(text.DocumentPrefix), tokenizer.WithPadToMultiple(8)}, nil
}

// graph is the model's encoding of a batch.
func (e *Encoder) graph(ctx *context.Context, ids, types, mask *Node) *Node {
	m := e.Model
	ctx = ctx.In(models.ModelScope)
	switch m.Kind {
	case models.KindColBERT:
		return models.ColBERTEmbeddings(ctx, m.Config, m.ColBERTDim, ids, mask)
	case models.KindSPLADE:
		return models.SpladeVectors(ctx, m.Config, ids, types, mask)
	}
	return models.BiEncoderEmbeddings(ctx, m.Config, m.Pooling, m.Normalize, ids, mask)
}

func (e *Encoder) encodeBatch(texts []string, maxLen int, opts []tokenizer.Option, query bool) ([]Embedding, error) {
	b, err := tokenizer.EncodeBatch(e.Tokenizer, texts, maxLen, opts...)
	if err != nil {
		return nil, err
	}
	mask := b.Mask
	if query && e.Model.ColBERTText != nil && e.Model.ColBERTText.AttendExpansion {
		mask = make([]int32, len(b.Mask))
		for i := range mask {
			mask[i] = 1
		}
	}
	out, err := e.exec.Exec(tensors.FromFlatDataAndDimensions(b.IDs, b.Size, b.Len),
		tensors.FromFlatDataAndDimensions(b.TypeIDs, b.Size, b.Len),
		tensors.FromFlatDataAndDimensions(mask, b.Size, b.Len))
	if err != nil {
		return nil, err
	}
	values := tensors.MustCopyFlatData[float32](out[0])
	dims := out[0].Shape().Dimensions
	embs := make([]Embedding, len(texts))
	switch e.Model.Kind {
	case models.KindColBERT:
		skip := models.PunctuationIDs(e.Tokenizer)
		l, d := dims[1], dims[2]
		for i := range texts {
			embs[i].Text = texts[i]
			for j := range l {
				id := int(b.IDs[i*l+j])
				if !query && (j >= b.Lengths[i] || skip[id]) {
					continue
				}
				tok, _ := e.Tokenizer.IDToToken(id)
				embs[i].Tokens = append(embs[i].Tokens, tok)
				embs[i].TokenVectors = append(embs[i].TokenVectors, values[(i*l+j)*d:(i*l+j+1)*d])
			}
		}
	case models.KindSPLADE:
		v := dims[1]
		for i := range texts {
			embs[i] = Embedding{Text: texts[i], Terms: map[string]float32{}}
			for j, w := range values[i*v : (i+1)*v] {
				if w > 0 {
					tok, _ := e.Tokenizer.IDToToken(j)
					embs[i].Terms[tok] = w
				}
			}
		}
	default:
		h := dims[1]
		for i := range texts {
			embs[i] = Embedding{Text: texts[i], Vector: values[i*h : (i+1)*h]}
		}
	}
	return embs, nil
}

// WriteJSONL writes one JSON object per embedding and line.
func WriteJSONL(w io.Writer, embs []Embedding) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i := range embs {
		if err := enc.Encode(&embs[i]); err != nil {
			return err
		}
	}
	return nil
}

// Cosine is the cosine similarity of two embeddings (0 when either is zero), accumulated in float64.
func Cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}
