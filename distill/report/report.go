// Package report holds the paper-style report of a pipeline run: report.json (the contract other
// tools read), report.md and its SVG figures.
//
// report.json's top-level names — dataset, preset, seed, backend, systems, splade_sweep, timings —
// and the measure names inside systems (nDCG@10, RR@10, R@100, AP; avg_doc_active, avg_query_active
// and flops for SPLADE) are stable. details holds what the figures are drawn from, so that Write can
// redraw a report from its JSON alone (Read, then Write).
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/distill/splade"
)

// System names in Report.Systems.
const (
	SystemBM25              = "bm25"
	SystemTeacher           = "teacher"
	SystemColBERT           = "colbert"
	SystemColBERTHardLabels = "colbert_hard_labels"
	SystemSplade            = "splade"
	SystemSpladeLambda0     = "splade_lambda0"
	// A residual teacher's parts, reranking the same candidates: its first-stage terms alone
	// (w·BM25, + w'·cos with a dense residual) and its network alone.
	SystemTeacherResidual = "teacher_residual_terms"
	SystemTeacherNetwork  = "teacher_network"
	// The zero-shot rows of a run from a pretrained checkpoint: the checkpoint as a dense
	// bi-encoder, and each student as it starts, before distillation.
	SystemBiEncoder       = "biencoder_zero_shot"
	SystemColBERTZeroShot = "colbert_zero_shot"
	SystemSpladeZeroShot  = "splade_zero_shot"
	// The frontier recipes (pipeline --frontier), each a ColBERT student reranking like SystemColBERT.
	SystemColBERTKL          = "colbert_kl"
	SystemColBERTFixedMargin = "colbert_fixed_margin"
	SystemColBERTOnline      = "colbert_online"
	SystemColBERTSelf        = "colbert_self"
	SystemColBERTMultiTask   = "colbert_multitask"
)

// FullSearchSuffix marks a ColBERT system searched exhaustively over the whole corpus
// ("colbert_full"); the plain name is the student reranking the teacher's BM25 candidates.
const FullSearchSuffix = "_full"

// MaxSimSuffix marks a residual ColBERT student's MaxSim term alone, reranking the same candidates
// without its w·BM25 term ("colbert_maxsim").
const MaxSimSuffix = "_maxsim"

// Report is report.json.
type Report struct {
	// Dataset describes the collection.
	Dataset Dataset `json:"dataset"`
	// Preset is the model size; Seed the run's seed; Backend the compute backend.
	Preset  string `json:"preset"`
	Seed    int64  `json:"seed"`
	Backend string `json:"backend"`
	// Systems maps a system name (SystemBM25, …) to its measures on the evaluation queries.
	Systems map[string]map[string]float64 `json:"systems"`
	// SpladeSweep is the sparsity trade-off: one point per λ_d, by increasing λ_d.
	SpladeSweep []splade.SweepRow `json:"splade_sweep"`
	// Timings are the run's wall times and throughputs.
	Timings Timings `json:"timings"`
	// Settings are the sizes the stages ran with (steps, lengths, learning rates …).
	Settings map[string]any `json:"settings,omitempty"`
	// Frontier compares the ColBERT recipes (the offline baseline first), when they were run.
	Frontier []RecipeRow `json:"frontier,omitempty"`
	// Details hold the data of the figures.
	Details Details `json:"details"`
}

// RecipeRow is one ColBERT recipe of the frontier comparison: its system name, what it cost and
// what it reached.
type RecipeRow struct {
	Recipe string `json:"recipe"`
	System string `json:"system"`
	// NDCG10 is nDCG@10 reranking the teacher's candidates; HeldOutPearson the agreement of its
	// margins with the answer key's on held-out training queries.
	NDCG10         float64 `json:"nDCG@10"`
	HeldOutPearson float64 `json:"heldout_margin_pearson"`
	// TrainSeconds is the student's training time; ExtraSeconds what the recipe spent besides
	// (the online teacher's scoring, or the larger student's training and re-annotation).
	TrainSeconds float64 `json:"train_s"`
	ExtraSeconds float64 `json:"extra_s"`
	// TeacherPairs is the number of pairs a teacher scored for this recipe (the answer key's rows
	// for offline recipes, the in-loop scorings for online).
	TeacherPairs int64 `json:"teacher_pairs"`
	// Note says what the recipe is.
	Note string `json:"note,omitempty"`
}

