package backend

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// hangReproEnv, set to 1, runs TestSimpleGoDefaultPoolHangRepro.
const hangReproEnv = "MIMICRY_SIMPLEGO_HANG_REPRO"

// hangTimeout is how long the matmul workload may take before it is declared hung. It normally takes
// about a second on 2 cores.
const hangTimeout = 45 * time.Second

// manyMatmuls has six independent DotGenerals of the parameters, all ready as soon as the execution
// starts, then two attention-like batched matmuls.
func manyMatmuls(x, w *graph.Node) *graph.Node {
	var sum *graph.Node
	for i := range 6 {
		y := graph.Einsum("bsi,io->bso", x, w)
		if i%2 == 1 {
			y = graph.Neg(y)
		}
		if sum == nil {
			sum = y
		} else {
			sum = graph.Add(sum, y)
		}
	}
	sum = graph.Add(sum, graph.Einsum("bsi,io->bso", x, w))
	scores := graph.Einsum("bqd,bkd->bqk", sum, sum)
	return graph.ReduceAllSum(graph.Einsum("bqk,bkd->bqd", graph.Tanh(scores), sum))
}

// trainingLike is a small attention + feed-forward block and the gradients of its loss with respect to
// the input and all weights: many independent DotGenerals in the backward pass.
func trainingLike(x, wq, wk, w1, w2 *graph.Node) []*graph.Node {
	q := graph.Einsum("bsi,io->bso", x, wq)
	k := graph.Einsum("bsi,io->bso", x, wk)
	scores := graph.Tanh(graph.Einsum("bqd,bkd->bqk", q, k))
	attn := graph.Add(x, graph.Einsum("bqk,bkd->bqd", scores, x))
	h := graph.Tanh(graph.Einsum("bsi,io->bso", attn, w1))
	y := graph.Einsum("bsi,io->bso", h, w2)
	loss := graph.ReduceAllMean(graph.Square(y))
	return append([]*graph.Node{loss}, graph.Gradient(loss, x, wq, wk, w1, w2)...)
}

// runMatmulWorkload runs manyMatmuls and trainingLike on b, first one execution at a time (SimpleGo then
// runs independent ops in parallel) and then from several goroutines at once. It returns an error if it
// doesn't finish within timeout; the stuck goroutines are left behind.
func runMatmulWorkload(b backends.Backend, timeout time.Duration) error {
	const batch, seq, hidden, inner = 8, 32, 64, 256
	x, w1, w2 := denseStackInputs(batch, seq, hidden, inner)
	_, wq, _ := denseStackInputs(1, 1, hidden, hidden)
	_, wk, _ := denseStackInputs(1, 1, hidden, hidden)

	done := make(chan error, 1)
	var phase sync.Mutex // Guards phaseName.
	phaseName := "compiling"
	setPhase := func(name string) {
		phase.Lock()
		phaseName = name
		phase.Unlock()
	}
	go func() {
		done <- func() error {
			mm, err := graph.NewExec(b, manyMatmuls)
			if err != nil {
				return err
			}
			defer mm.Finalize()
			tr, err := graph.NewExec(b, trainingLike)
			if err != nil {
				return err
			}
			defer tr.Finalize()
			runOnce := func() error {
				out, err := mm.Exec(x, w1)
				if err != nil {
					return err
				}
				finalizeAll(out)
				out, err = tr.Exec(x, wq, wk, w1, w2)
				if err != nil {
					return err
				}
				finalizeAll(out)
				return nil
			}
			setPhase("sequential executions")
			for range 6 {
				if err := runOnce(); err != nil {
					return err
				}
			}
			setPhase("concurrent executions")
			const goroutines, iterations = 6, 3
			errs := make(chan error, goroutines)
			for range goroutines {
				go func() {
					for range iterations {
						if err := runOnce(); err != nil {
							errs <- err
							return
						}
					}
					errs <- nil
				}()
			}
			for range goroutines {
				if err := <-errs; err != nil {
					return err
				}
			}
			return nil
		}()
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(timeout):
		phase.Lock()
		defer phase.Unlock()
		return fmt.Errorf("matmul workload on backend %s did not finish within %s (stuck in %s; %d goroutines "+
			"wait in SimpleGo's workersPool.WaitToStart): the backend's worker pool is probably deadlocked",
			b.Name(), timeout, phaseName, goroutinesIn("(*workersPool).WaitToStart"))
	}
}

// TestNoHangConcurrentMatmuls runs many concurrent executions of graphs with several large-ish
// DotGenerals, and a training-like graph with gradients, on the backend from New, under a timeout.
func TestNoHangConcurrentMatmuls(t *testing.T) {
	b, choice, err := NewWithChoice()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Finalize()
	start := time.Now()
	if err := runMatmulWorkload(b, hangTimeout); err != nil {
		t.Fatalf("backend %s: %v", choice, err)
	}
	t.Logf("workload on %s took %s", choice.Config, time.Since(start))
}

// TestSimpleGoDefaultPoolHangRepro runs the same workload on SimpleGo with its default worker pool
// (parallelism = runtime.NumCPU()), with GOMAXPROCS=2. On a 2-core machine this is expected to FAIL,
// reporting the deadlock. It is skipped unless MIMICRY_SIMPLEGO_HANG_REPRO=1, since it leaves deadlocked
// goroutines behind. Set MIMICRY_SIMPLEGO_HANG_REPRO_CONFIG to try other SimpleGo options (e.g.
// "parallelism=2").
func TestSimpleGoDefaultPoolHangRepro(t *testing.T) {
	if os.Getenv(hangReproEnv) != "1" {
		t.Skipf("set %s=1 to run the reproduction of SimpleGo's worker pool deadlock", hangReproEnv)
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	config := os.Getenv(hangReproEnv + "_CONFIG")
	restore := silenceStdout()
	b, err := simplego.New(config)
	restore()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("SimpleGo config %q, NumCPU=%d, GOMAXPROCS=%d", config, runtime.NumCPU(), runtime.GOMAXPROCS(0))
	if err := runMatmulWorkload(b, 30*time.Second); err != nil {
		t.Fatalf("reproduced: %v", err)
	}
	t.Log("no hang this time")
}

// goroutinesIn counts the goroutines whose stack contains fn.
func goroutinesIn(fn string) int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, fn) {
			count++
		}
	}
	return count
}

// finalizeAll frees the tensors' memory.
func finalizeAll(ts []*tensors.Tensor) {
	for _, t := range ts {
		_ = t.FinalizeAll()
	}
}
