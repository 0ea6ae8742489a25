"Every threshold and ranking metric against scikit-learn in float64, streamed batch by batch, on data that hypothesis draws."
import warnings, numpy as np, pytest, torch, sklearn.metrics as skm
from hypothesis import given, settings, strategies as st, HealthCheck
from fastai_mlmetrics.all import *
from helpers import make_data, logits, stream, exact_pred

AVGS = ['micro', 'macro', 'weighted', 'samples', None]
SK = {'fbeta': lambda y,p,av,zd,beta: skm.fbeta_score(y,p,beta=beta,average=av,zero_division=zd),
      'precision': lambda y,p,av,zd,beta: skm.precision_score(y,p,average=av,zero_division=zd),
      'recall': lambda y,p,av,zd,beta: skm.recall_score(y,p,average=av,zero_division=zd),
      'jaccard': lambda y,p,av,zd,beta: skm.jaccard_score(y,p,average=av,zero_division=zd),
      'specificity': lambda y,p,av,zd,beta: skm.recall_score(1-y,1-p,average=av,zero_division=zd)}

def close(a, b, tol=1e-6):
    a = a.numpy() if isinstance(a, torch.Tensor) else a
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=tol, atol=tol)

data = st.fixed_dictionaries(dict(
    seed=st.integers(0, 2**31), n=st.integers(1, 40), c=st.integers(2, 7), bs=st.integers(1, 16),
    empty_class=st.booleans(), neg_rows=st.booleans(), pos_rows=st.booleans()))

@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(d=data, thresh=st.sampled_from([0., .25, .5, .7]), sigmoid=st.booleans(), zd=st.sampled_from([0, 1]),
       beta=st.sampled_from([1., .5, 2.]))
def test_threshold_metrics_match_sklearn(d, thresh, sigmoid, zd, beta):
    bs = d.pop('bs')
    p, y = make_data(**d)
    x = logits(p) if sigmoid else p
    pred = exact_pred(x, thresh, sigmoid)  # a logit at logit(thresh) is a tie: decided exactly, not by a rounded sigmoid
    mets = [ScoreMulti(sc, thresh, sigmoid, av, beta, zero_division=zd) for sc in SK for av in AVGS]
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        got = stream(mets, torch.tensor(x), torch.tensor(y), bs)
        for m, v in zip(mets, got): close(v, SK[m.score](y, pred, m.average, zd, beta))
        others = [AccuracyMulti(thresh, sigmoid), HammingLossMulti(thresh, sigmoid), MatthewsCorrCoefMulti(thresh, sigmoid),
                  ExactMatchMulti(thresh, sigmoid), AccuracyMulti(thresh, sigmoid, average=None)]
        acc, ham, mcc, em, acc_c = stream(others, torch.tensor(x), torch.tensor(y), bs)
    close(acc, 1-skm.hamming_loss(y, pred)); close(ham, skm.hamming_loss(y, pred))
    close(mcc, skm.matthews_corrcoef(y.ravel(), pred.ravel())); close(em, skm.accuracy_score(y, pred))
    close(acc_c, (y==pred).mean(0))

@settings(max_examples=30, deadline=None)
@given(d=data, thresh=st.sampled_from([.25, .5]))
def test_sample_weight_and_labels(d, thresh):
    bs = d.pop('bs')
    p, y = make_data(**d)
    w = np.random.default_rng(d['seed']).random(len(p))
    pred = (p > thresh).astype(int)
    labels = list(range(0, p.shape[1], 2))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        for av in AVGS:
            m1 = F1ScoreMulti(thresh, False, average=av, sample_weight=w, zero_division=0)
            m2 = PrecisionMulti(thresh, False, average=av, labels=labels, zero_division=0)
            v1, v2 = stream([m1, m2], torch.tensor(p), torch.tensor(y), bs)
            close(v1, skm.f1_score(y, pred, average=av, sample_weight=w, zero_division=0))
            close(v2, skm.precision_score(y, pred, average=av, labels=labels, zero_division=0))
        h, mc = stream([HammingLossMulti(thresh, False, sample_weight=w), MatthewsCorrCoefMulti(thresh, False, sample_weight=w)],
                       torch.tensor(p), torch.tensor(y), bs)
    close(h, skm.hamming_loss(y, pred, sample_weight=w))
    close(mc, skm.matthews_corrcoef(y.ravel(), pred.ravel(), sample_weight=np.repeat(w, y.shape[1])))

