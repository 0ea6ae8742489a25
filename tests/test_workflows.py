"""fastai's everyday workflows through a real `Learner`: export and `load_learner` without us, trackers, `fine_tune`, `lr_find`,
`remove_cb`, `predict`/`get_preds`/`summary`, two sweeps, and probabilities mistaken for logits."""
import os, pickle, subprocess, sys, warnings, numpy as np, pytest, torch
from pathlib import Path
from torch import nn
from fastai.learner import Learner, load_learner, defaults
from fastai.data.core import DataLoaders
from fastai.data.load import DataLoader
from fastai.losses import BCEWithLogitsLossFlat
from fastai.callback.tracker import SaveModelCallback, EarlyStoppingCallback
import fastai.callback.schedule  # noqa: F401 (fit_one_cycle, fine_tune, lr_find)
import fastai.metrics as fm
from fastai_mlmetrics.all import *
from helpers import identity_learner

class Lin(nn.Module):
    "Per-label scale of the inputs: the logits are `x*w`."
    def __init__(self, c): super().__init__(); self.w = nn.Parameter(torch.ones(c))
    def forward(self, x): return x*self.w

def _data(n=240, c=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, c, generator=g)
    return x, (torch.rand(n, c, generator=g) < torch.sigmoid(2*x-1)).float()

def learner(tmp_path, metrics=(), cbs=None, n=240, c=5, seed=0, x=None, y=None, bs=32):
    "A `Learner` over `x*w` logits, with fastai `Datasets` so that it exports."
    from operator import itemgetter
    from fastai.data.core import Datasets
    if x is None: x, y = _data(n, c, seed)
    idx, c = list(range(len(x))), x.shape[1]
    # each item one row of [x | y], split by picklable slicers (a tuple item would be split element-wise by fastai's transforms)
    dsets = Datasets([r.clone() for r in torch.cat([x, y], 1)], tfms=[[itemgetter(slice(0, c))], [itemgetter(slice(c, 2*c))]], splits=[idx, idx])
    dls = dsets.dataloaders(bs=bs, shuffle=False)
    return Learner(dls, Lin(x.shape[1]), loss_func=BCEWithLogitsLossFlat(), metrics=list(metrics), cbs=cbs, path=tmp_path)

def quiet(f, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return f(*a, **k)

def fit(learn, *a, **k):
    with learn.no_bar(), learn.no_logging(): return quiet(learn.fit, *a, **k)

class SetScale(__import__('fastai').callback.core.Callback):
    "Sets the weights before each validation from a schedule: epoch `e` validates with `x*scales[e]`, so the best epoch is known."
    order = 0
    def __init__(self, scales): self.scales = scales
    def before_validate(self):
        if getattr(self, 'done', False): return  # not in the get_preds and validate after the fit
        with torch.no_grad(): self.learn.model.w.fill_(self.scales[self.epoch])
    def after_fit(self): self.done = True

# 1. importing us changes nothing global; a learner that never used our objects loads where we are not installed
def test_import_changes_no_fastai_default():
    assert not any('fastai_mlmetrics' in getattr(c, '__module__', '') for c in defaults.callbacks)

def test_export_without_our_objects_loads_without_us(tmp_path):
    learn = learner(tmp_path, metrics=[fm.accuracy_multi])
    learn.model = nn.Linear(5, 5)  # fastai's and torch's classes only: the pickle must not need this test module either
    fit(learn, 1)
    learn.export(tmp_path/'export.pkl')
    code = ("import sys; sys.modules['fastai_mlmetrics'] = None\n"  # our package cannot be imported
            "from fastai.learner import load_learner\n"
            f"learn = load_learner({str(tmp_path/'export.pkl')!r})\n"
            "assert not any('mlmetrics' in type(c).__module__ for c in learn.cbs), learn.cbs\nprint('ok')")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=tmp_path,
                       env={**os.environ, 'PYTHONPATH': str(Path(__file__).parent)})
    assert r.returncode == 0 and r.stdout.strip().endswith('ok'), r.stderr[-2000:]

