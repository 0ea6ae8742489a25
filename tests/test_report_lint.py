"`metric_problems`, `check_metrics` and `CheckMetricsCallback`: every problem they name, word for word, and silence on sound sets."
import sys, warnings
from functools import partial
from types import SimpleNamespace
import numpy as np, pytest, torch
import fastai.metrics as fm
import fastai_mlmetrics.report as rp
from fastai_mlmetrics.report import metric_problems, check_metrics, CheckMetricsCallback
from fastai_mlmetrics.metrics import (F1ScoreMulti, AccuracyMulti, HammingLossMulti, ExactMatchMulti, MatthewsCorrCoefMulti, BrierScoreMulti,
                                      PrecisionMulti, SpecificityMulti, RocAucMulti, APScoreMulti, CoverageErrorMulti, accuracy_multi)

LOGITS = torch.tensor([[-2., 3.], [.5, .1]])
ONLY_LABELWISE = ("label-wise accuracy is the only kind of metric here: it counts true negatives, so a model that predicts nothing scores high "
                  "(0.92 on PASCAL VOC). Add F1ScoreMulti(average='samples') and ExactMatchMulti()")
# under mutation testing, mutmut's trampoline is one more frame between a function and its caller
CALLER = lambda r: any(m.startswith('mutmut') for m in sys.modules) or r.filename == __file__
SK = "{} is fastai's {} (every prediction kept, scikit-learn on the CPU at epoch end): import fastai_mlmetrics.all after fastai's `all` modules to use ours (same numbers, on the device)"

def probs(*ms, preds=None):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return metric_problems(list(ms), preds)

@pytest.mark.parametrize('n', ['F1ScoreMulti', 'FBetaMulti', 'PrecisionMulti', 'RecallMulti', 'JaccardMulti', 'HammingLossMulti', 'MatthewsCorrCoefMulti',
                               'RocAucMulti', 'APScoreMulti', 'BrierScoreMulti', 'F1Score', 'FBeta', 'Precision', 'Recall', 'RocAuc', 'Jaccard'])
def test_a_factory_passed_uncalled_is_named(n):
    msg = [f"{n} was passed without calling it: use metrics=[{n}()] (fastai wraps a bare function as a batch metric, which fails obscurely)"]
    assert probs(getattr(fm, n)) == msg and probs(partial(getattr(fm, n), average='macro')) == msg  # its arguments given, still not called

@pytest.mark.parametrize('n,fix', [('accuracy', 'AccuracyMulti() or accuracy_multi, with F1ScoreMulti(average="samples")'),
                                   ('error_rate', 'HammingLossMulti() (1 - label-wise accuracy), with F1ScoreMulti(average="samples")'),
                                   ('top_k_accuracy', 'ExactMatchMulti() or F1ScoreMulti(average="samples")')])
def test_argmax_metrics_are_named_with_the_fix(n, fix):
    assert probs(getattr(fm, n), F1ScoreMulti()) == [f"{n} takes the argmax over labels, which is wrong for multi-hot targets: use {fix}"]

@pytest.mark.parametrize('factory,func,ours', [(fm.F1ScoreMulti, 'f1_score', 'F1ScoreMulti'), (partial(fm.FBetaMulti, 2.), 'fbeta_score', 'FBetaMulti'),
    (fm.PrecisionMulti, 'precision_score', 'PrecisionMulti'), (fm.RecallMulti, 'recall_score', 'RecallMulti'), (fm.JaccardMulti, 'jaccard_score', 'JaccardMulti'),
    (fm.RocAucMulti, 'roc_auc_score', 'RocAucMulti'), (fm.APScoreMulti, 'average_precision_score', 'APScoreMulti'),
    (fm.MatthewsCorrCoefMulti, 'matthews_corrcoef', 'MatthewsCorrCoefMulti')])
def test_fastais_sklearn_wrappers_are_named(factory, func, ours):
    "fastai's multi-label scikit-learn wrappers (brought back by a later `import *`) are named with ours; they ignore true negatives, so no label-wise warning."
    assert probs(factory()) == [SK.format(func, ours)]

