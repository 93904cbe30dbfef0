package pipeline

import (
	"bytes"
	"cmp"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/distill/report"
	"github.com/mimicry-ir/mimicry/distill/splade"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/backend"
)

// childDirEnv makes the test binary run the small pipeline in the named folder and exit (the
// child that TestPipelineResumesAfterKill kills).
const childDirEnv = "MIMICRY_PIPELINE_CHILD_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(childDirEnv); dir != "" {
		if _, err := Run(smallConfig(dir)); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// smallCollection is a slice of the synthetic collection: 12 evaluation and 40 training queries, the
// passages judged for them and 150 others.
func smallCollection() *datasets.Collection {
	full, err := datasets.Synthetic(3)
	if err != nil {
		panic(err)
	}
	c := &datasets.Collection{Name: "synthetic-small", Qrels: datasets.Qrels{}, TrainQrels: datasets.Qrels{}}
	keep := map[string]bool{}
	c.Queries = full.Queries[:12]
	for _, q := range c.Queries {
		c.Qrels[q.ID] = full.Qrels[q.ID]
		for d := range full.Qrels[q.ID] {
			keep[d] = true
		}
	}
	c.TrainQueries = full.TrainQueries[:40]
	for _, q := range c.TrainQueries {
		c.TrainQrels[q.ID] = full.TrainQrels[q.ID]
		for d := range full.TrainQrels[q.ID] {
			keep[d] = true
		}
	}
	others := 0
	for _, d := range full.Docs {
		if keep[d.ID] || others < 150 {
			if !keep[d.ID] {
				others++
			}
			c.Docs = append(c.Docs, d)
		}
	}
	return c
}

// simpleGo is the backend of these tests. They check what does not depend on the backend (stages,
// resuming after a kill, determinism, the report), and on XLA-CPU compiling each graph costs more
// than running it at this size; the pipeline runs on XLA-CPU in CI through the notebooks and
// .ci/gpu-check, and every job is compared across backends by the TestCrossBackend tests.
var simpleGo = sync.OnceValue(func() backends.Backend {
	b, err := backend.NewSimpleGo()
	if err != nil {
		panic(err)
	}
	return b
})

// smallConfig runs every stage with one-layer, 32-wide models for a few steps.
func smallConfig(dir string) Config {
	return Config{
		Backend: simpleGo(), Collection: smallCollection(), Data: "synthetic-small", Preset: models.PresetTiny, Seed: 5, OutDir: dir, Quiet: true, Log: io.Discard,
		Model: &models.Config{ModelType: "bert", HiddenSize: 32, NumHiddenLayers: 1, NumAttentionHeads: 2, IntermediateSize: 64,
			HiddenAct: "gelu", MaxPositionEmbeddings: 48, TypeVocabSize: 2, InitializerRange: 0.02, LayerNormEps: 1e-12, DType: "float32"},
		Scale: Scale{Vocab: 300, MaxLen: 48, QueryLen: 12, DocLen: 32, TeacherSteps: 8, ColBERTSteps: 8, SpladeSteps: 8,
			TeacherNegatives: 2, TeacherLR: 1e-3, StudentLR: 1e-3, AnnotateNegatives: 3, RerankDepth: 20,
			TeacherMarks: true, TeacherResidual: true, StudentResidual: true, SpladeLexicalInit: true, SpladeTermBiasLR: splade.DefaultTermBiasLR},
	}
}

// metrics are the parts of a report that must not depend on the machine's speed.
func metrics(r *report.Report) any {
	return struct {
		D report.Dataset
		S map[string]map[string]float64
		W []splade.SweepRow
	}{r.Dataset, withoutLatency(r.Systems), withoutSweepLatency(r.SpladeSweep)}
}

func withoutLatency(s map[string]map[string]float64) map[string]map[string]float64 {
	out := map[string]map[string]float64{}
	for k, m := range s {
		out[k] = map[string]float64{}
		for n, v := range m {
			if !strings.HasSuffix(n, "_ms") {
				out[k][n] = v
			}
		}
	}
	return out
}

func withoutSweepLatency(ps []splade.SweepRow) []splade.SweepRow {
	out := make([]splade.SweepRow, len(ps))
	for i, p := range ps {
		p.QueryMs = 0
		out[i] = p
	}
	return out
}

