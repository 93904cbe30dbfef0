package safetensors_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/mimicry-ir/mimicry/models/safetensors"
)

func Example() {
	dir, err := os.MkdirTemp("", "safetensors-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "model.safetensors")

	tensors := []*safetensors.Tensor{
		safetensors.NewFloat32("classifier.weight", []int{2, 3}, []float32{1, 2, 3, 4, 5, 6}),
		safetensors.NewFloat32("classifier.bias", []int{2}, []float32{0.5, -0.5}),
	}
	if err := safetensors.WriteFile(path, tensors, map[string]string{"format": "pt"}); err != nil {
		log.Fatal(err)
	}

	f, err := safetensors.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(f.Names(), f.Metadata["format"])
	w, _ := f.Get("classifier.weight")
	values, err := w.Float32s()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(w.DType, w.Shape, values)
	// Output:
	// [classifier.bias classifier.weight] pt
	// F32 [2 3] [1 2 3 4 5 6]
}
