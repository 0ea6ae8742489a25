"""The trial of fused CPU kernels for the default sweep. Its pass over the entries (the bins, the codes, the per-class fold
histograms and the per-sample histograms: `SweepStats._entries`) as two compiled loops (numba), against the sweep's own eager
pass, over the same batches as `bench_updates.py`. It times both passes alone, and the default sweep's whole update with each,
beside `StatScores.update` and the decision pass. Two more variants of the update bound what compiled code could do: with the
pass over the entries given (computed beforehand), and compiled whole (`WholeStats`: the value checks, folds, bins, codes, both
histograms, per-sample ratios and their sums, Poisson weights and bootstrap sums, in four loops). It prints the compile times and
checks that each variant gives the sweep's state exactly (histograms, kept bins, per-sample and bootstrap sums, flags). Needs
numba, which the package does not depend on:

    pip install numba && python benchmarks/fused_trial.py [--n 20000] [--c 1000] [--rounds 5]
"""
import argparse, math, sys, time, warnings
from pathlib import Path
import numpy as np, torch
sys.path.insert(0, str(Path(__file__).parent))
from common import FLOOR, batches
from bench_updates import sweep_state
import fastai_mlmetrics, fastai_mlmetrics.metrics as mm, fastai_mlmetrics.sweep as sw
from fastai_mlmetrics.stats import sample_folds, _pois_top, _pois_cuts
from fastai_mlmetrics.core import merge_flags, settle_flags
try: import numba as nb
except ImportError: sys.exit("this trial needs numba: pip install numba")

@nb.njit(inline='always')
def bin_of(v, tab, lo, inv, cuts):
    "The bin of the score `v` (the number of `cuts` strictly below it: `cuts` ends with inf), from a table of logit cells and three exact comparisons."
    f = (v - lo)*inv
    k = tab[np.uint32(min(f, np.float32(len(tab)-1)))] if f > 0 else tab[0]  # at most three cuts below the score from there; a NaN score stays in bin 0
    k += np.uint32(cuts[k] < v); k += np.uint32(cuts[k] < v); k += np.uint32(cuts[k] < v)
    return k

@nb.njit(inline='always')
def row_codes(xb, yb, cb, hb, tab, lo, inv, cuts):
    "One sample's codes `2*bin + (target == 1)` into `cb`, counted into its (bin, target) histogram `hb`."
    for c in range(len(xb)): cb[c] = 2*bin_of(xb[c], tab, lo, inv, cuts) + np.uint32(yb[c] == 1)
    for c in range(len(xb)): hb[cb[c]] += 1

@nb.njit(parallel=True)
def rows_pass(x, pos, tab, lo, inv, cuts, code, hs):
    "Per sample (in parallel): each entry's bin, its code, and the sample's (bin, target) histogram."
    for b in nb.prange(len(x)): row_codes(x[b], pos[b], code[b], hs[b], tab, lo, inv, cuts)

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
    return torch.searchsorted(cuts.double(), edges).to(torch.int32).numpy(), np.float32(lo), np.float32(1/w), torch.cat([cuts, cuts.new_full((1,), math.inf)]).numpy()

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

M32 = np.uint64(0xFFFFFFFF)
@nb.njit(inline='always')
def mix32(x):
    "`stats._mix32` of one value."
    x = x & M32
    for _ in range(2): x = (((x >> np.uint64(16)) ^ x)*np.uint64(0x45d9f3b)) & M32
    return (x >> np.uint64(16)) ^ x

