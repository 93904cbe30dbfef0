package teacher

import (
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

const dtypesFloat64 = dtypes.Float64

// oneHot is a [n] vector with 1 at position i, of the given dtype (a Slice-free way to pick a column:
// SimpleGo has no gradient through Slice).
func oneHot(g *Graph, n, i int, dtype dtypes.DType) *Node {
	return ConvertDType(Equal(Iota(g, shapes.Make(dtypes.Int32, n), 0), Const(g, int32(i))), dtype)
}

// positiveFirstLabels is the [b, 1+n] label matrix with 1 in column 0.
func positiveFirstLabels(b, n int, _ bool) [][]float32 {
	out := make([][]float32, b)
	for i := range out {
		out[i] = make([]float32, 1+n)
		out[i][0] = 1
	}
	return out
}
