package losses_test

import (
	"fmt"

	. "github.com/gomlx/gomlx/pkg/core/graph"

	"github.com/mimicry-ir/mimicry/losses"
	"github.com/mimicry-ir/mimicry/models/backend"
)

// MarginMSE on a batch of two queries: the student's scores are on another scale than the teacher's, but
// only the margins matter.
func ExampleMarginMSE() {
	b, err := backend.Default()
	if err != nil {
		panic(err)
	}
	loss := MustExecOnce(b, losses.MarginMSE,
		[]float32{12, 7}, // student, positive documents
		[]float32{10, 6}, // student, negatives: margins 2 and 1
		[]float32{3, 1},  // teacher, positives
		[]float32{0, 0},  // teacher, negatives: margins 3 and 1
	)
	// ((2−3)² + (1−1)²) / 2 = 0.5
	fmt.Printf("MarginMSE = %.2f\n", loss.Value())
	// Output: MarginMSE = 0.50
}
