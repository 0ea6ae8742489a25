"Swapping fastai's multi-label metrics for ours changes no number: both run in one real `Learner.validate`."
import warnings, numpy as np, pytest, torch
import fastai.metrics as fm
import fastai_mlmetrics.metrics as ours
from helpers import identity_learner

@pytest.fixture(scope='module')
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 8)).astype(np.float32)
    y = (rng.random((300, 8)) < 1/(1+np.exp(-2*x))).astype(np.float32)
    return x, y

CASES = [('accuracy_multi', {}), ('F1ScoreMulti', dict(average='samples')), ('F1ScoreMulti', dict(average='micro')),
         ('F1ScoreMulti', {}), ('F1ScoreMulti', dict(average='weighted')), ('FBetaMulti', dict(beta=2, average='samples')),
         ('PrecisionMulti', dict(average='samples')), ('RecallMulti', dict(average='macro', thresh=0.3)),
         ('JaccardMulti', dict(average='samples')), ('HammingLossMulti', {}), ('RocAucMulti', {}),
         ('RocAucMulti', dict(average='micro')), ('APScoreMulti', {}), ('APScoreMulti', dict(average='weighted')),
         ('BrierScoreMulti', {}), ('BrierScoreMulti', dict(thresh=None))]

def _mk(mod, name, kw): 
    f = getattr(mod, name)
    return f if name=='accuracy_multi' else f(**kw)

def test_same_values_as_fastai(data):
    x, y = data
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        theirs = identity_learner(x, y, [_mk(fm, n, kw) for n, kw in CASES], bs=50).validate()[1:]
        mine = identity_learner(x, y, [_mk(ours, n, kw) for n, kw in CASES], bs=50).validate()[1:]
    for (n, kw), a, b in zip(CASES, theirs, mine): 
        assert abs(a-b) < 1e-6, (n, kw, a, b)

def test_mcc_works_where_fastai_raises(data):
    x, y = data
    import sklearn.metrics as skm
    with pytest.raises(ValueError, match='multilabel-indicator is not supported'):  # scikit-learn's matthews_corrcoef, at epoch end
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            identity_learner(x, y, [fm.MatthewsCorrCoefMulti()]).validate()
    v = identity_learner(x, y, [ours.MatthewsCorrCoefMulti()]).validate()[1]
    assert abs(v - skm.matthews_corrcoef(y.ravel(), (x > 0).ravel())) < 1e-6

def test_class_passed_uninstantiated_works(data):
    "fastai instantiates a `Metric` class given in `metrics=`; its factory functions (e.g. its `F1ScoreMulti`) fail there instead."
    x, y = data
    a = identity_learner(x, y, [ours.F1ScoreMulti, ours.CoverageErrorMulti]).validate()[1:]
    b = identity_learner(x, y, [ours.F1ScoreMulti(), ours.CoverageErrorMulti()]).validate()[1:]
    assert a == b
