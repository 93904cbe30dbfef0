package bench

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/mimicry-ir/mimicry/models/backend"
)

// mini is a shape small enough for a unit test (the vocabulary must hold the tokenizer's ids).
var mini = Shape{Name: "mini", Hidden: 16, Layers: 1, Heads: 2, FFN: 32, Vocab: 30522}

var miniOptions = Options{Batch: 2, SeqLen: 16, Warmup: 1, Steps: 2, InferBatches: 1, Dropout: 0.1}

func TestParse(t *testing.T) {
	if s, err := ParseShapes("tiny, MiniLM-L6"); err != nil || len(s) != 2 || s[0] != Tiny || s[1] != MiniLML6 {
		t.Errorf("ParseShapes = %v, %v", s, err)
	}
	if _, err := ParseShapes("tiny,huge"); err == nil || !strings.Contains(err.Error(), "huge") {
		t.Errorf("unknown shape: %v", err)
	}
	if r, err := ParseRuntimes("go,XLA-CPU,torch"); err != nil || strings.Join(r, ",") != "SimpleGo,XLA-CPU,PyTorch" {
		t.Errorf("ParseRuntimes = %v, %v", r, err)
	}
	if _, err := ParseRuntimes("tpu"); err == nil {
		t.Error("unknown runtime accepted")
	}
	if _, err := (Shape{Name: "bad", Hidden: 10, Layers: 1, Heads: 3, FFN: 8, Vocab: 100}).Config(); err == nil ||
		!strings.Contains(err.Error(), "bad") {
		t.Errorf("invalid shape: %v", err)
	}
}

func TestTrainAndInfer(t *testing.T) {
	b, err := backend.Default()
	if err != nil {
		t.Fatal(err)
	}
	m, err := Train(b, "default", mini, miniOptions)
	if err != nil {
		t.Fatal(err)
	}
	if m.Task != "train" || m.Unit != "tokens/s" || !(m.PerSecond > 0) || !(m.StepSeconds > 0) || !(m.FirstSeconds > 0) ||
		m.CPUSeconds < 0 {
		t.Errorf("Train = %+v", m)
	}
	if got := m.PerSecond * m.StepSeconds; got < 31.9 || got > 32.1 {
		t.Errorf("tokens/s × s/step = %g, want the 2×16 tokens of a batch", got)
	}
	m, err = Infer(b, "default", mini, miniOptions)
	if err != nil {
		t.Fatal(err)
	}
	if m.Task != "infer" || m.Unit != "pairs/s" || !(m.PerSecond > 0) {
		t.Errorf("Infer = %+v", m)
	}
}

func TestTable(t *testing.T) {
	ms := []Measurement{
		{Runtime: PyTorch, Shape: "tiny", Task: "train", Unit: "tokens/s", PerSecond: 2000, CPUSeconds: 2},
		{Runtime: SimpleGo, Shape: "tiny", Task: "train", Unit: "tokens/s", PerSecond: 100, CPUSeconds: 8},
		{Runtime: XLACPU, Shape: "tiny", Task: "train", Unit: "tokens/s", PerSecond: 4000, CPUSeconds: 1},
		{Runtime: XLACPU, Shape: "tiny", Task: "infer", Unit: "pairs/s", PerSecond: 50.5},
	}
	var buf bytes.Buffer
	if err := Table(&buf, ms); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"| shape | task | unit | SimpleGo | XLA-CPU | PyTorch |",
		"| tiny | train | tokens/s | 100 | 4000 | 2000 | 40.00× | 2.00× |", "| tiny | infer | pairs/s | – | 50.5 | – | – | – |",
		"| tiny | train | CPU-s | 8 | 1 | 2 | 8.00× | 2.00× |"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

// TestTorchScript runs the embedded PyTorch reference on a tiny shape; it needs the Python extras.
func TestTorchScript(t *testing.T) {
	python := FindPython()
	if python == "" {
		t.Skip("no .venv with the Python extras (python3 -m venv .venv && .venv/bin/pip install -r docker/requirements.txt)")
	}
	if err := exec.Command(python, "-c", "import torch, transformers, sentence_transformers").Run(); err != nil {
		t.Skipf("%s lacks torch, transformers or sentence-transformers: %v", python, err)
	}
	ms, err := Torch(context.Background(), python, 1, "cpu", []Shape{mini}, miniOptions, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	tasks := map[string]bool{}
	for _, m := range ms {
		if m.Runtime != PyTorch || m.Shape != "mini" || !(m.PerSecond > 0) {
			t.Errorf("measurement %+v", m)
		}
		tasks[m.Task] = true
	}
	if !tasks["train"] || !tasks["infer"] || !tasks["infer-forward"] {
		t.Errorf("tasks measured: %v", tasks)
	}
}
