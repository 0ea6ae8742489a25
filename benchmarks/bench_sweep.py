"""`Learner.validate` over N×C logits with 101 thresholds: our ThresholdSweep, torchmetrics' binned
MultilabelPrecisionRecallCurve, a naive loop (one F1 metric per threshold) and our single-threshold F1, each in its own process.

    python benchmarks/bench_sweep.py [--n 20000] [--c 1000] [--big 80000] [--reps 1]
"""
import argparse, json, sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
from common import make_learner, timed_validate, peak_rss_mb, run_child

T = 101

def setup(cfg):
    "(metrics, callbacks) of one configuration."
    import numpy as np
    from fastai_mlmetrics.all import F1ScoreMulti, ThresholdSweep, TorchMetric
    if cfg == 'none': return [], []
    if cfg == 'sweep': return [], [ThresholdSweep(T, add_to_recorder=False)]
    if cfg == 'f1_one': return [F1ScoreMulti(average='samples')], []
    if cfg == 'naive_loop': return [F1ScoreMulti(t, average='samples', name=f'f1_{t:.2f}') for t in np.linspace(0, 1, T+2)[1:-1]], []
    if cfg == 'torchmetrics_curve':
        from torchmetrics.classification import MultilabelPrecisionRecallCurve
        return [TorchMetric(MultilabelPrecisionRecallCurve, thresholds=T)], []
    raise ValueError(cfg)

def child(cfg, n, c, reps):
    mets, cbs = setup(cfg)
    learn = make_learner(n, c, mets, cbs=cbs)
    t, _ = timed_validate(learn, reps)
    print(json.dumps(dict(cfg=cfg, n=n, time=t, rss=peak_rss_mb())))

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=20000); ap.add_argument('--c', type=int, default=1000)
    ap.add_argument('--big', type=int, default=80000); ap.add_argument('--reps', type=int, default=1)
    a = ap.parse_args()
    r = {cfg: run_child(__file__, cfg, a.n, a.c, a.reps) for cfg in ('none', 'sweep', 'f1_one', 'naive_loop', 'torchmetrics_curve')}
    big = {cfg: run_child(__file__, cfg, a.big, a.c, a.reps) for cfg in ('none', 'sweep')}
    met = lambda d, k: d[k]['time'] - d['none']['time']
    print(f"Learner.validate, {a.n:,} x {a.c:,} logits, {T} thresholds, batch 256, best of {a.reps}")
    print(f"{'':20}{'validate s':>12}{'metric s':>10}{'metric RSS MB':>15}")
    for k, v in r.items():
        print(f"{k:20}{v['time']:12.3f}{(met(r,k) if k!='none' else 0):10.3f}{v['rss']-r['none']['rss']:15.0f}")
    print(f"torchmetrics curve / sweep:  {met(r,'torchmetrics_curve')/met(r,'sweep'):8.1f}x")
    print(f"naive loop / sweep:          {met(r,'naive_loop')/met(r,'sweep'):8.1f}x")
    print(f"sweep / one-threshold F1:    {met(r,'sweep')/met(r,'f1_one'):8.2f}x")
    print(f"sweep at N={a.big:,}: metric time {met(big,'sweep'):.3f} s, metric RSS {big['sweep']['rss']-big['none']['rss']:.0f} MB "
          f"(at N={a.n:,}: {r['sweep']['rss']-r['none']['rss']:.0f} MB)")

if __name__ == '__main__':
    if len(sys.argv) > 1 and sys.argv[1] == '--child': child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    else: main()
