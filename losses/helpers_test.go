package losses_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/mimicry-ir/mimicry/models/backend"
)

// testBackend returns the process-wide default backend (SimpleGo on a machine without a GPU).
func testBackend(t testing.TB) backends.Backend {
	t.Helper()
	b, err := backend.Default()
	if err != nil {
		t.Fatalf("backend.Default: %v", err)
	}
	return b
}

// lossFn is a loss applied to a list of inputs, the form graph.NewExec accepts for any number of inputs.
type lossFn = func(xs []*Node) *Node

// toDType converts a float64 scalar, slice or 2-D slice to a tensor of the given float dtype.
func toDType(t testing.TB, x any, dtype dtypes.DType) *tensors.Tensor {
	t.Helper()
	var flat []float64
	var dims []int
	switch v := x.(type) {
	case float64:
		flat, dims = []float64{v}, nil
	case []float64:
		flat, dims = v, []int{len(v)}
	case [][]float64:
		dims = []int{len(v), len(v[0])}
		for _, row := range v {
			if len(row) != dims[1] {
				t.Fatalf("ragged input %v", v)
			}
			flat = append(flat, row...)
		}
	case *tensors.Tensor:
		return v
	default:
		t.Fatalf("unsupported test input type %T", x)
	}
	switch dtype {
	case dtypes.Float64:
		if dims == nil {
			return tensors.FromValue(flat[0])
		}
		return tensors.FromFlatDataAndDimensions(flat, dims...)
	case dtypes.Float32:
		f32 := make([]float32, len(flat))
		for i, f := range flat {
			f32[i] = float32(f)
		}
		if dims == nil {
			return tensors.FromValue(f32[0])
		}
		return tensors.FromFlatDataAndDimensions(f32, dims...)
	default:
		t.Fatalf("unsupported dtype %s", dtype)
		return nil
	}
}

// evalErr builds and runs fn on inputs converted to dtype, returning its scalar result as a float64 and the
// dtype it came out with.
func evalErr(t testing.TB, fn lossFn, dtype dtypes.DType, inputs ...any) (float64, dtypes.DType, error) {
	t.Helper()
	exec, err := NewExec(testBackend(t), fn)
	if err != nil {
		return 0, dtypes.InvalidDType, err
	}
	defer exec.Finalize()
	args := make([]any, len(inputs))
	for i, in := range inputs {
		args[i] = toDType(t, in, dtype)
	}
	out, err := exec.Exec(args...)
	if err != nil {
		return 0, dtypes.InvalidDType, err
	}
	if !out[0].Shape().IsScalar() {
		return 0, out[0].DType(), fmt.Errorf("loss is not a scalar: %s", out[0].Shape())
	}
	switch v := out[0].Value().(type) {
	case float32:
		return float64(v), out[0].DType(), nil
	case float64:
		return v, out[0].DType(), nil
	default:
		return 0, out[0].DType(), fmt.Errorf("loss has dtype %s", out[0].DType())
	}
}

// eval is evalErr in float64 that fails the test on error.
func eval(t testing.TB, fn lossFn, inputs ...any) float64 {
	t.Helper()
	v, _, err := evalErr(t, fn, dtypes.Float64, inputs...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// evalTensor runs fn (float64 inputs) and returns its output's flat values.
func evalTensor(t testing.TB, fn lossFn, inputs ...any) []float64 {
	t.Helper()
	exec, err := NewExec(testBackend(t), fn)
	if err != nil {
		t.Fatal(err)
	}
	defer exec.Finalize()
	args := make([]any, len(inputs))
	for i, in := range inputs {
		args[i] = toDType(t, in, dtypes.Float64)
	}
	out, err := exec.Exec(args...)
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[float64](out[0])
}

// near reports whether got is within abs + rel·|want| of want.
func near(got, want, abs, rel float64) bool {
	return math.Abs(got-want) <= abs+rel*math.Abs(want)
}

// weightedSum is Σ x·w with fixed, distinct weights: a scalar that depends on every element of x.
func weightedSum(x *Node) *Node {
	n := x.Shape().Size()
	w := make([]float64, n)
	for i := range w {
		w[i] = math.Sin(float64(3*i + 1))
	}
	wn := ConvertDType(Reshape(Const(x.Graph(), w), x.Shape().Dimensions...), x.DType())
	return ReduceAllSum(Mul(x, wn))
}
