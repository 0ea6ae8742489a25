"""Compare this tree's count metrics with an earlier tree's, bit for bit: every `StatScores` sum and flag, `value_flags`,
`accuracy_multi`, `hist_bins` at and beside every cut, the sweep's state (`SweepStats`: fold histograms, per-sample and bootstrap sums, kept bins, and the
replicates read from them), the report's bootstrap counts (`BootCounts`), and every error message, on random, tied, masked,
weighted, empty, half-precision and corrupted inputs.
A change to the hot path that should change no value is checked with it:

    git worktree add ../before <commit> && python tools/bitwise.py ../before [--seeds 10] [--iters 300]
"""
import argparse, sys, warnings
from pathlib import Path
import torch
sys.path.insert(0, str(Path(__file__).parents[1]/'benchmarks'))
from bench_updates import load_pkg

_ints = {torch.float64: torch.int64, torch.float32: torch.int32, torch.float16: torch.int16, torch.bfloat16: torch.int16}

def same(a, b)->bool:
    "Equal bit for bit: dicts key by key, tensors of one dtype and shape whose bits (NaN and -0 included) agree."
    if isinstance(a, dict): return a.keys()==b.keys() and all(same(a[k], b[k]) for k in a)
    if a is None or b is None: return a is b
    if a.dtype!=b.dtype or a.shape!=b.shape: return False
    return torch.equal(a.view(_ints[a.dtype]), b.view(_ints[b.dtype])) if a.is_floating_point() else torch.equal(a, b)

def outcome(f):
    "`('ok', value)` or `('err', type, message)`."
    try: return ('ok', f())
    except Exception as e: return ('err', type(e).__name__, str(e))

def agree(r1, r2)->bool:
    if r1[0]!=r2[0]: return False
    return r1[1:]==r2[1:] if r1[0]=='err' else same(r1[1], r2[1])

def stat(M, bs, kw):
    a = M.StatScores(**kw)
    for x,y in bs: a.update(x, y)
    return dict(sums=a.sums(), **({} if a.flags is None else dict(flags=a.flags)))

def sweep(P, bs, kw, sel):
    "A `SweepStats`' state after the batches, and the monitor under its replicates at the per-class thresholds `sel` `[K,C]`."
    s = P.sweep.SweepStats(keep_codes=True, **kw)
    for x,y in bs: s.update(x, y)
    s._reduce()
    # the fold histograms as `[K,C,T+1,2]`, whichever layout the tree keeps them in
    h = P.sweep._fold_hist(s.h, s.K).contiguous() if hasattr(P.sweep, '_fold_hist') else s.h.view(s.K, -1, len(s.thresholds)+1, 2)
    out = dict(h=h, s=s.s, n=s.n, codes=s.codes[0], idx=s.idx[0], **({} if s.b is None else dict(b=s.b, bn=s.bn)))
    return out | ({} if s.seen==0 else dict(cv=torch.as_tensor(s.code_values([sel[:s.K]], folds=True)[0])))

def boot(P, bs, kw):
    "`BootCounts`' counts and sums after the batches (at logit 0, or per class), with the plain row."
    b, start = P.stats.BootCounts(R=kw['R'], plain=True), 0
    for x,y in bs:
        sc, pos, keep, _ = P.core.prep(x, y, ignore_index=kw['ii'], validate_args=False)
        b.update(sc, pos, keep, kw['cut'] if kw['cut'] is None or isinstance(kw['cut'], float) else kw['cut'].to(sc.dtype), start); start += len(x)
    return dict(c=b.c, v=b.v, n=b.n)

def bins(P, g):
    "`hist_bins` on the evenly spaced grids (the closed form), for logits and probabilities at and beside every cut, and at the ends."
    out = {}
    for T in (1, 2, 11, 101, 1000):
        for sg in (True, False):
            for dt in (torch.float32, torch.float64):
                cuts = P.stats.grid_cuts(P.stats.uniform_grid(T), sg, dt)
                f = cuts[torch.isfinite(cuts)]
                x = torch.cat([f, f.nextafter(f.new_tensor(-float('inf'))), f.nextafter(f.new_tensor(float('inf'))),
                               (torch.randn(2000, generator=g)*4).to(dt) if sg else torch.rand(2000, generator=g).to(dt),
                               torch.tensor([0., 1., -0., float('inf'), -float('inf')] if sg else [0., 1., -0.], dtype=dt)])
                if not sg: x = x.clamp(0, 1)
                out[(T, sg, str(dt))] = P.stats.hist_bins(x, cuts, True, sg)
    return out