@nb.njit(parallel=True, error_model='numpy')
def samples_pass(x, y, tab, lo, inv, cuts, start, K, seed, zd, code, hs, fold, a, q, v, fl):
    """Per sample (in parallel): its value flags (NaN score, target not 0/1, score outside [0,1]), its fold (`sample_folds`),
    the hash its bootstrap weights start from, its entries' codes (uint8) and (bin, target) histogram, its precision, recall, F1
    and exact match at every threshold (`_sample_q`), and its F1 on the 2^-32 grid (`_fixed_point`)."""
    B, C = x.shape; T = len(cuts)-1
    for b in nb.prange(B):
        xb, yb, cb = x[b], y[b], code[b]
        mn, mx, nan, bad = np.float32(np.inf), np.float32(-np.inf), False, False
        for c in range(C):  # reductions alone, so that they vectorise
            s, t = xb[c], yb[c]
            bad |= (t != 0) & (t != 1); nan |= s != s; mn = min(mn, s); mx = max(mx, s)
        fl[b, 0], fl[b, 1], fl[b, 2] = nan, bad, (mn < 0) | (mx > 1)
        i = np.uint64(start + b)
        fold[b] = np.int64(mix32(mix32(i + np.uint64(seed)*np.uint64(0x9E3779B1)) ^ np.uint64(0x5bd1e995)) % np.uint64(K))
        a[b] = mix32(i + np.uint64(seed+1)*np.uint64(0x85EBCA6B))
        row_codes(xb, yb, cb, hs[b], tab, lo, inv, cuts)
        P, tp, fp = 0, 0, 0
        for k in range(T+1): P += hs[b, 2*k+1]
        for j in range(T-1, -1, -1):  # the entries above threshold j: bins j+1 to T
            tp += hs[b, 2*j+3]; fp += hs[b, 2*j+2]; fn = P-tp; t = np.float64(tp)
            r0, r1, r2 = t/np.float64(tp+fp), t/np.float64(tp+fn), (t/np.float64(tp+tp+fp+fn))*2.0
            q[b, 0, j] = zd if r0 != r0 else r0; q[b, 1, j] = zd if r1 != r1 else r1
            r2 = zd if r2 != r2 else r2; q[b, 2, j] = r2; q[b, 3, j] = 1.0 if fp+fn == 0 else 0.0
            v[b, j] = np.rint(r2*4294967296.0)/4294967296.0

@nb.njit(error_model='numpy')
def fold_sums(q, fold, K):
    "Per fold, the samples' ratios summed in the samples' order (as `index_add_`), and the fold's size."
    s, n = np.zeros((K,) + q.shape[1:]), np.zeros(K)
    for b in range(len(q)): s[fold[b]] += q[b]; n[fold[b]] += 1
    return s, n

@nb.njit(parallel=True)
def boot_pass(a, fold, v, top, pcuts, bs, bn):
    "Per replicate (in parallel): each sample's Poisson(1) weight (`poisson_weights`), its weighted F1 added into its fold's bootstrap sums (exact, so in any order)."
    K, R, T = bs.shape
    for r in nb.prange(R):
        rr = np.uint64(r)*np.uint64(0x9E3779B1)
        for i in range(len(a)):
            h = mix32(mix32(a[i] + rr))
            w = top[h >> np.uint64(16)]
            if w < 0:  # a draw near a cut of the Poisson cdf: counted against the cuts
                w = 0
                for c in pcuts: w += np.uint64(c) <= h
            if w == 0: continue
            k, wf, vi = fold[i], np.float64(w), v[i]
            bn[k, r] += wf; row = bs[k, r]
            for t in range(T): row[t] += wf*vi[t]

