// Package bench measures how fast Mimicry trains and runs a cross-encoder on the backends at hand,
// and how that compares with PyTorch on the same CPU: the library behind `mimicry bench`.
//
// A training step is the one Mimicry's trainer runs (distill/train.Trainer with train.Optimizer's
// AdamW, gradient clipping and NaN guard) on the cross-encoder head (models.CrossEncoderLogits) with
// the binary cross-entropy loss (losses.BinaryCrossEntropy), dropout on. Inference is the
// cross-encoder's forward pass on pairs tokenised with Mimicry's WordPiece tokenizer, tokenisation
// included, as sentence-transformers' CrossEncoder.predict does. The PyTorch side
// (torch_bench.py, embedded) builds the same BertForSequenceClassification from a config and times
// the same step with torch.optim.AdamW, and CrossEncoder.predict.
package bench

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"syscall"
	"time"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/mimicry-ir/mimicry/distill/train"
	"github.com/mimicry-ir/mimicry/losses"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

// Shape is a model size to measure.
type Shape struct {
	// Name labels the shape in tables ("tiny", "MiniLM-L6").
	Name string
	// Hidden, Layers, Heads, FFN and Vocab are the encoder's sizes.
	Hidden, Layers, Heads, FFN, Vocab int
}

// Config returns the cross-encoder configuration of the shape: the tiny preset's settings (GELU,
// dropout 0.1, float32) with the shape's sizes.
func (s Shape) Config() (*models.Config, error) {
	cfg, err := models.NewConfig(models.PresetTiny, s.Vocab)
	if err != nil {
		return nil, err
	}
	cfg.HiddenSize, cfg.NumHiddenLayers, cfg.NumAttentionHeads, cfg.IntermediateSize = s.Hidden, s.Layers, s.Heads, s.FFN
	cfg.NumLabels = 1
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("shape %s: %w", s.Name, err)
	}
	return cfg, nil
}

// The shapes `mimicry bench` measures by default.
var (
	// Tiny is models.PresetTiny with bert-base-uncased's vocabulary.
	Tiny = Shape{Name: "tiny", Hidden: 128, Layers: 2, Heads: 4, FFN: 512, Vocab: 30522}
	// MiniLML6 is the shape of all-MiniLM-L6-v2 / ms-marco-MiniLM-L-6-v2, the usual small cross-encoder.
	MiniLML6 = Shape{Name: "MiniLM-L6", Hidden: 384, Layers: 6, Heads: 12, FFN: 1536, Vocab: 30522}
	// BERTBase is bert-base-uncased's shape.
	BERTBase = Shape{Name: "BERT-base", Hidden: 768, Layers: 12, Heads: 12, FFN: 3072, Vocab: 30522}
)

// TrainFLOPsPerToken estimates the floating-point operations of one training step per token of a
// sequence of seqLen tokens: 6 per weight of the encoder's matrices (forward 2, backward 4; the
// embedding lookups cost none) and 6·2·seqLen·hidden per layer for attention's two matrix
// products — the usual count behind model FLOPs utilisation (MFU; Chowdhery et al., PaLM, 2022).
func (s Shape) TrainFLOPsPerToken(seqLen int) float64 {
	h, f := float64(s.Hidden), float64(s.FFN)
	perLayer := 4*h*h + 2*h*f                    // Q, K, V, output projections and the feed-forward block
	matrices := float64(s.Layers)*perLayer + h*h // + the pooler
	return 6*matrices + 12*float64(s.Layers)*float64(seqLen)*h
}

// ParseShapes reads a comma-separated list of shape names ("tiny", "MiniLM-L6"; case-insensitive).
func ParseShapes(list string) ([]Shape, error) {
	var out []Shape
	for _, name := range strings.Split(list, ",") {
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "tiny":
			out = append(out, Tiny)
		case "minilm-l6", "minilm":
			out = append(out, MiniLML6)
		case "bert-base", "base":
			out = append(out, BERTBase)
		case "":
		default:
			return nil, fmt.Errorf("unknown shape %q: want tiny, MiniLM-L6 or BERT-base", name)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no shape in %q", list)
	}
	return out, nil
}

// Options are the sizes of a run.
type Options struct {
	// Batch and SeqLen are the batch size and the sequence length (every sequence is full).
	Batch, SeqLen int
	// Warmup steps (compilation included) are run before Steps timed training steps.
	Warmup, Steps int
	// InferBatches is the number of timed inference batches (after one warm-up batch).
	InferBatches int
	// Dropout is the training step's dropout probability, on the embeddings, every sub-layer's
	// output and the attention probabilities, for Mimicry and PyTorch alike (0: none).
	Dropout float64
}

