// Package train is Mimicry's training loop: AdamW with warm-up and decay, gradient clipping,
// periodic evaluation, a metrics log, checkpoints that resume exactly, and a NaN guard — shared by
// the teacher, the ColBERT and SPLADE students and the frontier recipes.
//
// Resuming is exact: a checkpoint holds every variable of the model's context (weights, Adam
// moments, step counter, random state), and the data order is a pure function of the step (the
// Batches callback), so a run killed at any moment and restarted ends with the same weights as an
// uninterrupted run with the same seed.
package train

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/mimicry-ir/mimicry/distill/progress"
	"github.com/mimicry-ir/mimicry/internal/files"
	"github.com/mimicry-ir/mimicry/models"
)

// LossFn builds the loss of one batch in the model's scope (ctx.In(models.ModelScope) holds the
// parameters). inputs are the batch's tensors, in the order Batches returns them. parts are extra
// named scalars to log (e.g. the distillation and regularisation terms); their names come from
// Config.PartNames.
type LossFn func(ctx *context.Context, step *Node, inputs []*Node) (loss *Node, parts []*Node)

// Config describes a training run.
type Config struct {
	// Name labels the progress bar and errors ("teacher", "colbert" ...).
	Name string
	// Steps is the total number of optimisation steps.
	Steps int
	// Optimizer is the AdamW configuration; its TotalSteps defaults to Steps.
	Optimizer Optimizer
	// OutDir receives checkpoints/ and metrics.jsonl. Empty: no checkpoints, no log file.
	OutDir string
	// CheckpointEvery saves a checkpoint every so many steps (and always at the end). 0: only at the end.
	CheckpointEvery int
	// KeepCheckpoints is how many checkpoints to keep (default 2).
	KeepCheckpoints int
	// LogEvery writes a metrics line every so many steps (default 10).
	LogEvery int
	// EvalEvery calls Eval every so many steps (and at the end when > 0). 0: no periodic evaluation.
	EvalEvery int
	// SelectBy names an evaluation measure to maximise (e.g. "nDCG@10", as Eval returns it): the run
	// ends with the model's weights at the evaluation step where it was highest — Hugging Face's
	// load_best_model_at_end — instead of the last step's. With OutDir that step's checkpoint is kept
	// (and found again when the run resumes); the last step's checkpoint stays the one a rerun resumes
	// from. Empty: the last step's weights.
	SelectBy string
	// PartNames names the parts LossFn returns, for the log.
	PartNames []string
	// Quiet hides the progress bar.
	Quiet bool
}

// Trainer runs a training loop over a model.
type Trainer struct {
	// Model is trained in place.
	Model *models.Model
	// Backend executes the graphs.
	Backend backends.Backend
	// Config describes the run.
	Config Config
	// Loss builds the loss graph.
	Loss LossFn
	// Batches returns the inputs of the 0-based step `step`. It must be a pure function of step
	// (e.g. a permutation drawn from the seed and the epoch), so that a resumed run sees the same data.
	Batches func(step int) ([]any, error)
	// Eval, if set, evaluates the model at a step and returns named measures to log (e.g. nDCG@10).
	Eval func(step int) (map[string]float64, error)
	// OnLog, if set, receives every logged record (for live plots in notebooks).
	OnLog func(Record)
}

// Record is one line of metrics.jsonl.
type Record struct {
	// Step is the number of updates applied so far.
	Step int `json:"step"`
	// Loss is the mean training loss over the steps since the previous record.
	Loss float64 `json:"loss"`
	// LearningRate is the rate of the last step.
	LearningRate float64 `json:"lr"`
	// GradNorm is the gradients' global norm at the last step, before clipping.
	GradNorm float64 `json:"grad_norm"`
	// Parts are the means of the loss parts since the previous record.
	Parts map[string]float64 `json:"parts,omitempty"`
	// Eval holds the evaluation measures, on evaluation steps.
	Eval map[string]float64 `json:"eval,omitempty"`
	// StepsPerSecond is the throughput since the previous record.
	StepsPerSecond float64 `json:"steps_per_s"`
	// ElapsedSeconds is the wall time since this run (or resumption) started.
	ElapsedSeconds float64 `json:"elapsed_s"`
}

