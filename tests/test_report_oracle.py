"""Every column of `multilabel_report`, in every section (the model, all negative, class prior, all positive), against scikit-learn
on the kept entries: with an `ignore_index` mask, a class with no positive, per-class thresholds, logits or probabilities."""
import math, warnings, numpy as np, pytest, torch, sklearn.metrics as skm
from fastai_mlmetrics.all import *
from helpers import make_data, logits, exact_pred
from test_oracle_weighted import rank_ref, entry_ref

GRID = np.arange(1, 102)/102
AV = ('micro', 'macro', 'weighted', 'samples')

def best_thresh(y, x, keep, sigmoid):
    "The grid threshold with the best F1 on the kept entries, ties (to 1e-12) toward the one nearest 0.5."
    f = np.array([skm.f1_score(y[keep], exact_pred(x[keep], t, sigmoid), zero_division=0) if keep.any() else 0. for t in GRID])
    cand = np.flatnonzero(f >= f.max() - 1e-12)
    return GRID[cand[np.argmin(np.abs(GRID[cand] - .5))]]

def section(x, y, mask, thresh, sigmoid):
    "The report's rows for the predictor with scores `x`, by scikit-learn: `(per-class frame data, summary rows)`."
    pred = exact_pred(x, thresh, sigmoid)
    y0, p0 = np.where(mask, 0, y), np.where(mask, 0, pred)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        prf = lambda av: dict(precision=skm.precision_score(y0, p0, average=av, zero_division=0),
                              recall=skm.recall_score(y0, p0, average=av, zero_division=0), f1=skm.f1_score(y0, p0, average=av, zero_division=0))
        per = dict(**prf(None), support=y0.sum(0), ap=rank_ref('ap', y, x, mask, None, None), auroc=rank_ref('auroc', y, x, mask, None, None))
        rows = {f'{av} avg': dict(**prf(av), support=y0.sum(), ap=rank_ref('ap', y, x, mask, None, av), auroc=rank_ref('auroc', y, x, mask, None, av))
                for av in AV}
        acc = entry_ref(y, pred, mask, None, 'micro', 'accuracy')
        rows['exact match'] = dict(value=skm.accuracy_score(np.where(mask, pred, y), pred))
        rows['label-wise accuracy'], rows['hamming loss'] = dict(value=acc), dict(value=1-acc)
    return per, rows

CASES = [dict(seed=0, n=60, c=5, masked=True, per_class=False, sigmoid=True), dict(seed=1, n=45, c=4, masked=True, per_class=True, sigmoid=False),
         dict(seed=2, n=30, c=3, masked=False, per_class=True, sigmoid=True), dict(seed=3, n=1, c=3, masked=True, per_class=False, sigmoid=True)]

@pytest.mark.parametrize('cfg', CASES)
def test_every_column_and_section(cfg):
    rng = np.random.default_rng(cfg['seed'])
    p, y = make_data(cfg['seed'], cfg['n'], cfg['c'], empty_class=True, neg_rows=True, ties=True)
    x = logits(p) if cfg['sigmoid'] else p
    mask = (rng.random(y.shape) < .2) if cfg['masked'] else np.zeros(y.shape, bool)
    thresh = rng.choice([.25, .5, .75], y.shape[1]) if cfg['per_class'] else .5
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        rep = multilabel_report(torch.tensor(x), torch.tensor(np.where(mask, -1, y)), thresh=thresh, sigmoid=cfg['sigmoid'],
                                ignore_index=-1 if cfg['masked'] else None)
    assert rep.attrs['baselines'] == ('all negative', 'class prior', 'all positive')
    kept = np.where(mask, 0, y).sum(0), (~mask).sum(0)
    prior = np.broadcast_to(kept[0]/np.maximum(kept[1], 1), y.shape)  # each class's share of positives among its kept entries
    scores = {'model': (x, cfg['sigmoid']), 'all negative': (np.zeros(y.shape), False), 'class prior': (prior, False), 'all positive': (np.ones(y.shape), False)}
    for sec, (s, sig) in scores.items():
        per, rows = section(s, y, mask, thresh, sig)
        for name, r in rows.items():
            for col, v in r.items(): np.testing.assert_allclose(rep.loc[(sec, name), col], v, rtol=0, atol=1e-9, err_msg=f'{sec} {name} {col}')
        if sec == 'model':
            for col, v in per.items(): np.testing.assert_allclose(rep.loc['class'][col].to_numpy(float), v, rtol=0, atol=1e-9, err_msg=f'class {col}')
    bt = [best_thresh(y[:, j], x[:, j], ~mask[:, j], cfg['sigmoid']) for j in range(y.shape[1])]
    np.testing.assert_allclose(rep.loc['class'].best_thresh.to_numpy(float), bt, rtol=0, atol=1e-12)
    assert rep.loc['class'].support.iloc[0] == 0 and rep.loc['class'].ap.iloc[0] == 0 and np.isnan(rep.loc['class'].auroc.iloc[0])  # the empty class
