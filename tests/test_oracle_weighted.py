"""Every metric against scikit-learn in float64 on the same entries, with sample weights (some of them zero), `labels=`, an
`ignore_index` mask, logits or probabilities, per-class thresholds and every `zero_division`: one property-based test per family.
A masked entry is left out as scikit-learn would need it: scores that ignore true negatives see it as a true negative (0, 0),
the scores of the negated labels (specificity, NPV) see it negated, and everything else drops it."""
import math, warnings, numpy as np, pytest, torch, sklearn.metrics as skm
from hypothesis import given, settings, example, strategies as st, HealthCheck
from fastai_mlmetrics.all import *
from helpers import make_data, logits, stream, exact_pred

AVGS = ['micro', 'macro', 'weighted', 'samples', None]
TOL = 1e-9

def close(a, b, msg=''):
    a = a.numpy() if isinstance(a, torch.Tensor) else a
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=TOL, atol=TOL, err_msg=msg)

def case(seed, n, c, weights, masked, labelled, per_class, sigmoid):
    "Scores, targets (masked entries set to -1), the exact decisions, weights, mask and column selection of one drawn case."
    rng = np.random.default_rng(seed)
    p, y = make_data(seed, n, c, empty_class=rng.random() < .3, neg_rows=rng.random() < .3, pos_rows=rng.random() < .3)
    x = logits(p) if sigmoid else p
    w = None
    if weights:
        w = rng.random(n)
        w[rng.random(n) < .25] = 0  # some samples weigh nothing
        if n > 1 and weights == 'ties': w[:] = np.round(w*2)/2
        if w.sum() == 0: w[0] = 1.  # scikit-learn refuses weights that are all zero
    mask = (rng.random((n, c)) < .2) if masked else np.zeros((n, c), bool)
    cols = np.sort(rng.choice(c, rng.integers(1, c+1), replace=False)) if labelled else np.arange(c)
    th = rng.choice([0., .25, .5, .75, 1.], len(cols)) if per_class else .5
    pred = exact_pred(x[:, cols], th, sigmoid)
    return x, y, np.where(mask, -1, y), w, mask, cols, th, pred

draw = dict(seed=st.integers(0, 2**31), n=st.integers(1, 30), c=st.integers(2, 6), bs=st.integers(1, 12),
            weights=st.sampled_from([None, 'random', 'ties']), masked=st.booleans(), labelled=st.booleans(),
            per_class=st.booleans(), sigmoid=st.booleans())

def wavg(v, wts):
    "Our rule for a weighted mean of per-class (or per-sample) values: NaN skipped, all-zero weights give the plain mean (scikit-learn's `_nanaverage`)."
    v, wts = np.asarray(v, float), np.asarray(wts, float)
    k = ~np.isnan(v)
    if not k.any(): return math.nan
    return np.average(v[k], weights=wts[k]) if wts[k].sum() > 0 else v[k].mean()

SK = {'fbeta': lambda y, p, **k: skm.fbeta_score(y, p, beta=2., **k), 'f1': skm.f1_score, 'precision': skm.precision_score,
      'recall': skm.recall_score, 'jaccard': skm.jaccard_score,
      'specificity': lambda y, p, **k: skm.recall_score(1-y, 1-p, **k), 'npv': lambda y, p, **k: skm.precision_score(1-y, 1-p, **k)}

def ref_score(kind, y, pred, mask, w, av, zd, cols):
    """scikit-learn's score on the kept entries of the columns `cols` (its own `labels=`, on all columns, so that one column stays
    multi-label): a masked entry becomes a true negative of the labels the score is about."""
    full = np.zeros_like(y); full[:, cols] = pred
    neg = kind in ('specificity', 'npv')
    y0, p0 = (np.where(mask, 1, y), np.where(mask, 1, full)) if neg else (np.where(mask, 0, y), np.where(mask, 0, full))
    return SK[kind](y0, p0, average=av, sample_weight=w, zero_division=zd, labels=cols)

def ours_score(kind, th, sigmoid, av, cols, w, zd, c):
    sc, beta = {'f1': ('fbeta', 1.), 'fbeta': ('fbeta', 2.)}.get(kind, (kind, 1.))
    return ScoreMulti(sc, th, sigmoid, av, beta, labels=None if len(cols) == c else cols, sample_weight=w, zero_division=zd, ignore_index=-1)