// Result summarises a finished run.
type Result struct {
	// Steps is the final step.
	Steps int
	// ResumedFrom is the step the run resumed from (-1 when it started fresh).
	ResumedFrom int
	// FinalLoss is the mean loss of the last logged window.
	FinalLoss float64
	// History holds every record logged by this process.
	History []Record
	// Seconds is the wall time of this process's part of the run.
	Seconds float64
	// BestStep is the evaluation step whose weights the model holds when Config.SelectBy is set
	// (-1: SelectBy empty or never measured); BestEval holds that step's measures.
	BestStep int
	BestEval map[string]float64
}

// ErrNonFinite is returned (wrapped) when a step's loss or gradients are NaN or infinite.
var ErrNonFinite = errors.New("loss or gradients are not finite")

// CheckpointDir is the folder of a training run's checkpoints under its OutDir.
func CheckpointDir(outDir string) string { return filepath.Join(outDir, "checkpoints") }

// Run trains until Config.Steps, resuming from OutDir's newest checkpoint if there is one.
func (t *Trainer) Run() (*Result, error) {
	cfg := t.Config
	if cfg.Steps <= 0 {
		return nil, fmt.Errorf("%s: number of steps must be positive, got %d", cfg.Name, cfg.Steps)
	}
	if cfg.LogEvery <= 0 {
		cfg.LogEvery = 10
	}
	if cfg.KeepCheckpoints <= 0 {
		cfg.KeepCheckpoints = 2
	}
	opt := cfg.Optimizer
	if opt.TotalSteps <= 0 {
		opt.TotalSteps = cfg.Steps
	}
	m := t.Model
	shapes := models.ParamShapes(m.Config, m.Kind, m.ColBERTDim)
	for name, f := range opt.LRMultipliers {
		if _, ok := shapes[name]; !ok {
			return nil, fmt.Errorf("%s: the optimizer scales the learning rate of %q, which the %s model does not have (names are Hugging Face's, e.g. %q)",
				cfg.Name, name, m.Kind, models.SpladeTermBias)
		}
		if !(f >= 0) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%s: learning-rate multiplier of %q must be finite and ≥ 0, got %v", cfg.Name, name, f)
		}
	}
	if err := m.Materialize(t.Backend); err != nil {
		return nil, err
	}
	var ckpt *models.Checkpoints
	start := 0
	resumed := -1
	var logPath string
	if cfg.OutDir != "" {
		var err error
		ckpt, err = models.OpenCheckpoints(m, CheckpointDir(cfg.OutDir), cfg.KeepCheckpoints)
		if err != nil {
			return nil, err
		}
		if ckpt.Step() >= 0 {
			start, resumed = ckpt.Step(), ckpt.Step()
		}
		logPath = filepath.Join(cfg.OutDir, "metrics.jsonl")
		if err := truncateLog(logPath, start); err != nil {
			return nil, err
		}
	}
	sel := &selection{measure: cfg.SelectBy, step: -1, ckpt: ckpt}
	if err := sel.resume(logPath); err != nil {
		return nil, err
	}
	if start >= cfg.Steps {
		res := &Result{Steps: start, ResumedFrom: resumed}
		return res, sel.finish(m, res, cfg)
	}

	numParts := len(cfg.PartNames)
	exec, err := context.NewExec(t.Backend, m.Ctx, func(ctx *context.Context, inputs []*Node) []*Node {
		g := inputs[0].Graph()
		ctx.SetTraining(g, true)
		stepNode := stepVar(ctx).ValueGraph(g)
		loss, parts := t.Loss(ctx.In(models.ModelScope), stepNode, inputs)
		if len(parts) != numParts {
			panic(fmt.Sprintf("%s: the loss returned %d parts, Config.PartNames names %d", cfg.Name, len(parts), numParts))
		}
		res := opt.UpdateGraph(ctx, loss)
		out := []*Node{loss, res.GradNorm, res.LearningRate, res.Applied}
		for _, p := range parts {
			out = append(out, ConvertDType(p, loss.DType()))
		}
		return out
	})
	if err != nil {
		return nil, err
	}
	var logFile *os.File
	if logPath != "" {
		logFile, err = os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return nil, err
		}
		defer logFile.Close()
	}
	bar := progress.Quiet(cfg.Steps)
	if !cfg.Quiet {
		bar = progress.New(cfg.Steps, cfg.Name, "steps")
	}
	bar.SetDone(start)

	res := &Result{ResumedFrom: resumed, BestStep: -1}
	began := time.Now()
	windowStart := time.Now()
	var windowLoss float64
	windowParts := make([]float64, numParts)
	windowSteps := 0
	for step := start; step < cfg.Steps; step++ {
		inputs, err := t.Batches(step)
		if err != nil {
			return res, fmt.Errorf("%s: batch of step %d: %w", cfg.Name, step+1, err)
		}
		outs, err := exec.Exec(inputs...)
		if err != nil {
			return res, fmt.Errorf("%s: step %d: %w", cfg.Name, step+1, err)
		}
		loss := scalar(outs[0])
		gradNorm := scalar(outs[1])
		lr := scalar(outs[2])
		applied := outs[3].Value().(bool)
		if !applied || math.IsNaN(loss) || math.IsInf(loss, 0) {
			where := "no checkpoint was written"
			if ckpt != nil && ckpt.Step() >= 0 {
				where = fmt.Sprintf("the last good checkpoint (step %d) is intact in %s", ckpt.Step(), ckpt.Dir())
			}
			bar.Finish()
			return res, fmt.Errorf("%s: step %d: %w (loss %g, gradient norm %g); training stopped and %s; "+
				"try a lower learning rate or check the inputs", cfg.Name, step+1, ErrNonFinite, loss, gradNorm, where)
		}
		windowLoss += loss
		for i := range numParts {
			windowParts[i] += scalar(outs[4+i])
		}
		windowSteps++
		done := step + 1
		bar.Add(1, fmt.Sprintf("loss %.4f", loss))

		evalNow := t.Eval != nil && cfg.EvalEvery > 0 && (done%cfg.EvalEvery == 0 || done == cfg.Steps)
		if done%cfg.LogEvery == 0 || done == cfg.Steps || evalNow {
			rec := Record{
				Step: done, Loss: windowLoss / float64(windowSteps), LearningRate: lr, GradNorm: gradNorm,
				StepsPerSecond: float64(windowSteps) / max(time.Since(windowStart).Seconds(), 1e-9),
				ElapsedSeconds: time.Since(began).Seconds(),
			}
			if numParts > 0 {
				rec.Parts = map[string]float64{}
				for i, n := range cfg.PartNames {
					rec.Parts[n] = windowParts[i] / float64(windowSteps)
				}
			}
			if evalNow {
				measures, err := t.Eval(done)
				if err != nil {
					return res, fmt.Errorf("%s: evaluation at step %d: %w", cfg.Name, done, err)
				}
				rec.Eval = measures
			}
			res.History = append(res.History, rec)
			res.FinalLoss = rec.Loss
			if logFile != nil {
				line, _ := json.Marshal(rec)
				if _, err := logFile.Write(append(line, '\n')); err != nil {
					return res, err
				}
			}
			if t.OnLog != nil {
				t.OnLog(rec)
			}
			windowLoss, windowSteps, windowStart = 0, 0, time.Now()
			clear(windowParts)
		}
		improved := false
		if evalNow {
			if improved, err = sel.observe(m, done, res.History[len(res.History)-1].Eval); err != nil {
				return res, fmt.Errorf("%s: %w", cfg.Name, err)
			}
		}
		if ckpt != nil && (improved || done == cfg.Steps || (cfg.CheckpointEvery > 0 && done%cfg.CheckpointEvery == 0)) {
			if logFile != nil {
				if err := logFile.Sync(); err != nil {
					return res, err
				}
			}
			if err := ckpt.Save(done); err != nil {
				return res, err
			}
		}
	}
	bar.Finish()
	res.Steps = cfg.Steps
	res.Seconds = time.Since(began).Seconds()
	return res, sel.finish(m, res, cfg)
}

