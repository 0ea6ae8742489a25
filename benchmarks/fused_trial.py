"""The trial of a fused CPU kernel for the default sweep's pass over the entries: the bins, the codes, the per-class fold
histograms and the per-sample histograms (`SweepStats._entries`) as two compiled loops (numba), against the sweep's own eager
pass, over the same batches as `bench_updates.py`. It times both passes alone, and the default sweep's whole update with each,
beside `StatScores.update` and the decision pass; it prints the compile time and checks that the fused pass gives the sweep's
state exactly (histograms, kept bins, per-sample and bootstrap sums). Needs numba, which the package does not depend on:

    pip install numba && python benchmarks/fused_trial.py [--n 20000] [--c 1000] [--rounds 5]
"""
import argparse, math, sys, time, warnings
from pathlib import Path
import numpy as np, torch
sys.path.insert(0, str(Path(__file__).parent))
from common import FLOOR, batches
from bench_updates import sweep_state
import fastai_mlmetrics, fastai_mlmetrics.metrics as mm, fastai_mlmetrics.sweep as sw
from fastai_mlmetrics.stats import sample_folds
try: import numba as nb
except ImportError: sys.exit("this trial needs numba: pip install numba")

@nb.njit(parallel=True)
def rows_pass(x, pos, tab, lo, inv, cuts, code, hs):
    "Per sample (in parallel): each entry's bin (the number of `cuts` strictly below it: `cuts` ends with inf) from a table of logit cells and three exact comparisons, its code, and the sample's (bin, target) histogram."
    B, C = x.shape; n = len(tab)-1
    for b in nb.prange(B):
        for c in range(C):
            v = x[b, c]
            f = (v - lo)*inv
            k = tab[min(np.int64(f), n)] if f >= 0 else 0  # at most three cuts below the score from there; a NaN score stays in bin 0
            k += cuts[k] < v; k += cuts[k] < v; k += cuts[k] < v
            code[b, c] = 2*k + pos[b, c]
        for c in range(C): hs[b, code[b, c]] += 1

