package pipeline

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/mimicry-ir/mimicry/distill/colbert"
	"github.com/mimicry-ir/mimicry/distill/eval"
	"github.com/mimicry-ir/mimicry/distill/report"
	"github.com/mimicry-ir/mimicry/distill/score"
	"github.com/mimicry-ir/mimicry/distill/splade"
	"github.com/mimicry-ir/mimicry/models/embed"
)

// The zero-shot stages of a run from a pretrained checkpoint (Config.Init): what the checkpoint
// does before any distillation, so that the report shows what distillation adds.
const (
	// StageBiEncoder is the checkpoint as a dense bi-encoder (its sentence-transformers pooling,
	// mean pooling by default, and cosine), searching the whole corpus.
	StageBiEncoder = report.SystemBiEncoder
	// StageColBERTZeroShot is the ColBERT student as it starts: the body with a fresh projection.
	StageColBERTZeroShot = report.SystemColBERTZeroShot
	// StageSpladeZeroShot is the SPLADE student as it starts: the body with a fresh MLM head tied
	// to the word embeddings.
	StageSpladeZeroShot = report.SystemSpladeZeroShot
)

// BiEncoderStage is the record of the bi-encoder stage.
type BiEncoderStage struct {
	// Measures are the means of the default measures over the evaluation queries.
	Measures map[string]float64 `json:"measures"`
	// EncodeSecs is the time taken to encode the corpus and the queries.
	EncodeSecs float64 `json:"encode_s"`
}

// BiEncoder runs (or recalls) the bi-encoder stage: Config.Init as sentence-transformers would use
// it, encoding the corpus and the evaluation queries (models/embed) and ranking every document by
// cosine similarity.
func (r *Runner) BiEncoder() (*BiEncoderStage, error) {
	if r.cfg.Init == "" {
		return nil, fmt.Errorf("pipeline: the bi-encoder stage needs a pretrained checkpoint (Config.Init)")
	}
	st := &BiEncoderStage{}
	err := r.stage(StageBiEncoder, st, func() error {
		enc, err := embed.Load(r.cfg.Init, r.cfg.Backend)
		if err != nil {
			return err
		}
		enc.MaxLen = r.cfg.Scale.DocLen // the students' passage length, so that the rows compare
		if enc.MaxLen <= 0 || (enc.Model.MaxSeqLength > 0 && enc.MaxLen > enc.Model.MaxSeqLength) {
			enc.MaxLen = enc.Model.MaxSeqLength
		}
		start := time.Now()
		texts := score.Texts(r.col.Docs)
		docs := make([]string, len(r.col.Docs))
		for i, d := range r.col.Docs {
			docs[i] = texts[d.ID]
		}
		dv, err := enc.Encode(docs, false)
		if err != nil {
			return err
		}
		qs := make([]string, len(r.col.Queries))
		for i, q := range r.col.Queries {
			qs[i] = q.Text
		}
		qv, err := enc.Encode(qs, true)
		if err != nil {
			return err
		}
		st.EncodeSecs = time.Since(start).Seconds()
		run := eval.Run{}
		for i, q := range r.col.Queries {
			type hit struct {
				id    string
				score float64
			}
			hits := make([]hit, len(docs))
			for j, d := range r.col.Docs {
				hits[j] = hit{d.ID, embed.Cosine(qv[i].Vector, dv[j].Vector)}
			}
			slices.SortFunc(hits, func(a, b hit) int { return cmp.Compare(b.score, a.score) })
			run[q.ID] = map[string]float64{}
			for _, h := range hits[:min(len(hits), 1000)] {
				run[q.ID][h.id] = h.score
			}
		}
		st.Measures, err = eval.Means(r.col.Qrels, run)
		return err
	})
	return st, err
}

// ColBERTZeroShot runs (or recalls) the ColBERT student's zero-shot stage: the student of stage 4,
// untrained (colbert.Job.ZeroShot), indexed and evaluated as the trained one is.
func (r *Runner) ColBERTZeroShot() (*ColBERTStage, error) {
	return r.colbert(StageColBERTZeroShot, colbert.RecipeOffline, colbert.LossMarginMSE)
}

// SpladeZeroShot runs (or recalls) the SPLADE student's zero-shot stage: the student of stage 5,
// untrained (splade.Job.ZeroShot), indexed and evaluated as the trained one is.
func (r *Runner) SpladeZeroShot() (*SpladeStage, error) {
	return r.splade(StageSpladeZeroShot, splade.DefaultLambdaQ, splade.DefaultLambdaD)
}
