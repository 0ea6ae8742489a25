"""fastai's edge cases as a fastai user meets them: thresholds of 1, one sample's vectors, soft targets under MixUp and label
smoothing, fastai's column names in trackers, `check_metrics` on a list, single-label targets, empty batches, and the averages
torchmetrics offers."""
import warnings, numpy as np, pytest, torch
import sklearn.metrics as skm
import torchmetrics.functional.classification as tmf
import fastai.metrics as fm
from fastai.callback.tracker import SaveModelCallback, EarlyStoppingCallback
from fastai.callback.mixup import MixUp
from fastai_mlmetrics.all import *
from fastai_mlmetrics.sweep import SweepStats
from helpers import FakeLearn, stream, identity_learner
from test_workflows import learner, fit, quiet, _data

def test_threshold_one_predicts_nothing_everywhere(tmp_path):
    "thresh=1 is a real threshold, as in fastai: a loop over torch.linspace(0, 1, 11) runs to the end."
    x, y = _data()
    for t in torch.linspace(0, 1, 11).tolist():  # fastai's own accuracy_multi, at every threshold of the loop
        assert accuracy_multi(x.sigmoid(), y, thresh=t, sigmoid=False).item() == pytest.approx(fm.accuracy_multi(x.sigmoid(), y, thresh=t, sigmoid=False).item())
    assert accuracy_multi(x, y, thresh=1.).item() == pytest.approx(1 - y.mean().item())
    learn = learner(tmp_path, metrics=[F1ScoreMulti(thresh=1., zero_division=0), PrecisionMulti(thresh=1., average='micro', zero_division=0),
                                       RecallMulti(thresh=[.5, 1, 1, .5, 1.], average='macro', zero_division=0)])
    with learn.no_bar(): res = quiet(learn.validate, cbs=[ThresholdSweep(thresholds=[.5, 1.], add_to_recorder=False)])
    assert res[1:3] == [0., 0.]  # nothing predicted: every F1 and the micro precision are 0 (zero_division)
    p = (x.numpy() > 0) & np.array([1, 0, 0, 1, 0], bool)  # the model's logits are x: per-class thresholds of 1 predict nothing
    assert res[3] == pytest.approx(skm.recall_score(y.numpy(), p, average='macro', zero_division=0))
    np.testing.assert_allclose(RecallMulti(thresh=[.5, 1, 1, .5, 1.], average=None, zero_division=0)(x, y).numpy(), skm.recall_score(y.numpy(), p, average=None, zero_division=0))

def test_one_samples_vectors_as_fastai():
    "The plain function takes what fastai's takes (one sample's vectors from `predict`); the classes ask for 2-D, with the hint."
    x, y = _data(3)
    assert accuracy_multi(x[0], y[0]).item() == pytest.approx(fm.accuracy_multi(x[0], y[0]).item())
    with pytest.raises(ValueError, match=r'x\[None\] for one sample'): F1ScoreMulti()(x[0], y[0])

def test_single_label_targets_are_named(tmp_path):
    x, _ = _data(40)
    with pytest.raises(ValueError, match="targets look single-label.*MultiCategoryBlock"): F1ScoreMulti()(x, torch.randint(0, 5, (40,)))
    sw = ThresholdSweep(add_to_recorder=False)
    sw.learn = FakeLearn(); sw.learn.pred, sw.learn.y = x, torch.randint(0, 5, (40,))
    sw._active, sw.training = True, False
    with pytest.raises(ValueError, match="^ThresholdSweep: the targets look single-label"): sw.after_batch()