// TestPipelineEndToEnd runs the whole pipeline on a small collection: every system is in the report
// with finite measures, the files and figures exist, a rerun redoes nothing and gives the same
// report, another folder with the same seed gives the same metrics, and other settings in the same
// folder are refused.
func TestPipelineEndToEnd(t *testing.T) {
	dir := t.TempDir()
	cfg := smallConfig(dir)
	rep, err := Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{report.SystemBM25, report.SystemTeacher, report.SystemColBERT, report.SystemColBERTHardLabels, report.SystemSplade, report.SystemSpladeLambda0} {
		m, ok := rep.Systems[s]
		if !ok {
			t.Fatalf("report lacks %s: %v", s, rep.Systems)
		}
		for _, k := range []string{"nDCG@10", "RR@10", "R@100", "AP"} {
			if v, ok := m[k]; !ok || !(v >= 0 && v <= 1) {
				t.Fatalf("%s %s = %v", s, k, v)
			}
		}
	}
	// The residual students' MaxSim alone is reported beside them.
	for _, s := range []string{report.SystemColBERT, report.SystemColBERTHardLabels} {
		if _, ok := rep.Systems[s+report.MaxSimSuffix]; !ok {
			t.Errorf("report lacks %s%s (the residual student's MaxSim alone)", s, report.MaxSimSuffix)
		}
	}
	for _, k := range []string{"avg_doc_active", "avg_query_active", "flops"} {
		if _, ok := rep.Systems[report.SystemSplade][k]; !ok {
			t.Fatalf("splade lacks %s", k)
		}
	}
	if rep.Dataset.Documents != len(cfg.Collection.Docs) || rep.Dataset.Queries != 12 || rep.Dataset.AnswerKeyPairs == 0 {
		t.Fatalf("dataset %+v", rep.Dataset)
	}
	if rep.Timings.TotalSeconds <= 0 || rep.Timings.AnnotatePairsPerSecond <= 0 || rep.Timings.TrainTokensPerSecond <= 0 {
		t.Fatalf("timings %+v", rep.Timings)
	}
	for _, f := range []string{"report.json", "report.md", "figures/training_curves.svg", "figures/colbert_margins.svg", "figures/splade_top_terms.svg", "answer_key.jsonl"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Fatalf("%s: %v", f, err)
		}
	}
	md, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	if !bytes.Contains(md, []byte("| ColBERT, Margin-MSE, reranking BM25's top 20 |")) || !bytes.Contains(md, []byte("figures/colbert_margins.svg")) {
		t.Fatalf("report.md:\n%s", md)
	}
	back, err := report.Read(filepath.Join(dir, "report.json"))
	if err != nil || !reflect.DeepEqual(metrics(back), metrics(rep)) {
		t.Fatalf("report.json does not read back: %v", err)
	}

	// A rerun finds every stage done.
	var log bytes.Buffer
	cfg.Log = &log
	again, err := Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(log.String(), "done in an earlier run"); n != 7 {
		t.Fatalf("rerun redid stages:\n%s", log.String())
	}
	if !reflect.DeepEqual(metrics(again), metrics(rep)) {
		t.Fatalf("rerun changed the report:\n%v\n%v", metrics(again), metrics(rep))
	}

	// Turning the frontier on adds the five recipe stages to the finished run and nothing else.
	log.Reset()
	cfg.Frontier = true
	front, err := Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(log.String(), "done in an earlier run"); n != 7 {
		t.Fatalf("the frontier run redid stages:\n%s", log.String())
	}
	if len(front.Frontier) != 6 || front.Frontier[0].Recipe != "offline" || front.Frontier[0].NDCG10 != rep.Systems[report.SystemColBERT]["nDCG@10"] {
		t.Fatalf("frontier rows %+v", front.Frontier)
	}
	for _, row := range front.Frontier[1:] {
		m, ok := front.Systems[row.System]
		if !ok || m["nDCG@10"] != row.NDCG10 || row.TrainSeconds <= 0 {
			t.Errorf("frontier row %+v, system %v", row, m)
		}
		switch row.Recipe {
		case "online":
			// Every step's (query, positive) and (query, negative) pairs; 16 queries a step by default.
			want := int64(cfg.Scale.ColBERTSteps * cmp.Or(cfg.Scale.StudentQueries, 16) * 2)
			if row.TeacherPairs != want || row.ExtraSeconds <= 0 {
				t.Errorf("online: %d pairs scored in the loop in %.1f s, want %d", row.TeacherPairs, row.ExtraSeconds, want)
			}
		case "self":
			if row.ExtraSeconds <= 0 || row.TeacherPairs <= rep.Dataset.AnswerKeyPairs {
				t.Errorf("self: %+v", row)
			}
		case "fixed-margin":
			if row.TeacherPairs != 0 {
				t.Errorf("fixed-margin used %d teacher pairs", row.TeacherPairs)
			}
		}
	}
	md, _ = os.ReadFile(filepath.Join(dir, "report.md"))
	if !bytes.Contains(md, []byte("Beyond the static answer key")) || !bytes.Contains(md, []byte("figures/frontier_recipes.svg")) ||
		!bytes.Contains(md, []byte("| ColBERT, online distillation (frontier), reranking |")) {
		t.Fatalf("report.md lacks the frontier:\n%s", md)
	}
	if st, err := os.Stat(filepath.Join(dir, "figures", "frontier_recipes.svg")); err != nil || st.Size() == 0 {
		t.Fatalf("frontier figure: %v", err)
	}

	// Other settings in the same folder are refused.
	other := smallConfig(dir)
	other.Seed = 6
	if _, err := Run(other); err == nil || !strings.Contains(err.Error(), "Seed was 5, now 6") {
		t.Fatalf("want a settings conflict, got %v", err)
	}
}

