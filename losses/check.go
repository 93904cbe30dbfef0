package losses

import (
	"fmt"
	"math"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// named is an input of a loss with the name its error messages use.
type named struct {
	name string
	x    *Node
}

// panicf panics with an error whose message starts with "losses.<fn>: ".
func panicf(fn, format string, args ...any) {
	panic(fmt.Errorf("losses.%s: %s", fn, fmt.Sprintf(format, args...)))
}

// requireFloat panics unless every input is non-nil and float32 or float64, all with the same dtype.
func requireFloat(fn string, inputs ...named) {
	for _, in := range inputs {
		if in.x == nil {
			panicf(fn, "%s is nil", in.name)
		}
		if dt := in.x.DType(); dt != dtypes.Float32 && dt != dtypes.Float64 {
			panicf(fn, "%s must be float32 or float64, got %s", in.name, in.x.Shape())
		}
		if in.x.DType() != inputs[0].x.DType() {
			panicf(fn, "%s (%s) and %s (%s) must have the same dtype",
				inputs[0].name, inputs[0].x.Shape(), in.name, in.x.Shape())
		}
	}
}

// requireSameShape panics unless every input has the shape of the first one, and that shape is not empty.
func requireSameShape(fn string, inputs ...named) {
	first := inputs[0]
	if first.x.Shape().Size() == 0 {
		panicf(fn, "%s is empty (%s)", first.name, first.x.Shape())
	}
	for _, in := range inputs[1:] {
		if !in.x.Shape().Equal(first.x.Shape()) {
			panicf(fn, "%s (%s) and %s (%s) must have the same shape",
				first.name, first.x.Shape(), in.name, in.x.Shape())
		}
	}
}

// requireMatrix panics unless x is [B, m] with B ≥ 1 and m ≥ minColumns.
func requireMatrix(fn string, in named, minColumns int, what string) {
	s := in.x.Shape()
	if s.Rank() != 2 {
		panicf(fn, "%s must be %s, got rank %d (%s)", in.name, what, s.Rank(), s)
	}
	if s.Dimensions[0] < 1 {
		panicf(fn, "%s has an empty batch (%s)", in.name, s)
	}
	if s.Dimensions[1] < minColumns {
		panicf(fn, "%s must have at least %d columns (%s), got %s", in.name, minColumns, what, s)
	}
}

// requireTemperature panics unless temperature is a positive finite number.
func requireTemperature(fn string, temperature float64) {
	if math.IsNaN(temperature) || math.IsInf(temperature, 0) || temperature <= 0 {
		panicf(fn, "temperature must be positive and finite, got %g", temperature)
	}
}

// boolConst returns a constant Bool [rows, cols] whose entry (i, j) is f(i, j).
func boolConst(g *Graph, rows, cols int, f func(i, j int) bool) *Node {
	flat := make([]bool, rows*cols)
	for i := range rows {
		for j := range cols {
			flat[i*cols+j] = f(i, j)
		}
	}
	return Const(g, tensors.FromFlatDataAndDimensions(flat, rows, cols))
}

// firstColumn returns column 0 of x [B, m] as [B]. It selects with a mask rather than a slice, so its
// gradient needs no Pad, and an infinite score outside column 0 does not turn into a NaN.
func firstColumn(x *Node) *Node {
	dims := x.Shape().Dimensions
	mask := boolConst(x.Graph(), dims[0], dims[1], func(_, j int) bool { return j == 0 })
	return ReduceSum(Where(mask, x, ScalarZero(x.Graph(), x.DType())), 1)
}

// broadcastFirstColumn returns a [B, m] tensor whose every column is column 0 of x [B, m].
func broadcastFirstColumn(x *Node) *Node {
	return BroadcastToDims(ExpandAxes(firstColumn(x), -1), x.Shape().Dimensions...)
}

// diagonal returns x[i, i] for i < rows, as [rows], where x is [rows, cols] with cols ≥ rows.
func diagonal(x *Node) *Node {
	dims := x.Shape().Dimensions
	mask := boolConst(x.Graph(), dims[0], dims[1], func(i, j int) bool { return i == j })
	return ReduceSum(Where(mask, x, ScalarZero(x.Graph(), x.DType())), 1)
}