class WholeStats(sw.SweepStats):
    """The sweep's state, its whole update compiled (float32 logits and targets on the CPU, the default sweep; anything else as the
    sweep): value checks, folds, bins, codes, both histograms, per-sample ratios and their sums, Poisson weights and bootstrap sums."""
    _pois = (_pois_top.numpy(), np.array(_pois_cuts, np.int64))  # the Poisson weights' table of top bits, and the cdf's cuts
    def update(self, preds, targs, start=None):
        if not (self.uniform and self.sigmoid and self.ignore_index is None and self.monitor=='f1_samples' and self.keep_codes and self.R
                and preds.dtype==targs.dtype==torch.float32 and preds.device.type=='cpu' and preds.ndim==2 and preds.shape==targs.shape
                and preds.is_contiguous() and targs.is_contiguous()):
            return super().update(preds, targs, start)
        k = (torch.float32, preds.device)
        if k not in self._cuts: self._cuts[k] = sw.grid_cuts(self.thresholds, True, torch.float32)
        if getattr(self, '_tab', None) is None: self._tab = logit_table(self._cuts[k])
        (B, C), K, T = preds.shape, self.K, len(self.thresholds)
        st = self.seen if start is None else start
        code, hs = torch.empty(B, C, dtype=torch.uint8), np.zeros((B, 2*T+2), np.int32)
        fold, a, q, v, fl = np.empty(B, np.int64), np.empty(B, np.uint64), np.empty((B, 4, T)), np.empty((B, T)), np.empty((B, 3), np.bool_)
        samples_pass(preds.numpy(), targs.numpy(), *self._tab, st, K, self.seed, self.zd, code.numpy(), hs, fold, a, q, v, fl)
        nan, bad, out = fl.any(0)  # as `value_flags`: with a NaN score, no score lies outside [0,1]
        self.flags = merge_flags(self.flags, settle_flags(torch.tensor([nan, False, bad, out and not nan]), preds.device))
        if self.h is None:
            self.h = torch.zeros(C, K*(T+1)*2, dtype=torch.int32)
            self.b, self.bn = torch.zeros(K, self.R, 1, T, dtype=torch.float64), torch.zeros(K, self.R, dtype=torch.float64)
        classes_pass(code.numpy(), fold, self._pending(B).numpy(), (T+1)*2)
        boot_pass(a, fold, v, *self._pois, self.b.view(K, self.R, T).numpy(), self.bn.numpy())
        s, n = map(torch.from_numpy, fold_sums(q, fold, K))
        self.codes.append(code); self.idx.append(torch.arange(B) + st)
        self.seen += B
        self.s, self.n = (s, n) if self.s is None else (self.s+s, self.n+n)

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
    tc = {}
    for cls in (FusedStats, WholeStats): t = time.perf_counter(); state(cls, bs[-2:]); tc[cls] = time.perf_counter()-t  # a full batch and the last, smaller one
    ref = state(sw.SweepStats, bs)
    ok, ok_whole = same(state(FusedStats, bs), ref), same(state(WholeStats, bs), ref)
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
           'default sweep update, all compiled': lambda bs: state(WholeStats, bs),
           "sweep's pass over the entries": entries(sw.SweepStats, bs, ins), "sweep's pass over the entries, fused": entries(FusedStats, bs, ins)}
    best = {k: float('inf') for k in cfg}
    for _ in range(a.rounds):
        for k, f in cfg.items(): t = time.perf_counter(); f(bs); best[k] = min(best[k], time.perf_counter()-t)
    print(f"{len(bs)} batches of {bs[0][0].shape[0]} x {a.c:,} float32 logits (N={a.n:,}), {torch.get_num_threads()} threads (numba {nb.get_num_threads()}), best of {a.rounds} rounds")
    print(f"compile (numba): the pass over the entries {tc[FusedStats]:.1f} s, the whole update {tc[WholeStats]:.1f} s")
    print(f"{'':40}{'s':>8}{'x StatScores.update':>21}")
    for k, v in best.items(): print(f"{k:40}{v:8.3f}{v/best['StatScores.update']:21.2f}")
    e, f = best["sweep's pass over the entries"], best["sweep's pass over the entries, fused"]
    d, df = best['default sweep update'], best['default sweep update, fused']
    g, w = best['default sweep update, its pass given'], best['default sweep update, all compiled']
    print(f"fused, the pass over the entries saves {e-f:.3f} s, and the whole update {d-df:.3f} s")
    print(f"the update without its pass over the entries: {g:.3f} s = {g/best['StatScores.update']:.2f}x StatScores.update (target: 3x)")
    print(f"the whole update compiled: {w:.3f} s = {w/best['StatScores.update']:.2f}x StatScores.update (target: 3x), {w/d:.2f}x the eager update")
    print(f"identical state (histograms, kept bins, per-sample and bootstrap sums, flags): fused {ok}, given {ok_given}, all compiled {ok_whole}")

if __name__ == '__main__': main()