def test_hamming_and_brier_wrappers():
    assert probs(fm.HammingLossMulti()) == [SK.format('hamming_loss', 'HammingLossMulti'), ONLY_LABELWISE]
    assert probs(fm.BrierScoreMulti(), F1ScoreMulti()) == [SK.format('brier_score_loss', 'BrierScoreMulti'),
        'brier_score_loss thresholds the probabilities before scoring, so it counts wrong labels: use BrierScoreMulti(thresh=None)']
    assert probs(fm.BrierScoreMulti(thresh=0.), F1ScoreMulti()) == [SK.format('brier_score_loss', 'BrierScoreMulti')]

@pytest.mark.parametrize('m,name', [(fm.F1Score(), 'f1_score'), (fm.Precision(average='macro'), 'precision_score'), (fm.Recall(), 'recall_score'),
                                    (fm.Jaccard(average='micro'), 'jaccard_score'), (fm.FBeta(2.), 'fbeta_score')])
def test_single_label_metrics_are_named(m, name):
    assert probs(m) == [f"{name} is a single-label metric (argmax or average='binary'): use F1ScoreMulti/PrecisionMulti/RecallMulti(average='samples') from fastai_mlmetrics"]

def test_a_sigmoid_before_the_argmax_is_not_single_label():
    m = fm.AccumMetric(lambda p, y: 0., dim_argmax=-1, activation='sigmoid', flatten=False)
    assert probs(m, F1ScoreMulti()) == []

def test_thresholds_on_logits_are_named():
    assert probs(fm.F1ScoreMulti(sigmoid=False), preds=LOGITS) == [SK.format('f1_score', 'F1ScoreMulti'),
        "f1_score compares thresh=0.5 with the model's raw outputs, which are logits (outside [0,1]): pass sigmoid=True"]
    assert probs(fm.F1ScoreMulti(sigmoid=False), preds=torch.sigmoid(LOGITS)) == [SK.format('f1_score', 'F1ScoreMulti')]  # probabilities
    assert probs(fm.F1ScoreMulti(), preds=LOGITS) == [SK.format('f1_score', 'F1ScoreMulti')]  # fastai applies the sigmoid
    assert probs(fm.F1ScoreMulti(sigmoid=False), preds=torch.tensor([[0., 1.]])) == [SK.format('f1_score', 'F1ScoreMulti')]  # 0 and 1 are probabilities
    above = torch.tensor([[.2, 1.5]])  # logits that happen to be positive, one above 1
    assert probs(fm.F1ScoreMulti(sigmoid=False), preds=above)[1:] == ["f1_score compares thresh=0.5 with the model's raw outputs, which are logits (outside [0,1]): pass sigmoid=True"]
    assert len(probs(partial(fm.accuracy_multi, sigmoid=False), F1ScoreMulti(), preds=above)) == 1
    assert probs(partial(fm.accuracy_multi, sigmoid=False), F1ScoreMulti(), preds=torch.tensor([[0., 1.]])) == []
    sk = fm.skm_to_fastai(__import__('sklearn.metrics').metrics.f1_score, is_class=False, average='binary')  # binary without an argmax
    assert probs(sk) == ["f1_score is a single-label metric (argmax or average='binary'): use F1ScoreMulti/PrecisionMulti/RecallMulti(average='samples') from fastai_mlmetrics"]
    am = lambda **kw: partial(fm.accuracy_multi, **kw)
    assert probs(am(sigmoid=False, thresh=.3), F1ScoreMulti(), preds=LOGITS) == [
        "accuracy_multi has sigmoid=False but the model's outputs are logits (outside [0,1]): its thresh=0.3 is applied to logits"]
    assert probs(am(sigmoid=False), F1ScoreMulti(), preds=LOGITS) == [
        "accuracy_multi has sigmoid=False but the model's outputs are logits (outside [0,1]): its thresh=0.5 is applied to logits"]
    assert probs(am(sigmoid=False), F1ScoreMulti(), preds=torch.sigmoid(LOGITS)) == probs(am(sigmoid=True), F1ScoreMulti(), preds=LOGITS) == []
    assert probs(am(sigmoid=False), F1ScoreMulti()) == []  # no predictions: nothing read

