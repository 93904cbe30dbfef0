package splade

import (
	"os"
	"path/filepath"

	"github.com/mimicry-ir/mimicry/internal/files"
	"github.com/mimicry-ir/mimicry/models"
)

// Export writes a SPLADE student as a sentence-transformers SparseEncoder folder: the Hugging Face
// files of models.ExportHF (config.json with architecture BertForMaskedLM, model.safetensors, the
// tokenizer) plus modules.json (MLMTransformer, then SpladePooling), 1_SpladePooling/config.json
// (max-pooling of log(1 + ReLU(logits)), as Mimicry encodes), sentence_bert_config.json with
// docMaxLen as max_seq_length, and config_sentence_transformers.json (dot-product similarity), so
// that SparseEncoder(dir) loads it as it is and encodes as Mimicry does. Mimicry reads the folder
// back with models.ImportHF.
func Export(dir string, enc *Encoder, docMaxLen int) error {
	if err := models.ExportHF(dir, enc.Model, enc.Backend, enc.Tokenizer); err != nil {
		return err
	}
	modules := []map[string]any{
		{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.sparse_encoder.models.MLMTransformer"},
		{"idx": 1, "name": "1", "path": "1_SpladePooling", "type": "sentence_transformers.sparse_encoder.models.SpladePooling"},
	}
	if err := files.WriteJSON(filepath.Join(dir, models.STModulesFile), modules); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "1_SpladePooling"), 0o755); err != nil {
		return err
	}
	pooling := map[string]any{"pooling_strategy": "max", "activation_function": "relu", "word_embedding_dimension": enc.Model.Config.VocabSize}
	if err := files.WriteJSON(filepath.Join(dir, "1_SpladePooling", "config.json"), pooling); err != nil {
		return err
	}
	maxLen := min(docMaxLen, enc.Model.Config.MaxPositionEmbeddings)
	if err := files.WriteJSON(filepath.Join(dir, models.STBertConfigFile), map[string]any{"max_seq_length": maxLen, "do_lower_case": false}); err != nil {
		return err
	}
	return files.WriteJSON(filepath.Join(dir, models.STConfigFile), map[string]any{
		"model_type": "SparseEncoder", "prompts": map[string]string{"query": "", "document": ""},
		"default_prompt_name": nil, "similarity_fn_name": "dot",
	})
}
