package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strings"

	"github.com/mimicry-ir/mimicry/internal/files"
	"github.com/mimicry-ir/mimicry/models/bench"
)

func init() {
	register(&command{
		name:    "bench",
		summary: "time cross-encoder training and inference on SimpleGo, XLA-CPU and PyTorch (CPU)",
		run:     runBench,
	})
}

// runBench implements `mimicry bench`; models/bench does the work.
func runBench(args []string) error {
	fs := newFlags("bench", "bench [flags]", `
Times a training step (forward, backward, AdamW) and cross-encoder inference of each shape, batch
16 × 128 tokens in float32, on SimpleGo, XLA-CPU and PyTorch on the CPU (sentence-transformers'
CrossEncoder.predict for inference), and prints tokens/s, pairs/s and their ratios. XLA-CPU and
PyTorch need the extras: python3 -m venv .venv && .venv/bin/pip install -r docker/requirements.txt.
On a GPU machine: --runtimes xla-default,pytorch --device cuda (xla-default is the backend Mimicry
chooses, the GPU's plugin there).`)
	o := bench.DefaultOptions
	shapes := fs.String("shapes", "tiny,MiniLM-L6", "model shapes: tiny (H=128, 2 layers), MiniLM-L6 (H=384, 6 layers), BERT-base (H=768, 12 layers)")
	runtimes := fs.String("runtimes", "simplego,xla-cpu,pytorch", "runtimes to measure: simplego, xla-cpu, xla-default (the backend Mimicry chooses), pytorch")
	device := fs.String("device", "cpu", "PyTorch's device: cpu or cuda")
	tasks := fs.String("tasks", "train,infer", "tasks: train (forward, backward, AdamW) and/or infer (cross-encoder scoring)")
	fs.IntVar(&o.Batch, "batch", o.Batch, "sequences per batch")
	fs.IntVar(&o.SeqLen, "seq-len", o.SeqLen, "tokens per sequence")
	fs.IntVar(&o.Warmup, "warmup", o.Warmup, "untimed training steps first (compilation included)")
	fs.IntVar(&o.Steps, "steps", o.Steps, "timed training steps")
	fs.IntVar(&o.InferBatches, "infer-batches", o.InferBatches, "timed inference batches")
	fs.Float64Var(&o.Dropout, "dropout", o.Dropout, "training dropout probability, Mimicry and PyTorch alike (0: none, to see what dropout's random numbers cost)")
	python := fs.String("python", "", "Python of the PyTorch reference (default: $VIRTUAL_ENV's, else the nearest .venv's)")
	threads := fs.Int("threads", runtime.GOMAXPROCS(0), "PyTorch intra-op threads (Go uses GOMAXPROCS)")
	jsonOut := fs.String("json", "", "also write the measurements to this JSON file")
	if err := fs.parse(args); err != nil {
		return err
	}
	if o.Batch < 1 || o.SeqLen < 8 || o.Steps < 1 || o.Warmup < 0 || o.InferBatches < 1 || *threads < 1 || !(o.Dropout >= 0 && o.Dropout < 1) {
		return errors.New("-batch, -steps, -infer-batches and -threads must be ≥ 1, -warmup ≥ 0, -seq-len ≥ 8 and -dropout in [0, 1)")
	}
	c := bench.RunConfig{Options: o, Python: *python, Threads: *threads, Log: os.Stderr, Device: *device}
	var err error
	if c.Shapes, err = bench.ParseShapes(*shapes); err != nil {
		return err
	}
	if c.Runtimes, err = bench.ParseRuntimes(*runtimes); err != nil {
		return err
	}
	for _, t := range strings.Split(*tasks, ",") {
		if t = strings.TrimSpace(t); t != "train" && t != "infer" {
			return fmt.Errorf("-tasks: unknown task %q: want train or infer", t)
		}
		c.Tasks = append(c.Tasks, t)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ms, err := bench.Run(ctx, c)
	if len(ms) > 0 {
		fmt.Printf("GOMAXPROCS=%d, PyTorch threads %d, batch %d × %d tokens, float32, training dropout %g\n\n", runtime.GOMAXPROCS(0), *threads, o.Batch, o.SeqLen, o.Dropout)
		if terr := bench.Table(os.Stdout, ms); terr != nil {
			return terr
		}
	}
	if *jsonOut != "" && len(ms) > 0 {
		if jerr := files.WriteJSON(*jsonOut, ms); jerr != nil {
			return errors.Join(err, jerr)
		}
	}
	return err
}