def test_our_brier_with_a_threshold():
    assert probs(BrierScoreMulti(), F1ScoreMulti()) == ["brier_score has thresh=0.5, so it scores hard 0/1 predictions (fastai's default): pass thresh=None for the Brier score of the probabilities"]
    assert probs(BrierScoreMulti(thresh=None), F1ScoreMulti()) == []

def test_plain_accuracy_multi_under_ddp(monkeypatch):
    monkeypatch.setattr(rp, 'world', lambda: 2)
    msg = ("accuracy_multi is a plain function, which fastai averages batch by batch (AvgMetric), counting DistributedDL's padding: "
           "under DDP its value is not the single-process one. Use AccuracyMulti(thresh=...), which counts each sample once")
    assert probs(fm.accuracy_multi, F1ScoreMulti()) == [msg] and probs(accuracy_multi, F1ScoreMulti()) == [msg]
    assert probs(AccuracyMulti(), F1ScoreMulti()) == []

@pytest.mark.parametrize('lw', [fm.accuracy_multi, accuracy_multi, AccuracyMulti(), HammingLossMulti()])
def test_label_wise_alone_is_named_and_any_tn_free_metric_silences_it(lw):
    assert probs(lw) == [ONLY_LABELWISE] and probs(lw, SpecificityMulti()) == [ONLY_LABELWISE]  # specificity counts true negatives too
    for ok in (F1ScoreMulti(), PrecisionMulti(average='samples'), ExactMatchMulti(), MatthewsCorrCoefMulti(), RocAucMulti(), APScoreMulti(),
               CoverageErrorMulti(), fm.F1ScoreMulti(), partial(fm.FBetaMulti, 2.)(), fm.PrecisionMulti(), fm.RecallMulti(), fm.JaccardMulti(),
               fm.APScoreMulti(), fm.RocAucMulti()):
        assert ONLY_LABELWISE not in probs(lw, ok), ok
    assert probs(F1ScoreMulti(), AccuracyMulti(), APScoreMulti()) == []

def test_check_metrics_warns_each_problem_on_a_learner_or_a_list():
    learn = SimpleNamespace(metrics=[fm.accuracy, fm.F1ScoreMulti])
    for x in (learn, learn.metrics):
        with pytest.warns(UserWarning) as w: out = check_metrics(x)
        assert out == probs(*learn.metrics) and [str(r.message) for r in w] == out and len(out) == 2
        assert all(CALLER(r) for r in w)  # the warning points at the caller
    with pytest.warns(UserWarning): out = check_metrics([fm.F1ScoreMulti(sigmoid=False)], LOGITS)
    assert out == probs(fm.F1ScoreMulti(sigmoid=False), preds=LOGITS) and len(out) == 2  # the predictions are read

def test_the_callback_checks_once_and_only_multi_hot_batches():
    class L(SimpleNamespace): pass
    seen = []
    def run(pred, y, cb=None):
        cb = cb or CheckMetricsCallback()
        cb.learn = L(pred=pred, y=y, metrics=[fm.accuracy_multi])
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter('always')
            cb.after_pred()
        seen.append(len(w)); return cb
    cb = CheckMetricsCallback(); cb.before_fit()
    run(LOGITS, torch.ones(2, 2), cb); run(LOGITS, torch.ones(2, 2), cb)  # the second batch is not checked
    cb.before_fit(); run(LOGITS, torch.ones(2, 2), cb)  # a new fit checks again
    for p, y in ((LOGITS, torch.ones(2)), (LOGITS[:, :1], torch.ones(2, 1)), (LOGITS, None), (LOGITS[0], torch.ones(2))):
        c = CheckMetricsCallback(); c.before_fit(); run(p, y, c)
    assert seen == [1, 0, 1, 0, 0, 0, 0]
    c = CheckMetricsCallback(); c.before_fit(); c.learn = L(pred=LOGITS, metrics=[fm.accuracy_multi])  # a learner without `y`
    c.after_pred()
    c = CheckMetricsCallback(); c.before_fit(); c.learn = L(pred=LOGITS, y=torch.ones(2, 2), metrics=[F1ScoreMulti(), fm.F1ScoreMulti(sigmoid=False)])
    with pytest.warns(UserWarning) as w: c.after_pred()
    assert [str(r.message) for r in w] == probs(F1ScoreMulti(), fm.F1ScoreMulti(sigmoid=False), preds=LOGITS) and len(w) == 2  # it reads the batch

