package bench

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

//go:embed torch_bench.py
var torchScript []byte

// TorchScript returns the PyTorch reference script (torch_bench.py).
func TorchScript() []byte { return torchScript }

// FindPython returns the Python interpreter of the optional extras: $VIRTUAL_ENV/bin/python, else the
// python of the nearest .venv in the working directory or a parent, else "" (the extras are installed
// with `python3 -m venv .venv && .venv/bin/pip install -r docker/requirements.txt` in the repository root).
func FindPython() string {
	if v := os.Getenv("VIRTUAL_ENV"); v != "" {
		if p := filepath.Join(v, "bin", "python"); isFile(p) {
			return p
		}
	}
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if p := filepath.Join(dir, ".venv", "bin", "python"); isFile(p) {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}

// Torch runs torch_bench.py with python on the given shapes, with threads intra-op threads, and
// returns its measurements ("train", "infer" and "infer-forward" for each shape). stderr receives the
// script's own messages.
func Torch(ctx context.Context, python string, threads int, device string, shapes []Shape, o Options, stderr *os.File) ([]Measurement, error) {
	if python == "" {
		return nil, errors.New("PyTorch: no Python interpreter given (install the extras: python3 -m venv .venv && " +
			".venv/bin/pip install -r docker/requirements.txt)")
	}
	dir, err := os.MkdirTemp("", "mimicry-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "torch_bench.py")
	vocab := filepath.Join(dir, "vocab.txt")
	if err := os.WriteFile(script, torchScript, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(vocab, vocabFile(tokenizer.Default()), 0o644); err != nil {
		return nil, err
	}
	var list []map[string]any
	for _, s := range shapes {
		list = append(list, map[string]any{"name": s.Name, "hidden": s.Hidden, "layers": s.Layers,
			"heads": s.Heads, "ffn": s.FFN, "vocab": s.Vocab})
	}
	shapesJSON, err := json.Marshal(list)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, python, script, "--shapes", string(shapesJSON),
		"--batch", fmt.Sprint(o.Batch), "--seq-len", fmt.Sprint(o.SeqLen), "--steps", fmt.Sprint(o.Steps),
		"--warmup", fmt.Sprint(o.Warmup), "--infer-batches", fmt.Sprint(o.InferBatches), "--dropout", fmt.Sprint(o.Dropout),
		"--threads", fmt.Sprint(threads), "--vocab-file", vocab, "--device", cmp.Or(device, "cpu"))
	cmd.Env = append(os.Environ(), "TOKENIZERS_PARALLELISM=false", "HF_HUB_OFFLINE=1")
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("PyTorch reference (%s %s): %w", python, "torch_bench.py", err)
	}
	var ms []Measurement
	sc := bufio.NewScanner(&out)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(text, "{") {
			continue
		}
		var m Measurement
		if err := json.Unmarshal([]byte(text), &m); err != nil {
			return nil, fmt.Errorf("PyTorch reference: output line %d: %w", line, err)
		}
		if m.Task == "train" {
			for _, sh := range shapes {
				if sh.Name == m.Shape {
					m.FLOPsPerItem = sh.TrainFLOPsPerToken(o.SeqLen)
				}
			}
		}
		if m.PerSecond <= 0 {
			return nil, fmt.Errorf("PyTorch reference: output line %d has no throughput: %s", line, text)
		}
		ms = append(ms, m)
	}
	if len(ms) == 0 {
		return nil, errors.New("PyTorch reference printed no measurement")
	}
	return ms, nil
}

// vocabFile is tk's vocabulary as a BERT vocab.txt: one token per line, in id order.
func vocabFile(tk tokenizer.Tokenizer) []byte {
	var b bytes.Buffer
	for id := range tk.VocabSize() {
		w, _ := tk.IDToToken(id)
		b.WriteString(w)
		b.WriteByte('\n')
	}
	return b.Bytes()
}