@settings(max_examples=30, deadline=None)
@given(d=data, zd=st.sampled_from([0, 1]))
def test_ignore_index(d, zd):
    "A masked entry counts as neither predicted nor true; accuracy-type metrics leave it out of the denominator."
    bs = d.pop('bs')
    p, y = make_data(**d)
    rng = np.random.default_rng(d['seed']+1)
    mask = rng.random(y.shape) < 0.2
    ym = np.where(mask, -1, y)
    pred = (p > .5).astype(int)
    pz, yz = np.where(mask, 0, pred), np.where(mask, 0, y)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        for sc in SK:
            if sc == 'specificity': continue
            for av in AVGS:
                v, = stream([ScoreMulti(sc, .5, False, av, zero_division=zd, ignore_index=-1)], torch.tensor(p), torch.tensor(ym), bs)
                close(v, SK[sc](yz, pz, av, zd, 1.))
        acc, em = stream([AccuracyMulti(.5, False, ignore_index=-1), ExactMatchMulti(.5, False, ignore_index=-1)], torch.tensor(p), torch.tensor(ym), bs)
    k = ~mask
    if k.any(): close(acc, (pred==y)[k].mean())
    close(em, ((pred==y)|mask).all(1).mean())

@settings(max_examples=40, deadline=None)
@given(d=data, sigmoid=st.booleans())
def test_ranking_metrics_match_sklearn(d, sigmoid):
    bs = d.pop('bs')
    p, y = make_data(**d)
    x = logits(p) if sigmoid else p
    w = np.random.default_rng(d['seed']).random(len(p))
    mets = [RocAucMulti(sigmoid, av) for av in AVGS] + [APScoreMulti(sigmoid, av) for av in AVGS] + \
           [APScoreMulti(sigmoid, av, sample_weight=w) for av in ('macro','weighted','micro')] + \
           [CoverageErrorMulti(sigmoid), LabelRankingAPMulti(sigmoid), RankingLossMulti(sigmoid)]
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        got = stream(mets, torch.tensor(x), torch.tensor(y), bs)
        cols = (y.min(0)==0) & (y.max(0)==1)
        rows = (y.min(1)==0) & (y.max(1)==1)
        for av, v in zip(AVGS, got[:5]):
            v = np.asarray(v.numpy() if isinstance(v, torch.Tensor) else v)
            yy, pp = (y[rows], p[rows]) if av=='samples' else (y, p) if av=='micro' else (y[:, cols], p[:, cols])
            if av=='micro' and (y.min()==y.max()): assert np.isnan(v); continue
            if yy.size==0 or (av not in ('micro','samples') and not cols.any()) or (av=='samples' and not rows.any()):
                assert np.all(np.isnan(v)); continue
            exp = skm.roc_auc_score(yy, pp, average=av)
            close(v[cols] if av is None else v, exp)
        for av, v in zip(AVGS, got[5:10]): close(v, skm.average_precision_score(y, p, average=av))
        for av, v in zip(('macro','weighted','micro'), got[10:13]): close(v, skm.average_precision_score(y, p, average=av, sample_weight=w))
    close(got[13], skm.coverage_error(y, p)); close(got[14], skm.label_ranking_average_precision_score(y, p))
    close(got[15], skm.label_ranking_loss(y, p))

@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16, torch.float32])
def test_half_precision_inputs(dtype):
    p, y = make_data(3, 50, 5)
    x = torch.tensor(logits(p)).to(dtype)
    pred = exact_pred(x.double().numpy(), .5)  # the oracle sees the same rounded logits
    for av in AVGS:
        close(F1ScoreMulti(average=av, zero_division=0)(x, torch.tensor(y)), skm.f1_score(y, pred, average=av, zero_division=0))
    close(RocAucMulti()(x, torch.tensor(y)), skm.roc_auc_score(y, x.double().numpy()), tol=1e-6)

def test_binned_ranking_is_exact_on_the_bins_and_flat_in_memory():
    p, y = make_data(5, 2000, 6, ties=False)
    m = APScoreMulti(sigmoid=False, thresholds=200)
    stream([m], torch.tensor(p), torch.tensor(y), 128)
    b = (p[..., None] > np.arange(1, 201)/201).sum(-1)  # each score's bin: probabilities, so the comparisons are exact
    close(m.value, skm.average_precision_score(y, b), tol=1e-12)
    assert abs(m.value - skm.average_precision_score(y, p)) < 0.01  # and close to the exact AP
    assert m._acc.state['h'].shape == (6, 201, 2) and not m._acc.chunks

def test_one_sample_batches_and_all_negative():
    y = np.zeros((5, 3), int); p = np.full((5, 3), .2)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        v, e = stream([F1ScoreMulti(sigmoid=False, average='samples', zero_division=1), ExactMatchMulti(sigmoid=False)], torch.tensor(p), torch.tensor(y), 1)
    close(v, skm.f1_score(y, (p>.5).astype(int), average='samples', zero_division=1)); close(e, 1.)

def test_empty_validation_gives_none_silently():
    "Nothing accumulated (learn.predict, learn.summary, an empty set): None, as fastai's AvgMetric, and no warning."
    for m in (F1ScoreMulti(average='samples'), RocAucMulti(), BrierScoreMulti(), CoverageErrorMulti(), TorchMetric(__import__('torchmetrics').classification.MultilabelF1Score)):
        m.reset()
        with warnings.catch_warnings():
            warnings.simplefilter('error')
            assert m.value is None
