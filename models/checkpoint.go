package models

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gomlx/gomlx/pkg/ml/context/checkpoints"
)

// Checkpoints saves and restores a model's whole training state — parameters, optimizer moments,
// step counter, random state: every variable of Model.Ctx — as GoMLX checkpoints in a directory,
// with the model's config.json and mimicry.json beside them so the directory describes itself.
type Checkpoints struct {
	handler *checkpoints.Handler
	dir     string
}

// OpenCheckpoints attaches a checkpoint directory to m: if it holds checkpoints, the newest one's
// values replace m's (so a training run resumes), and [Checkpoints.Save] adds new ones, keeping
// the newest keep (all when keep <= 0).
func OpenCheckpoints(m *Model, dir string, keep int) (*Checkpoints, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	cfg := *m.Config
	cfg.Architectures = []string{m.Kind.Architecture()}
	if err := cfg.Save(filepath.Join(dir, ConfigFile)); err != nil {
		return nil, err
	}
	info, _ := json.MarshalIndent(mimicryInfo{Kind: m.Kind, ColBERTDim: m.ColBERTDim}, "", "  ")
	if err := writeFileAtomic(filepath.Join(dir, MimicryFile), append(info, '\n')); err != nil {
		return nil, err
	}
	b := checkpoints.Build(m.Ctx).Dir(dir)
	if keep > 0 {
		b = b.Keep(keep)
	} else {
		b = b.Keep(-1)
	}
	h, err := b.Done()
	if err != nil {
		return nil, fmt.Errorf("checkpoints in %s: %w", dir, err)
	}
	return &Checkpoints{handler: h, dir: dir}, nil
}

// Save writes a new checkpoint of every variable of the model's context.
func (c *Checkpoints) Save() error {
	if err := c.handler.Save(); err != nil {
		return fmt.Errorf("saving checkpoint in %s: %w", c.dir, err)
	}
	return nil
}

// HasCheckpoints reports whether the directory held a checkpoint (i.e. the model was restored).
func (c *Checkpoints) HasCheckpoints() bool {
	ok, _ := c.handler.HasCheckpoints()
	return ok
}

// Dir is the checkpoint directory.
func (c *Checkpoints) Dir() string { return c.dir }

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
	if !c.HasCheckpoints() {
		return nil, nil, fmt.Errorf("%s: no checkpoint found", dir)
	}
	return m, c, nil
}
