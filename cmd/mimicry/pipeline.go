package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	"github.com/mimicry-ir/mimicry/distill/pipeline"
	"github.com/mimicry-ir/mimicry/distill/report"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/backend"
)

func init() {
	register(&command{
		name:    "pipeline",
		summary: "the main job: training set, teacher, answer key, ColBERT and SPLADE students, evaluation, report (resumable)",
		run:     runPipeline,
	})
}

// runPipeline implements `mimicry pipeline [--data spec] [--preset p] [--seed N] [--out DIR]`.
func runPipeline(args []string) error {
	fs := newFlags("pipeline", "pipeline [--data <spec>] [--preset tiny|small|base] [--seed N] [--out DIR] [--splade-sweep] [--frontier]", `
Runs every stage of Mimicry's method on a collection and writes DIR/report.json, DIR/report.md and
DIR/figures/*.svg. A finished stage is recorded in DIR/stages/ and skipped when the command is run
again; an interrupted stage resumes from its last checkpoint. --frontier adds five ColBERT students (about
11 more minutes for the tiny default on 2 cores), one per recipe beyond the static answer key, each trained as
long as the Margin-MSE student, as report rows colbert_kl, colbert_fixed_margin, colbert_online,
colbert_self and colbert_multitask; it may be added to a finished run.`)
	data := fs.String("data", "synthetic", "collection spec: "+strings.Join(datasetSpecNames(), ", "))
	preset := fs.String("preset", "tiny", "model size: tiny, small or base (from scratch), or minilm (from "+pipeline.MiniLMModel+")")
	model := fs.String("model", "", "pretrained checkpoint every model starts from: a Hugging Face folder or hub id (org/name[@revision]); sized like --preset minilm")
	slice := fs.Bool("slice", false, "with a pretrained checkpoint: the 15-minute slice of its profile (pipeline.SliceScale), as the notebooks run it")
	scaleFlag := fs.String("scale", "", "override stage sizes, e.g. TeacherSteps=200,MaxLen=128 (the fields of pipeline.Scale)")
	seed := fs.Int64("seed", 42, "random seed of every stage")
	out := fs.String("out", "", "output directory (default runs/<data>-<preset>-seed<N>); re-running resumes")
	sweep := fs.Bool("splade-sweep", false, "also train SPLADE students over a sweep of λ_d (the sparsity trade-off)")
	quiet := fs.Bool("quiet", false, "no progress bars")
	frontier := fs.Bool("frontier", false, "also train ColBERT by each recipe beyond the answer key (kl, fixed-margin, online, self, multitask) and compare")
	choice := backend.DefaultChoice()
	def := pipeline.DefaultScaleFor("tiny", choice.Compiled())
	teacherSteps := fs.Int("teacher-steps", 0, fmt.Sprintf("teacher training steps (0: the preset's; tiny: %d)", def.TeacherSteps))
	colbertSteps := fs.Int("colbert-steps", 0, fmt.Sprintf("ColBERT training steps (0: the preset's; tiny: %d)", def.ColBERTSteps))
	spladeSteps := fs.Int("splade-steps", 0, fmt.Sprintf("SPLADE training steps (0: the preset's; tiny: %d)", def.SpladeSteps))
	annotateQueries := fs.Int("annotate-queries", -1, fmt.Sprintf("training queries whose candidates are annotated (-1: the preset's; tiny: %d; 0: all)", def.AnnotateQueries))
	if err := fs.parse(args); err != nil {
		return err
	}
	scale := pipeline.DefaultScaleFor(*preset, choice.Compiled())
	initModel := *model
	if *preset == pipeline.PresetMiniLM && initModel == "" {
		initModel = pipeline.MiniLMModel
	}
	if initModel != "" {
		scale = pipeline.PretrainedScale()
		if *slice {
			scale = pipeline.SliceScale()
		}
		if *preset == models.PresetTiny && !fs.isSet("preset") {
			*preset = pipeline.PresetMiniLM
		}
	}
	for _, o := range []struct {
		flag *int
		dst  *int
		min  int
	}{{teacherSteps, &scale.TeacherSteps, 1}, {colbertSteps, &scale.ColBERTSteps, 1}, {spladeSteps, &scale.SpladeSteps, 1}, {annotateQueries, &scale.AnnotateQueries, 0}} {
		if *o.flag >= o.min {
			*o.dst = *o.flag
		}
	}
	if *slice && initModel == "" {
		return errors.New("--slice is a slice of a pretrained profile: give --model ID or --preset minilm")
	}
	if err := setScale(&scale, *scaleFlag); err != nil {
		return err
	}
	if *out == "" {
		*out = filepath.Join("runs", fmt.Sprintf("%s-%s-seed%d", slug(*data), *preset, *seed))
	}
	be, err := backend.Default()
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "backend: %s\n", backend.DefaultChoice())
	if !backend.DefaultChoice().Compiled() {
		fmt.Fprintln(os.Stderr, "(pure Go; for about 4× the speed and the larger default run, install XLA's CPU plugin: python3 -m venv .venv && .venv/bin/pip install -r docker/requirements.txt)")
	}
	rep, err := pipeline.Run(pipeline.Config{
		Data: *data, Preset: *preset, Init: initModel, Seed: *seed, OutDir: *out, SpladeSweep: *sweep, Frontier: *frontier, Scale: scale, Backend: be, Quiet: *quiet,
	})
	if err != nil {
		return err
	}
	printResults(rep)
	fmt.Printf("report: %s (and %s, figures in %s)\n", filepath.Join(*out, "report.md"), filepath.Join(*out, "report.json"), filepath.Join(*out, "figures"))
	return nil
}

