#!/usr/bin/env python3
"""Rewrite an answer key where the teacher contradicts the judgements (README, "What limits the
students, on the dev split").

A pair is contradicted when the teacher scores a judged negative at or above the lowest-scored
judged positive of its query. Two ways to treat those negatives, each tried on SciFact's dev split:

  drop      remove them (RocketQA's denoising of hard negatives with a cross-encoder:
            Qu et al., 2021, https://arxiv.org/abs/2010.08191)
  tie       move their score to the lowest positive's score (the Margin-MSE target becomes 0
            instead of a margin that ranks the negative above the positive)

Usage: contradicted.py drop|tie --key KEY.jsonl --qrels qrels/train.tsv --out OUT.jsonl

Writes OUT.jsonl and OUT.jsonl.meta.json (the key's meta with the pair count and source updated,
its pairs checksum removed) and prints how many rows it changed. Standard library only.
"""
import argparse
import csv
import json
import os
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("mode", choices=["drop", "tie"])
    ap.add_argument("--key", required=True)
    ap.add_argument("--qrels", required=True, help="BEIR qrels TSV (query-id, corpus-id, score)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    positives = {}
    with open(a.qrels, newline="") as f:
        for line, row in enumerate(csv.reader(f, delimiter="\t"), 1):
            if line == 1 and row[0] == "query-id":
                continue
            if len(row) != 3:
                sys.exit(f"{a.qrels}:{line}: want 3 tab-separated fields, got {len(row)}")
            if int(row[2]) > 0:
                positives.setdefault(row[0], set()).add(row[1])

    rows = []
    with open(a.key) as f:
        for line, text in enumerate(f, 1):
            try:
                r = json.loads(text)
                r["qid"], r["pid"], float(r["score"])
            except (ValueError, KeyError, TypeError) as e:
                sys.exit(f"{a.key}:{line}: {e}")
            rows.append(r)

    lowest = {}
    for r in rows:
        if r["pid"] in positives.get(r["qid"], ()):
            lowest[r["qid"]] = min(lowest.get(r["qid"], float("inf")), r["score"])

    out, changed = [], 0
    for r in rows:
        q = r["qid"]
        if q in lowest and r["pid"] not in positives[q] and r["score"] >= lowest[q]:
            changed += 1
            if a.mode == "drop":
                continue
            r = dict(r, score=lowest[q])
        out.append(r)

    with open(a.key + ".meta.json") as f:
        meta = json.load(f)
    meta["pairs"] = len(out)
    meta.setdefault("extra", {}).pop("pairs_sha256", None)
    meta["extra"]["source"] = f"{a.key}, contradicted.py {a.mode}: {changed} negatives scored at or above a judged positive"
    # Both files are written beside their names and renamed into place: nothing half-written.
    with open(a.out + ".tmp", "w") as f:
        for r in out:
            f.write(json.dumps(r) + "\n")
    with open(a.out + ".meta.json.tmp", "w") as f:
        json.dump(meta, f, indent=2)
    os.replace(a.out + ".tmp", a.out)
    os.replace(a.out + ".meta.json.tmp", a.out + ".meta.json")
    print(f"{a.out}: {len(out)} pairs, {changed} contradicted negatives {'dropped' if a.mode == 'drop' else 'tied'}")


if __name__ == "__main__":
    main()
