"""The per-batch cost of each accumulator, beside the floor, over the same batches in one process: N×C float32 logits and
float32 0/1 targets (as fastai hands them to a metric) in batches of 256.

The floor: one read of the logits (`x.sum()`) and one decision pass (`((x > 0) & (y > 0)).sum(0)`, the cut of 0.5 on logits). Every other line is
the time of the accumulator's `update` (or the function's call) over the same batches, and its multiple of the decision
pass. Configurations run in turn, `--rounds` times, each keeping its fastest round. With `--before DIR` (a source tree of
an earlier commit, e.g. `git worktree add ../before <commit>`), that tree's package is loaded beside this one and timed in
the same rounds, as `... before`.

The sweep's floor: the three steps of the default sweep's update that no eager rewrite can drop or merge (its two histogram
scatters and its bootstrap products, see `sweep_floor`), each timed over inputs computed beforehand, and their sum beside
`StatScores.update`; the run checks that these steps' results are the sweep's own state. The fixed cost: the same number of
calls on batches of 8 x 4, where almost all the time is Python, dispatch and small ops, and (on the CPU) the top-level PyTorch
calls each update makes per batch.

With `--device cuda` the batches live on the GPU and each configuration's time runs from a synchronised start to a
synchronised end; `--bs` sets the batch size.

    python benchmarks/bench_updates.py [--n 20000] [--c 1000] [--rounds 5] [--before DIR] [--device cpu] [--bs 256]
"""
import argparse, importlib.util, sys, time, warnings
from pathlib import Path
import torch
sys.path.insert(0, str(Path(__file__).parent))
from common import FLOOR, batches, sync

def load_pkg(src, name):
    "The package `fastai_mlmetrics` of the source tree `src`, imported under the module name `name`."
    init = Path(src)/'fastai_mlmetrics'/'__init__.py'
    spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[str(init.parent)])
    mod = importlib.util.module_from_spec(spec); sys.modules[name] = mod; spec.loader.exec_module(mod)
    for m in ('core', 'stats', 'metrics', 'sweep'): importlib.import_module(f'{name}.{m}')
    return mod

def configs(pkgs, c):
    "name -> a function that runs one validation pass over the batches and returns a value to keep."
    import fastai.metrics as fm
    from torchmetrics.classification import MultilabelStatScores
    def floor(f):
        def run(bs):
            for x,y in bs: f(x, y)
        return run
    def fastai_acc(bs):
        for x,y in bs: fm.accuracy_multi(x, y)
    def tm_stat(bs):
        m = MultilabelStatScores(num_labels=c, average=None).to(bs[0][0].device)
        for x,y in bs: m.update(x, y.long())
    cfg = {'read pass (floor)': floor(FLOOR['read']), 'decision pass (floor)': floor(FLOOR['decision'])}
    for tag,p in pkgs.items():
        def stat(bs, p=p):
            a = p.metrics.StatScores()
            for x,y in bs: a.update(x, y)
        def acc(bs, p=p):
            for x,y in bs: p.metrics.accuracy_multi(x, y)
        def sweep(bs, p=p, **kw):
            s = p.sweep.ThresholdSweep(add_to_recorder=False, **kw).stats
            for x,y in bs: s.update(x, y)
        cfg |= {f'StatScores.update{tag}': stat, f'accuracy_multi{tag}': acc, f'default sweep update{tag}': sweep}
        if not tag:  # what the sweep's options cost: the per-class rules' kept bins, the bootstrap, both
            cfg |= {f'sweep update, {k}': (lambda bs, kw=kw: sweep(bs, **kw)) for k,kw in
                    (('per_class=False', dict(per_class=False)), ('boot=0', dict(boot=0)), ('per_class=False, boot=0', dict(per_class=False, boot=0)))}
    return cfg | {"fastai's accuracy_multi": fastai_acc, 'torchmetrics MultilabelStatScores.update': tm_stat}

