"ThresholdSweep against scikit-learn at every threshold, and under deterministic algorithms."
import warnings, numpy as np, torch, sklearn.metrics as skm
from hypothesis import given, settings, strategies as st
from fastai_mlmetrics.all import *
from fastai_mlmetrics.sweep import SweepStats
from fastai_mlmetrics.stats import bincount_nosync
from helpers import make_data

@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31), n=st.integers(1, 40), c=st.integers(2, 6), bs=st.integers(1, 16),
       empty_class=st.booleans(), neg_rows=st.booleans(), masked=st.booleans())
def test_sweep_matches_sklearn_at_every_threshold(seed, n, c, bs, empty_class, neg_rows, masked):
    p, y = make_data(seed, n, c, empty_class=empty_class, neg_rows=neg_rows)  # 1/8 grid: ties at the bin edges .25/.5/.75
    mask = (np.random.default_rng(seed).random(y.shape) < .2) if masked else np.zeros(y.shape, bool)
    ths = [.125, .25, .4, .5, .75]
    ss = SweepStats(ths, sigmoid=False, ignore_index=-1 if masked else None)
    yt = np.where(mask, -1, y)
    for i in range(0, n, bs): ss.update(torch.tensor(p[i:i+bs]), torch.tensor(yt[i:i+bs]))
    tab = ss.table()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        for i, t in enumerate(ths):
            pr = (p > t).astype(int)
            pz, yz = np.where(mask, 0, pr), np.where(mask, 0, y)  # masked: neither predicted nor true
            for av in ('samples', 'micro', 'macro'):
                assert abs(tab[f'f1_{av}'][i] - skm.f1_score(yz, pz, average=av, zero_division=0)) < 1e-9
                assert abs(tab[f'precision_{av}'][i] - skm.precision_score(yz, pz, average=av, zero_division=0)) < 1e-9
                assert abs(tab[f'recall_{av}'][i] - skm.recall_score(yz, pz, average=av, zero_division=0)) < 1e-9
            if (~mask).any(): assert abs(tab.accuracy[i] - (pr == y)[~mask].mean()) < 1e-9
            assert abs(tab.exact_match[i] - ((pr == y) | mask).all(1).mean()) < 1e-9

def test_sweep_under_deterministic_algorithms():
    p, y = make_data(1, 500, 20, ties=False)
    prev = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        ss = SweepStats(101, sigmoid=False)
        ss.update(torch.tensor(p), torch.tensor(y))
        tab = ss.table()
        i = torch.randint(0, 50, (10000,))  # the scatter-add that GPUs use instead of bincount
        assert torch.equal(bincount_nosync(i, 60, scatter=True), torch.bincount(i, minlength=60))
    finally: torch.use_deterministic_algorithms(prev)
    assert ss.h.numel() == 20*102*2
    assert abs(tab.f1_micro[50] - skm.f1_score(y, (p > tab.threshold[50]).astype(int), average='micro')) < 1e-9

def test_sweep_state_does_not_grow_with_samples():
    "Folds and bootstrap sums included: O(K·C·T + K·R·T) whatever the number of samples."
    ss = SweepStats(51, sigmoid=False, folds=5, boot=20, monitor='f1_micro')
    for seed in range(5):
        p, y = make_data(seed, 200, 8, ties=False)
        ss.update(torch.tensor(p), torch.tensor(y))
        assert ss.h.numel() == 5*8*52*2 and ss.s.numel() == 5*4*51 and ss.b.numel() == 5*20*3*51 and ss.bn.numel() == 5*20

def test_half_and_bfloat16_tables_match_sklearn():
    "Half-precision logits are upcast before the sigmoid: the table is scikit-learn's on the rounded logits, decided exactly."
    from test_sweep_grid import sk_columns
    from helpers import exact_pred
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(60, 5, generator=g)*3, (torch.rand(60, 5, generator=g) < .3).float()
    x[:5] = 0  # a logit of 0 is exactly the cut of 0.5
    for dt in (torch.float16, torch.bfloat16):
        ss = SweepStats(25); ss.update(x.to(dt), y)
        tab, xr = ss.table(), x.to(dt).double().numpy()
        for k, t in enumerate(tab.threshold):
            exp = sk_columns(y.numpy().astype(int), exact_pred(xr, t), np.zeros(x.shape, bool))
            for m, v in exp.items(): assert abs(tab[m].iloc[k] - v) <= 1e-12, (dt, m, t)

