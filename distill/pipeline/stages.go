package pipeline

import (
	"github.com/mimicry-ir/mimicry/distill/colbert"
	"github.com/mimicry-ir/mimicry/distill/report"
	"github.com/mimicry-ir/mimicry/distill/splade"
	"github.com/mimicry-ir/mimicry/distill/teacher"
)

// Stage names, which are also the names of the stage records in OutDir/stages/.
const (
	StageTrainingSet = "training_set"
	StageTeacher     = "teacher"
	StageAnswerKey   = "answer_key"
	StageColBERT     = "colbert"
	StageColBERTHard = "colbert_hard_labels"
	StageSpladeDense = "splade_lambda0"
	StageSplade      = "splade"
	StageSpladeSweep = "splade_sweep"
	// The frontier recipes' stages (Config.Frontier), named as their report systems.
	StageColBERTKL          = report.SystemColBERTKL
	StageColBERTFixedMargin = report.SystemColBERTFixedMargin
	StageColBERTOnline      = report.SystemColBERTOnline
	StageColBERTSelf        = report.SystemColBERTSelf
	StageColBERTMultiTask   = report.SystemColBERTMultiTask
	answerKeyFileName       = "answer_key.jsonl"
)

// TrainingSetStage is the record of the training-set stage.
type TrainingSetStage struct {
	// Source is "qrels" (training queries with judgements) or "weak:title-body".
	Source string `json:"source"`
	// TrainGroups and DevGroups count the (query, positives, negatives) groups.
	TrainGroups int `json:"train_groups"`
	DevGroups   int `json:"dev_groups"`
	// AnnotatedQueries is the number of training queries whose candidates go to the teacher.
	AnnotatedQueries int `json:"annotated_queries"`
}

// TeacherStage is the record of the teacher stage.
type TeacherStage struct {
	// Report is the teacher job's report (BM25 and the teacher reranking BM25's top k).
	Report *teacher.Report `json:"report"`
	// TokensPerSecond is the average number of real (non-padding) tokens of the training pairs per
	// second of training.
	TokensPerSecond float64 `json:"train_tokens_per_s"`
}

// AnswerKeyStage is the record of the annotation stage.
type AnswerKeyStage struct {
	// Path is the answer key, relative to OutDir.
	Path string `json:"path"`
	// Pairs is the number of scored pairs; PairsPerSecond the teacher's throughput.
	Pairs          int64   `json:"pairs"`
	PairsPerSecond float64 `json:"pairs_per_s"`
	Seconds        float64 `json:"seconds"`
}

// ColBERTStage is the record of a ColBERT stage.
type ColBERTStage struct {
	// Report is the ColBERT job's report.
	Report *colbert.Report `json:"report"`
	// Sample holds teacher and student scores of held-out answer-key pairs (for the figures).
	Sample []ScoredSample `json:"sample"`
}

// ScoredSample is one answer-key pair with the teacher's and a student's score.
type ScoredSample = report.Sample

// SpladeStage is the record of a SPLADE stage.
type SpladeStage struct {
	// Report is the SPLADE job's report.
	Report *splade.Report `json:"report"`
	// ExampleDoc is the id of the document whose top terms are shown; TopTerms its expansion.
	ExampleDoc   string              `json:"example_doc"`
	ExampleText  string              `json:"example_text"`
	ExampleTerms []splade.TermWeight `json:"example_terms"`
}
