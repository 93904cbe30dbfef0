package colbert

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/mimicry-ir/mimicry/datasets/bm25"
	"github.com/mimicry-ir/mimicry/distill/progress"
	"github.com/mimicry-ir/mimicry/distill/score"
	"github.com/mimicry-ir/mimicry/distill/train"
	"github.com/mimicry-ir/mimicry/internal/files"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

// Encoder runs a ColBERT model over texts: queries become QueryLen token embeddings each
// ([MASK]-augmented, every token counts in MaxSim), passages the embeddings of their tokens that
// take part in MaxSim (ScoreMask: no padding, no punctuation). Passages are encoded in batches of
// similar length (bucketing) and returned in the caller's order. It is a score.Scorer too. An encoder
// compiles its graph on first use and is not safe for concurrent use.
type Encoder struct {
	// Model is a models.KindColBERT model.
	Model *models.Model
	// Tokenizer encodes the texts.
	Tokenizer tokenizer.Tokenizer
	// Backend runs the graph.
	Backend backends.Backend
	// QueryLen is the query length [tokenizer.QueryMaxLen].
	QueryLen int
	// DocLen is the passage length limit [tokenizer.DocMaxLen].
	DocLen int
	// AttendExpansion lets the encoder attend to the queries' [MASK] tokens.
	AttendExpansion bool
	// BatchSize is the number of texts per forward pass [score.DefaultBatchSize].
	BatchSize int
	// Quiet hides the progress bar of long encodes (more than 2,000 passages).
	Quiet bool
	// Label names the scorer [colbert].
	Label string
	// BM25 is the index of the collection being ranked, which a residual student
	// (Model.Config.BM25Weight > 0) needs: its score is MaxSim plus that weight times BM25.
	BM25 *bm25.Index

	exec *context.Exec
}

// BM25Weight is the weight of BM25 in the student's score: positive for a residual student
// (MaxSim + weight·BM25), else 0.
func (e *Encoder) BM25Weight() float64 { return e.Model.Config.BM25Weight }

// lexical returns the BM25 scores of the (query, passage) pairs in the encoder's collection.
func (e *Encoder) lexical(queries, passages []string) ([]float64, error) {
	if e.BM25 == nil {
		return nil, fmt.Errorf("colbert: the student adds %g × BM25 to its MaxSim scores (mimicry_bm25_weight) but has no BM25 index: give it the collection it ranks (Encoder.BM25; --data on the command line)", e.BM25Weight())
	}
	return (&score.BM25{Index: e.BM25}).Score(queries, passages)
}

// lexicalScores is lexical for a training batch: queries[i] goes with passages[i·m … i·m+m−1].
func (e *Encoder) lexicalScores(queries, passages []string, m int) ([]float32, error) {
	qs := make([]string, len(passages))
	for i := range passages {
		qs[i] = queries[i/m]
	}
	scores, err := e.lexical(qs, passages)
	if err != nil {
		return nil, err
	}
	out := make([]float32, len(scores))
	for i, v := range scores {
		out[i] = float32(v)
	}
	return out, nil
}

// Name implements score.Scorer.
func (e *Encoder) Name() string {
	if e.Label != "" {
		return e.Label
	}
	return "colbert"
}

// Dim is the width of the token embeddings.
func (e *Encoder) Dim() int { return e.Model.ColBERTDim }

func (e *Encoder) queryLen() int { return train.OrDefault(e.QueryLen, tokenizer.QueryMaxLen) }
func (e *Encoder) docLen() int   { return train.OrDefault(e.DocLen, tokenizer.DocMaxLen) }

// embed runs the encoder on a batch: ids and mask [N, L] → embeddings [N, L, dim] as float32.
func (e *Encoder) embed(ids, mask *tensors.Tensor) ([]float32, error) {
	if e.Model == nil || e.Model.Kind != models.KindColBERT {
		return nil, errors.New("colbert encoder: a ColBERT model (kind colbert) is required")
	}
	if e.exec == nil {
		if err := e.Model.Materialize(e.Backend); err != nil {
			return nil, err
		}
		m := e.Model
		exec, err := context.NewExec(e.Backend, m.Ctx, func(ctx *context.Context, ids, mask *Node) *Node {
			return models.ColBERTEmbeddings(ctx.In(models.ModelScope), m.Config, m.ColBERTDim, ids, mask)
		})
		if err != nil {
			return nil, err
		}
		// One graph per batch shape: up to DocLen/8 lengths, and the smaller last batches.
		e.exec = exec.SetMaxCache(-1)
	}
	res, err := e.exec.Exec(ids, mask)
	if err != nil {
		return nil, err
	}
	defer res[0].FinalizeAll()
	return models.Float32s(res[0])
}