def batches(g, it):
    "A few batches of one kind (random, tied or probabilities), targets of one dtype, masked and corrupted by `it`'s pattern."
    C, nb = int(torch.randint(1, 12, (1,), generator=g)), int(torch.randint(1, 4, (1,), generator=g))
    ii = [None, -100, 0, 1][it%4]
    tdt, pdt = [torch.float32, torch.int64, torch.bool, torch.float16, torch.uint8][it%5], [torch.float32, torch.float64, torch.float16][it%3]
    out = []
    for _ in range(nb):
        B = int(torch.randint(0, 9, (1,), generator=g))
        x = [torch.randn(B, C, generator=g)*3, torch.randint(-2, 3, (B, C), generator=g).float()*.5, torch.rand(B, C, generator=g)][it%3]
        y = (torch.rand(B, C, generator=g) < .3).float()
        if ii is not None and tdt not in (torch.bool, torch.uint8): y = torch.where(torch.rand(y.shape, generator=g) < .2, float(ii), y)
        if it%7==0 and y.numel():  # a bad target, and now and then a NaN prediction
            y.view(-1)[0] = [.5, 2., -1., float('nan')][it%4] if tdt.is_floating_point else 2
            if it%3==0: x.view(-1)[-1] = float('nan')
        out.append((x.to(pdt), y.bool() if tdt==torch.bool else y.to(tdt)))
    return out, C, ii

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('before'); ap.add_argument('--seeds', type=int, default=10); ap.add_argument('--iters', type=int, default=300)
    a = ap.parse_args()
    warnings.simplefilter('ignore')
    import fastai_mlmetrics as NP, fastai_mlmetrics.metrics as NM, fastai_mlmetrics.core as NC, fastai_mlmetrics.sweep  # noqa: F401
    old = load_pkg(a.before, 'fmm_before'); OM, OC = old.metrics, old.core
    n = differ = order = 0
    for seed in range(a.seeds):
        g = torch.Generator().manual_seed(seed)
        n += 1; r1, r2 = outcome(lambda: bins(old, torch.Generator().manual_seed(seed))), outcome(lambda: bins(NP, torch.Generator().manual_seed(seed)))
        if not agree(r1, r2): differ += 1; print('hist_bins differs:', seed, str(r1)[:200], str(r2)[:200])
        for it in range(a.iters):
            bs, C, ii = batches(g, it)
            N = sum(len(x) for x,_ in bs)
            kws = [{}, dict(thresh=.3), dict(thresh=torch.rand(C, generator=g).tolist()), dict(betas=(1., .3, 2.)), dict(sigmoid=False),
                   dict(sample_weight=torch.rand(N, generator=g)), dict(sample_weight=torch.rand(max(N-1, 0), generator=g)),
                   dict(labels=[0] if C==1 else [C-1, 0]), dict(validate_args=False), dict(thresh=0.), dict(thresh=1.)]
            for kw in kws:
                kw = kw | ({} if ii is None else dict(ignore_index=ii))
                r1, r2 = outcome(lambda: stat(OM, bs, kw)), outcome(lambda: stat(NM, bs, kw)); n += 1
                if r1[0]==r2[0]=='err' and 'sample_weight has' in r2[2] and 'sample_weight has' not in r1[2]: order += 1; continue
                if not agree(r1, r2): differ += 1; print('differs:', seed, it, kw, str(r1)[:200], str(r2)[:200])
            if it%3==0:  # the sweep and the bootstrap counts, on inputs whose values are good (bad ones raise as checked above)
                gb = [(x.float() if x.dtype==torch.float16 else x, torch.where((y==0)|(y==1)|(y==(ii if ii is not None else 1)), y, 0).to(y.dtype))
                      for x,y in bs if not x.isnan().any()]
                sel = torch.randint(0, 12, (5, C), generator=g)
                for kw in (dict(thresholds=11, folds=5, boot=7), dict(thresholds=torch.rand(5, generator=g).sort().values.tolist(), folds=2, boot=3, monitor='f1_macro'),
                           dict(thresholds=11, folds=1, boot=0, monitor='accuracy', sigmoid=False, zero_division=1.), dict(thresholds=11, folds=3, boot=4, monitor='f1_micro')):
                    kw = kw | ({} if ii is None else dict(ignore_index=ii))
                    if kw.get('sigmoid') is False: gb2 = [(x.sigmoid() if it%2 else x.clamp(0, 1), y) for x,y in gb]
                    else: gb2 = gb
                    n += 1; r1, r2 = outcome(lambda: sweep(old, gb2, kw, sel)), outcome(lambda: sweep(NP, gb2, kw, sel))
                    if not agree(r1, r2): differ += 1; print('sweep differs:', seed, it, kw, str(r1)[:200], str(r2)[:200])
                for cut in (0., None, torch.randn(C, generator=g).double()):
                    kw = dict(R=5, ii=ii, cut=0. if cut is None else cut)
                    n += 1; r1, r2 = outcome(lambda: boot(old, gb, kw)), outcome(lambda: boot(NP, gb, kw))
                    if not agree(r1, r2): differ += 1; print('boot differs:', seed, it, str(r1)[:200], str(r2)[:200])
            for x,y in bs:
                for sg in (True, False):
                    pos = y if y.dtype==torch.bool else y==1
                    for args in ((x, y, sg, ii), (x, y, sg, ii, pos)):
                        n += 1; differ += not agree(outcome(lambda: OC.value_flags(*args)), outcome(lambda: NC.value_flags(*args)))
                    n += 1; differ += not agree(outcome(lambda: OM.accuracy_multi(x, y, sigmoid=sg)), outcome(lambda: NM.accuracy_multi(x, y, sigmoid=sg)))
    print(f"{n:,} comparisons over {a.seeds} seeds, {differ} differ; {order} where a batch has both a bad value and too few sample "
          f"weights, whose error now names the weights first")
    sys.exit(differ>0)

if __name__ == '__main__': main()