# 5. the validation set does not ship in export.pkl; pickle works with a sweep
def test_export_carries_no_validation_data(tmp_path):
    x = torch.randn(20000, 100); y = (torch.rand(20000, 100) < .2).float()
    learn = learner(tmp_path, [APScoreMulti(), RocAucMulti(), TorchMetric(__import__('torchmetrics').classification.MultilabelAUROC)],
                    cbs=ThresholdSweep(), x=x, y=y, bs=1000)
    with learn.no_bar(): quiet(learn.validate)
    learn.export(tmp_path/'export.pkl')
    assert (tmp_path/'export.pkl').stat().st_size < 1e6  # 20k x 100 scores would be 8 MB at least
    back = pickle.loads(pickle.dumps(learn.metrics))
    assert all(getattr(m, '_acc', None) is None for m in back[:2]) and back[2].m is None

class PickleCb(__import__('fastai').callback.core.Callback):
    "Pickles the learner's metrics and callbacks in the middle of a fit, and the whole learner at its end."
    def after_epoch(self):
        self.sizes = [len(pickle.dumps(self.learn.metrics)), len(pickle.dumps(self.learn.cbs))]
        self.metrics,self.cbs = pickle.loads(pickle.dumps(self.learn.metrics)),pickle.loads(pickle.dumps(self.learn.cbs))
    def after_fit(self): self.whole = len(pickle.dumps(self.learn))

def test_metrics_and_sweep_pickle_during_a_fit(tmp_path):
    "`pickle.dumps(learn)` pickles `learn.metrics` and `learn.cbs`: in a fit they hold the sweep's Recorder columns too."
    p, (x, y) = PickleCb(), _data()
    learn = identity_learner(x, y, [F1ScoreMulti(average='samples'), APScoreMulti()], cbs=[ThresholdSweep(9), p])
    learn.loss_func, learn.model = BCEWithLogitsLossFlat(), Lin(5)
    fit(learn, 1)
    assert all(n > 0 for n in p.sizes) and p.whole > 0
    # what comes back is what the Recorder showed, the sweep's columns included, with the chosen thresholds but without the data
    assert [m.name for m in p.metrics] == ['f1_samples', 'ap_macro', 'f1_samples_best', 'f1_samples_cv', 'best_thresh']
    sw = [c for c in p.cbs if isinstance(c, ThresholdSweep)][0]
    assert sw.stats.h is None and sw.stats.codes == [] and sw._snaps[0]['h'] is None
    assert sw.best_thresh == learn.cbs.filter(lambda c: isinstance(c, ThresholdSweep))[0].best_thresh
    assert len(sw.history) == 9

# 2. SaveModelCallback's restored epoch comes with its own thresholds, and the report with them
def test_save_model_restores_that_epochs_thresholds(tmp_path):
    sweep = ThresholdSweep(thresholds=49)
    learn = learner(tmp_path, cbs=[SetScale([1., 3., .2]), sweep, SaveModelCallback(monitor='f1_samples_best')])
    fit(learn, 3, lr=0)
    vals = [v[-3] for v in learn.recorder.values]  # f1_samples_best per epoch
    e = int(np.argmax(vals))
    assert e != 2 and sweep.chosen_epoch == e
    assert learn.model.w[0].item() == [1., 3., .2][e]  # fastai restored epoch e's weights
    assert sweep.best_thresh == sweep.best.f1_samples_thresh[e] != sweep.best.f1_samples_thresh[2]
    t = sweep.apply(learn, per_class=False)
    assert t == sweep.best.f1_samples_thresh[e]
    rep = quiet(learn.multilabel_report)
    x, y = _data()
    ref = multilabel_report(x*learn.model.w.detach(), y, thresh=t)
    np.testing.assert_allclose(rep.loc[('model', 'samples avg'), 'f1'], ref.loc[('model', 'samples avg'), 'f1'])
    np.testing.assert_allclose(rep.loc[('model', 'samples avg'), 'f1'], sweep.best.f1_samples[e], atol=1e-12)