// EncodeQueries returns each query's QueryLen × dim embeddings, row-major.
func (e *Encoder) EncodeQueries(queries []string) ([][]float32, error) {
	out := make([][]float32, len(queries))
	bs := train.OrDefault(e.BatchSize, score.DefaultBatchSize)
	dim := e.Dim()
	for start := 0; start < len(queries); start += bs {
		part := queries[start:min(start+bs, len(queries))]
		qMarker, _ := e.Model.ColBERTMarkers()
		in, err := models.ColBERTQueryInputs(e.Tokenizer, part, e.queryLen(), e.AttendExpansion, qMarker)
		if err != nil {
			return nil, err
		}
		flat, err := e.embed(in.IDs, in.Mask)
		if err != nil {
			return nil, err
		}
		row := in.L * dim
		for i := range part {
			out[start+i] = flat[i*row : (i+1)*row : (i+1)*row]
		}
	}
	return out, nil
}

// EncodeDocs returns each passage's embeddings of the tokens that take part in MaxSim (T_i × dim,
// row-major, in token order). Passages are batched by length; a progress bar is shown for more than
// 2,000 passages unless Quiet.
func (e *Encoder) EncodeDocs(passages []string) ([][]float32, error) {
	out := make([][]float32, len(passages))
	if len(passages) == 0 {
		return out, nil
	}
	lengths, err := tokenizer.Lengths(e.Tokenizer, passages, e.docLen(), tokenizer.WithMarker(tokenizer.DocMarker))
	if err != nil {
		return nil, err
	}
	order := make([]int, len(passages))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return lengths[order[a]] < lengths[order[b]] })
	bar := progress.Quiet(len(passages))
	if !e.Quiet && len(passages) > 2000 {
		bar = progress.New(len(passages), "colbert encode", "docs")
	}
	dim := e.Dim()
	bs := train.OrDefault(e.BatchSize, score.DefaultBatchSize)
	for start := 0; start < len(order); start += bs {
		idx := order[start:min(start+bs, len(order))]
		texts := make([]string, len(idx))
		for j, i := range idx {
			texts[j] = passages[i]
		}
		_, dMarker := e.Model.ColBERTMarkers()
		in, err := models.ColBERTDocInputs(e.Tokenizer, texts, e.docLen(), dMarker)
		if err != nil {
			return nil, err
		}
		flat, err := e.embed(in.IDs, in.Mask)
		if err != nil {
			return nil, err
		}
		keepFlat, err := tensors.CopyFlatData[int32](in.ScoreMask)
		if err != nil {
			return nil, err
		}
		for j, i := range idx {
			keep := keepFlat[j*in.L : (j+1)*in.L]
			n := 0
			for _, k := range keep {
				if k != 0 {
					n++
				}
			}
			emb := make([]float32, 0, n*dim)
			for t, k := range keep {
				if k != 0 {
					off := (j*in.L + t) * dim
					emb = append(emb, flat[off:off+dim]...)
				}
			}
			out[i] = emb
		}
		bar.Add(len(idx), "")
	}
	if !e.Quiet && len(passages) > 2000 {
		bar.Finish()
	}
	return out, nil
}