@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(**draw, zd=st.sampled_from([0, 1, math.nan, 'warn']))
@example(seed=1, n=12, c=4, bs=5, weights='random', masked=True, labelled=True, per_class=True, sigmoid=True, zd=math.nan)
@example(seed=2, n=1, c=3, bs=1, weights=None, masked=True, labelled=False, per_class=False, sigmoid=False, zd=1)
def test_scores_weighted_masked(seed, n, c, bs, weights, masked, labelled, per_class, sigmoid, zd):
    x, y, ym, w, mask, cols, th, pred = case(seed, n, c, weights, masked, labelled, per_class, sigmoid)
    mets = [ours_score(k, th, sigmoid, av, cols, w, zd, c) for k in SK for av in AVGS]
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        got = stream(mets, torch.tensor(x), torch.tensor(ym), bs)
        for m, v, (k, av) in zip(mets, got, [(k, av) for k in SK for av in AVGS]):
            if k == 'jaccard' and zd != zd: continue  # scikit-learn's jaccard_score takes no zero_division=nan
            close(v, ref_score(k, y, pred, mask, w, av, zd, cols), f'{k} {av}')

def entry_ref(y, pred, mask, w, av, kind):
    "Label-wise accuracy or Hamming loss on the kept entries: scikit-learn per class, on all kept entries for `micro`."
    n, c = y.shape
    W = np.broadcast_to((np.ones(n) if w is None else w)[:, None], y.shape)
    f = skm.accuracy_score if kind == 'accuracy' else skm.hamming_loss
    def one(k): return f(y[k], pred[k], sample_weight=W[k]) if k.any() and W[k].sum() > 0 else math.nan  # 1-D: the kept entries
    if av == 'micro': return one(~mask)
    per = np.array([one(~mask & (np.arange(c) == j)) for j in range(c)])
    if av is None: return per
    pos = ((y == 1) & ~mask).T @ W[:, 0]  # each class's weighted positives
    return wavg(per, np.ones(c) if av == 'macro' else pos)

@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(**draw)
@example(seed=3, n=9, c=3, bs=4, weights='random', masked=True, labelled=True, per_class=True, sigmoid=True)
def test_count_metrics_weighted_masked(seed, n, c, bs, weights, masked, labelled, per_class, sigmoid):
    x, y, ym, w, mask, cols, th, pred = case(seed, n, c, weights, masked, labelled, per_class, sigmoid)
    ys, ms = y[:, cols], mask[:, cols]
    lb = None if len(cols) == c else cols
    kw = dict(labels=lb, sample_weight=w, ignore_index=-1)
    mets = [AccuracyMulti(th, sigmoid, av, **kw) for av in ('micro', 'macro', 'weighted', None)]
    mets += [HammingLossMulti(th, sigmoid, average=av, **kw) for av in ('micro', 'macro', 'weighted', None)]
    mets += [ExactMatchMulti(th, sigmoid, **kw), MatthewsCorrCoefMulti(th, sigmoid, **kw)]
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        got = stream(mets, torch.tensor(x), torch.tensor(ym), bs)
    for v, av in zip(got[:4], ('micro', 'macro', 'weighted', None)): close(v, entry_ref(ys, pred, ms, w, av, 'accuracy'), f'accuracy {av}')
    for v, av in zip(got[4:8], ('micro', 'macro', 'weighted', None)): close(v, entry_ref(ys, pred, ms, w, av, 'hamming'), f'hamming {av}')
    W = np.ones(n) if w is None else w
    # exact match: a masked entry cannot break a sample's match
    close(got[8], skm.accuracy_score(np.where(ms, pred, ys), pred, sample_weight=W) if W.sum() > 0 else math.nan, 'exact match')
    k = ~ms
    Wk = np.broadcast_to(W[:, None], ys.shape)[k]
    mcc = skm.matthews_corrcoef(ys[k], pred[k], sample_weight=Wk) if k.any() and Wk.sum() > 0 else 0.
    close(got[9], 0. if np.isnan(mcc) else mcc, 'mcc')

def rank_ref(kind, y, x, mask, w, av, max_fpr=None):
    "AUROC (partial up to `max_fpr`) or AP (`kind`) from scikit-learn on the kept entries of positive weight, per label, per sample, or all at once."
    n, c = y.shape
    W = np.ones(n) if w is None else w
    keep = ~mask & (W[:, None] > 0)
    def one(yy, xx, ww):
        if kind == 'ap': return skm.average_precision_score(yy, xx, sample_weight=ww) if yy.sum() > 0 else 0.
        return skm.roc_auc_score(yy, xx, sample_weight=ww, max_fpr=max_fpr) if 0 < yy.sum() < len(yy) else math.nan
    if av == 'micro':
        k = keep
        return one(y[k], x[k], np.broadcast_to(W[:, None], y.shape)[k]) if k.any() else (0. if kind == 'ap' else math.nan)
    if av == 'samples':
        per = np.array([one(y[i, keep[i]], x[i, keep[i]], None) if keep[i].any() else (0. if kind == 'ap' else math.nan) for i in range(n)])
        return wavg(per, W)
    per = np.array([one(y[keep[:, j], j], x[keep[:, j], j], W[keep[:, j]]) if keep[:, j].any() else (0. if kind == 'ap' else math.nan)
                    for j in range(c)])
    if av is None: return per
    pos = np.array([(W*((y[:, j] == 1) & ~mask[:, j])).sum() for j in range(c)])
    return wavg(per, np.ones(c) if av == 'macro' else pos)