def _xy(n=60, c=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = (torch.rand(n, c, generator=g) < .3).float()
    y[:, 0] = 0; y[:4, 0] = 1  # class 0: four positives, below the default min_support of 5
    y[:, 1] = 0; y[:5, 1] = 1  # class 1: five
    return torch.randn(n, c, generator=g) + 2*y - 1, y

def test_report_defaults():
    "thresh 0.5 on logits, no interval, 200 replicates and seed 0 when `ci` is given, and thin labels below 5 positives."
    from fastai_mlmetrics.report import multilabel_report
    x, y = _xy()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        d, e = multilabel_report(x, y), multilabel_report(x, y, .5, True)
        assert d.equals(e) and 'f1_lo' not in d and d.attrs['thin_labels'] == ['0']
        assert not d.equals(multilabel_report(torch.sigmoid(x), y))  # probabilities read as logits score otherwise
        c, c2 = multilabel_report(x, y, ci=.9), multilabel_report(x, y, ci=.9, boot=200, seed=0)
        assert c.equals(c2) and not c.equals(multilabel_report(x, y, ci=.9, seed=1)) and not c.equals(multilabel_report(x, y, ci=.9, boot=199))
        assert multilabel_report(x, y, min_support=6).attrs['thin_labels'] == ['0', '1']

def test_report_errors_word_for_word():
    from fastai_mlmetrics.report import multilabel_report
    x, y = _xy()
    with pytest.raises(ValueError) as e: multilabel_report(x, None)
    assert str(e.value) == "no targets: the report needs labelled data (for a test set, learn.dls.test_dl(items, with_labels=True))"
    with pytest.raises(ValueError) as e: multilabel_report(x[:0], y[:0])
    assert str(e.value) == "no samples: the report needs at least one labelled sample"
    for ci in (0, 1, 1.5, -.1):
        with pytest.raises(ValueError) as e: multilabel_report(x, y, ci=ci)
        assert str(e.value) == f"ci is a confidence level in (0,1), e.g. 0.95, got {ci!r}"
    with pytest.raises(ValueError) as e: multilabel_report(x, y, ci=.9, boot=1)
    assert str(e.value) == "boot=1: an interval needs at least two bootstrap replicates (200 by default)"
    with pytest.raises(ValueError) as e: multilabel_report(x, y, vocab=list('abc'))
    assert str(e.value) == "vocab has 3 names but the inputs have 4 labels"
    with pytest.raises(ValueError) as e: multilabel_report(x, y, vocab=list('baac'))
    assert str(e.value) == "vocab has duplicate names ['a']: each class needs its own row"
    names = ['b', 'b', 'a', 'a', 'd', 'd', 'c', 'c', 'f', 'f', 'e', 'e']
    with pytest.raises(ValueError) as e: multilabel_report(torch.randn(5, 12), torch.ones(5, 12), vocab=names)
    assert str(e.value) == "vocab has duplicate names ['a', 'b', 'c', 'd', 'e']: each class needs its own row"  # the first five, sorted

def test_report_intervals_with_one_or_two_samples_and_two_replicates():
    "One sample gives NaN intervals and says so, pointing at the caller; two samples and two replicates give intervals."
    from fastai_mlmetrics.report import multilabel_report
    x, y = _xy(2, 3)
    with pytest.warns(UserWarning) as w: r1 = multilabel_report(x[:1], y[:1], ci=.9)
    one = [r for r in w if 'one sample' in str(r.message)]
    assert [str(r.message) for r in one] == ["multilabel_report: one sample gives no interval (every replicate is that sample): the _lo/_hi columns are NaN"]
    assert CALLER(one[0]) and r1.loc['model'].filter(like='_lo').isna().all().all()
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        r2 = multilabel_report(x, y, ci=.9, boot=2)
    assert not any('one sample' in str(r.message) for r in w) and r2.loc[('model', 'micro avg'), 'f1_lo'] <= r2.loc[('model', 'micro avg'), 'f1_hi']
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        multilabel_report(x, y)
    assert not any('one sample' in str(r.message) for r in w)

def test_report_bootstrap_is_the_same_in_chunks_and_masked():
    "The replicates' weights follow each sample's position, whatever the chunking; masked entries stay out of every replicate."
    from fastai_mlmetrics.report import _boot
    from fastai_mlmetrics.core import prep
    x, y = _xy(300, 5, seed=3)
    y[torch.rand(300, 5, generator=torch.Generator().manual_seed(1)) < .2] = -1
    xs, pos, keep, _ = prep(x, y, True, -1)
    a, b, c = _boot(xs, pos, keep, 0., 20, 0), _boot(xs, pos, keep, 0., 20, 0, chunk=7), _boot(xs, pos, None, 0., 20, 0)
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k], equal_nan=True) for k in a)
    assert not np.array_equal(a[('micro', 'f1')], c[('micro', 'f1')])