# 3. the report uses the decoding threshold; validating on a test set does not re-tune
def test_report_at_applied_per_class_thresholds_and_no_retuning(tmp_path):
    sweep = ThresholdSweep(thresholds=19)
    learn = learner(tmp_path, cbs=sweep)
    fit(learn, 2, lr=0.05)
    tc = sweep.apply(learn, per_class=True)
    before = sweep.best_thresh
    x2, y2 = _data(seed=1)
    test_dl = learn.dls.valid.new(list(zip(x2, y2)))
    with learn.no_bar(): quiet(learn.validate, dl=test_dl)
    assert sweep.best_thresh == before and sweep.history.epoch.iloc[-1] == 'validate'
    rep = quiet(learn.multilabel_report, dl=test_dl)
    ref = quiet(multilabel_report, x2*learn.model.w.detach(), y2, thresh=tc)
    np.testing.assert_allclose(rep.loc['model'].f1.to_numpy(dtype=float), ref.loc['model'].f1.to_numpy(dtype=float))

# 4. Recorder columns: only while the sweep is there; two sweeps; hamming is minimised
def test_recorder_columns_follow_the_sweep(tmp_path):
    sweep = ThresholdSweep(thresholds=9)
    learn = learner(tmp_path, metrics=[F1ScoreMulti(average='samples')])
    fit(learn, 1, cbs=sweep)
    assert 'f1_samples_best' in learn.recorder.metric_names
    fit(learn, 1)
    assert 'f1_samples_best' not in learn.recorder.metric_names and len(learn.recorder.values[-1]) == 3
    learn.add_cb(sweep); fit(learn, 1); learn.remove_cb(sweep); fit(learn, 1)
    assert 'best_thresh' not in learn.recorder.metric_names
    with pytest.raises(ValueError, match='attached to no learner'): sweep.apply()
    s2 = ThresholdSweep(thresholds=9, monitor='f1_micro')
    fit(learn, 1, cbs=[ThresholdSweep(thresholds=9), s2, ThresholdSweep(thresholds=9, monitor='hamming')])
    assert {'f1_samples_best', 'best_thresh', 'f1_micro_best', 'f1_micro_best_thresh', 'hamming_loss_best'} <= set(learn.recorder.metric_names)
    with pytest.raises(ValueError, match='another monitor'): fit(learn, 1, cbs=[ThresholdSweep(9), ThresholdSweep(9)])

def test_early_stopping_and_csv_logger_read_the_columns(tmp_path):
    from fastai.callback.progress import CSVLogger
    learn = learner(tmp_path, cbs=[ThresholdSweep(9), EarlyStoppingCallback(monitor='f1_samples_best', patience=1), CSVLogger()])
    fit(learn, 4, lr=0)  # no improvement after the first epoch: stops after 2
    assert len(learn.recorder.values) == 2
    assert 'f1_samples_best' in (tmp_path/'history.csv').read_text().splitlines()[0]

# 7. fine_tune, lr_find, predict, get_preds, summary
def test_fine_tune_keeps_both_phases_and_lr_find_changes_nothing(tmp_path):
    sweep = ThresholdSweep(thresholds=9)
    learn = learner(tmp_path, cbs=sweep)
    with learn.no_bar(), learn.no_logging(): quiet(learn.fine_tune, 2, freeze_epochs=1)
    assert sweep.history.epoch.unique().tolist() == [0, 1, 2]
    state = (len(sweep.history), sweep.best_thresh, sweep.class_thresholds.thresh.tolist())
    with learn.no_bar(), learn.no_logging(): quiet(learn.lr_find, num_it=5, show_plot=False)
    assert (len(sweep.history), sweep.best_thresh, sweep.class_thresholds.thresh.tolist()) == state
    assert sweep.apply(learn, per_class=True).shape == (5,)