def test_mixup_and_label_smoothing_with_train_metrics(tmp_path):
    "Soft training targets never stop a fit: the training columns score the dominant label, with one warning naming the cause."
    ms = [F1ScoreMulti(average='samples'), AccuracyMulti(), APScoreMulti(), TorchMetric(__import__('torchmetrics').classification.MultilabelAccuracy)]
    learn = learner(tmp_path, metrics=ms, cbs=[MixUp()])
    learn.recorder.train_metrics = True
    with learn.no_bar(), learn.no_logging(), warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        learn.fit(2)
    soft = [str(m.message) for m in w if 'MixUp, CutMix or label smoothing' in str(m.message)]
    assert soft and all('dominant label' in s for s in soft)
    names = learn.recorder.metric_names
    vals = dict(zip(names[1:], learn.recorder.values[-1]))
    for m in ms:  # the training columns are numbers; the validation columns score the real labels
        assert 0 <= vals[f'train_{m.name}'] <= 1 and 0 <= vals[f'valid_{m.name}'] <= 1
    x, y = _data()
    with learn.no_bar(): v = quiet(learn.validate)
    assert v[1] == pytest.approx(skm.f1_score(y.numpy(), learn.model(x).detach().numpy() > 0, average='samples', zero_division=0))
    # the dominant label of a label-smoothed target is the label itself
    L = FakeLearn(); L.training = True
    f1 = F1ScoreMulti(average='samples')
    assert stream([f1], x, y*0.9+0.05, 32, L)[0] == pytest.approx(stream([F1ScoreMulti(average='samples')], x, y, 32)[0])
    # in validation, soft targets are refused, and the message names the cause
    with pytest.raises(ValueError, match='label smoothing, MixUp, CutMix'): F1ScoreMulti()(x, y*0.9+0.05)
    with pytest.raises(ValueError, match='targets must be 0 or 1'): stream([F1ScoreMulti()], x, y*2, 32, L)  # not soft: refused in training too
    # hard float targets in training are not soft: no warning, the same value; a target of exactly 0.5 has no dominant label but counts as 0
    f1 = lambda: F1ScoreMulti(average='samples', zero_division=0)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert stream([f1()], x, y, 32, L)[0] == pytest.approx(stream([f1()], x, y, 32)[0])
    half = torch.where(y == 1, torch.full_like(y, .5), y)
    with pytest.warns(UserWarning, match='dominant label'):
        assert stream([f1()], x, half, 32, L)[0] == pytest.approx(stream([f1()], x, y*0, 32)[0])

def test_plain_accuracy_multi_names_the_class_for_soft_training_targets(tmp_path):
    "The plain function cannot tell a training pass from validation: with MixUp and train_metrics it stops the fit, naming the fix."
    from functools import partial
    learn = learner(tmp_path, metrics=[partial(accuracy_multi, thresh=.4)], cbs=[MixUp()])
    learn.recorder.train_metrics = True
    with pytest.raises(ValueError, match=r'MixUp.*train_metrics=True.*AccuracyMulti\(\)'): fit(learn, 1)

def test_check_metrics_takes_a_list():
    with pytest.warns(UserWarning, match='argmax'): msgs = check_metrics([fm.accuracy, F1ScoreMulti()])
    assert len(msgs) == 1 and check_metrics([F1ScoreMulti(), ExactMatchMulti()]) == []

def test_plain_accuracy_multi_under_ddp_is_named(monkeypatch):
    from functools import partial
    from fastai.learner import AvgMetric
    import fastai_mlmetrics.report as R
    ms = [AvgMetric(partial(accuracy_multi, thresh=.2)), F1ScoreMulti(average='samples')]
    assert not any('AvgMetric' in m for m in metric_problems(ms))
    monkeypatch.setattr(R, 'world', lambda: 2)
    assert any('AccuracyMulti(thresh=...)' in m and 'padding' in m for m in metric_problems(ms))

