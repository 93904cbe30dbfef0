package models

import (
	"slices"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
)

func TestFloat32s(t *testing.T) {
	want := []float32{1, -2.5, 3, 0.25, 5, 6}
	for _, in := range []*tensors.Tensor{
		tensors.FromFlatDataAndDimensions(slices.Clone(want), 2, 3),
		tensors.FromFlatDataAndDimensions([]float64{1, -2.5, 3, 0.25, 5, 6}, 2, 3),
	} {
		got, err := Float32s(in)
		if err != nil {
			t.Fatalf("%s: %v", in.Shape(), err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", in.Shape(), got, want)
		}
	}
	if _, err := Float32s(tensors.FromFlatDataAndDimensions([]int32{1, 2}, 2)); err == nil {
		t.Error("an int32 tensor read as float32s")
	}
}