// DefaultOptions are `mimicry bench`'s defaults: batch 16 × 128 tokens, 1 warm-up and 3 timed steps, 4
// timed inference batches, dropout 0.1 (BERT's).
var DefaultOptions = Options{Batch: 16, SeqLen: 128, Warmup: 1, Steps: 3, InferBatches: 4, Dropout: 0.1}

// Measurement is one timed task on one runtime.
type Measurement struct {
	// Runtime is "SimpleGo", "XLA-CPU" or "PyTorch".
	Runtime string `json:"runtime"`
	// Shape is the shape's name.
	Shape string `json:"shape"`
	// Task is "train" (tokens/s), "infer" (pairs/s, tokenisation included) or "infer-forward"
	// (pairs/s, PyTorch's forward pass alone).
	Task string `json:"task"`
	// Unit is "tokens/s" or "pairs/s".
	Unit string `json:"unit"`
	// PerSecond is the throughput.
	PerSecond float64 `json:"items_per_s"`
	// StepSeconds is the mean time of a timed step (or inference batch).
	StepSeconds float64 `json:"step_s"`
	// FirstSeconds is the time of the first step or batch, compilation included.
	FirstSeconds float64 `json:"first_step_s,omitempty"`
	// CPUSeconds is the processor time (user + system, all threads) of a timed step: unlike the wall
	// time it barely changes when other processes share the CPUs.
	CPUSeconds float64 `json:"cpu_s,omitempty"`
	// FLOPsPerItem is Shape.TrainFLOPsPerToken for training (0 for inference), for MFU.
	FLOPsPerItem float64 `json:"flops_per_item,omitempty"`
	// Device is where PyTorch ran ("cpu", "cuda"), or the XLA backend's configuration.
	Device string `json:"device,omitempty"`
}

// Train times training steps of the shape's cross-encoder on b and returns tokens/s.
func Train(b backends.Backend, runtime string, s Shape, o Options) (Measurement, error) {
	cfg, err := s.Config()
	if err != nil {
		return Measurement{}, err
	}
	cfg.HiddenDropoutProb, cfg.AttentionProbsDropoutProb = o.Dropout, o.Dropout
	m, err := models.New(models.KindCrossEncoder, cfg, 0, 1)
	if err != nil {
		return Measurement{}, err
	}
	ids, types, mask := randomBatch(o.Batch, o.SeqLen, s.Vocab)
	labels := make([]float32, o.Batch)
	for i := range labels {
		labels[i] = float32(i % 2)
	}
	inputs := []any{ids, types, mask, labels}
	var cpuAfterWarmup, cpuEnd float64
	logged := 0
	t := &train.Trainer{
		Model:   m,
		Backend: b,
		Config: train.Config{
			Name:      "bench " + s.Name + " on " + runtime,
			Steps:     o.Warmup + o.Steps,
			Optimizer: train.Optimizer{LearningRate: 2e-5, WeightDecay: 0.01, ClipNorm: 1},
			LogEvery:  1,
			Quiet:     true,
		},
		Loss: func(ctx *context.Context, _ *Node, in []*Node) (*Node, []*Node) {
			logits := models.CrossEncoderLogits(ctx, cfg, in[0], in[1], in[2])
			return losses.BinaryCrossEntropy(logits, in[3]), nil
		},
		Batches: func(int) ([]any, error) { return inputs, nil },
		OnLog: func(train.Record) {
			logged++
			if logged == o.Warmup {
				cpuAfterWarmup = cpuSeconds()
			}
			cpuEnd = cpuSeconds()
		},
	}
	if o.Warmup == 0 {
		cpuAfterWarmup = cpuSeconds()
	}
	res, err := t.Run()
	if err != nil {
		return Measurement{}, fmt.Errorf("training %s on %s: %w", s.Name, runtime, err)
	}
	if len(res.History) != o.Warmup+o.Steps {
		return Measurement{}, fmt.Errorf("training %s on %s: %d steps logged, want %d", s.Name, runtime, len(res.History), o.Warmup+o.Steps)
	}
	var secs float64
	for _, r := range res.History[o.Warmup:] {
		secs += 1 / r.StepsPerSecond
	}
	step := secs / float64(o.Steps)
	return Measurement{Runtime: runtime, Shape: s.Name, Task: "train", Unit: "tokens/s", FLOPsPerItem: s.TrainFLOPsPerToken(o.SeqLen),
		PerSecond: float64(o.Batch*o.SeqLen) / step, StepSeconds: step,
		FirstSeconds: 1 / res.History[0].StepsPerSecond, CPUSeconds: (cpuEnd - cpuAfterWarmup) / float64(o.Steps)}, nil
}

