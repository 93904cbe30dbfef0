package colbert

import (
	"math/rand/v2"
	"runtime"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/backend"
)

// MaxSim scoring throughput on the CPU, in query–document pairs per second, for ColBERT's shapes:
// queries of 32 tokens, documents of 64 scoring tokens, dim 128 (32·64·128 = 262,144 multiply-adds
// a pair). Run:
//
//	go test -run '^$' -bench MaxSim -benchtime 20x ./distill/
//
// BenchmarkMaxSim/plain-go scores one query against 4,096 documents of a Index (the search
// path: parallel over documents), /plain-go-1core the same on one goroutine, and /graph-simplego
// models.MaxSim in a GoMLX graph on the SimpleGo backend ([1, 32, 128] × [1, 512, 64, 128]).
func BenchmarkMaxSim(b *testing.B) {
	const lq, ld, dim = 32, 64, 128
	rng := rand.New(rand.NewPCG(5, 6))
	q := randomUnit(rng, lq, dim)

	const docs = 4096
	ix := &Index{Meta: IndexMeta{Dim: dim, Docs: docs, Tokens: docs * ld}, Offsets: make([]int64, docs+1),
		Vectors: randomUnit(rng, docs*ld, dim)}
	for i := range docs {
		ix.DocIDs = append(ix.DocIDs, "d")
		ix.Offsets[i+1] = int64((i + 1) * ld)
	}
	b.Run("plain-go", func(b *testing.B) {
		for b.Loop() {
			ix.ScoreQuery(q)
		}
		b.ReportMetric(float64(docs*b.N)/b.Elapsed().Seconds(), "pairs/s")
		b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "goroutines")
	})
	b.Run("plain-go-1core", func(b *testing.B) {
		best := make([]float32, lq)
		for b.Loop() {
			for i := range docs {
				maxSimScore(q, ix.Doc(i), dim, best)
			}
		}
		b.ReportMetric(float64(docs*b.N)/b.Elapsed().Seconds(), "pairs/s")
	})
	b.Run("graph-simplego", func(b *testing.B) {
		const n = 512
		be, err := backend.Default()
		if err != nil {
			b.Fatal(err)
		}
		exec, err := NewExec(be, func(q, d, m *Node) *Node { return models.MaxSim(q, d, m) })
		if err != nil {
			b.Fatal(err)
		}
		mask := make([]int32, n*ld)
		for i := range mask {
			mask[i] = 1
		}
		qt := tensors.FromFlatDataAndDimensions(q, 1, lq, dim)
		dt := tensors.FromFlatDataAndDimensions(ix.Vectors[:n*ld*dim], 1, n, ld, dim)
		mt := tensors.FromFlatDataAndDimensions(mask, 1, n, ld)
		if _, err := exec.Exec(qt, dt, mt); err != nil { // compile outside the timing
			b.Fatal(err)
		}
		for b.Loop() {
			out, err := exec.Exec(qt, dt, mt)
			if err != nil {
				b.Fatal(err)
			}
			out[0].FinalizeAll()
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "pairs/s")
	})
}
