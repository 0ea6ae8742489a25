"""What paired comparisons cost, in one process on the same N×C logits:
- per epoch, what the default ThresholdSweep adds for them (the nested held-out values of the global rule, every rule's per-fold
  values, the fold rows of the kept bins' pass), against the whole sweep's validation-event time in the same `Learner.validate`;
- `compare` of two models on all N×C with its default metrics, without AP, and AP alone; beside scikit-learn scoring one model once
  (the same metrics, unweighted), and the decision pass.

    python benchmarks/bench_compare.py [--n 20000] [--c 1000] [--reps 3]
"""
import argparse, sys, time, warnings
from pathlib import Path
import numpy as np, torch
sys.path.insert(0, str(Path(__file__).parent))
from common import data, floor, make_learner, time_events

def best(f, reps):
    "The fastest of `reps` calls of `f`, in seconds."
    t = []
    for _ in range(reps):
        s = time.perf_counter(); f(); t.append(time.perf_counter() - s)
    return min(t)

def main():
    ap = argparse.ArgumentParser(); ap.add_argument('--n', type=int, default=20000); ap.add_argument('--c', type=int, default=1000)
    ap.add_argument('--reps', type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(2)
    from fastai_mlmetrics.all import ThresholdSweep, compare
    from fastai_mlmetrics.choose import _nested_global, _fold_values, _others_table, _global_sels, _class_sels, _shrunk_sels
    n, c = a.n, a.c
    fl = floor(n, c, reps=a.reps)
    # the sweep: its whole event time, then the pieces the comparisons added, on the same per-fold counts and kept bins
    sw = ThresholdSweep(101, add_to_recorder=False)
    learn = make_learner(n, c, [], cbs=[sw])
    spent = time_events()
    sweep_s = []
    for _ in range(a.reps):
        spent.clear()
        with warnings.catch_warnings(), learn.no_bar(), learn.no_logging():
            warnings.simplefilter('ignore'); learn.validate()
        sweep_s.append(spent['ThresholdSweep'])
    st, m = sw.stats, sw.monitor
    with warnings.catch_warnings():  # the kept bins are dropped after each validation: run one more pass by hand, keeping them
        warnings.simplefilter('ignore')
        st.reset(); x, y = data(n, c)
        for i in range(0, n, 256): st.update(x[i:i+256], y[i:i+256])
        F, tab, ths, zd = st.folded(), st.table(), st.thresholds.numpy(), st.zd
    K, C = F[0][0].shape[:2]
    cls = _class_sels(F, ths, zd); glob = _global_sels(m, _others_table(F, zd), tab, ths, C)
    sels = [glob[0], cls[0], _shrunk_sels(F, cls, glob, ths, sw.shrink)[0]]
    nested = best(lambda: _nested_global(m, F, ths, zd), a.reps)
    folds = best(lambda: [_fold_values(m, F, s, zd) for s in sels], a.reps)
    bins = [best(lambda: st.code_values(sels[1:], [st.R]*2, folds=f), a.reps) for f in (False, True)]
    added = nested + folds + max(0., bins[1] - bins[0])  # a negative difference is this machine's noise
    print(f"{n:,} x {c:,} logits, best of {a.reps}; decision pass {fl['decision']:.3f} s")
    print(f"default ThresholdSweep, validation events:     {min(sweep_s):8.3f} s")
    print(f"  added per epoch for comparisons:             {added:8.3f} s ({added/min(sweep_s):.1%} of the sweep)")
    print(f"    nested values of the global rule:          {nested:8.3f} s")
    print(f"    per-fold values of every rule:             {folds:8.3f} s")
    print(f"    fold rows in the kept bins' pass:          {bins[1]-bins[0]:8.3f} s (that pass: {bins[0]:.3f} s without, {bins[1]:.3f} s with)")
    # compare: two models on the same samples
    xb = x + .5*torch.randn(n, c, generator=torch.Generator().manual_seed(1))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        full = best(lambda: compare(x, xb, y), 1)
        no_ap = best(lambda: compare(x, xb, y, metrics=['f1_samples','f1_micro','f1_macro','precision_samples','recall_samples','exact_match','hamming_loss']), a.reps)
        ap = best(lambda: compare(x, xb, y, metrics='ap_macro'), 1)
        import sklearn.metrics as skm
        yn, pr, xn = y.numpy().astype(int), (x > 0).numpy().astype(int), x.numpy()
        def sk():
            for av in ('samples', 'micro', 'macro'): skm.f1_score(yn, pr, average=av, zero_division=0)
            skm.precision_score(yn, pr, average='samples', zero_division=0); skm.recall_score(yn, pr, average='samples', zero_division=0)
            skm.accuracy_score(yn, pr); skm.hamming_loss(yn, pr); skm.average_precision_score(yn, xn, average='macro')
        sk_s = best(sk, 1)
    print(f"compare(a, b), 200 paired replicates, default metrics: {full:8.3f} s ({full/fl['decision']:.0f}x the decision pass)")
    print(f"  without ap_macro:                            {no_ap:8.3f} s")
    print(f"  ap_macro alone:                              {ap:8.3f} s ({ap/c*1000:.1f} ms per label)")
    print(f"scikit-learn, the same metrics of one model, once (no replicate): {sk_s:8.3f} s")

if __name__ == '__main__': main()