// Score implements Scorer: the MaxSim score of each (query, passage) pair, each distinct text
// encoded once (plus BM25Weight times the pair's BM25 score for a residual student).
func (e *Encoder) Score(queries, passages []string) ([]float64, error) {
	if len(queries) != len(passages) {
		return nil, fmt.Errorf("colbert: %d queries but %d passages", len(queries), len(passages))
	}
	uq, qi := colbertUnique(queries)
	up, pi := colbertUnique(passages)
	qe, err := e.EncodeQueries(uq)
	if err != nil {
		return nil, err
	}
	pe, err := e.EncodeDocs(up)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(queries))
	dim := e.Dim()
	colbertParallel(len(queries), func(i int) {
		best := make([]float32, len(qe[qi[i]])/dim)
		out[i] = float64(maxSimScore(qe[qi[i]], pe[pi[i]], dim, best))
	})
	if w := e.BM25Weight(); w > 0 {
		lex, err := e.lexical(queries, passages)
		if err != nil {
			return nil, err
		}
		for i := range out {
			out[i] += w * lex[i]
		}
	}
	return out, nil
}

// colbertUnique returns the distinct texts and, for each input, the index of its text among them.
func colbertUnique(texts []string) ([]string, []int) {
	idx := make([]int, len(texts))
	seen := map[string]int{}
	var uniq []string
	for i, t := range texts {
		j, ok := seen[t]
		if !ok {
			j = len(uniq)
			seen[t] = j
			uniq = append(uniq, t)
		}
		idx[i] = j
	}
	return uniq, idx
}

// SettingsFile is the file beside an exported ColBERT student (in its Hugging Face folder)
// that records how it encodes: Settings as JSON.
const SettingsFile = "mimicry_colbert.json"

// Settings are the encoding settings of a ColBERT model that its weights do not tell.
type Settings struct {
	// QueryLen is the query length with [MASK] augmentation.
	QueryLen int `json:"query_len"`
	// DocLen is the passage length limit.
	DocLen int `json:"doc_len"`
	// AttendExpansion says whether the encoder attends to the queries' [MASK] tokens.
	AttendExpansion bool `json:"attend_expansion"`
}

