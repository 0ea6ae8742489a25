"""`Learner.validate` over N×C logits with 101 thresholds: our ThresholdSweep (as it ships: 5 folds, 200 bootstrap replicates,
per-class rules; and with 5 folds alone), torchmetrics' binned MultilabelPrecisionRecallCurve, a naive loop (one F1 metric per
threshold), our single-threshold F1, and the report's 200-replicate bootstrap counts as a metric; each in its own process.
With `--before DIR`, a source tree of the sweep before cross-fitting (`git worktree add DIR d839871`) is timed in the same run.

    python benchmarks/bench_sweep.py [--n 20000] [--c 1000] [--big 80000] [--reps 1] [--rounds 1] [--before DIR]
    python benchmarks/bench_sweep.py --extreme [--n 20000] [--c 20000] [--before DIR]   # extreme multi-label: time and state only
"""
import json, sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
from common import TMAdapter, measure, cli, run_all, run_child, metric_s, print_table, print_flat, dispatch

T = 101

def setup(cfg):
    "(metrics, callbacks) of one configuration."
    import numpy as np
    from fastai_mlmetrics.all import F1ScoreMulti, ThresholdSweep
    if cfg == 'none': return [], []
    if cfg in ('sweep', 'sweep_before'): return [], [ThresholdSweep(T, add_to_recorder=False)]
    if cfg == 'sweep_k5': return [], [ThresholdSweep(T, add_to_recorder=False, folds=5, boot=0, per_class=False)]
    if cfg == 'sweep_k5_boot': return [], [ThresholdSweep(T, add_to_recorder=False, folds=5, boot=200, per_class=False)]
    if cfg == 'boot_f1': return [BootMetric()], []
    if cfg == 'f1_one': return [F1ScoreMulti(average='samples')], []
    if cfg == 'naive_loop': return [F1ScoreMulti(t, average='samples', name=f'f1_{t:.2f}') for t in np.linspace(0, 1, T+2)[1:-1]], []
    if cfg == 'torchmetrics_curve':
        from torchmetrics.classification import MultilabelPrecisionRecallCurve
        return [TMAdapter(MultilabelPrecisionRecallCurve, thresholds=T)], []
    raise ValueError(cfg)

def BootMetric():
    "The report's bootstrap counts (R=200, at 0.5) fed batch by batch, as a fastai metric."
    from fastai.metrics import Metric
    from fastai_mlmetrics.core import prep, cutoff
    from fastai_mlmetrics.stats import BootCounts, boot_scores
    class _Boot(Metric):
        name = 'boot_f1'
        def reset(self): self.b,self.seen = BootCounts(200),0
        def accumulate(self, learn):
            x, pos, keep, _ = prep(learn.pred, learn.y)
            self.b.update(x, pos, keep, cutoff(.5, True, x.dtype), start=self.seen); self.seen += len(x)
        @property
        def value(self): return float(boot_scores(self.b)[('samples','f1')].std())
    return _Boot()

def state_mb(cbs, n, c):
    "Bytes the sweep holds for one validation: its histograms and sums, plus one byte per entry (and a position per sample) with per-class rules."
    if not cbs: return 0.
    st = cbs[0].stats
    b = sum(t.numel()*t.element_size() for t in (getattr(st, k, None) for k in ('h','s','n','b','bn')) if t is not None)
    return (b + (n*c + 8*n if getattr(st, 'keep_codes', False) else 0))/1e6

def child(cfg, n, c, reps):
    mets, cbs = setup(cfg)
    measure(cfg, n, c, reps, mets, cbs, state=lambda learn: state_mb(cbs, n, c))

def extreme():
    import argparse
    ap = argparse.ArgumentParser(); ap.add_argument('--extreme', action='store_true')
    ap.add_argument('--n', type=int, default=20000); ap.add_argument('--c', type=int, default=20000); ap.add_argument('--before')
    a = ap.parse_args()
    r = {cfg: run_child(__file__, cfg, a.n, a.c, 1) for cfg in ('none', 'sweep_k5', 'sweep')}
    if a.before: r['sweep_before'] = run_child(__file__, 'sweep_before', a.n, a.c, 1, src=a.before)
    print(f"Learner.validate, {a.n:,} x {a.c:,} logits, {T} thresholds, batch 256")
    print(f"{'':20}{'validate s':>12}{'metric s':>10}{'metric RSS MB':>15}{'state MB':>10}{'peak RSS MB':>13}")
    for k, v in r.items(): print(f"{k:20}{v['time']:12.3f}{(metric_s(r,k) if k!='none' else 0):10.3f}{v['rss']-r['none']['rss']:15.0f}{v['state']:10.1f}{v['rss']:13.0f}")

def main():
    if '--extreme' in sys.argv: return extreme()
    a = cli(__doc__, reps=1, before=None)
    # the sweeps compared run next to each other, the slow configurations last
    cfgs = ('none', *(('sweep_before',) if a.before else ()), 'sweep_k5', 'sweep_k5_boot', 'sweep', 'f1_one', 'boot_f1', 'naive_loop', 'torchmetrics_curve')
    r, big = run_all(__file__, a, cfgs, 'sweep', srcs={'sweep_before': a.before})
    print_table(r, f"Learner.validate, {a.n:,} x {a.c:,} logits, {T} thresholds, batch 256, best of {a.reps}", 20)
    print(f"torchmetrics curve / sweep:  {metric_s(r,'torchmetrics_curve')/metric_s(r,'sweep'):8.1f}x")
    print(f"naive loop / sweep:          {metric_s(r,'naive_loop')/metric_s(r,'sweep'):8.1f}x")
    print(f"sweep / one-threshold F1:    {metric_s(r,'sweep')/metric_s(r,'f1_one'):8.2f}x")
    print(f"bootstrap R=200 / one F1:    {metric_s(r,'boot_f1')/metric_s(r,'f1_one'):8.2f}x")
    if a.before:
        for k in ('sweep_k5', 'sweep_k5_boot', 'sweep'): print(f"{k+' / sweep before folds:':29}{metric_s(r,k)/metric_s(r,'sweep_before'):8.2f}x")
    print("state MB: " + ", ".join(f"{k} {v['state']:.1f}" for k, v in r.items() if k.startswith('sweep')))
    print_flat(r, big, a, 'sweep')
    print(f"state MB of the sweep at N={a.big:,}: {big['sweep']['state']:.1f} (at N={a.n:,}: {r['sweep']['state']:.1f})")

if __name__ == '__main__': dispatch(child, main)