// Infer times the shape's cross-encoder scoring pairs on b (tokenisation with Mimicry's tokenizer
// included) and returns pairs/s.
func Infer(b backends.Backend, runtime string, s Shape, o Options) (Measurement, error) {
	cfg, err := s.Config()
	if err != nil {
		return Measurement{}, err
	}
	m, err := models.New(models.KindCrossEncoder, cfg, 0, 1)
	if err != nil {
		return Measurement{}, err
	}
	if err := m.Materialize(b); err != nil {
		return Measurement{}, err
	}
	exec, err := context.NewExec(b, m.Ctx, func(ctx *context.Context, ids, types, mask *Node) *Node {
		return models.CrossEncoderLogits(ctx.In(models.ModelScope), cfg, ids, types, mask)
	})
	if err != nil {
		return Measurement{}, err
	}
	defer exec.Finalize()
	tk := tokenizer.Default()
	queries, passages := randomPairs(tk, o.Batch*(o.InferBatches+1), o.SeqLen)
	score := func(from int) error {
		in, err := models.PairInputs(tk, queries[from:from+o.Batch], passages[from:from+o.Batch], o.SeqLen)
		if err != nil {
			return err
		}
		if in.L != o.SeqLen {
			return fmt.Errorf("pairs of %d tokens, want %d", in.L, o.SeqLen)
		}
		out, err := exec.Exec(in.IDs, in.TypeIDs, in.Mask)
		if err != nil {
			return err
		}
		_, err = tensors.CopyFlatData[float32](out[0])
		return err
	}
	start := time.Now()
	if err := score(0); err != nil { // compile and warm up
		return Measurement{}, fmt.Errorf("inference %s on %s: %w", s.Name, runtime, err)
	}
	first := time.Since(start).Seconds()
	start = time.Now()
	cpu := cpuSeconds()
	for i := 1; i <= o.InferBatches; i++ {
		if err := score(i * o.Batch); err != nil {
			return Measurement{}, fmt.Errorf("inference %s on %s: %w", s.Name, runtime, err)
		}
	}
	secs := time.Since(start).Seconds()
	cpu = cpuSeconds() - cpu
	return Measurement{Runtime: runtime, Shape: s.Name, Task: "infer", Unit: "pairs/s", CPUSeconds: cpu / float64(o.InferBatches),
		PerSecond: float64(o.Batch*o.InferBatches) / secs, StepSeconds: secs / float64(o.InferBatches), FirstSeconds: first}, nil
}

// randomBatch returns b random sequences of l token ids from [1000, vocab), token types 0 then 1, no padding.
func randomBatch(b, l, vocab int) (ids, types [][]int32, mask [][]bool) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range b {
		ids, types, mask = append(ids, make([]int32, l)), append(types, make([]int32, l)), append(mask, make([]bool, l))
		for j := range l {
			ids[i][j] = int32(1000 + rng.IntN(vocab-1000))
			types[i][j] = int32(j * 2 / l)
			mask[i][j] = true
		}
	}
	return ids, types, mask
}

// randomPairs returns n (query, passage) pairs of random whole words of tk's vocabulary, long enough
// to fill seqLen tokens once truncated, as torch_bench.py makes them.
func randomPairs(tk tokenizer.Tokenizer, n, seqLen int) (queries, passages []string) {
	var words []string
	for id := range tk.VocabSize() {
		w, ok := tk.IDToToken(id)
		if ok && len(w) > 2 && isAlpha(w) {
			words = append(words, w)
		}
	}
	rng := rand.New(rand.NewPCG(5, 6))
	pick := func(k int) string {
		ws := make([]string, k)
		for i := range ws {
			ws[i] = words[rng.IntN(len(words))]
		}
		return strings.Join(ws, " ")
	}
	for range n {
		queries = append(queries, pick(12))
		passages = append(passages, pick(3*seqLen))
	}
	return queries, passages
}

// isAlpha reports whether w is made of ASCII letters only (no "##" continuation, no [special] token).
func isAlpha(w string) bool {
	for _, r := range w {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') {
			return false
		}
	}
	return true
}

// cpuSeconds is the processor time this process has used so far (user + system, all threads).
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