def sweep_floor(p, bs):
    """The three steps of the default sweep's update that no rewrite in eager PyTorch can drop or merge, each over inputs computed
    beforehand from the same batches by the package `p`'s own functions: the per-class fold histograms (one `scatter_add_` of every
    entry into the int16 table), the per-sample histograms (one of every entry into int32), and the bootstrap products (one
    float64 `addmm_` per fold, `R` replicates by 101 thresholds)."""
    sw = p.sweep.ThresholdSweep(add_to_recorder=False).stats
    st, K, R, T1 = p.stats, sw.K, sw.R, len(sw.thresholds)+1
    cuts, ins, seen = st.grid_cuts(sw.thresholds, True, torch.float32).to(bs[0][0].device), [], 0
    for x,y in bs:
        idx = torch.arange(len(x), device=x.device) + seen; seen += len(x)
        fold, code = st.sample_folds(idx, K, sw.seed), st.hist_bins(x, cuts, True, True).mul_(2).add_(p.core.prep(x, y)[1])
        tp,fp,fn,_ = st.hist_counts(st._add_hist(torch.zeros(len(x), T1*2, dtype=torch.int32, device=x.device), code.long(), None, False).view(len(x), T1, 2))
        v, o = st._fixed_point(st._sample_q(tp, fp, fn, 0.)[:,2]).double(), fold.argsort(stable=True)
        ns = torch.bincount(fold, minlength=K).tolist()
        ins.append((torch.add(code, (fold*(T1*2))[:,None]), code.long(), st.poisson_weights(idx[o], R, sw.seed, v.dtype).split(ns, 1), v[o].split(ns)))
    def fold_hist(bs):
        h = torch.zeros(bs[0][0].shape[1], K*T1*2, dtype=torch.int16, device=bs[0][0].device)  # up to 32,767 samples, as the sweep's table
        for c,*_ in ins: st._add_hist(h, c, None, by_class=True)
        return h
    def sample_hist(bs):
        return [st._add_hist(torch.zeros(len(c), T1*2, dtype=torch.int32, device=c.device), c, None, by_class=False) for _,c,*_ in ins]
    def products(bs):
        b, bn = torch.zeros(K, R, T1-1, dtype=torch.float64, device=bs[0][0].device), torch.zeros(K, R, dtype=torch.float64, device=bs[0][0].device)
        for *_,ws,vs in ins:
            for k,(w,v) in enumerate(zip(ws, vs)): b[k].addmm_(w, v); bn[k] += w.sum(1)
        return b, bn
    def same(bs):
        "Whether these steps' results are the default sweep's own state over the same batches (the floor times the sweep's work, not less)."
        sw, (b, bn), hs = sweep_state(p, bs), products(bs), sample_hist(bs)
        return (torch.equal(fold_hist(bs).int(), sw.h) and torch.equal(b, sw.b.view_as(b)) and torch.equal(bn, sw.bn)
                and torch.equal(sum(h.view(-1, T1, 2).sum(0) for h in hs), sw.h.view(-1, K, T1, 2).sum((0, 1))))  # every entry in its (bin, target)
    return {'sweep floor: fold histograms': fold_hist, 'sweep floor: per-sample histograms': sample_hist, 'sweep floor: bootstrap products': products}, same

def sweep_state(p, bs, cls=None):
    "The state of the package `p`'s default sweep after the batches `bs`, its int16 table added in; with `cls`, its `SweepStats` made of that subclass."
    sw = p.sweep.ThresholdSweep(add_to_recorder=False).stats
    if cls is not None: sw.__class__ = cls
    for x,y in bs: sw.update(x, y)
    sw._flush()
    return sw

def fixed_cost(cfg, bs):
    "The cost of the calls themselves (Python, dispatch, small ops): the configurations `cfg`'s `StatScores` and default sweep updated as many times, on batches of 8 x 4."
    tiny = batches(8*len(bs), 4, 8, device=bs[0][0].device)
    return {f'{k}, {len(tiny)} calls on 8 x 4': (lambda _, f=cfg[k]: f(tiny)) for k in ('StatScores.update', 'default sweep update')}