@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(**draw)
@example(seed=4, n=14, c=4, bs=3, weights='random', masked=True, labelled=False, per_class=False, sigmoid=True)
@example(seed=5, n=10, c=3, bs=10, weights='ties', masked=False, labelled=False, per_class=False, sigmoid=False)
def test_ranking_weighted_masked(seed, n, c, bs, weights, masked, labelled, per_class, sigmoid):
    x, y, ym, w, mask, *_ = case(seed, n, c, weights, masked, False, False, sigmoid)
    mets = [RocAucMulti(sigmoid, av, sample_weight=w, ignore_index=-1) for av in AVGS]
    mets += [APScoreMulti(sigmoid, av, sample_weight=w, ignore_index=-1) for av in AVGS]
    mets += [k(sigmoid, ignore_index=-1, sample_weight=w) for k in (CoverageErrorMulti, LabelRankingAPMulti, RankingLossMulti)]
    mets += [RocAucMulti(sigmoid, av, sample_weight=w, max_fpr=.3, ignore_index=-1) for av in AVGS]  # partial AUROC (McClish)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        got = stream(mets, torch.tensor(x), torch.tensor(ym), bs)
        for v, av in zip(got[:5], AVGS): close(v, rank_ref('auroc', y, x, mask, w, av), f'auroc {av}')
        for v, av in zip(got[5:10], AVGS): close(v, rank_ref('ap', y, x, mask, w, av), f'ap {av}')
        for v, av in zip(got[13:], AVGS): close(v, rank_ref('auroc', y, x, mask, w, av, .3), f'partial auroc {av}')
    got = got[:13]
    # the label-ranking metrics rank each sample's kept labels; a sample with none kept is trivial (coverage 0, LRAP 1, loss 0).
    # scikit-learn takes one sample at a time; a sample with one kept label is padded with a negative one below every score, which
    # changes none of the three there, so that it still makes a multi-label row
    W, low = (np.ones(n) if w is None else w), x.min()-1
    def row(f, i):
        k = ~mask[i]
        yy, xx = (y[i, k], x[i, k]) if k.sum() > 1 else (np.r_[y[i, k], 0], np.r_[x[i, k], low])
        return f(yy[None], xx[None])
    for v, f, triv in zip(got[10:], (skm.coverage_error, skm.label_ranking_average_precision_score, skm.label_ranking_loss), (0., 1., 0.)):
        per = [row(f, i) if (~mask[i]).any() else triv for i in range(n)]
        close(v, np.average(per, weights=W) if W.sum() > 0 else math.nan, f.__name__)

@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31), n=st.integers(1, 30), c=st.integers(2, 6), bs=st.integers(1, 12), masked=st.booleans(),
       sigmoid=st.booleans(), T=st.sampled_from([3, 10, [.2, .5, .5001, .9]]))
def test_binned_ranking_is_scikit_learn_on_the_bins(seed, n, c, bs, masked, sigmoid, T):
    "Binned AUROC/AP are exactly scikit-learn's on each score's bin: how many grid thresholds its probability exceeds."
    x, y, ym, _, mask, *_ = case(seed, n, c, None, masked, False, False, sigmoid)
    grid = [k/(T+1) for k in range(1, T+1)] if isinstance(T, int) else T
    b = sum(exact_pred(x, t, sigmoid) for t in grid).astype(float)
    mets = [RocAucMulti(sigmoid, av, thresholds=T, ignore_index=-1) for av in ('macro', 'weighted', None)]
    mets += [APScoreMulti(sigmoid, av, thresholds=T, ignore_index=-1) for av in ('macro', 'weighted', None)]
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        got = stream(mets, torch.tensor(x), torch.tensor(ym), bs)
        for v, av in zip(got[:3], ('macro', 'weighted', None)): close(v, rank_ref('auroc', y, b, mask, None, av), f'auroc {av}')
        for v, av in zip(got[3:], ('macro', 'weighted', None)): close(v, rank_ref('ap', y, b, mask, None, av), f'ap {av}')
