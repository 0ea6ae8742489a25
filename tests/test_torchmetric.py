"Every torchmetrics `Multilabel*` class through a real `Learner.validate`: a number in the epoch table, or a clear refusal."
import inspect, re, warnings, numpy as np, pytest, torch, torchmetrics.classification as tmc
from fastai_mlmetrics.all import TorchMetric
from helpers import identity_learner

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
