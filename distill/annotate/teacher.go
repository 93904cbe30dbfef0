package annotate

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/internal/files"
	"github.com/mimicry-ir/mimicry/models"
)

// TokenizerFiles are the tokenizer files whose SHA-256 an answer key's metadata records
// (AnswerKeyMeta.Tokenizer: "tokenizer.json sha256:<hex>"), in order of preference.
var TokenizerFiles = []string{"tokenizer.json", "vocab.txt"}

// FindTeacher finds the model folder of the teacher that wrote the answer key at keyPath, from
// what its metadata records: the teacher names of meta.Teacher (the folders' base names, each model
// of an ensemble; BM25 has no folder), each looked up as given, beside the key and one folder above
// it, with or without a model/ subfolder. A folder counts only if one of
// its tokenizer files has a SHA-256 the metadata records, so a student never trains with a
// tokenizer other than its teacher's. Students read the teacher's tokenizer and, for a residual
// teacher, its BM25 weight from there.
func FindTeacher(keyPath string, meta *datasets.AnswerKeyMeta) (string, error) {
	sidecar := datasets.AnswerKeyMetaPath(keyPath)
	if meta == nil {
		return "", fmt.Errorf("%s has no %s naming its teacher", keyPath, filepath.Base(sidecar))
	}
	var names []string
	for _, n := range strings.Split(strings.TrimSuffix(strings.TrimPrefix(meta.Teacher, "ensemble("), ")"), ",") {
		if n = strings.TrimSpace(n); n != "" && !strings.HasPrefix(n, "bm25") {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return "", fmt.Errorf("the answer key's teacher is %q (%s): it has no model folder", meta.Teacher, sidecar)
	}
	var digests []string
	for _, t := range strings.Split(meta.Tokenizer, ",") {
		if _, hex, ok := strings.Cut(t, "sha256:"); ok {
			digests = append(digests, strings.TrimSpace(hex))
		}
	}
	if len(digests) == 0 {
		return "", fmt.Errorf("%s records no tokenizer digest for the teacher %q", sidecar, meta.Teacher)
	}
	keyDir := filepath.Dir(keyPath)
	var looked []string
	for _, n := range names {
		for _, base := range []string{n, filepath.Join(keyDir, n), filepath.Join(keyDir, "..", n)} {
			for _, dir := range []string{filepath.Join(base, "model"), base} {
				dir = filepath.Clean(dir)
				if st, err := os.Stat(dir); err != nil || !st.IsDir() || slices.Contains(looked, dir) {
					continue
				}
				looked = append(looked, dir)
				for _, f := range TokenizerFiles {
					if h, err := files.SHA256(filepath.Join(dir, f)); err == nil && slices.Contains(digests, h) {
						return dir, nil
					}
				}
			}
		}
	}
	if len(looked) == 0 {
		return "", fmt.Errorf("no folder of the answer key's teacher %q was found (looked for %s as given, beside %s and one folder up)",
			meta.Teacher, strings.Join(names, ", "), keyPath)
	}
	return "", fmt.Errorf("the answer key's teacher %q: no folder with its tokenizer (sha256 %s) was found (looked in %s)",
		meta.Teacher, strings.Join(digests, ", "), strings.Join(looked, ", "))
}

// TeacherBM25Weight is the BM25 weight of the residual teacher in folder dir (a FindTeacher result):
// models.Config.BM25Weight of its config.json. A teacher that is not residual is an error.
func TeacherBM25Weight(dir string) (float64, error) {
	path := filepath.Join(dir, models.ConfigFile)
	cfg, err := models.LoadConfig(path)
	if err != nil {
		return 0, err
	}
	if cfg.BM25Weight <= 0 {
		return 0, fmt.Errorf("the teacher in %s is not residual (%s has no mimicry_bm25_weight)", dir, path)
	}
	return cfg.BM25Weight, nil
}
