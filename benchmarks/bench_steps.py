"""Where `StatScores.update` and `accuracy_multi` spend their time: each step on its own over the same batches as
`bench_updates.py` (79 batches of 256 × 1,000 float32 logits and float32 0/1 targets), beside the floor, best of `--rounds`.
The steps are those of `core.prep` (target decision, value checks, as the sweep and the ranking metrics take them), of
`stats.stat_batch` (decisions and targets written side by side, counted at once: `StatScores.update`'s path) and of
`stats.stat_update`, and a few alternatives to them, so that a change to the hot path starts from measured costs.

    python benchmarks/bench_steps.py [--n 20000] [--c 1000] [--rounds 7]
"""
import argparse, sys, time
from pathlib import Path
import torch
sys.path.insert(0, str(Path(__file__).parent))
from bench_updates import batches
from common import FLOOR

def _exact_alt(y):
    "An exact 0/1 check of float32 targets that reads them as bytes once: all in [0,1], and their float64 sum counts the nonzero ones."
    b, (lo, hi) = y.bool(), torch.aminmax(y)
    return b, (lo < 0) | (hi > 1) | (y.sum(dtype=torch.float64) != b.count_nonzero())

def steps():
    "name -> f(x, y, pos): one batch's step (`pos` is `y==1`, computed beforehand)."
    from fastai_mlmetrics.core import check_shapes, value_flags, prep
    from fastai_mlmetrics.stats import stat_update, stat_batch, decide
    from fastai_mlmetrics.metrics import accuracy_multi
    return {'decision pass (floor)': lambda x, y, p: FLOOR['decision'](x, y), 'read pass (floor)': lambda x, y, p: FLOOR['read'](x, y),
            'check_shapes': lambda x, y, p: check_shapes(x, y),
            'targets: y==1': lambda x, y, p: y == 1, 'targets: y.bool()': lambda x, y, p: y.bool(),
            'targets: y.count_nonzero()': lambda x, y, p: y.count_nonzero(), 'targets: y.sum()': lambda x, y, p: y.sum(),
            'targets: pos.count_nonzero()': lambda x, y, p: p.count_nonzero(),
            'targets: y==1 and two counts': lambda x, y, p: (y == 1).count_nonzero() != y.count_nonzero(),  # what prep does today
            'targets: bool, aminmax, f64 sum': lambda x, y, p: _exact_alt(y),
            'scores: x>0': lambda x, y, p: x > 0, 'scores: aminmax(x)': lambda x, y, p: torch.aminmax(x),
            'scores: x.isnan().any()': lambda x, y, p: x.isnan().any(),
            'value_flags': lambda x, y, p: value_flags(x, y, True, None, p, None), 'prep': lambda x, y, p: prep(x, y),
            'stat_update': lambda x, y, p: stat_update(x, p, None, 0.),
            'decide (pred, pos, nonzero)': lambda x, y, p: decide(x, y, 0., 3, True), 'stat_batch': lambda x, y, p: stat_batch(x, y),
            'accuracy_multi': lambda x, y, p: accuracy_multi(x, y)}

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=20000); ap.add_argument('--c', type=int, default=1000); ap.add_argument('--rounds', type=int, default=7)
    a = ap.parse_args()
    from fastai_mlmetrics.metrics import StatScores
    bs = [(x, y, y == 1) for x, y in batches(a.n, a.c)]
    def run(f):
        best = float('inf')
        for _ in range(a.rounds):
            t = time.perf_counter()
            for b in bs: f(*b)
            best = min(best, time.perf_counter() - t)
        return best
    res = {k: run(f) for k, f in steps().items()}
    def stat(x, y, p, acc=[None]):
        if y is bs[0][1]: acc[0] = StatScores()  # a fresh state at each round's first batch
        acc[0].update(x, y)
    res['StatScores.update'] = run(stat)
    d = res['decision pass (floor)']
    print(f"{len(bs)} batches of {bs[0][0].shape[0]} x {a.c:,} float32 logits (N={a.n:,}), {torch.get_num_threads()} threads, best of {a.rounds} rounds")
    print(f"{'':32}{'ms':>8}{'x decision pass':>17}")
    for k, v in res.items(): print(f"{k:32}{v*1e3:8.2f}{v/d:17.2f}")

if __name__ == '__main__': main()
