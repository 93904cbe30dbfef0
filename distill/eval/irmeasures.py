"""Per-query measures of TREC runs by ir_measures' pytrec_eval provider, for eval's parity test.

Usage: python irmeasures.py QRELS MEASURES RUN [RUN...]

MEASURES is a comma-separated list of ir_measures names (nDCG@10,RR@10,R@100,AP,P@5). Prints one JSON
object: run path → query id → measure name → value, for the queries ir_measures evaluates (those in
the run with judgements in the qrels, and judged queries missing from the run, as zeros).

Every value is trec_eval's own code (pytrec_eval). RR@k, which pytrec_eval lacks, is its recip_rank
cut at k (the first relevant document's rank r gives 1/r when r <= k, else 0), not ir_measures'
default provider for RR@k (msmarco): that one breaks score ties by document id ascending, where
trec_eval breaks them by document id descending.
"""

import json
import sys

import ir_measures


def main() -> None:
    qrels_path, names, runs = sys.argv[1], sys.argv[2].split(","), sys.argv[3:]
    trec = ir_measures.pytrec_eval
    measures = [ir_measures.parse_measure(n) for n in names]
    cut_rr = {str(m): m["cutoff"] for m in measures if not trec.supports(m) and m.NAME == "RR"}
    for m in measures:
        if not trec.supports(m) and str(m) not in cut_rr:
            sys.exit(f"irmeasures.py: pytrec_eval cannot compute {m}")
    rr = ir_measures.parse_measure("RR")
    direct = [m for m in measures if str(m) not in cut_rr] + ([rr] if cut_rr else [])
    qrels = list(ir_measures.read_trec_qrels(qrels_path))
    out = {}
    for path in runs:
        per_query = {}
        for m in trec.iter_calc(direct, qrels, list(ir_measures.read_trec_run(path))):
            per_query.setdefault(m.query_id, {})[str(m.measure)] = m.value
        for values in per_query.values():
            for name, k in cut_rr.items():
                r = values[str(rr)]
                values[name] = r if r > 0 and 1 / r <= k + 1e-9 else 0.0
        out[path] = per_query
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