// Load reads a ColBERT model from a Hugging Face folder (or its model/ subfolder):
// config.json, model.safetensors (Mimicry's, Stanford ColBERT's or PyLate's layout), the tokenizer
// and, when present, SettingsFile (else ColBERT's defaults, 32 and 180 tokens). Errors name
// the folder and what is missing.
func Load(dir string, backend backends.Backend) (*Encoder, error) {
	mdir, err := models.ResolveDir(dir) // a hub id: its snapshot in the Hugging Face cache
	if err != nil {
		return nil, fmt.Errorf("colbert model %s: %w", dir, err)
	}
	if st, err := os.Stat(filepath.Join(dir, "model")); err == nil && st.IsDir() {
		mdir = filepath.Join(dir, "model")
	}
	if _, err := os.Stat(filepath.Join(mdir, models.ConfigFile)); err != nil {
		return nil, fmt.Errorf("colbert model %s: not a model folder (want %s, %s and tokenizer.json, or a model/ subfolder with them): %w",
			dir, models.ConfigFile, models.WeightsFile, err)
	}
	m, report, err := models.ImportHF(mdir, models.KindColBERT, 0)
	if err != nil {
		return nil, fmt.Errorf("colbert model %s: %w", dir, err)
	}
	if len(report.Missing) > 0 {
		return nil, fmt.Errorf("colbert model %s: not a ColBERT checkpoint: %s lacks %s", dir,
			filepath.Join(mdir, models.WeightsFile), strings.Join(report.Missing, ", "))
	}
	tk, err := models.LoadHFTokenizer(mdir)
	if err != nil && mdir != dir {
		tk, err = models.LoadHFTokenizer(dir)
	}
	if err != nil {
		return nil, fmt.Errorf("colbert model %s: tokenizer: %w", dir, err)
	}
	if tk.VocabSize() != m.Config.VocabSize {
		return nil, fmt.Errorf("colbert model %s: the tokenizer has %d tokens but config.json's vocab_size is %d", dir, tk.VocabSize(), m.Config.VocabSize)
	}
	set := Settings{QueryLen: tokenizer.QueryMaxLen, DocLen: tokenizer.DocMaxLen}
	if t := m.ColBERTText; t != nil { // a PyLate folder: its lengths
		set.QueryLen, set.DocLen, set.AttendExpansion = cmp.Or(t.QueryLength, set.QueryLen), cmp.Or(t.DocumentLength, set.DocLen), t.AttendExpansion
	}
	if err := readStanfordMetadata(filepath.Join(mdir, StanfordMetadataFile), &set); err != nil {
		return nil, err
	}
	sp := filepath.Join(mdir, SettingsFile)
	if data, err := os.ReadFile(sp); err == nil {
		if err := json.Unmarshal(data, &set); err != nil {
			return nil, fmt.Errorf("%s: invalid JSON: %v", sp, err)
		}
		if set.QueryLen < 4 || set.DocLen < 4 {
			return nil, fmt.Errorf("%s: fields \"query_len\" (%d) and \"doc_len\" (%d) must be at least 4", sp, set.QueryLen, set.DocLen)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return &Encoder{Model: m, Tokenizer: tk, Backend: backend, QueryLen: set.QueryLen, DocLen: set.DocLen,
		AttendExpansion: set.AttendExpansion, Label: filepath.Base(filepath.Clean(dir))}, nil
}

// Export writes a ColBERT student as a Hugging Face folder in Stanford ColBERT's layout
// (models.ExportHF: config.json with architecture HF_ColBERT, model.safetensors with the
// projection as "linear.weight", the tokenizer) plus SettingsFile, so that Load encodes as it was
// trained, and StanfordMetadataFile, so that Stanford ColBERT and PyLate (models.ColBERT(dir)) read
// the same markers ([unused0], [unused1]) and lengths and score as Mimicry does.
func Export(dir string, enc *Encoder) error {
	if err := models.ExportHF(dir, enc.Model, enc.Backend, enc.Tokenizer); err != nil {
		return err
	}
	if err := files.WriteJSON(filepath.Join(dir, StanfordMetadataFile), stanfordMetadata{
		QueryToken: tokenizer.QueryMarker, DocToken: tokenizer.DocMarker, QueryMaxLen: enc.queryLen(), DocMaxLen: enc.docLen(),
		AttendToMask: enc.AttendExpansion, Dim: enc.Dim(), Similarity: "cosine", MaskPunctuation: true,
	}); err != nil {
		return err
	}
	return files.WriteJSON(filepath.Join(dir, SettingsFile), Settings{QueryLen: enc.queryLen(), DocLen: enc.docLen(), AttendExpansion: enc.AttendExpansion})
}

// StanfordMetadataFile is Stanford ColBERT's settings file beside its checkpoint, which PyLate reads
// too: the marker tokens, the lengths and whether queries attend to their [MASK] expansion.
const StanfordMetadataFile = "artifact.metadata"

// stanfordMetadata is the part of StanfordMetadataFile that Mimicry writes and reads.
type stanfordMetadata struct {
	QueryToken      string `json:"query_token_id"`
	DocToken        string `json:"doc_token_id"`
	QueryMaxLen     int    `json:"query_maxlen"`
	DocMaxLen       int    `json:"doc_maxlen"`
	AttendToMask    bool   `json:"attend_to_mask_tokens"`
	Dim             int    `json:"dim,omitempty"`
	Similarity      string `json:"similarity,omitempty"`
	MaskPunctuation bool   `json:"mask_punctuation"`
}

// readStanfordMetadata takes the lengths of a Stanford ColBERT checkpoint's metadata, when the file
// exists, into set; markers other than Mimicry's are an error naming the file and field.
func readStanfordMetadata(path string, set *Settings) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var meta stanfordMetadata
	if err := json.Unmarshal(data, &meta); err != nil {
		return fmt.Errorf("%s: invalid JSON: %v", path, err)
	}
	for _, f := range []struct{ field, got, want string }{{"query_token_id", meta.QueryToken, tokenizer.QueryMarker}, {"doc_token_id", meta.DocToken, tokenizer.DocMarker}} {
		if f.got != "" && f.got != f.want {
			return fmt.Errorf("%s: field %q is %q: Mimicry's ColBERT reads %q", path, f.field, f.got, f.want)
		}
	}
	if meta.QueryMaxLen > 0 {
		set.QueryLen = meta.QueryMaxLen
	}
	if meta.DocMaxLen > 0 {
		set.DocLen = meta.DocMaxLen
	}
	set.AttendExpansion = meta.AttendToMask
	return nil
}