def calls_per_batch(p, bs, n=8):
    "Top-level PyTorch calls per update of `StatScores` and of the default sweep, over `n` batches after a first one (`torch.profiler`)."
    from torch.profiler import profile, ProfilerActivity
    res = {}
    for k,a in (('StatScores.update', p.metrics.StatScores()), ('default sweep update', p.sweep.ThresholdSweep(add_to_recorder=False).stats)):
        a.update(*bs[0])
        with profile(activities=[ProfilerActivity.CPU]) as pr:
            for x,y in bs[1:n+1]: a.update(x, y)
        res[k] = sum(e.cpu_parent is None for e in pr.events())/len(bs[1:n+1])
    return res

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=20000); ap.add_argument('--c', type=int, default=1000)
    ap.add_argument('--rounds', type=int, default=5); ap.add_argument('--before')
    ap.add_argument('--device', default='cpu'); ap.add_argument('--bs', type=int, default=256)
    a = ap.parse_args()
    warnings.simplefilter('ignore')
    import fastai_mlmetrics, fastai_mlmetrics.metrics, fastai_mlmetrics.sweep  # noqa: F401
    pkgs = {'': fastai_mlmetrics} | ({' before': load_pkg(a.before, 'fmm_before')} if a.before else {})
    bs = batches(a.n, a.c, a.bs, device=a.device)
    floor_cfg, same = sweep_floor(fastai_mlmetrics, bs)
    cfg = configs(pkgs, a.c)
    cfg |= floor_cfg | fixed_cost(cfg, bs)
    best = {k: float('inf') for k in cfg}
    for f in cfg.values(): f(bs[:2])  # warm up every path once
    for _ in range(a.rounds):
        for k,f in cfg.items():
            sync(a.device); t = time.perf_counter(); f(bs); sync(a.device); best[k] = min(best[k], time.perf_counter()-t)
    where = f"{torch.get_num_threads()} threads" if a.device == 'cpu' else torch.cuda.get_device_name()
    print(f"{len(bs)} batches of {bs[0][0].shape[0]} x {a.c:,} float32 logits (N={a.n:,}), {where}, best of {a.rounds} rounds")
    print(f"{'':42}{'s':>8}{'x decision pass':>17}")
    for k,v in best.items(): print(f"{k:42}{v:8.3f}{v/best['decision pass (floor)']:17.2f}")
    st = best['StatScores.update']
    fl = sum(v for k,v in best.items() if k.startswith('sweep floor: '))
    print(f"{'sweep floor (the three together)':42}{fl:8.3f}{fl/best['decision pass (floor)']:17.2f}")
    print(f"default sweep / StatScores.update: {best['default sweep update']/st:.2f}x")
    print(f"sweep floor / StatScores.update: {fl/st:.2f}x (the floor's results are the default sweep's state: {same(bs)})")
    sw, fc = best['default sweep update'], next(v for k,v in best.items() if k.startswith('default sweep update, '))
    print(f"default sweep update {sw:.3f} s: fixed cost {fc:.3f} s, floor steps {fl:.3f} s, the rest (other passes over the entries) {sw-fc-fl:.3f} s")
    if a.device == 'cpu': print("PyTorch calls per batch: " + ", ".join(f"{k} {v:.0f}" for k,v in calls_per_batch(fastai_mlmetrics, bs).items()))
    print(f"torchmetrics MultilabelStatScores / StatScores.update: {best['torchmetrics MultilabelStatScores.update']/st:.2f}x")
    if a.before:
        for k in ('StatScores.update', 'accuracy_multi', 'default sweep update'): print(f"{k} before / after: {best[k+' before']/best[k]:.2f}x")

if __name__ == '__main__': main()
