package embed

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// ReadTexts reads texts from a file ("-": standard input): one per line, or — for a name ending in
// .jsonl — one JSON string or object with a "text" field per non-blank line (for texts that hold
// newlines). A malformed line is an error naming the file and line.
func ReadTexts(path string) ([]string, error) {
	var r io.Reader = os.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var lines []string
	if len(data) > 0 {
		lines = strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	}
	jsonl := strings.HasSuffix(path, ".jsonl")
	var texts []string
	for i, line := range lines {
		line = strings.TrimSuffix(line, "\r")
		if !jsonl {
			texts = append(texts, line)
			continue
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		var s string
		if err := json.Unmarshal([]byte(line), &s); err == nil {
			texts = append(texts, s)
			continue
		}
		var obj struct {
			Text *string `json:"text"`
		}
		if err := json.Unmarshal([]byte(line), &obj); err != nil || obj.Text == nil {
			return nil, fmt.Errorf("%s:%d: want a JSON string or an object with a \"text\" field", path, i+1)
		}
		texts = append(texts, *obj.Text)
	}
	if len(texts) == 0 {
		return nil, fmt.Errorf("%s: no texts", path)
	}
	return texts, nil
}

// WriteJSONLFile writes the embeddings to path as JSONL through a temporary file in the same
// folder, so that no half-written file is ever left at path.
func WriteJSONLFile(path string, embs []Embedding) error {
	var buf bytes.Buffer
	if err := WriteJSONL(&buf, embs); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}
