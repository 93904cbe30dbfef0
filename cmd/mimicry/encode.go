package main

import (
	"bufio"
	"errors"
	"os"

	"github.com/mimicry-ir/mimicry/models/backend"
	"github.com/mimicry-ir/mimicry/models/embed"
)

func init() {
	register(&command{
		name:    "encode",
		summary: "encode texts with a model (folder or hub id) and print or write their embeddings as JSONL",
		run:     runEncode,
	})
}

// runEncode implements `mimicry encode --model ID|DIR (--text T ... | --input FILE) [--out FILE]`.
func runEncode(args []string) error {
	fs := newFlags("encode", "encode --model ID|DIR (--text T [--text T ...] | --input FILE) [--out FILE]", `
Encodes each text with the model's head and writes one JSON object per line: {"text", "embedding"} for a
bi-encoder (sentence-transformers folders: their pooling and normalisation), {"text", "tokens",
"token_embeddings"} for ColBERT (PyLate folders: their prefixes and lengths), {"text", "terms"} for
SPLADE. A hub id is resolved in the Hugging Face cache as huggingface_hub does.`)
	model := fs.String("model", "", "model folder, or hub id org/name[@revision] (Hugging Face cache; HF_HUB_OFFLINE, HF_ENDPOINT honoured)")
	var texts []string
	fs.Func("text", "a text to encode; repeat for more", func(s string) error { texts = append(texts, s); return nil })
	input := fs.String("input", "", "file of texts: one per line, or with a .jsonl name one JSON string or {\"text\": ...} per line; - reads standard input")
	out := fs.String("out", "", "JSONL file to write (default: standard output)")
	query := fs.Bool("query", false, "ColBERT models: encode the texts as queries (query marker, [MASK] padding)")
	maxLen := fs.Int("max-len", 0, "cut texts to this many tokens (0: the model's max_seq_length, else its positions)")
	batch := fs.Int("batch", embed.DefaultBatchSize, "texts per forward pass")
	fs.require("model")
	if err := fs.parse(args); err != nil {
		return err
	}
	if (len(texts) == 0) == (*input == "") {
		fs.Usage()
		return errors.New("one of --text or --input is required")
	}
	if *input != "" {
		var err error
		if texts, err = embed.ReadTexts(*input); err != nil {
			return err
		}
	}
	be, err := backend.Default()
	if err != nil {
		return err
	}
	enc, err := embed.Load(*model, be)
	if err != nil {
		return err
	}
	enc.MaxLen, enc.BatchSize = *maxLen, *batch
	embs, err := enc.Encode(texts, *query)
	if err != nil {
		return err
	}
	if *out == "" {
		w := bufio.NewWriter(os.Stdout)
		if err := embed.WriteJSONL(w, embs); err != nil {
			return err
		}
		return w.Flush()
	}
	return embed.WriteJSONLFile(*out, embs)
}
