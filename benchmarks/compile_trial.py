"""The trial of `torch.compile` on the per-batch counts: the value checks, the decisions and the six counts of `StatScores` as one
function, compiled with symbolic shapes, against the same function in eager mode and the decision pass, over the same batches
as `bench_updates.py`; prints the compile time (run it twice: the second finds inductor's cache warm) and whether the counts agree.

    python benchmarks/compile_trial.py [--n 20000] [--c 1000]
"""
import argparse, sys, time
from pathlib import Path
import torch
sys.path.insert(0, str(Path(__file__).parent))
from bench_updates import batches

def counts(x, y, cut):
    "The checks, decisions and counts of one batch."
    pred, pos = x > cut, y == 1
    hit = pred & pos
    lo, hi = torch.aminmax(x)
    cls = torch.stack([hit.sum(0, dtype=torch.int32), pred.sum(0, dtype=torch.int32), pos.sum(0, dtype=torch.int32)])
    smp = torch.stack([hit.sum(1, dtype=torch.int32), pred.sum(1, dtype=torch.int32), pos.sum(1, dtype=torch.int32)])
    return cls, smp, lo, hi, (y != 0).sum(), cls[2].sum()

def best(f, bs, reps=5):
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        for x, y in bs: f(x, y, 0.)
        ts.append(time.perf_counter()-t)
    return min(ts)

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=20000); ap.add_argument('--c', type=int, default=1000)
    a = ap.parse_args()
    bs = batches(a.n, a.c)
    t = time.perf_counter()
    f = torch.compile(counts, dynamic=True)
    for x, y in (bs[0], bs[-1]): f(x, y, 0.)  # a full batch and the last, smaller one
    print(f"compile: {time.perf_counter()-t:.1f} s")
    print(f"eager: {best(counts, bs):.3f} s   compiled: {best(f, bs):.3f} s   "
          f"decision pass: {best(lambda x, y, c: ((x > c) & (y > 0)).sum(0), bs):.3f} s   over {len(bs)} batches")
    same = all(all(bool((u == v).all()) for u, v in zip(counts(x, y, 0.), f(x, y, 0.))) for x, y in bs)
    print(f"identical counts: {same}")

if __name__ == '__main__': main()
