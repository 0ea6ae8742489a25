"""`Learner.validate` over N×C logits with no metric, fastai's eight-metric multi-label suite, ours, and torchmetrics'
classes, each in its own process; prints metric time (validate minus no-metric time), ratios and peak-memory overhead.

    python benchmarks/bench_metrics.py [--n 20000] [--c 1000] [--big 80000] [--reps 3]
"""
import argparse, json, sys, warnings
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
from common import make_learner, timed_validate, peak_rss_mb, run_child

def suite(cfg):
    "The eight metrics: accuracy, F1 samples/macro/micro, precision/recall samples, Hamming loss, Jaccard samples."
    if cfg == 'none': return []
    if cfg == 'fastai':
        import fastai.metrics as m
        return [m.accuracy_multi, m.F1ScoreMulti(average='samples'), m.F1ScoreMulti(average='macro'), m.F1ScoreMulti(average='micro'),
                m.PrecisionMulti(average='samples'), m.RecallMulti(average='samples'), m.HammingLossMulti(), m.JaccardMulti(average='samples')]
    if cfg == 'ours':
        import fastai_mlmetrics.metrics as m
        return [m.AccuracyMulti(), m.F1ScoreMulti(average='samples'), m.F1ScoreMulti(average='macro'), m.F1ScoreMulti(average='micro'),
                m.PrecisionMulti(average='samples'), m.RecallMulti(average='samples'), m.HammingLossMulti(), m.JaccardMulti(average='samples')]
    if cfg == 'torchmetrics':
        # torchmetrics has no samples average: its nearest classes, each with its own state, as a user would add them
        from torchmetrics import classification as tc
        from fastai_mlmetrics.metrics import TorchMetric
        return [TorchMetric(tc.MultilabelAccuracy), TorchMetric(tc.MultilabelExactMatch), TorchMetric(tc.MultilabelF1Score, average='macro'),
                TorchMetric(tc.MultilabelF1Score, average='micro'), TorchMetric(tc.MultilabelPrecision, average='macro'),
                TorchMetric(tc.MultilabelRecall, average='macro'), TorchMetric(tc.MultilabelHammingDistance), TorchMetric(tc.MultilabelJaccardIndex)]
    raise ValueError(cfg)

def child(cfg, n, c, reps):
    learn = make_learner(n, c, suite(cfg))
    base = peak_rss_mb()
    t, vals = timed_validate(learn, reps)
    print(json.dumps(dict(cfg=cfg, n=n, c=c, time=t, rss=peak_rss_mb(), rss_before=base, values=vals)))

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=20000); ap.add_argument('--c', type=int, default=1000)
    ap.add_argument('--big', type=int, default=80000); ap.add_argument('--reps', type=int, default=3)
    a = ap.parse_args()
    r = {cfg: run_child(__file__, cfg, a.n, a.c, a.reps) for cfg in ('none', 'fastai', 'ours', 'torchmetrics')}
    big = {cfg: run_child(__file__, cfg, a.big, a.c, a.reps) for cfg in ('none', 'ours')}
    met = lambda d, k: d[k]['time'] - d['none']['time']
    print(f"Learner.validate, {a.n:,} x {a.c:,} logits, batch 256, best of {a.reps}")
    print(f"{'':14}{'validate s':>12}{'metric s':>10}{'metric RSS MB':>15}")
    for k, v in r.items():
        print(f"{k:14}{v['time']:12.3f}{(met(r,k) if k!='none' else 0):10.3f}{(v['rss']-r['none']['rss']):15.0f}")
    print(f"fastai / ours metric time:       {met(r,'fastai')/met(r,'ours'):8.1f}x")
    print(f"torchmetrics / ours metric time: {met(r,'torchmetrics')/met(r,'ours'):8.1f}x")
    print(f"ours at N={a.big:,}: metric time {met(big,'ours'):.3f} s, metric RSS {big['ours']['rss']-big['none']['rss']:.0f} MB "
          f"(at N={a.n:,}: {r['ours']['rss']-r['none']['rss']:.0f} MB)")
    diffs = [abs(x-y) for x, y in zip(r['fastai']['values'], r['ours']['values'])]
    print(f"largest |fastai - ours| over the eight values: {max(diffs):.2e}")

if __name__ == '__main__':
    if len(sys.argv) > 1 and sys.argv[1] == '--child': child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    else: main()
