package eval

import (
	"github.com/mimicry-ir/mimicry/datasets"
)

// Means evaluates a run with the default measures (nDCG@10, RR@10, R@100, AP) and returns their means.
func Means(qrels datasets.Qrels, run Run) (map[string]float64, error) {
	res, err := Evaluate(qrels, run, DefaultMeasures(), Options{})
	if err != nil {
		return nil, err
	}
	return res.Mean, nil
}
