"""The sweep's table on its default grid (101 thresholds k/102), with float32 or float64 logits or probabilities that sit exactly on the thresholds' cuts,
against scikit-learn at every threshold and for every column, the decisions taken in exact arithmetic (mpmath)."""
import warnings, numpy as np, pytest, torch, sklearn.metrics as skm
from hypothesis import given, settings, example, strategies as st, HealthCheck
from fastai_mlmetrics.core import cutoff
from fastai_mlmetrics.sweep import SweepStats, sweep_metrics
from helpers import exact_pred

GRID = np.arange(1, 102)/102

def sk_columns(y, pred, mask):
    "Every sweep column at one threshold, from scikit-learn; masked entries are neither true nor predicted, and label-wise accuracy skips them."
    yz, pz, k = np.where(mask, 0, y), np.where(mask, 0, pred), ~mask
    out = {f'{s}_{av}': f(yz, pz, average=av, zero_division=0) for s, f in (('f1', skm.f1_score), ('precision', skm.precision_score),
                                                                          ('recall', skm.recall_score)) for av in ('samples', 'micro', 'macro')}
    out['exact_match'] = skm.accuracy_score(np.where(mask, pred, y), pred)
    out['hamming'] = skm.hamming_loss(y[k], pred[k]) if k.any() else np.nan
    out['accuracy'] = skm.accuracy_score(y[k], pred[k]) if k.any() else np.nan
    return out

@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31), n=st.integers(1, 25), c=st.integers(2, 5), bs=st.integers(1, 10), masked=st.booleans(),
       on_cuts=st.floats(0, 1), sigmoid=st.booleans(), double=st.booleans())
@example(seed=0, n=20, c=4, bs=3, masked=True, on_cuts=.5, sigmoid=True, double=False)
@example(seed=1, n=25, c=3, bs=25, masked=False, on_cuts=.9, sigmoid=False, double=True)
@example(seed=2, n=25, c=3, bs=4, masked=False, on_cuts=.9, sigmoid=False, double=False)
def test_table_matches_sklearn_on_the_default_grid(seed, n, c, bs, masked, on_cuts, sigmoid, double):
    rng = np.random.default_rng(seed)
    dt, tdt = (np.float64, torch.float64) if double else (np.float32, torch.float32)
    x = (rng.normal(0, 2, (n, c)) if sigmoid else rng.random((n, c))).astype(dt)
    # a share of the scores sit exactly on a threshold's cut in their dtype, or one step above it: the ties that break a rounded sigmoid
    cuts = np.array([cutoff(t, sigmoid, tdt) for t in GRID], dt)
    tie = rng.random((n, c)) < on_cuts
    at = cuts[rng.integers(0, len(cuts), (n, c))]
    x = np.where(tie, np.where(rng.random((n, c)) < .5, at, np.nextafter(at, dt(np.inf))), x)
    y = (rng.random((n, c)) < (1/(1+np.exp(-x)) if sigmoid else x)).astype(int)
    y[:, 0] = 0 if c > 2 else y[:, 0]  # an empty class
    mask = (rng.random((n, c)) < .2) if masked else np.zeros((n, c), bool)
    st_ = SweepStats(101, sigmoid, -1 if masked else None)
    for i in range(0, n, bs): st_.update(torch.tensor(x[i:i+bs]), torch.tensor(np.where(mask, -1, y)[i:i+bs]))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        tab = st_.table()
        np.testing.assert_array_equal(tab.threshold.to_numpy(), GRID)
        for k, t in enumerate(GRID):
            exp = sk_columns(y, exact_pred(x, t, sigmoid), mask)
            for m in sweep_metrics: np.testing.assert_allclose(tab[m].iloc[k], exp[m], rtol=0, atol=1e-12, err_msg=f'{m} at {t}')

@pytest.mark.parametrize('bs', [(20000, 20000), (40000,), (32767, 1, 32767, 5)])
def test_counts_past_int16_match_sklearn(bs):
    "40,000 to 65,000 samples whose scores tie in a few bins, in batches that fill the CPU's int16 fold table past its limit together, alone, or to it: every column equals scikit-learn's at every threshold."
    rng, n = np.random.default_rng(len(bs)), sum(bs)
    x = rng.choice(np.array([-1., 0., .5], np.float32), (n, 2), p=[.04, .92, .04])  # most entries in one bin, of one class and one target
    y = (rng.random((n, 2)) < .95).astype(int)
    st_, ths = SweepStats([.3, .5, .6]), np.array([.3, .5, .6])
    i = 0
    for b in bs: st_.update(torch.tensor(x[i:i+b]), torch.tensor(y[i:i+b])); i += b
    tab = st_.table()
    assert st_.h.max() > 2**15  # a histogram count past int16's range
    for k, t in enumerate(ths):
        exp = sk_columns(y, 1/(1+np.exp(-x.astype(np.float64))) > t, np.zeros((n, 2), bool))  # no probability lies near a threshold but .5 (exactly)
        for m in sweep_metrics: np.testing.assert_allclose(tab[m].iloc[k], exp[m], rtol=0, atol=1e-12, err_msg=f'{m} at {t}')