@pytest.mark.parametrize('cb', [SaveModelCallback, EarlyStoppingCallback])
def test_tracker_on_fastais_column_name(tmp_path, cb):
    "fastai names F1ScoreMulti's column f1_score; ours is f1_macro: a tracker on fastai's name is told ours before any epoch runs."
    learn = learner(tmp_path, metrics=[F1ScoreMulti(), FBetaMulti(2, average='samples')], cbs=[cb(monitor='fbeta_score')])
    with pytest.raises(LookupError, match="no column 'fbeta_score'.*'f2_samples'.*name='fbeta_score'"): fit(learn, 1)
    assert learn.recorder.values == []  # before the first epoch
    learn = learner(tmp_path, metrics=[F1ScoreMulti(name='f1_score')], cbs=[cb(monitor='f1_score')])
    fit(learn, 1)
    assert learn.recorder.metric_names[3] == 'f1_score' and len(learn.recorder.values) == 1
    learn = learner(tmp_path, metrics=[fm.F1ScoreMulti(), F1ScoreMulti()], cbs=[cb(monitor='f1_score')])  # fastai's own metric has that column
    fit(learn, 1)
    assert learn.recorder.metric_names[3:5] == ['f1_score', 'f1_macro'] and len(learn.recorder.values) == 1
    learn = learner(tmp_path, metrics=[F1ScoreMulti()], cbs=[cb(monitor='valid_lossx')])
    with pytest.raises((AssertionError, IndexError)): fit(learn, 1)  # not fastai's name for one of ours: fastai's own (bare) check, untouched

def test_empty_batches_change_nothing():
    "An empty batch (all padding once trimmed, or genuinely empty) adds nothing, for every object of ours."
    import torchmetrics
    x, y = _data(50)
    def ms(): return [F1ScoreMulti(average='samples'), F1ScoreMulti(), AccuracyMulti(), ExactMatchMulti(), MatthewsCorrCoefMulti(), BrierScoreMulti(thresh=None),
                      RocAucMulti(), APScoreMulti(), APScoreMulti(thresholds=10), CoverageErrorMulti(), LabelRankingAPMulti(), RankingLossMulti(),
                      TorchMetric(torchmetrics.classification.MultilabelF1Score)]
    def run(batches):
        L, m = FakeLearn(), ms()
        for mm in m: mm.reset()
        for xb, yb in batches:
            L.pred, L.y = xb, yb
            for mm in m: mm.accumulate(L)
        return [float(mm.value) for mm in m]
    e = (x[:0], y[:0])
    ref = run([(x[:20], y[:20]), (x[20:], y[20:])])
    assert run([e, (x[:20], y[:20]), e, (x[20:], y[20:]), e]) == ref
    for kw in (dict(), dict(folds=5, boot=20, keep_codes=True)):
        a, b = SweepStats(**kw), SweepStats(**kw)
        a.update(x[:20], y[:20]); a.update(x[20:], y[20:])
        b.update(*e); b.update(x[:20], y[:20]); b.update(*e, start=20); b.update(x[20:], y[20:], start=20)
        assert a.table().equals(b.table())
    assert np.isnan(RocAucMulti()(*e)) and np.isnan(APScoreMulti(average='samples')(*e))  # no sample at all: nothing to rank

@pytest.mark.parametrize('av', ['micro', 'macro', 'weighted', None])
def test_averages_as_torchmetrics(av):
    "Label-wise accuracy, Hamming loss and stat scores average as torchmetrics' classes; NPV too, except 'weighted', which weighs by negatives."
    x, y = _data(300, 6, seed=3)
    y[:, 0] = 0  # a class with no positive
    p, yl, tav = x.sigmoid().double(), y.long(), av or 'none'
    for ours, theirs in ((AccuracyMulti(average=av), tmf.multilabel_accuracy), (HammingLossMulti(average=av), tmf.multilabel_hamming_distance)):
        np.testing.assert_allclose(np.asarray(ours(x, y)), theirs(p, yl, 6, average=tav).numpy(), rtol=1e-6)
    np.testing.assert_allclose(multilabel_stat_scores(x, y, average=av).double().numpy(), tmf.multilabel_stat_scores(p, yl, 6, average=tav).double().numpy(), rtol=1e-6)
    npv = NPVMulti(average=av, zero_division=0)(x, y)
    if av != 'weighted': np.testing.assert_allclose(np.asarray(npv), tmf.multilabel_negative_predictive_value(p, yl, 6, average=tav).numpy(), rtol=1e-6)
    else:
        neg = (1 - y).sum(0).double()
        assert float(npv) == pytest.approx(float((NPVMulti(average=None, zero_division=0)(x, y)*neg).sum()/neg.sum()))