// Dataset describes the collection of a run.
type Dataset struct {
	Name         string `json:"name"`
	Documents    int    `json:"documents"`
	Queries      int    `json:"queries"`
	TrainQueries int    `json:"train_queries"`
	// TrainingSource is "qrels" or "weak:title-body" (weak supervision from titles).
	TrainingSource string `json:"training_source,omitempty"`
	// AnswerKeyPairs is the number of (query, passage, teacher score) rows of the answer key.
	AnswerKeyPairs int64 `json:"answer_key_pairs,omitempty"`
}

// Timings are the wall times and throughputs of a run. Stage times are those of the process that
// ran the stage (a stage done in an earlier run keeps its time), and TotalSeconds of a resumed run
// adds the recorded times of the stages earlier processes finished to this process's wall time.
type Timings struct {
	TotalSeconds           float64            `json:"total_s"`
	TeacherTrainSeconds    float64            `json:"teacher_train_s"`
	AnnotatePairsPerSecond float64            `json:"annotate_pairs_per_s"`
	TrainTokensPerSecond   float64            `json:"train_tokens_per_s"`
	StageSeconds           map[string]float64 `json:"stages_s,omitempty"`
}

// Details are the data the figures are drawn from.
type Details struct {
	// Curves maps a training run ("teacher", "colbert", …) to its logged losses.
	Curves map[string][]CurvePoint `json:"curves,omitempty"`
	// Samples maps a student ("colbert", "colbert_hard_labels") to held-out answer-key pairs scored
	// by it and by the teacher.
	Samples map[string][]Sample `json:"samples,omitempty"`
	// Example is a document's SPLADE expansion.
	Example *Example `json:"example,omitempty"`
	// Notes are remarks of the run that the report prints under the results table.
	Notes []string `json:"notes,omitempty"`
}

// CurvePoint is one logged training record.
type CurvePoint struct {
	Step int     `json:"step"`
	Loss float64 `json:"loss"`
	// Active is the average active terms per document (SPLADE), when logged.
	Active float64 `json:"doc_active,omitempty"`
}

// Sample is one held-out answer-key pair with the teacher's and a student's scores.
type Sample struct {
	QueryID  string  `json:"qid"`
	DocID    string  `json:"pid"`
	Positive bool    `json:"positive"`
	Teacher  float64 `json:"teacher"`
	Student  float64 `json:"student"`
}

// Example is the SPLADE expansion of one document.
type Example struct {
	DocID string `json:"doc_id"`
	Text  string `json:"text"`
	// Terms are the top terms of the default-λ student, by weight.
	Terms []Term `json:"terms"`
}

// Term is a vocabulary term and its SPLADE weight.
type Term struct {
	Term   string  `json:"term"`
	Weight float64 `json:"weight"`
}

// Read loads a report.json.
func Read(path string) (*Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// Write writes dir/report.json, the figures under dir/figures/ and dir/report.md, each atomically.
func Write(dir string, r *Report) error {
	if err := os.MkdirAll(filepath.Join(dir, "figures"), 0o755); err != nil {
		return err
	}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := datasets.WriteFileAtomic(filepath.Join(dir, "report.json"), func(w io.Writer) error {
		_, err := w.Write(append(data, '\n'))
		return err
	}); err != nil {
		return err
	}
	figs, err := WriteFigures(filepath.Join(dir, "figures"), r)
	if err != nil {
		return err
	}
	return datasets.WriteFileAtomic(filepath.Join(dir, "report.md"), func(w io.Writer) error {
		_, err := io.WriteString(w, Markdown(r, figs))
		return err
	})
}
