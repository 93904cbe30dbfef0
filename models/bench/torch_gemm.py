#!/usr/bin/env python3
"""PyTorch's side of BenchmarkGEMM (gemm_test.go): the matrix products of a MiniLM-L6 training step
(batch 16 x 128 tokens), each timed alone on the CPU with --threads threads, in GFLOP/s.

    .venv/bin/python models/bench/torch_gemm.py --threads 2
"""
import argparse
import time

import torch

GEMMS = [  # name, lhs shape, rhs shape, contracted length, product
    ("fwd_X2048x384_W384x1536", (2048, 384), (384, 1536), 384, lambda x, y: x @ y),
    ("dX_dY2048x1536_W384x1536T", (2048, 1536), (384, 1536), 1536, lambda x, y: x @ y.t()),
    ("dW_X2048x384T_dY2048x1536", (2048, 384), (2048, 1536), 2048, lambda x, y: x.t() @ y),
    ("fwd_X2048x384_W384x384", (2048, 384), (384, 384), 384, lambda x, y: x @ y),
    ("dW_X2048x384T_dY2048x384", (2048, 384), (2048, 384), 2048, lambda x, y: x.t() @ y),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=50)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    for name, a, b, contracted, f in GEMMS:
        x, y = torch.randn(*a), torch.randn(*b)
        out = f(x, y)
        flops = 2 * out.shape[0] * out.shape[1] * contracted
        start = time.perf_counter()
        for _ in range(args.reps):
            f(x, y)
        s = (time.perf_counter() - start) / args.reps
        print("%-28s %8.3f ms %6.0f GFLOP/s" % (name, s * 1e3, flops / s / 1e9))


if __name__ == "__main__":
    main()
