package models

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/mimicry-ir/mimicry/internal/files"
	"github.com/mimicry-ir/mimicry/models/safetensors"
)

// Checkpoints saves and restores a model's whole training state — parameters, optimizer moments,
// step counter, random-number state: every variable of Model.Ctx — in a directory, as one
// safetensors file per checkpoint (`state-00000300.safetensors`, variables named by their GoMLX
// scope path) written atomically (temporary file + rename), so a crash or SIGKILL at any moment
// leaves the previous checkpoints intact. The model's config.json and mimicry.json sit beside them,
// so the directory describes itself.
type Checkpoints struct {
	m      *Model
	dir    string
	keep   int
	step   int
	pinned int
}

const statePrefix, stateSuffix = "state-", ".safetensors"

// OpenCheckpoints attaches a checkpoint directory to m. If the directory holds checkpoints, the
// newest one's values replace m's (so a training run resumes) and [Checkpoints.Step] tells its step;
// otherwise Step is -1. Save keeps the newest keep checkpoints (all when keep <= 0).
func OpenCheckpoints(m *Model, dir string, keep int) (*Checkpoints, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	c := &Checkpoints{m: m, dir: dir, keep: keep, step: -1, pinned: -1}
	steps, err := c.list()
	if err != nil {
		return nil, err
	}
	if len(steps) > 0 {
		// Weights of one shape fit a model that reads its pairs another way (marked or not, one or two
		// markers, with or without the BM25 term): a run must resume with the settings it began with.
		if prev, err := LoadConfig(filepath.Join(dir, ConfigFile)); err == nil {
			for _, f := range []struct {
				name, flag  string
				prev, model any
			}{
				{"mimicry_mark_exact_matches", "--mark-matches", prev.MarkExactMatches, m.Config.MarkExactMatches},
				{"mimicry_mark_rare_df", "--mark-rare-df", prev.MarkRareDF, m.Config.MarkRareDF},
				{"mimicry_bm25_weight", "--bm25-residual", prev.BM25Weight, m.Config.BM25Weight},
				{"mimicry_dense_weight", "--dense-residual", prev.DenseWeight, m.Config.DenseWeight},
			} {
				if f.prev != f.model {
					return nil, fmt.Errorf("checkpoints in %s come from a model with %s = %v, this one has %v: resume with the same setting (%s) or use another directory",
						dir, f.name, f.prev, f.model, f.flag)
				}
			}
		}
		newest := steps[len(steps)-1]
		if err := c.restore(newest); err != nil {
			return nil, err
		}
		c.step = newest
	}
	if err := writeModelInfo(dir, m); err != nil {
		return nil, err
	}
	return c, nil
}

// writeModelInfo writes config.json and mimicry.json into dir.
func writeModelInfo(dir string, m *Model) error {
	cfg := *m.Config
	cfg.Architectures = []string{m.Kind.Architecture()}
	if err := cfg.Save(filepath.Join(dir, ConfigFile)); err != nil {
		return err
	}
	info, _ := json.MarshalIndent(mimicryInfo{Kind: m.Kind, ColBERTDim: m.ColBERTDim}, "", "  ")
	return files.WriteBytes(filepath.Join(dir, MimicryFile), append(info, '\n'), 0o644)
}

// Step is the step of the checkpoint restored by OpenCheckpoints or written last by Save (-1: none).
func (c *Checkpoints) Step() int { return c.step }

// Dir is the checkpoint directory.
func (c *Checkpoints) Dir() string { return c.dir }

// Path is the file of the checkpoint of a step.
func (c *Checkpoints) Path(step int) string {
	return filepath.Join(c.dir, fmt.Sprintf("%s%08d%s", statePrefix, step, stateSuffix))
}

// HasCheckpoint reports whether dir holds a checkpoint that OpenCheckpoints would restore (false
// when dir is missing or unreadable: OpenCheckpoints then reports the error).
func HasCheckpoint(dir string) bool {
	steps, err := checkpointSteps(dir)
	return err == nil && len(steps) > 0
}

// list returns the steps of the checkpoints in the directory, ascending.
func (c *Checkpoints) list() ([]int, error) { return checkpointSteps(c.dir) }

// checkpointSteps returns the steps of the checkpoints in dir, ascending.
func checkpointSteps(dir string) ([]int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var steps []int
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, statePrefix) || !strings.HasSuffix(name, stateSuffix) {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(name, statePrefix), stateSuffix))
		if err == nil {
			steps = append(steps, n)
		}
	}
	slices.Sort(steps)
	return steps, nil
}

// Pin exempts the checkpoint of a step from Save's clean-up (one step at a time: pinning another
// releases the previous one; -1 releases it). The training loop pins the best-evaluated step.
func (c *Checkpoints) Pin(step int) { c.pinned = step }

// Has reports whether the checkpoint of a step is on disk.
func (c *Checkpoints) Has(step int) bool {
	_, err := os.Stat(c.Path(step))
	return err == nil
}

// Save writes a checkpoint of every variable of the model's context for the given step, then removes
// the oldest ones beyond keep (never the pinned one). All variables must have values.
func (c *Checkpoints) Save(step int) error {
	var list []*safetensors.Tensor
	for v := range c.m.Ctx.IterVariables() {
		if !v.HasValue() {
			continue
		}
		t, err := v.Value()
		if err != nil {
			return fmt.Errorf("checkpoint: variable %s: %w", v.ScopeAndName(), err)
		}
		st, err := encodeTensor(v.ScopeAndName(), t)
		if err != nil {
			return err
		}
		list = append(list, st)
	}
	if err := safetensors.WriteFile(c.Path(step), list, map[string]string{"step": strconv.Itoa(step)}); err != nil {
		return fmt.Errorf("saving checkpoint: %w", err)
	}
	c.step = step
	if c.keep > 0 {
		steps, err := c.list()
		if err != nil {
			return err
		}
		steps = slices.DeleteFunc(steps, func(s int) bool { return s == c.pinned })
		for len(steps) > c.keep {
			if err := os.Remove(c.Path(steps[0])); err != nil {
				return err
			}
			steps = steps[1:]
		}
	}
	return nil
}