// printResults prints the report's results table.
func printResults(r *report.Report) {
	fmt.Printf("\n%s, %d evaluation queries, preset %s, seed %d, %.0f s:\n", r.Dataset.Name, r.Dataset.Queries, r.Preset, r.Seed, r.Timings.TotalSeconds)
	fmt.Printf("  %-26s %8s %8s %8s %8s\n", "system", "nDCG@10", "RR@10", "R@100", "AP")
	full := func(s string) string { return s + report.FullSearchSuffix }
	for _, name := range []string{report.SystemBM25, report.SystemBiEncoder, report.SystemTeacher, report.SystemTeacherResidual, report.SystemTeacherNetwork,
		report.SystemColBERT, full(report.SystemColBERT), report.SystemColBERTHardLabels, full(report.SystemColBERTHardLabels),
		report.SystemColBERTZeroShot, full(report.SystemColBERTZeroShot),
		report.SystemSplade, report.SystemSpladeLambda0, report.SystemSpladeZeroShot,
		report.SystemColBERTKL, report.SystemColBERTFixedMargin, report.SystemColBERTOnline, report.SystemColBERTSelf, report.SystemColBERTMultiTask} {
		m, ok := r.Systems[name]
		if !ok {
			continue
		}
		fmt.Printf("  %-26s %8.4f %8.4f %8.4f %8.4f\n", name, m["nDCG@10"], m["RR@10"], m["R@100"], m["AP"])
	}
	if s, ok := r.Systems[report.SystemSplade]; ok {
		fmt.Printf("  splade: %.1f active terms per document, %.1f per query\n", s["avg_doc_active"], s["avg_query_active"])
	}
}

// slug turns a collection spec into a folder name ("smart:../shared/data/cacm" → "smart-cacm").
func slug(spec string) string {
	kind, path, ok := strings.Cut(spec, ":")
	if !ok {
		return spec
	}
	if base := filepath.Base(filepath.Clean(path)); base != "." && base != string(os.PathSeparator) {
		if kind == "synthetic" {
			// "synthetic:7" → "synthetic-7"; "synthetic:entities=400,train=7200" → "synthetic-entities400-train7200".
			return "synthetic-" + strings.NewReplacer("=", "", ",", "-").Replace(path)
		}
		return kind + "-" + base
	}
	return kind
}

// setScale applies "Field=value,..." overrides (the exported fields of pipeline.Scale, by name,
// case-insensitively) to s.
func setScale(s *pipeline.Scale, spec string) error {
	if spec == "" {
		return nil
	}
	v := reflect.ValueOf(s).Elem()
	for _, kv := range strings.Split(spec, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return fmt.Errorf("--scale %q: want Field=value", kv)
		}
		f := v.FieldByNameFunc(func(n string) bool { return strings.EqualFold(n, name) })
		if !f.IsValid() {
			return fmt.Errorf("--scale: pipeline.Scale has no field %q", name)
		}
		switch f.Kind() {
		case reflect.Int:
			n, err := strconv.Atoi(val)
			if err != nil {
				return fmt.Errorf("--scale %s=%s: %w", name, val, err)
			}
			f.SetInt(int64(n))
		case reflect.Float64:
			x, err := strconv.ParseFloat(val, 64)
			if err != nil {
				return fmt.Errorf("--scale %s=%s: %w", name, val, err)
			}
			f.SetFloat(x)
		case reflect.Bool:
			b, err := strconv.ParseBool(val)
			if err != nil {
				return fmt.Errorf("--scale %s=%s: %w", name, val, err)
			}
			f.SetBool(b)
		default:
			return fmt.Errorf("--scale: field %s cannot be set", name)
		}
	}
	return nil
}