@nb.njit(parallel=True)
def classes_pass(code, fold, h, W):
    "Per block of 64 classes (in parallel): one to each entry's (fold, code) cell of its class's row of `h`."
    B, C = code.shape
    for j in nb.prange((C+63)//64):
        for b in range(B):
            o = fold[b]*W
            for c in range(j*64, min(C, j*64+64)): h[c, o+code[b, c]] += 1

def logit_table(cuts):
    """Cells of the logit line narrower than the closest two cuts, each holding at most one: cell j's entry counts the cuts below
    cell j-1, so that a score whose computed cell is off by one either way still has at most three cuts between the entry and it;
    the cells' origin and inverse width; and the cuts, inf appended."""
    lo, w = float(cuts[0])-1e-3, 0.9*(cuts[1:]-cuts[:-1]).min().item()
    edges = lo + torch.arange(-1, math.ceil((float(cuts[-1])+1e-3-lo)/w)+2, dtype=torch.float64)*w
    return torch.searchsorted(cuts.double(), edges).numpy(), np.float32(lo), np.float32(1/w), torch.cat([cuts, cuts.new_full((1,), math.inf)]).numpy()

class FusedStats(sw.SweepStats):
    "The sweep's state, its pass over the entries fused (float32 logits on the CPU on a uniform grid, no ignored entries; anything else as the sweep)."
    def _entries(self, x, pos, keep, fold, cuts):
        if not (self.uniform and self.sigmoid and keep is None and x.dtype==torch.float32 and x.device.type=='cpu' and x.is_contiguous()):
            return super()._entries(x, pos, keep, fold, cuts)
        if getattr(self, '_tab', None) is None: self._tab = logit_table(cuts)
        (B, C), T1 = x.shape, len(cuts)+1
        code, hs = torch.empty(B, C, dtype=torch.int32), torch.zeros(B, T1*2, dtype=torch.int32)
        rows_pass(x.numpy(), pos.view(torch.uint8).numpy(), *self._tab, code.numpy(), hs.numpy())
        classes_pass(code.numpy(), fold.numpy(), self._pending(B).numpy(), T1*2)
        return code, hs.view(B, T1, 2)

class GivenStats(sw.SweepStats):
    "The sweep's state, its pass over the entries given (`given`: each batch's codes and per-sample histograms, computed beforehand): what the rest of its update costs, the least that any kernel for that pass leaves. Its per-class fold histograms stay empty."
    given = []
    def _entries(self, x, pos, keep, fold, cuts): return self.given[(self.seen-1)//len(self.given[0][0])]

def state(cls, bs): return sweep_state(fastai_mlmetrics, bs, cls)

def same(a, b):
    "Whether two sweeps' states are identical."
    return (all(torch.equal(getattr(a, k), getattr(b, k)) for k in ('h', 's', 'n', 'b', 'bn', 'flags'))
            and all(torch.equal(u, v) for u, v in zip(a.codes, b.codes)) and len(a.codes)==len(b.codes))

def entries(cls, bs, ins):
    "The pass over the entries alone, as `cls`'s `_entries` makes it, over `ins` (each batch's scores, targets and folds, from `bs`)."
    s = state(cls, bs[:1])  # its table and cuts; the passes count into its table
    cuts = s._cuts[(torch.float32, bs[0][0].device)]
    return lambda _: [s._entries(x, pos, None, fold, cuts) for x, pos, fold in ins]

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=20000); ap.add_argument('--c', type=int, default=1000)
    ap.add_argument('--rounds', type=int, default=5)
    a = ap.parse_args()
    warnings.simplefilter('ignore')
    bs = batches(a.n, a.c)
    t = time.perf_counter(); state(FusedStats, bs[-2:]); tc = time.perf_counter()-t  # a full batch and the last, smaller one
    ref = state(sw.SweepStats, bs)
    ok = same(state(FusedStats, bs), ref)
    ins = [(x, y == 1, sample_folds(torch.arange(len(x)) + i*len(bs[0][0]), ref.K, ref.seed)) for i, (x, y) in enumerate(bs)]
    GivenStats.given = entries(FusedStats, bs, ins)(None)  # counted into a table apart from `ref`'s
    g = state(GivenStats, bs); g.h = ref.h
    ok_given = same(g, ref)
    def stat(bs):
        m = mm.StatScores()
        for x, y in bs: m.update(x, y)
    def dec(bs):
        for x, y in bs: FLOOR['decision'](x, y)
    cfg = {'decision pass (floor)': dec, 'StatScores.update': stat,
           'default sweep update': lambda bs: state(sw.SweepStats, bs), 'default sweep update, fused': lambda bs: state(FusedStats, bs),
           'default sweep update, its pass given': lambda bs: state(GivenStats, bs),
           "sweep's pass over the entries": entries(sw.SweepStats, bs, ins), "sweep's pass over the entries, fused": entries(FusedStats, bs, ins)}
    best = {k: float('inf') for k in cfg}
    for _ in range(a.rounds):
        for k, f in cfg.items(): t = time.perf_counter(); f(bs); best[k] = min(best[k], time.perf_counter()-t)
    print(f"{len(bs)} batches of {bs[0][0].shape[0]} x {a.c:,} float32 logits (N={a.n:,}), {torch.get_num_threads()} threads (numba {nb.get_num_threads()}), best of {a.rounds} rounds")
    print(f"compile (numba, both loops): {tc:.1f} s")
    print(f"{'':40}{'s':>8}{'x StatScores.update':>21}")
    for k, v in best.items(): print(f"{k:40}{v:8.3f}{v/best['StatScores.update']:21.2f}")
    e, f = best["sweep's pass over the entries"], best["sweep's pass over the entries, fused"]
    d, df = best['default sweep update'], best['default sweep update, fused']
    g = best['default sweep update, its pass given']
    print(f"fused, the pass over the entries saves {e-f:.3f} s, and the whole update {d-df:.3f} s")
    print(f"the update without its pass over the entries: {g:.3f} s = {g/best['StatScores.update']:.2f}x StatScores.update (target: 3x)")
    print(f"identical state (histograms, kept bins, per-sample and bootstrap sums, flags): fused {ok}, given {ok_given}")

if __name__ == '__main__': main()
