package backendtest

import (
	"fmt"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// recorder is a testing.TB that records Errorf calls instead of failing.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recorder) Helper()             {}
func (r *recorder) Logf(string, ...any) {}

func TestCompare(t *testing.T) {
	want := tensors.FromFlatDataAndDimensions([]float32{1, -2, 100, 0}, 2, 2)
	for _, tc := range []struct {
		name string
		got  *tensors.Tensor
		tol  Tolerance
		ok   bool
	}{
		{"equal", tensors.FromFlatDataAndDimensions([]float32{1, -2, 100, 0}, 2, 2), Tolerance{}, true},
		{"within rel", tensors.FromFlatDataAndDimensions([]float32{1.0001, -2, 100.01, 0}, 2, 2), Tolerance{Rel: 2e-4}, true},
		{"beyond rel", tensors.FromFlatDataAndDimensions([]float32{1.001, -2, 100, 0}, 2, 2), Tolerance{Rel: 2e-4}, false},
		{"near zero, scale", tensors.FromFlatDataAndDimensions([]float32{1, -2, 100, 0.005}, 2, 2), Tolerance{Rel: 1e-6, Scale: 1e-4}, true},
		{"near zero, no scale", tensors.FromFlatDataAndDimensions([]float32{1, -2, 100, 0.005}, 2, 2), Tolerance{Rel: 1e-3}, false},
		{"shape", tensors.FromFlatDataAndDimensions([]float32{1, -2, 100, 0}, 4), Tolerance{Rel: 1}, false},
		{"dtype", tensors.FromFlatDataAndDimensions([]float64{1, -2, 100, 0}, 2, 2), Tolerance{Rel: 1}, false},
	} {
		r := &recorder{TB: t}
		Compare(r, tc.name, tc.got, want, tc.tol)
		if ok := len(r.errors) == 0; ok != tc.ok {
			t.Errorf("%s: Compare passed=%v, want %v (%q)", tc.name, ok, tc.ok, r.errors)
		}
	}
	r := &recorder{TB: t}
	nan := tensors.FromFlatDataAndDimensions([]float64{1, 0}, 2)
	Compare(r, "nan", tensors.FromFlatDataAndDimensions([]float64{1, nanValue()}, 2), nan, Tolerance{Rel: 1})
	if len(r.errors) == 0 {
		t.Error("NaN against a number passed")
	}
	r = &recorder{TB: t}
	Compare(r, "ints", tensors.FromFlatDataAndDimensions([]int32{1, 3}, 2), tensors.FromFlatDataAndDimensions([]int32{1, 2}, 2), Tolerance{Rel: 1})
	if len(r.errors) == 0 {
		t.Error("different integers passed: integers must be equal")
	}
}

func nanValue() float64 {
	zero := 0.0
	return zero / zero
}

func TestCrossBackendPair(t *testing.T) {
	simple, xla := Pair(t)
	if simple.String() != "go" || xla.Name() != "xla" {
		t.Fatalf("Pair() = %s, %s", simple.Name(), xla.Name())
	}
	if s2, x2 := Pair(t); s2 != simple || x2 != xla {
		t.Error("Pair() is not shared")
	}
	var outs []*tensors.Tensor
	for _, nb := range Both(t) {
		outs = append(outs, graph.MustExecOnce(nb.Backend, func(x *graph.Node) *graph.Node {
			return graph.ReduceSum(graph.Exp(x), -1)
		}, [][]float32{{0, 1, 2}, {-1, 0.5, 3}}))
	}
	Compare(t, "Σexp(x)", outs[1], outs[0], Tolerance{Rel: 1e-6})
}