def test_a_metric_is_named_by_its_function_a_partials_function_or_its_callables_class():
    from fastai.learner import AvgMetric
    class Scorer:
        def __call__(self, p, y): return 0.
    names = [rp._fn_name(AvgMetric(f)) for f in (fm.accuracy_multi, partial(fm.accuracy_multi, thresh=.3), Scorer())]
    assert names == ['accuracy_multi', 'accuracy_multi', 'Scorer']

def test_report_layout_masked_intervals_and_thin_labels():
    "Masked entries stay out of the intervals (micro F1's replicates against scikit-learn on the kept entries, with each sample's weight), a class with one kept entry gets its prior from it, and the `thin` column marks the thin labels and the macro rows."
    import sklearn.metrics as skm
    from fastai_mlmetrics.report import multilabel_report
    from fastai_mlmetrics.stats import poisson_weights
    x, y = _xy(200, 5, seed=4)
    m = torch.rand(200, 5, generator=torch.Generator().manual_seed(5)) < .2
    y[m] = -1
    y[:, 4] = -1; y[7, 4] = 1  # class 4: one kept entry, a positive
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        rep = multilabel_report(x, y, ignore_index=-1, ci=.8, boot=30, seed=3)
    assert rep['support'].dtype == 'Int64' and rep.index.names == ['section', 'row'] and list(rep.columns) == ['precision', 'recall', 'f1', 'support', 'ap', 'auroc', 'best_thresh', 'value',
        *[f'{c}_{e}' for c in ('precision', 'recall', 'f1', 'value') for e in ('lo', 'hi')], 'thin']
    kept, yt, pr = (y != -1).numpy(), (y == 1).numpy().astype(int), (x > 0).numpy().astype(int)
    W = poisson_weights(torch.arange(200), 30, seed=3).numpy()
    reps = [skm.f1_score(yt[kept], pr[kept], sample_weight=np.broadcast_to(w[:, None], yt.shape)[kept]) for w in W]
    np.testing.assert_allclose(rep.loc[('model', 'micro avg'), ['f1_lo', 'f1_hi']].to_numpy(float), np.quantile(reps, [.1, .9]), atol=1e-9)
    assert rep.loc[('class prior', 'micro avg'), 'recall'] > rep.loc[('all negative', 'micro avg'), 'recall']  # class 4's prior is 1: predicted
    thin = rep.attrs['thin_labels']
    assert '4' in thin and rep['thin'].sum() == len(thin) + 1
    assert all(rep.loc[('class', c), 'thin'] for c in thin) and rep.loc[('model', 'macro avg'), 'thin'] and not rep.loc[('model', 'micro avg'), 'thin']