// Restore loads the checkpoint of a step into the model's context (every variable: weights, optimizer
// moments, step counter).
func (c *Checkpoints) Restore(step int) error { return c.restore(step) }

// restore loads a checkpoint's variables into the model's context.
func (c *Checkpoints) restore(step int) error {
	path := c.Path(step)
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return fmt.Errorf("restoring checkpoint: %w", err)
	}
	for _, st := range f.Tensors() {
		t, err := decodeTensor(st)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		scope, name := context.SplitScope(st.Name)
		if v := c.m.Ctx.GetVariableByScopeAndName(scope, name); v != nil {
			if !v.Shape().Equal(t.Shape()) {
				return fmt.Errorf("%s: variable %s has shape %s in the checkpoint, %s in the model", path, st.Name, t.Shape(), v.Shape())
			}
			if err := v.SetValue(t); err != nil {
				return fmt.Errorf("%s: variable %s: %w", path, st.Name, err)
			}
			continue
		}
		v := c.m.Ctx.InAbsPath(scope).VariableWithValue(name, t)
		if !strings.HasPrefix(scope, "/"+ModelScope) {
			v.SetTrainable(false)
		}
	}
	return nil
}

// encodeTensor stores a tensor's raw little-endian bytes under its dtype's safetensors name.
func encodeTensor(name string, t *tensors.Tensor) (*safetensors.Tensor, error) {
	shape := slices.Clone(t.Shape().Dimensions)
	var data []byte
	var dt string
	switch t.DType() {
	case dtypes.Float32:
		return safetensors.NewFloat32(name, shape, tensors.MustCopyFlatData[float32](t)), nil
	case dtypes.Float64:
		dt = safetensors.F64
		for _, v := range tensors.MustCopyFlatData[float64](t) {
			data = binary.LittleEndian.AppendUint64(data, math.Float64bits(v))
		}
	case dtypes.Int64:
		return safetensors.NewInt64(name, shape, tensors.MustCopyFlatData[int64](t)), nil
	case dtypes.Uint64:
		dt = safetensors.U64
		for _, v := range tensors.MustCopyFlatData[uint64](t) {
			data = binary.LittleEndian.AppendUint64(data, v)
		}
	case dtypes.Int32:
		dt = safetensors.I32
		for _, v := range tensors.MustCopyFlatData[int32](t) {
			data = binary.LittleEndian.AppendUint32(data, uint32(v))
		}
	default:
		return nil, fmt.Errorf("checkpoint: variable %s has dtype %s, which checkpoints do not store", name, t.DType())
	}
	if data == nil {
		data = []byte{}
	}
	return &safetensors.Tensor{Name: name, DType: dt, Shape: shape, Data: data}, nil
}

// decodeTensor is the inverse of encodeTensor.
func decodeTensor(st *safetensors.Tensor) (*tensors.Tensor, error) {
	shape := slices.Clone(st.Shape)
	n := st.NumElements()
	switch st.DType {
	case safetensors.F32:
		v, err := st.Float32s()
		if err != nil {
			return nil, err
		}
		return tensors.FromFlatDataAndDimensions(v, shape...), nil
	case safetensors.F64:
		v := make([]float64, n)
		for i := range v {
			v[i] = math.Float64frombits(binary.LittleEndian.Uint64(st.Data[8*i:]))
		}
		return tensors.FromFlatDataAndDimensions(v, shape...), nil
	case safetensors.I64:
		v, err := st.Int64s()
		if err != nil {
			return nil, err
		}
		return tensors.FromFlatDataAndDimensions(v, shape...), nil
	case safetensors.U64:
		v := make([]uint64, n)
		for i := range v {
			v[i] = binary.LittleEndian.Uint64(st.Data[8*i:])
		}
		return tensors.FromFlatDataAndDimensions(v, shape...), nil
	case safetensors.I32:
		v := make([]int32, n)
		for i := range v {
			v[i] = int32(binary.LittleEndian.Uint32(st.Data[4*i:]))
		}
		return tensors.FromFlatDataAndDimensions(v, shape...), nil
	}
	return nil, fmt.Errorf("variable %s: dtype %s is not a checkpoint dtype", st.Name, st.DType)
}

// LoadCheckpoint rebuilds the model saved in a checkpoint directory (its config.json, mimicry.json
// and newest checkpoint).
func LoadCheckpoint(dir string) (*Model, *Checkpoints, error) {
	cfg, err := LoadConfig(filepath.Join(dir, ConfigFile))
	if err != nil {
		return nil, nil, err
	}
	var info mimicryInfo
	path := filepath.Join(dir, MimicryFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	if err := json.Unmarshal(data, &info); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if _, err := ParseKind(string(info.Kind)); err != nil {
		return nil, nil, fmt.Errorf("%s: field \"kind\": %w", path, err)
	}
	m, err := New(info.Kind, cfg, info.ColBERTDim, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", dir, err)
	}
	c, err := OpenCheckpoints(m, dir, 0)
	if err != nil {
		return nil, nil, err
	}
	if c.Step() < 0 {
		return nil, nil, fmt.Errorf("%s: no checkpoint found", dir)
	}
	return m, c, nil
}
