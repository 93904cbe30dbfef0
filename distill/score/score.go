// Package score is what every part of the method scores pairs with: the [Scorer] interface (a
// teacher, a student, an ensemble, BM25), the texts models read, BM25's candidates, and reranking
// them into a run.
package score

import (
	"fmt"
)

// Scorer scores (query, passage) pairs: a cross-encoder, an ensemble of them, BM25 — anything that
// can serve as a teacher for the answer key.
type Scorer interface {
	// Name identifies the scorer in the answer key's metadata.
	Name() string
	// Score returns one finite score per pair; queries[i] goes with passages[i].
	Score(queries, passages []string) ([]float64, error)
}

// DefaultBatchSize is the number of sequences per forward pass of the encoders.
const DefaultBatchSize = 32

// Ensemble averages the scores of several scorers (Hofstätter et al.'s T2 teacher is the mean of
// three cross-encoders).
type Ensemble []Scorer

// Name implements Scorer.
func (e Ensemble) Name() string {
	name := "ensemble("
	for i, s := range e {
		if i > 0 {
			name += ","
		}
		name += s.Name()
	}
	return name + ")"
}

// Score implements Scorer.
func (e Ensemble) Score(queries, passages []string) ([]float64, error) {
	if len(e) == 0 {
		return nil, fmt.Errorf("empty ensemble")
	}
	sum := make([]float64, len(queries))
	for _, s := range e {
		scores, err := s.Score(queries, passages)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.Name(), err)
		}
		for i, v := range scores {
			sum[i] += v
		}
	}
	for i := range sum {
		sum[i] /= float64(len(e))
	}
	return sum, nil
}
