"""The cost of certified operating points, which `operating_points` computes on demand (nothing in the per-batch path): the
certification on all folds and on each fold's complement, and the notes of the classes left uncertified, on per-fold counts
like the sweep's (5 folds, 101 thresholds) at 1,000 and 20,000 classes.

    python benchmarks/bench_choose.py
"""
import time, warnings
import numpy as np

def counts(C, K=5, T=101, n=4000, seed=0):
    "Per-fold counts `[K,C,T]` of random, monotone curves with 0 to 59 positives a class: no class reaches precision 0.8 with confidence, the notes' worst case."
    rng = np.random.default_rng(seed)
    pos = rng.integers(0, 60, (K, C, 1)); neg = n - pos
    tp = np.sort(rng.binomial(pos, rng.random((K, C, T))), -1)[..., ::-1]
    fp = np.sort(rng.binomial(neg, rng.random((K, C, T))*.02), -1)[..., ::-1]
    return tp, fp, pos - tp, neg - fp

def main():
    warnings.simplefilter('ignore')
    from fastai_mlmetrics.choose import certified_points, needed
    for C in (1000, 20000):
        c = counts(C)
        pool, oth = tuple(a.sum(0) for a in c), tuple(a.sum(0, keepdims=True) - a for a in c)
        t = time.perf_counter(); sel = certified_points(*pool, 'precision', .8)[0]; certified_points(*oth, 'precision', .8); t1 = time.perf_counter() - t
        t = time.perf_counter(); needed(*(a[sel < 0] for a in pool), 'precision', .8); t2 = time.perf_counter() - t
        print(f"C={C:>6,}: certify (all folds and each fold's complement) {t1:6.2f} s; notes for the {int((sel < 0).sum()):,} uncertified classes {t2:6.2f} s")

if __name__ == '__main__': main()