def test_get_preds_and_validate_are_silent(tmp_path):
    learn = learner(tmp_path, metrics=[F1ScoreMulti(average='samples', zero_division=0), APScoreMulti(),
                                       TorchMetric(__import__('torchmetrics').classification.MultilabelF1Score)], cbs=ThresholdSweep(9))
    fit(learn, 1)
    row = learn.recorder.values[-1]  # train_loss, valid_loss, the metrics, the sweep's columns
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        with learn.no_bar():
            preds, targs = learn.get_preds()
            res = learn.validate()
    # get_preds gives probabilities of every validation sample; validate gives the numbers the epoch table showed
    x, y = _data()
    assert preds.shape == targs.shape == (240, 5) and 0 <= preds.min() and preds.max() <= 1
    assert res == row[1:]
    import sklearn.metrics as skm
    assert res[1] == pytest.approx(skm.f1_score(y.numpy(), (learn.model(x) > 0).detach().numpy(), average='samples', zero_division=0), abs=1e-12)

def test_edge_threshold_warns(tmp_path):
    x, y = _data()
    sweep = ThresholdSweep(thresholds=[.3, .5])
    learn = identity_learner(x*0-5, y, [], cbs=sweep)  # every probability is tiny: the best threshold is the grid's lowest
    learn.loss_func = BCEWithLogitsLossFlat()
    with learn.no_bar(): quiet(learn.validate)
    with pytest.warns(UserWarning, match='edge of the grid'): sweep.apply(learn, per_class=False)

# 6. probabilities mistaken for logits
def test_probabilities_as_logits_warn():
    x, y = _data()
    with pytest.warns(UserWarning, match='pass sigmoid=False'): F1ScoreMulti(average='samples', zero_division=0)(x.sigmoid(), y)
    with pytest.warns(UserWarning, match='pass sigmoid=False'): multilabel_report(x.sigmoid(), y)
    with pytest.warns(UserWarning, match='use thresh=0.5'): F1ScoreMulti(thresh=0)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert F1ScoreMulti(average='samples', sigmoid=False, zero_division=0)(x.sigmoid(), y) > 0
        F1ScoreMulti(average='samples', zero_division=0)(x, y)

# 8. errors that name the problem
@pytest.mark.parametrize('make,exc,msg', [
    (lambda: ThresholdSweep(thresholds=0), ValueError, 'positive number'),
    (lambda: ThresholdSweep(thresholds=-3), ValueError, 'positive number'),
    (lambda: ThresholdSweep(thresholds=101.0), TypeError, 'pass 101 \\(an int\\)'),
    (lambda: F1ScoreMulti(thresh='0.5'), TypeError, "got '0.5'"),
    (lambda: accuracy_multi(torch.randn(4, 3), torch.zeros(4, 3), thresh=[.5, .5]), ValueError, '2 per-class values'),
    (lambda: multilabel_report(torch.randn(0, 3), torch.zeros(0, 3)), ValueError, 'no samples'),
    (lambda: multilabel_report(torch.randn(4, 2), torch.zeros(4, 2), vocab=['a', 'a']), ValueError, 'duplicate names'),
    (lambda: multilabel_report(torch.randn(4, 2), None), ValueError, 'with_labels=True'),
])
def test_clear_errors(make, exc, msg):
    with pytest.raises(exc, match=msg): make()