def _fit(cbs, metrics=()):
    import tempfile
    from helpers import identity_learner
    g = torch.Generator().manual_seed(1)
    x = torch.randn(200, 6, generator=g); y = (torch.rand(200, 6, generator=g) < torch.sigmoid(2*x-1)).float()
    d = tempfile.mkdtemp()
    learn = identity_learner(x, y, list(metrics), bs=32, cbs=cbs, path=d)
    from fastai.losses import BCEWithLogitsLossFlat
    learn.loss_func = BCEWithLogitsLossFlat()
    with learn.no_bar(), learn.no_logging(): learn.fit(3, 1e-2)
    return learn

from fastai.callback.core import Callback
class Capture(Callback):
    "Each epoch's validation logits and targets."
    def before_fit(self): self.epochs = []
    def before_validate(self): self.epochs.append(([], []))
    def after_batch(self):
        if not self.training: self.epochs[-1][0].append(self.learn.pred.detach().numpy()); self.epochs[-1][1].append(self.learn.y.numpy())
    def after_validate(self): self.epochs[-1] = (np.concatenate(self.epochs[-1][0]), np.concatenate(self.epochs[-1][1]).astype(int))

def test_recorder_columns_feed_csvlogger_and_early_stopping():
    from fastai.callback.tracker import EarlyStoppingCallback
    from fastai.callback.progress import CSVLogger
    import pandas as pd
    sw, cap = ThresholdSweep(21, monitor='f1_micro'), Capture()
    learn = _fit([sw, cap, CSVLogger(), EarlyStoppingCallback(monitor='f1_micro_best', patience=5)], [F1ScoreMulti(average='micro')])
    assert learn.recorder.metric_names[-4:] == ['f1_micro_best', 'f1_micro_cv', 'best_thresh', 'time']
    log = pd.read_csv(learn.path/'history.csv')
    assert list(log.columns[-4:]) == ['f1_micro_best', 'f1_micro_cv', 'best_thresh', 'time'] and len(log) == 3
    assert np.allclose(log.f1_micro_cv, sw.best.f1_micro_cv) and len(sw.history) == 3*21
    # each epoch's best over the grid, and its threshold, from scikit-learn on that epoch's validation predictions
    import sklearn.metrics as skm
    grid = np.arange(1, 22)/22
    for e, (p, yv) in enumerate(cap.epochs):
        f = np.array([skm.f1_score(yv, (p > np.log(t/(1-t))).astype(int), average='micro', zero_division=0) for t in grid])
        i = np.flatnonzero(f >= f.max() - 1e-12)
        assert abs(log.f1_micro_best[e] - f.max()) < 1e-12 and log.best_thresh[e] == grid[i[np.argmin(abs(grid[i] - .5))]]
        assert abs(log.f1_micro[e] - f[10]) < 1e-12  # 0.5 is on the grid (11/22): the F1 metric's column

def test_add_to_recorder_false_adds_no_column():
    sw = ThresholdSweep(11, add_to_recorder=False)
    learn = _fit([sw])
    assert 'best_thresh' not in learn.recorder.metric_names and len(sw.history) == 3*11

def test_unknown_metric_is_refused():
    import pytest
    with pytest.raises(ValueError, match='unknown sweep metric'): ThresholdSweep(metrics=('f2_samples',))

def test_bad_folds_and_shrink_are_refused():
    import pytest
    with pytest.raises(ValueError, match='folds must be at least 2'): ThresholdSweep(folds=1)
    with pytest.raises(ValueError, match='shrink is a count of pseudo-positives'): ThresholdSweep(shrink=-1)
    with pytest.raises(ValueError, match='shrink is a count of pseudo-positives'): ThresholdSweep(shrink=float('nan'))
