"Every torchmetrics `Multilabel*` class through a real `Learner.validate`: a number in the epoch table, or a clear refusal."
import inspect, re, warnings, numpy as np, pytest, torch, torchmetrics.classification as tmc
from fastai_mlmetrics.all import TorchMetric
from helpers import identity_learner, logits

NAMES = sorted(n for n in dir(tmc) if n.startswith('Multilabel') and isinstance(getattr(tmc, n), type))
REFUSED = {'MultilabelROC', 'MultilabelPrecisionRecallCurve', 'MultilabelConfusionMatrix', 'MultilabelStatScores'}
NEEDS = {'beta': 2., 'min_precision': .5, 'min_recall': .5, 'min_sensitivity': .5, 'min_specificity': .5}

def _required(cls):
    return [p for p, v in inspect.signature(cls.__init__).parameters.items() if v.default is inspect.Parameter.empty
            and v.kind not in (v.VAR_POSITIONAL, v.VAR_KEYWORD) and p not in ('self', 'num_labels')]

def _data():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(120, 5, generator=g)
    return x, (torch.rand(120, 5, generator=g) < torch.sigmoid(x)).float()

def test_the_list_is_complete():
    assert len(NAMES) >= 26 and REFUSED <= set(NAMES)

@pytest.mark.parametrize('name', NAMES)
def test_through_a_learner(name):
    cls = getattr(tmc, name)
    if name in REFUSED:
        with pytest.raises(ValueError, match='not one number per epoch'): TorchMetric(cls)
        return
    kw = {p: NEEDS[p] for p in _required(cls)}
    if kw:
        with pytest.raises(TypeError, match=f'{name} needs {next(iter(kw))}'): TorchMetric(cls)
    x, y = _data()
    m = TorchMetric(cls, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        learn = identity_learner(x, y, [m], bs=32)
        with learn.no_bar(): res = learn.validate()
        # torchmetrics' own value on the same probabilities, all at once, reduced by the documented rule
        ref = cls(num_labels=5, **kw); ref.update(x.double().sigmoid(), y.long()); full = ref.compute()
    assert isinstance(res[1], float) and np.isfinite(res[1])
    v = full[0] if isinstance(full, tuple) else full
    np.testing.assert_allclose(res[1], v.double().nanmean().item(), rtol=1e-6, atol=1e-9)
    assert m.name in learn.recorder.metric_names and m.name == re.sub("_+", "_", m.name)

def _masked():
    "Probabilities on a 1/8 grid (ties at 0.5), 0/1 targets, and the same targets with -1 entries to mask."
    rng = np.random.default_rng(1)
    p = rng.integers(0, 9, (90, 5))/8
    y = (rng.random((90, 5)) < .4).astype(np.int64)
    return p, y, np.where(rng.random(y.shape) < .2, -1, y)

def test_mask_probabilities_and_names():
    "`ignore_index` reaches torchmetrics, `sigmoid=False` takes probabilities (ties at the threshold predict negative), and the names."
    from sklearn.metrics import f1_score
    p, y, ym = _masked()
    m = TorchMetric(tmc.MultilabelF1Score, sigmoid=False, ignore_index=-1, average='macro')
    v = m(torch.tensor(p, dtype=torch.float32), torch.tensor(ym))
    want = np.mean([f1_score(ym[ym[:, j] != -1, j], (p[ym[:, j] != -1, j] > .5).astype(int)) for j in range(5)])
    np.testing.assert_allclose(v, want, rtol=1e-6)
    assert m.name == 'multilabel_f1_score' and TorchMetric(tmc.MultilabelAUROC, name='auc').name == 'auc'
    from fastai_mlmetrics.metrics import _snake
    assert [_snake(n) for n in ('MultilabelHammingDistance', 'MultilabelAUROC')] == ['multilabel_hamming_distance', 'multilabel_auroc']
    a = TorchMetric(tmc.MultilabelAccuracy)(torch.tensor(logits(p)), torch.tensor(y))
    np.testing.assert_allclose(a, np.mean((p > .5) == y), rtol=1e-6)

def test_masked_auroc_through_a_learner():
    "A mask changes a ranking metric where it leaves counts alone: `TorchMetric(MultilabelAUROC, ignore_index=-1)` in a `Learner` gives scikit-learn's AUROC on the kept entries of each label."
    from sklearn.metrics import roc_auc_score
    p, y, ym = _masked()
    learn = identity_learner(torch.tensor(logits(p)), torch.tensor(ym), [TorchMetric(tmc.MultilabelAUROC, ignore_index=-1, average='macro')], bs=32)
    v = learn.validate()[1]
    want = np.mean([roc_auc_score(ym[ym[:, j] != -1, j], p[ym[:, j] != -1, j]) for j in range(5)])
    unmasked = np.mean([roc_auc_score((ym[:, j] == 1).astype(int), p[:, j]) for j in range(5)])  # the mask read as negatives
    assert abs(want-unmasked) > 1e-3
    np.testing.assert_allclose(v, want, rtol=1e-6)

def test_an_instance_and_its_labels():
    "An instance is used as built (its arguments check nothing more per batch); a different number of labels is refused."
    import pickle
    p, y, _ = _masked()
    x, t = torch.tensor(p, dtype=torch.float32), torch.tensor(y)
    inst = tmc.MultilabelF1Score(num_labels=5, average='micro')
    m = TorchMetric(inst, sigmoid=False)
    assert m.m is inst and inst.validate_args is False
    from sklearn.metrics import f1_score
    np.testing.assert_allclose(m(x, t), f1_score(y, (p > .5).astype(int), average='micro'), rtol=1e-6)
    with pytest.raises(ValueError, match=r"multilabel_f1_score was built for 5 labels, but the inputs have 4: use a new TorchMetric"):
        m.reset(); m.update(x[:, :4], t[:, :4])
    # what export.pkl would hold: no batch's state; a class is rebuilt at the next first batch, an instance is kept, reset
    k = TorchMetric(tmc.MultilabelF1Score); k(x, t); m(x, t)
    for a in (k, m):
        b = pickle.loads(pickle.dumps(a))
        assert b.flags is None and b.result is None and b._soft is None
        assert (b.m is None) if a is k else (b.m is not a.m and b.m is b.tm and int(b.m.tp.sum()) == 0)
    assert m.m is inst and int(inst.tp.sum()) > 0  # pickling changed nothing in the live metric

def test_bad_values_named():
    "NaN scores, targets that are not 0/1, and probabilities outside [0,1] with sigmoid=False: errors that name them."
    p, y, _ = _masked()
    x, t = torch.tensor(p, dtype=torch.float32), torch.tensor(y)
    bad = x.clone(); bad[3, 1] = float('nan')
    with pytest.raises(ValueError, match='predictions contain NaN'): TorchMetric(tmc.MultilabelF1Score)(bad, t)
    with pytest.raises(ValueError, match='targets'): TorchMetric(tmc.MultilabelF1Score)(x, t*2)
    with pytest.raises(ValueError, match=r'outside \[0,1\]'): TorchMetric(tmc.MultilabelF1Score, sigmoid=False)(x*3, t)
    with pytest.raises(TypeError, match=r"MultilabelFBetaScore needs beta: pass it to TorchMetric, e.g. TorchMetric\(MultilabelFBetaScore, beta=...\)"):
        TorchMetric(tmc.MultilabelFBetaScore)
