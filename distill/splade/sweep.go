package splade

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/mimicry-ir/mimicry/distill/train"
)

// SweepRow is one point of the sparsity trade-off (Sweep).
type SweepRow struct {
	// LambdaD and LambdaQ are the sparsity weights trained with.
	LambdaD float64 `json:"lambda_d"`
	LambdaQ float64 `json:"lambda_q"`
	// AvgDocActive and AvgQueryActive are the average terms per indexed document and per query.
	AvgDocActive   float64 `json:"avg_doc_active"`
	AvgQueryActive float64 `json:"avg_query_active"`
	// FLOPS is the expected multiplications per (query, document) pair.
	FLOPS float64 `json:"flops"`
	// NDCG10 is nDCG@10 on the evaluation queries.
	NDCG10 float64 `json:"nDCG@10"`
	// QueryMs is the median index search time per query.
	QueryMs float64 `json:"query_ms"`
	// Postings is the size of the index.
	Postings int64 `json:"postings"`
	// Warning says when the model collapsed or stayed dense.
	Warning string `json:"warning,omitempty"`
}

// SweepLambdas returns the λ_d values of a default sweep around def: 0, def/100, def/10, def,
// 10·def and 100·def.
func SweepLambdas(def float64) []float64 {
	return []float64{0, def / 100, def / 10, def, def * 10, def * 100}
}

// Sweep trains, indexes and evaluates one SPLADE student per λ_d of lambdas — 0 and
// DefaultLambdaD are always added — to draw the sparsity/effectiveness trade-off. Each student is
// job with Train.LambdaD = λ_d and Train.LambdaQ = λ_d·(job's λ_q/λ_d; DefaultLambdaQ/DefaultLambdaD
// when job's λ_d is 0), in OutDir/sweep/lambda_d=<λ>/ (resumable), with the guards off: a collapsed
// or dense student is a row with a Warning rather than an error. The rows, by increasing λ_d, are
// also written to OutDir/sweep.json. Rows in known (students of the same job already trained and
// measured, e.g. a pipeline's λ = 0 and default-λ stages) are used as they are, not trained again.
func Sweep(lambdas []float64, job Job, known ...SweepRow) ([]SweepRow, error) {
	for _, l := range lambdas {
		if !(l >= 0) || math.IsInf(l, 0) {
			return nil, fmt.Errorf("splade sweep: λ_d = %g must be finite and ≥ 0", l)
		}
	}
	ratio := DefaultLambdaQ / DefaultLambdaD
	if job.Train.LambdaD > 0 {
		ratio = job.Train.LambdaQ / job.Train.LambdaD
	}
	var rows []SweepRow
	for _, l := range spladeSortedUnique(append(slices.Clone(lambdas), 0, DefaultLambdaD)) {
		if i := slices.IndexFunc(known, func(r SweepRow) bool { return r.LambdaD == l }); i >= 0 {
			rows = append(rows, known[i])
			continue
		}
		sub := job
		sub.OutDir = filepath.Join(job.OutDir, "sweep", "lambda_d="+strconv.FormatFloat(l, 'g', -1, 64))
		sub.Train.LambdaD, sub.Train.LambdaQ = l, l*ratio
		sub.Train.Guard.Off = true
		sub.Train.OnLog = nil
		_, rep, err := sub.Run()
		if err != nil {
			return rows, fmt.Errorf("splade sweep: λ_d = %g: %w", l, err)
		}
		rows = append(rows, SweepRow{
			LambdaD: l, LambdaQ: sub.Train.LambdaQ, AvgDocActive: rep.AvgDocActive, AvgQueryActive: rep.AvgQueryActive,
			FLOPS: rep.FLOPS, NDCG10: rep.Measures["nDCG@10"], QueryMs: rep.QueryMs, Postings: rep.Postings, Warning: rep.Warning,
		})
	}
	if err := train.WriteReport(filepath.Join(job.OutDir, "sweep.json"), rows); err != nil {
		return rows, err
	}
	return rows, nil
}
