package models_test

import (
	"fmt"
	"os"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/backend"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

// A tiny cross-encoder scores two (query, passage) pairs, then is exported as a Hugging Face folder
// and imported back.
func Example() {
	be, err := backend.Default()
	if err != nil {
		panic(err)
	}
	tk := tokenizer.Default()
	cfg, _ := models.NewConfig(models.PresetTiny, tk.VocabSize())
	m, _ := models.New(models.KindCrossEncoder, cfg, 0, 42)

	in, _ := models.PairInputs(tk,
		[]string{"what is the capital of france", "what is the capital of france"},
		[]string{"Paris is the capital of France.", "Bananas are yellow."}, 64)
	exec := context.MustNewExec(be, m.Ctx, func(ctx *context.Context, ids, types, mask *Node) *Node {
		return models.CrossEncoderLogits(ctx.In(models.ModelScope), cfg, ids, types, mask)
	})
	logits := exec.MustExec(in.IDs, in.TypeIDs, in.Mask)[0]
	fmt.Println("logits shape:", logits.Shape())

	dir, _ := os.MkdirTemp("", "mimicry-example")
	defer os.RemoveAll(dir)
	if err := models.ExportHF(dir, m, be, tk); err != nil {
		panic(err)
	}
	m2, report, err := models.ImportHF(dir, "", 0)
	if err != nil {
		panic(err)
	}
	fmt.Println("imported:", m2.Kind, "missing:", len(report.Missing), "unused:", len(report.Unused))
	tk2, err := models.LoadHFTokenizer(dir)
	if err != nil {
		panic(err)
	}
	fmt.Println("tokenizer:", tk2.VocabSize(), "tokens")
	// Output:
	// logits shape: (Float32)[2]
	// imported: cross-encoder missing: 0 unused: 0
	// tokenizer: 30522 tokens
}
