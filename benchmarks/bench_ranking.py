"""`Learner.validate` over N×C logits with exact AUROC and AP: fastai's (scikit-learn at epoch end), ours, and torchmetrics'
classes, each alone and both together, each configuration in its own process; prints metric time (beside the floor) and ratios.

    python benchmarks/bench_ranking.py [--n 20000] [--c 1000] [--reps 5] [--before DIR]

With `--before DIR` (a source tree of an earlier commit, e.g. `git worktree add ../before <commit>`), that tree's metrics are
timed in the same run, as `ours_..._before`.
"""
import json, sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
from common import TMAdapter, measure, cli, run_child, metric_s, print_table, dispatch

CFGS = ('none', 'fastai_auroc', 'fastai_ap', 'ours_auroc', 'ours_ap', 'ours_both', 'tm_auroc', 'tm_ap', 'tm_both')

def setup(cfg):
    "The metrics of one configuration."
    if cfg == 'none': return []
    lib, what = cfg.split('_')[:2]  # a trailing '_before' names the source tree, not the metrics
    if lib == 'fastai':
        import fastai.metrics as m
        return {'auroc': [m.RocAucMulti()], 'ap': [m.APScoreMulti()]}[what]
    if lib == 'ours':
        import fastai_mlmetrics.metrics as m
        return {'auroc': [m.RocAucMulti()], 'ap': [m.APScoreMulti()], 'both': [m.RocAucMulti(), m.APScoreMulti()]}[what]
    from torchmetrics import classification as tc
    au, ap = (lambda: TMAdapter(tc.MultilabelAUROC)), (lambda: TMAdapter(tc.MultilabelAveragePrecision))
    return {'auroc': [au()], 'ap': [ap()], 'both': [au(), ap()]}[what]

def child(cfg, n, c, reps): measure(cfg, n, c, reps, setup(cfg))

def main():
    a = cli(__doc__, reps=5, before=None)
    cfgs = [x for k in CFGS for x in ([k] + ([f'{k}_before'] if a.before and k.startswith('ours') else []))]
    r = {cfg: run_child(__file__, cfg, a.n, a.c, a.reps, a.before if cfg.endswith('_before') else None) for cfg in cfgs}
    print_table(r, f"Learner.validate, {a.n:,} x {a.c:,} logits, exact ranking, batch 256, best of {a.reps}", 14)
    for k in ('auroc', 'ap', 'both'):
        print(f"torchmetrics / ours, {k:5}:  {metric_s(r,f'tm_{k}')/metric_s(r,f'ours_{k}'):6.2f}x", end='')
        print(f"   fastai / ours: {metric_s(r,f'fastai_{k}')/metric_s(r,f'ours_{k}'):6.1f}x" if f'fastai_{k}' in r else '')
    if a.before:
        for k in ('auroc', 'ap', 'both'):
            b, o = r[f'ours_{k}_before'], r[f'ours_{k}']
            print(f"ours_{k} before / after: time {metric_s(r,f'ours_{k}_before')/metric_s(r,f'ours_{k}'):5.2f}x, metric RSS "
                  f"{b['rss']-r['none']['rss']:.0f} MB -> {o['rss']-r['none']['rss']:.0f} MB, values equal: {b['values']==o['values']}")
    d = max(abs(r[f'ours_{k}']['values'][0] - r[f'fastai_{k}']['values'][0]) for k in ('auroc', 'ap'))
    print(f"largest |fastai - ours|: {d:.2e}")

if __name__ == '__main__': dispatch(child, main)