def test_sweep_zero_division_warn_and_untracked_plot(tmp_path):
    sweep = ThresholdSweep(thresholds=9, zero_division='warn')
    learn = learner(tmp_path, cbs=sweep)
    fit(learn, 1)
    with pytest.raises(ValueError, match="'precision_micro' is not tracked"): sweep.plot('precision_micro')
    import matplotlib; matplotlib.use('Agg')
    fig = sweep.plot()
    ax = fig.axes[0]
    (line, dot), b = ax.lines, sweep.best.iloc[0]  # one curve per recorded validation, and its best point
    assert np.allclose(line.get_xdata(), sweep.stats.thresholds.numpy()) and np.allclose(line.get_ydata(), sweep.history.f1_samples)
    assert dot.get_xdata()[0] == b.f1_samples_thresh and dot.get_ydata()[0] == b.f1_samples
    assert ax.get_xlabel() == 'threshold (probability)' and ax.get_ylabel() == 'f1_samples'
    hm = sweep.plot_heatmap()
    assert np.allclose(hm.axes[0].collections[0].get_array().reshape(1, -1), sweep.history.f1_samples.to_numpy()[None])
    # 'warn' scores an undefined F1 as 0, as zero_division=0 does
    zero = ThresholdSweep(thresholds=9, zero_division=0, add_to_recorder=False)
    with learn.no_bar(): quiet(learn.validate, cbs=[zero])
    fitted = sweep.history[sweep.history.epoch == 0].drop(columns='epoch').to_numpy(float)
    assert np.array_equal(zero.history.drop(columns='epoch').to_numpy(float), fitted)

def test_torchmetric_reused_with_other_labels(tmp_path):
    from torchmetrics.classification import MultilabelF1Score
    m = TorchMetric(MultilabelF1Score)
    m(torch.randn(8, 5), torch.zeros(8, 5))
    m.reset()
    with pytest.raises(ValueError, match='built for 5 labels, but the inputs have 3'): m.update(torch.randn(8, 3), torch.zeros(8, 3))

def test_nan_logit_names_the_metric(tmp_path):
    x, y = _data(); x[3, 1] = float('nan')
    with pytest.raises(ValueError, match='f1_samples: predictions contain NaN'): F1ScoreMulti(average='samples')(x, y)
    x[3, 1] = float('inf')
    assert np.isfinite(F1ScoreMulti(average='samples')(x, y))  # an infinite logit is a probability of 1

def test_vision_predict_and_summary_are_silent(tmp_path):
    "`learn.predict` and `learn.summary` (also after `load_learner`) accumulate nothing: our metrics give None there, as fastai's AvgMetric, with no warning."
    from fastai.vision.all import vision_learner, resnet18
    from fastai_mlmetrics.data import digits_dls
    dls = digits_dls(tmp_path/'digits', bs=16, n=64, size=32, device='cpu')
    learn = vision_learner(dls, resnet18, pretrained=False, metrics=[F1ScoreMulti(average='samples', zero_division=0), APScoreMulti(), ExactMatchMulti()],
                           cbs=ThresholdSweep(9))
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        with learn.no_bar():
            for _ in range(2): learn.predict(dls.valid_ds[0][0])
            learn.summary()
    learn.export(tmp_path/'export.pkl')
    back = load_learner(tmp_path/'export.pkl')
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        with back.no_bar(): back.predict(dls.valid_ds[0][0])  # after load_learner too

def test_infinite_logits_in_the_sweep():
    "Logits of +-inf are probabilities of 1 and 0: the sweep's bins and the metrics agree on them at every threshold."
    from fastai_mlmetrics.sweep import SweepStats
    x, y = _data(); x[::7, 2] = float('inf'); x[3::7, 4] = -float('inf')
    ss = SweepStats(9); ss.update(x, y)
    tab = ss.table()
    for t, v in zip(tab.threshold, tab.f1_micro): np.testing.assert_allclose(v, F1ScoreMulti(thresh=t, average='micro', zero_division=0)(x, y), atol=1e-12)

def test_per_class_metric_in_a_learner_names_the_fix(tmp_path):
    "A per-class value cannot fill one column of fastai's epoch table: refused at the first batch, naming the fix; direct calls still work."
    for m in (F1ScoreMulti(average=None), AccuracyMulti(average=None), RocAucMulti(average=None)):
        with pytest.raises(ValueError, match="average=None\\) gives one value per class.*pass an average"): fit(learner(tmp_path, metrics=[m]), 1)
    x, y = _data()
    assert quiet(F1ScoreMulti(average=None), x, y).shape == (5,)
