"""`Learner.validate` over N×C logits with no metric, fastai's eight-metric multi-label suite, ours, and torchmetrics'
classes, each in its own process; prints the metric time (what the validation events spend beyond a learner without metrics,
in the same process), its multiple of the floor's decision pass, ratios and peak-memory overhead.

    python benchmarks/bench_metrics.py [--n 20000] [--c 1000] [--big 80000] [--reps 3]
"""
import json, sys, warnings
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
from common import TMAdapter, measure, cli, run_all, metric_s, print_table, print_flat, dispatch

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
        return [TMAdapter(tc.MultilabelAccuracy), TMAdapter(tc.MultilabelExactMatch), TMAdapter(tc.MultilabelF1Score, average='macro'),
                TMAdapter(tc.MultilabelF1Score, average='micro'), TMAdapter(tc.MultilabelPrecision, average='macro'),
                TMAdapter(tc.MultilabelRecall, average='macro'), TMAdapter(tc.MultilabelHammingDistance), TMAdapter(tc.MultilabelJaccardIndex)]
    raise ValueError(cfg)

def child(cfg, n, c, reps): measure(cfg, n, c, reps, suite(cfg))

def main():
    a = cli(__doc__, reps=3)
    r, big = run_all(__file__, a, ('none', 'fastai', 'ours', 'torchmetrics'), 'ours')
    print_table(r, f"Learner.validate, {a.n:,} x {a.c:,} logits, batch 256, best of {a.reps}", 14)
    print(f"fastai / ours metric time:       {metric_s(r,'fastai')/metric_s(r,'ours'):8.1f}x")
    print(f"torchmetrics / ours metric time: {metric_s(r,'torchmetrics')/metric_s(r,'ours'):8.1f}x")
    print_flat(r, big, a, 'ours')
    diffs = [abs(x-y) for x, y in zip(r['fastai']['values'], r['ours']['values'])]
    print(f"largest |fastai - ours| over the eight values: {max(diffs):.2e}")

if __name__ == '__main__': dispatch(child, main)
