package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mimicry-ir/mimicry/datasets/download"
	"github.com/mimicry-ir/mimicry/distill/splade"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/hub"
)

// NotebooksEnv names the environment variable that chooses the notebooks' run (NotebookConfig):
// "synthetic", "scifact", or unset (or "auto") for SciFact when it can run, else synthetic.
const NotebooksEnv = "MIMICRY_NOTEBOOKS"

// SciFactEnv names the environment variable that points at BEIR's SciFact folder (corpus.jsonl,
// queries.jsonl, qrels/) for NotebookConfig, before the places it looks by itself.
const SciFactEnv = "MIMICRY_SCIFACT"

// The notebooks' two runs (NotebookConfig.Profile).
const (
	// NotebookSynthetic is WorkshopConfig: the synthetic collection and tiny models from scratch.
	NotebookSynthetic = "synthetic"
	// NotebookSciFact is the SciFact slice (SliceScale) from MiniLMModel.
	NotebookSciFact = "scifact"
)

// NotebookRun is the run the walk-through notebooks share (NotebookConfig).
type NotebookRun struct {
	// Config opens the run (New); every notebook cell uses the same one.
	Config Config
	// Profile is NotebookSynthetic or NotebookSciFact.
	Profile string
	// Why says in one sentence which run this is and why it was chosen; the notebooks print it.
	Why string
}

// NotebookConfig chooses the run the notebooks share, in a folder of runsDir: the SciFact slice
// from MiniLM (SciFactNotebookConfig, runsDir/workshop-scifact) when the checkpoint is available
// offline — in the Hugging Face cache or pip-installed (models.PipShipped) — and SciFact's files
// are found (SciFactDir), else the synthetic workshop (WorkshopConfig, runsDir/workshop), the
// tested default that needs no extras. NotebooksEnv overrides the choice: "synthetic" always gives
// the workshop; "scifact" gives the slice or an error saying what is missing.
func NotebookConfig(runsDir string) (NotebookRun, error) {
	want := strings.ToLower(strings.TrimSpace(os.Getenv(NotebooksEnv)))
	synthetic := NotebookRun{Config: WorkshopConfig(filepath.Join(runsDir, "workshop")), Profile: NotebookSynthetic}
	switch want {
	case NotebookSynthetic:
		synthetic.Why = fmt.Sprintf("the synthetic collection with tiny models trained from scratch (%s=%s)", NotebooksEnv, want)
		return synthetic, nil
	case "", "auto", NotebookSciFact:
	default:
		return NotebookRun{}, fmt.Errorf("pipeline: %s=%q: want %s, %s or auto", NotebooksEnv, want, NotebookSynthetic, NotebookSciFact)
	}
	missing := ""
	dir, err := SciFactDir()
	if err != nil {
		missing = err.Error()
	} else if !checkpointOffline(MiniLMModel) {
		missing = fmt.Sprintf("%s is neither in the Hugging Face cache nor pip-installed (pip install -r docker/requirements.txt)", MiniLMModel)
	}
	if missing != "" {
		if want == NotebookSciFact {
			return NotebookRun{}, fmt.Errorf("pipeline: %s=%s: %s", NotebooksEnv, want, missing)
		}
		synthetic.Why = "the synthetic collection with tiny models trained from scratch, because " + missing
		return synthetic, nil
	}
	return NotebookRun{
		Config: SciFactNotebookConfig(dir, filepath.Join(runsDir, "workshop-scifact")), Profile: NotebookSciFact,
		Why: fmt.Sprintf("SciFact (%s) with every model from %s, the slice of its profile (%s=synthetic for the synthetic run)", dir, MiniLMModel, NotebooksEnv),
	}, nil
}

// SciFactNotebookConfig is the notebooks' SciFact run, in outDir: BEIR's SciFact in sciFactDir,
// every model from MiniLMModel, SliceScale (README, "SciFact with MiniLM"), with a three-point λ_d
// sweep (0, the default and 100 times it: on the dev split the penalty starts to thin the
// documents from about 0.1) and the frontier recipes, like WorkshopConfig. Stage progress goes to standard output.
func SciFactNotebookConfig(sciFactDir, outDir string) Config {
	return Config{
		Data: "beir:" + sciFactDir, Preset: PresetMiniLM, Init: MiniLMModel, Seed: 42, OutDir: outDir, Quiet: true, Log: os.Stdout,
		SpladeSweep: true, SweepLambdas: []float64{100 * splade.DefaultLambdaD}, Frontier: true,
		Scale: SliceScale(),
	}
}

// SciFactDir finds BEIR's SciFact: SciFactEnv's folder, else ../shared/data/scifact beside the
// repository (MIMICRY_REPO, which the notebooks' kernel sets, else the working directory and its
// parents), else `mimicry download scifact`'s copy in the download cache. The error lists where it
// looked.
func SciFactDir() (string, error) {
	var tried []string
	try := func(dir string) bool {
		tried = append(tried, dir)
		_, err := os.Stat(filepath.Join(dir, "corpus.jsonl"))
		return err == nil
	}
	if d := os.Getenv(SciFactEnv); d != "" {
		if try(d) {
			return d, nil
		}
		return "", fmt.Errorf("%s=%s has no corpus.jsonl", SciFactEnv, d)
	}
	var roots []string
	if repo := os.Getenv("MIMICRY_REPO"); repo != "" {
		roots = append(roots, repo)
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			roots = append(roots, d)
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	for _, root := range roots {
		if d := filepath.Join(root, "..", "shared", "data", "scifact"); try(d) {
			return filepath.Clean(d), nil
		}
	}
	if dl, err := download.New(); err == nil {
		if e, err := download.Lookup("scifact"); err == nil {
			if d, ok := dl.Installed(e); ok && try(d) {
				return d, nil
			}
		}
	}
	return "", fmt.Errorf("SciFact's files are not found (looked for corpus.jsonl in %s; `mimicry download scifact` fetches them, %s names a folder)",
		strings.Join(tried, ", "), SciFactEnv)
}

// checkpointOffline says whether a hub model can be loaded without the network: cached by the
// hub, or pip-installed.
func checkpointOffline(id string) bool {
	if models.PipShipped(id) != "" {
		return true
	}
	_, err := hub.Resolve(context.Background(), id, &hub.Options{Offline: true})
	return err == nil
}
