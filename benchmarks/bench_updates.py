"""The per-batch cost of each accumulator, beside the floor, over the same batches in one process: N×C float32 logits and
float32 0/1 targets (as fastai hands them to a metric) in batches of 256.

The floor: one read of the logits (`x.sum()`) and one decision pass (`((x > 0) & (y > 0)).sum(0)`, the cut of 0.5 on logits). Every other line is
the time of the accumulator's `update` (or the function's call) over the same batches, and its multiple of the decision
pass. Configurations run in turn, `--rounds` times, each keeping its fastest round. With `--before DIR` (a source tree of
an earlier commit, e.g. `git worktree add ../before <commit>`), that tree's package is loaded beside this one and timed in
the same rounds, as `... before`.

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
    cfg = configs(pkgs, a.c)
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
    print(f"default sweep / StatScores.update: {best['default sweep update']/st:.2f}x")
    print(f"torchmetrics MultilabelStatScores / StatScores.update: {best['torchmetrics MultilabelStatScores.update']/st:.2f}x")
    if a.before:
        for k in ('StatScores.update', 'accuracy_multi', 'default sweep update'): print(f"{k} before / after: {best[k+' before']/best[k]:.2f}x")

if __name__ == '__main__': main()
