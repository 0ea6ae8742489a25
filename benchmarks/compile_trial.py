"""The trial of `torch.compile` on the per-batch counts: the value checks, the decisions and the six counts of `StatScores` as one
function, compiled with symbolic shapes, against the same function in eager mode and the decision pass, over the same batches
as `bench_updates.py`; prints the compile time (run it twice: the second finds inductor's cache warm) and whether the counts agree.

With `--sweep`, the same trial on the default sweep's per-entry passes (`sweep_entries`: value checks, bins, codes, the fold
histograms' and per-sample histograms' indices, the kept bins), each batch's two histogram scatters left in eager mode in both
runs; it checks that the compiled codes equal `hist_bins`' and that the fold histograms equal the sweep's own.

    python benchmarks/compile_trial.py [--n 20000] [--c 1000] [--sweep]
"""
import argparse, sys, time
from pathlib import Path
import torch
sys.path.insert(0, str(Path(__file__).parent))
from bench_updates import batches, sweep_state
import fastai_mlmetrics, fastai_mlmetrics.sweep  # noqa: F401 (sweep_state reads it)
from fastai_mlmetrics.stats import _add_hist, grid_cuts, hist_bins, sample_folds, uniform_grid

def counts(x, y, cut):
    "The checks, decisions and counts of one batch."
    pred, pos = x > cut, y == 1
    hit = pred & pos
    lo, hi = torch.aminmax(x)
    cls = torch.stack([hit.sum(0, dtype=torch.int32), pred.sum(0, dtype=torch.int32), pos.sum(0, dtype=torch.int32)])
    smp = torch.stack([hit.sum(1, dtype=torch.int32), pred.sum(1, dtype=torch.int32), pos.sum(1, dtype=torch.int32)])
    return cls, smp, lo, hi, (y != 0).sum(), cls[2].sum()

def sweep_entries(x, y, fold, cuts, K:int):
    "The default sweep's passes over one batch's entries, as its update makes them: the checks, the bins (`hist_bins`), the codes, both histograms' int64 indices and the kept bins."
    T1, pos = len(cuts)+1, y == 1
    lo, mx = torch.aminmax(x)
    code = hist_bins(x, cuts, True).mul_(2).add_(pos)
    return lo, mx, (y != 0).sum(), pos.sum(), code.to(torch.uint8), torch.add(code, (fold*(T1*2))[:,None]), code.long()

def sweep_trial(bs, K=5, reps=3):
    "Eager against compiled `sweep_entries` over `bs`, each batch's two histogram scatters in eager mode in both: (eager s, compiled s, compile s, identical)."
    cuts = grid_cuts(uniform_grid(101))
    T1, C = len(cuts)+1, bs[0][0].shape[1]
    folds = [sample_folds(torch.arange(len(x)) + i*len(bs[0][0]), K) for i,(x,_) in enumerate(bs)]
    def run(f):
        ts = []
        for _ in range(reps):
            h, t = torch.zeros(C, K*T1*2, dtype=torch.int16), time.perf_counter()  # the sweep's int16 table (under 32,768 samples)
            for (x, y), fold in zip(bs, folds):
                *_, col, cl = f(x, y, fold, cuts, K)
                _add_hist(h, col, None, by_class=True); _add_hist(torch.zeros(len(x), T1*2, dtype=torch.int32), cl, None, by_class=False)
            ts.append(time.perf_counter()-t)
        return min(ts), h
    t = time.perf_counter()
    fc = torch.compile(sweep_entries, dynamic=True)
    for i in (0, -1): fc(*bs[i], folds[i], cuts, K)  # a full batch and the last, smaller one
    tc = time.perf_counter()-t
    (te, he), (tf, hf) = run(sweep_entries), run(fc)
    same = torch.equal(he, hf) and torch.equal(hf.int(), sweep_state(fastai_mlmetrics, bs).h) and all(torch.equal(fc(x, y, fold, cuts, K)[4], (hist_bins(x, cuts, True)*2 + (y == 1)).to(torch.uint8)) for (x, y), fold in zip(bs, folds))
    return te, tf, tc, same

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
    ap.add_argument('--sweep', action='store_true')
    a = ap.parse_args()
    bs = batches(a.n, a.c)
    if a.sweep:
        te, tf, tc, same = sweep_trial(bs)
        print(f"compile: {tc:.1f} s")
        print(f"sweep's per-entry passes and histograms over {len(bs)} batches: eager {te:.3f} s   compiled {tf:.3f} s   saved {te-tf:.3f} s a validation")
        print(f"identical codes and histograms (also the sweep's own): {same}")
        return
    t = time.perf_counter()
    f = torch.compile(counts, dynamic=True)
    for x, y in (bs[0], bs[-1]): f(x, y, 0.)  # a full batch and the last, smaller one
    print(f"compile: {time.perf_counter()-t:.1f} s")
    print(f"eager: {best(counts, bs):.3f} s   compiled: {best(f, bs):.3f} s   "
          f"decision pass: {best(lambda x, y, c: ((x > c) & (y > 0)).sum(0), bs):.3f} s   over {len(bs)} batches")
    same = all(all(bool((u == v).all()) for u, v in zip(counts(x, y, 0.), f(x, y, 0.))) for x, y in bs)
    print(f"identical counts: {same}")

if __name__ == '__main__': main()