// TestPipelineResumesAfterKill kills a pipeline (a child process) with SIGKILL in the middle of its
// ColBERT stage, after a checkpoint; rerunning in the same folder must skip the finished stages,
// resume ColBERT from its checkpoint and end with the metrics of an uninterrupted run with the same
// seed in another folder.
func TestPipelineResumesAfterKill(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline three times")
	}
	killed := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), childDirEnv+"="+killed)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	ckpts := filepath.Join(killed, StageColBERT, "checkpoints")
	deadline := time.After(3 * time.Minute)
wait:
	for {
		select {
		case err := <-done:
			t.Fatalf("the child finished before a ColBERT checkpoint appeared: %v\n%s", err, stderr.String())
		case <-deadline:
			_ = cmd.Process.Kill()
			t.Fatal("no ColBERT checkpoint within 3 minutes")
		case <-time.After(20 * time.Millisecond):
			if entries, _ := filepath.Glob(filepath.Join(ckpts, "state-*.safetensors")); len(entries) > 0 {
				break wait
			}
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-done
	if _, err := os.Stat(filepath.Join(killed, "stages", StageColBERT+".json")); err == nil {
		t.Fatal("the ColBERT stage finished before the kill; the test proves nothing")
	}

	var log bytes.Buffer
	cfg := smallConfig(killed)
	cfg.Log = &log
	resumed, err := Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{StageTrainingSet, StageTeacher, StageAnswerKey} {
		if !strings.Contains(log.String(), s+": done in an earlier run") {
			t.Fatalf("stage %s was redone:\n%s", s, log.String())
		}
	}
	freshDir := t.TempDir()
	fresh, err := Run(smallConfig(freshDir))
	if err != nil {
		t.Fatal(err)
	}
	// The weights themselves: the resumed student's exported tensors are bit-identical.
	a, errA := os.ReadFile(filepath.Join(killed, StageColBERT, "model", models.WeightsFile))
	b, errB := os.ReadFile(filepath.Join(freshDir, StageColBERT, "model", models.WeightsFile))
	if errA != nil || errB != nil || !bytes.Equal(a, b) {
		t.Fatalf("the resumed ColBERT's weights differ from an uninterrupted run's (%v, %v)", errA, errB)
	}
	if !reflect.DeepEqual(metrics(resumed), metrics(fresh)) {
		t.Fatalf("the resumed run differs from an uninterrupted one:\n%v\n%v", metrics(resumed), metrics(fresh))
	}
}

// TestSweepAndFrontierOnlyAddStages: turning --splade-sweep or --frontier on for a finished run's
// folder is allowed (they only add stages); any setting that changes a stage is refused.
func TestSweepAndFrontierOnlyAddStages(t *testing.T) {
	cfg := Config{Data: "synthetic", Preset: "tiny", Seed: 1, OutDir: t.TempDir(), Scale: DefaultScale("tiny")}
	if err := cfg.checkSettings(); err != nil {
		t.Fatal(err)
	}
	more := cfg
	more.SpladeSweep, more.Frontier = true, true
	if err := more.checkSettings(); err != nil {
		t.Fatalf("adding the sweep and the frontier was refused: %v", err)
	}
	other := more
	other.Scale.SpladeSteps++
	if err := other.checkSettings(); err == nil || !strings.Contains(err.Error(), "Scale was") {
		t.Fatalf("want a settings conflict, got %v", err)
	}
}
