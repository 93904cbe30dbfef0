#!/usr/bin/env python3
"""PyTorch reference of `mimicry bench`: the same cross-encoder shapes, on the CPU.

For each shape it times, with torch.set_num_threads(--threads):

  train  one training step of a randomly initialised BertForSequenceClassification (num_labels=1):
         forward in training mode (dropout --dropout, 0.1 by default), BCEWithLogitsLoss, backward, gradient clipping to
         norm 1, AdamW (lr 2e-5, weight decay 0.01) — what models/bench times in Go;
  infer  sentence-transformers' CrossEncoder.predict on text pairs that fill --seq-len tokens
         (tokenisation included, batch --batch), and the bare model forward under torch.inference_mode
         on the same token ids.

No hub access: the model is built from a BertConfig, the tokenizer from the vocabulary file given
(bert-base-uncased's, shipped in models/tokenizer/data). It prints one JSON object per measurement
on stdout, e.g. {"runtime": "PyTorch", "shape": "tiny", "task": "train", "items_per_s": ..., ...}.
"""
import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shapes", required=True,
                    help='JSON list of {"name", "hidden", "layers", "heads", "ffn", "vocab"}')
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--steps", type=int, default=3, help="timed steps (after the warm-up ones)")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--infer-batches", type=int, default=4, help="timed batches of inference")
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--vocab-file", required=True)
    ap.add_argument("--tasks", default="train,infer")
    ap.add_argument("--dropout", type=float, default=0.1, help="training dropout (hidden and attention probabilities)")
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    args = ap.parse_args()

    import torch
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer
    import transformers
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()

    tasks = set(args.tasks.split(","))
    dev = torch.device(args.device)
    info = {"torch": torch.__version__, "transformers": transformers.__version__, "device": args.device,
            "threads": torch.get_num_threads(), "mkldnn": torch.backends.mkldnn.is_available()}
    for shape in json.loads(args.shapes):
        config = BertConfig(vocab_size=shape["vocab"], hidden_size=shape["hidden"],
                            num_hidden_layers=shape["layers"], num_attention_heads=shape["heads"],
                            intermediate_size=shape["ffn"], hidden_act="gelu", hidden_dropout_prob=args.dropout,
                            attention_probs_dropout_prob=args.dropout, max_position_embeddings=512,
                            type_vocab_size=2, num_labels=1)
        if "train" in tasks:
            emit(dict(info, **train(torch, BertForSequenceClassification, config, shape, args)))
        if "infer" in tasks:
            for m in infer(torch, BertForSequenceClassification, BertTokenizer, config, shape, args):
                emit(dict(info, **m))


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def emit(m):
    print(json.dumps(m), flush=True)


def random_ids(torch, config, args):
    g = torch.Generator().manual_seed(3)
    ids = torch.randint(1000, config.vocab_size, (args.batch, args.seq_len), generator=g)
    types = (torch.arange(args.seq_len) * 2 // args.seq_len).expand(args.batch, -1).contiguous()
    mask = torch.ones(args.batch, args.seq_len, dtype=torch.long)
    return ids.to(args.device), types.to(args.device), mask.to(args.device)


def sync(torch, args):
    """Waits for the GPU, so that a step's time is its own."""
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()


def train(torch, cls, config, shape, args):
    model = cls(config).to(args.device)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-5, weight_decay=0.01)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    ids, types, mask = random_ids(torch, config, args)
    labels = (torch.arange(args.batch) % 2).float().to(args.device)
    times = []
    for step in range(args.warmup + args.steps):
        if step == args.warmup:
            cpu = cpu_seconds()
        start = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        logits = model(input_ids=ids, token_type_ids=types, attention_mask=mask).logits.squeeze(-1)
        loss = loss_fn(logits, labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        loss.item()
        times.append(time.perf_counter() - start)
    cpu = (cpu_seconds() - cpu) / args.steps
    timed = times[args.warmup:]
    step_s = sum(timed) / len(timed)
    return {"runtime": "PyTorch", "shape": shape["name"], "task": "train", "unit": "tokens/s",
            "items_per_s": args.batch * args.seq_len / step_s, "step_s": step_s, "first_step_s": times[0],
            "steps": len(timed), "cpu_s": cpu}


def infer(torch, cls, tok_cls, config, shape, args):
    from sentence_transformers import CrossEncoder
    with open(args.vocab_file, encoding="utf-8") as f:
        vocab = {line.rstrip("\n"): i for i, line in enumerate(f)}
    tokenizer = tok_cls(vocab=vocab, do_lower_case=True)  # transformers 5 takes the vocabulary itself
    words = [w for w in tokenizer.get_vocab() if w.isascii() and w.isalpha() and len(w) > 2 and not w.startswith("##")]
    rng = random.Random(5)
    n = args.batch * (args.infer_batches + 1)
    # Long enough to be truncated to exactly --seq-len tokens, as on the Go side.
    pairs = [(" ".join(rng.choices(words, k=12)), " ".join(rng.choices(words, k=3 * args.seq_len))) for _ in range(n)]
    out = []
    with tempfile.TemporaryDirectory() as d:
        model = cls(config)
        model.save_pretrained(d)
        model = model.to(args.device)
        tokenizer.save_pretrained(d)
        ce = CrossEncoder(d, max_length=args.seq_len, device=args.device)
        warm, timed = pairs[:args.batch], pairs[args.batch:]
        ce.predict(warm, batch_size=args.batch, show_progress_bar=False)
        start, cpu = time.perf_counter(), cpu_seconds()
        ce.predict(timed, batch_size=args.batch, show_progress_bar=False)
        secs, cpu = time.perf_counter() - start, cpu_seconds() - cpu
        out.append({"runtime": "PyTorch", "shape": shape["name"], "task": "infer", "unit": "pairs/s",
                    "items_per_s": len(timed) / secs, "step_s": secs / args.infer_batches,
                    "cpu_s": cpu / args.infer_batches,
                    "how": "CrossEncoder.predict, tokenisation included"})
        # The bare forward pass on token ids, for the share of tokenisation.
        model.eval()
        ids, types, mask = random_ids(torch, config, args)
        with torch.inference_mode():
            model(input_ids=ids, token_type_ids=types, attention_mask=mask)
            start, cpu = time.perf_counter(), cpu_seconds()
            for _ in range(args.infer_batches):
                model(input_ids=ids, token_type_ids=types, attention_mask=mask).logits.sum().item()
            secs, cpu = time.perf_counter() - start, cpu_seconds() - cpu
        out.append({"runtime": "PyTorch", "shape": shape["name"], "task": "infer-forward", "unit": "pairs/s",
                    "items_per_s": args.batch * args.infer_batches / secs, "step_s": secs / args.infer_batches,
                    "cpu_s": cpu / args.infer_batches,
                    "how": "model forward on token ids, inference_mode"})
    return out


if __name__ == "__main__":
    sys.exit(main())