// selection tracks the best evaluation of a run for Config.SelectBy: its step, its measures, and
// its weights — pinned in the checkpoint directory when there is one, copied in memory otherwise.
type selection struct {
	measure string
	step    int
	value   float64
	eval    map[string]float64
	ckpt    *models.Checkpoints
	weights map[string]*tensors.Tensor
}

// resume finds the best evaluation logged before a resumed run's checkpoint, if its checkpoint was
// kept.
func (s *selection) resume(logPath string) error {
	if s.measure == "" || s.ckpt == nil {
		return nil
	}
	recs, err := ReadLog(logPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, r := range recs {
		if v, ok := r.Eval[s.measure]; ok && (s.step < 0 || v > s.value) && s.ckpt.Has(r.Step) {
			s.step, s.value, s.eval = r.Step, v, r.Eval
		}
	}
	s.ckpt.Pin(s.step)
	return nil
}

// observe records an evaluation and reports whether it is the best so far; the caller then saves a
// checkpoint of the step (which stays pinned). Without a checkpoint directory the weights are copied.
func (s *selection) observe(m *models.Model, step int, eval map[string]float64) (bool, error) {
	if s.measure == "" {
		return false, nil
	}
	v, ok := eval[s.measure]
	if !ok {
		names := make([]string, 0, len(eval))
		for n := range eval {
			names = append(names, n)
		}
		sort.Strings(names)
		return false, fmt.Errorf("the evaluation has no measure %q to select the best step by (it has %s)", s.measure, strings.Join(names, ", "))
	}
	if s.step >= 0 && !(v > s.value) {
		return false, nil
	}
	s.step, s.value, s.eval = step, v, eval
	if s.ckpt != nil {
		s.ckpt.Pin(step)
		return true, nil
	}
	s.weights = map[string]*tensors.Tensor{}
	for vr := range m.Ctx.IterVariables() {
		if !vr.HasValue() || !strings.HasPrefix(vr.Scope(), "/"+models.ModelScope) {
			continue
		}
		t, err := vr.Value()
		if err != nil {
			return false, err
		}
		c, err := t.LocalClone()
		if err != nil {
			return false, err
		}
		s.weights[vr.ScopeAndName()] = c
	}
	return true, nil
}

// finish gives the model the best step's weights and records the step in res.
func (s *selection) finish(m *models.Model, res *Result, cfg Config) error {
	if s.measure == "" || s.step < 0 {
		return nil
	}
	res.BestStep, res.BestEval = s.step, s.eval
	if s.step == res.Steps && s.weights == nil {
		return nil // the model already holds them
	}
	if s.ckpt != nil {
		if err := s.ckpt.Restore(s.step); err != nil {
			return err
		}
	} else {
		for vr := range m.Ctx.IterVariables() {
			if t, ok := s.weights[vr.ScopeAndName()]; ok {
				if err := vr.SetValue(t); err != nil {
					return err
				}
			}
		}
	}
	if !cfg.Quiet {
		fmt.Fprintf(os.Stderr, "%s: keeping the weights of step %d, the best by %s (%.4f)\n", cfg.Name, s.step, s.measure, s.value)
	}
	return nil
}

// scalar reads a scalar tensor as float64.
func scalar(t *tensors.Tensor) float64 {
	switch v := t.Value().(type) {
	case float32:
		return float64(v)
	case float64:
		return v
	case int64:
		return float64(v)
	}
	return math.NaN()
}

// truncateLog drops the records after step from a metrics log, so a resumed run appends to a log
// that matches its checkpoint.
func truncateLog(path string, step int) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var keep []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var r struct {
			Step int `json:"step"`
		}
		if json.Unmarshal(sc.Bytes(), &r) == nil && r.Step <= step {
			keep = append(keep, sc.Text())
		}
	}
	f.Close()
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	content := strings.Join(keep, "\n")
	if len(keep) > 0 {
		content += "\n"
	}
	return files.WriteBytes(path, []byte(content), 0)
}

// ReadLog reads a metrics.jsonl file written by Run.
func ReadLog(path string) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Record
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	line := 0
	for sc.Scan() {
		line++
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, line, err)
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Step < out[j].Step })
	return out, nil
}
