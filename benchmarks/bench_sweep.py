"""`Learner.validate` over N×C logits with 101 thresholds: our ThresholdSweep, torchmetrics' binned
MultilabelPrecisionRecallCurve, a naive loop (one F1 metric per threshold) and our single-threshold F1, each in its own process.

    python benchmarks/bench_sweep.py [--n 20000] [--c 1000] [--big 80000] [--reps 1]
"""
import json, sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
from common import TMAdapter, make_learner, timed_validate, peak_rss_mb, cli, run_all, metric_s, print_table, print_flat, dispatch

T = 101

def setup(cfg):
    "(metrics, callbacks) of one configuration."
    import numpy as np
    from fastai_mlmetrics.all import F1ScoreMulti, ThresholdSweep
    if cfg == 'none': return [], []
    if cfg == 'sweep': return [], [ThresholdSweep(T, add_to_recorder=False)]
    if cfg == 'f1_one': return [F1ScoreMulti(average='samples')], []
    if cfg == 'naive_loop': return [F1ScoreMulti(t, average='samples', name=f'f1_{t:.2f}') for t in np.linspace(0, 1, T+2)[1:-1]], []
    if cfg == 'torchmetrics_curve':
        from torchmetrics.classification import MultilabelPrecisionRecallCurve
        return [TMAdapter(MultilabelPrecisionRecallCurve, thresholds=T)], []
    raise ValueError(cfg)

def child(cfg, n, c, reps):
    mets, cbs = setup(cfg)
    learn = make_learner(n, c, mets, cbs=cbs)
    t, _ = timed_validate(learn, reps)
    print(json.dumps(dict(cfg=cfg, n=n, time=t, rss=peak_rss_mb())))

def main():
    a = cli(__doc__, reps=1)
    r, big = run_all(__file__, a, ('none', 'sweep', 'f1_one', 'naive_loop', 'torchmetrics_curve'), 'sweep')
    print_table(r, f"Learner.validate, {a.n:,} x {a.c:,} logits, {T} thresholds, batch 256, best of {a.reps}", 20)
    print(f"torchmetrics curve / sweep:  {metric_s(r,'torchmetrics_curve')/metric_s(r,'sweep'):8.1f}x")
    print(f"naive loop / sweep:          {metric_s(r,'naive_loop')/metric_s(r,'sweep'):8.1f}x")
    print(f"sweep / one-threshold F1:    {metric_s(r,'sweep')/metric_s(r,'f1_one'):8.2f}x")
    print_flat(r, big, a, 'sweep')

if __name__ == '__main__': dispatch(child, main)
