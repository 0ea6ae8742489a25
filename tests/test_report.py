"multilabel_report against scikit-learn; its baselines against explicit trivial predictions; check_metrics on bad and good sets."
import warnings, numpy as np, pytest, torch, sklearn.metrics as skm
import fastai.metrics as fm
from functools import partial
from fastai.learner import AvgMetric
from fastai_mlmetrics.all import *
from helpers import make_data, logits

def _report(seed=0, n=150, c=6, thresh=.5, **kw):
    p, y = make_data(seed, n, c, empty_class=True, neg_rows=True, ties=False)
    return p, y, multilabel_report(torch.tensor(logits(p)), torch.tensor(y), thresh=thresh, **kw)

@pytest.mark.parametrize('thresh', [.3, .5])
def test_summary_rows_match_sklearn(thresh):
    p, y, rep = _report(thresh=thresh)
    pred = (p > thresh).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        cr = skm.classification_report(y, pred, output_dict=True, zero_division=0)
        for av in ('micro', 'macro', 'weighted', 'samples'):
            row = rep.loc[('model', f'{av} avg')]
            for k, col in (('precision', 'precision'), ('recall', 'recall'), ('f1-score', 'f1')):
                assert abs(row[col] - cr[f'{av} avg'][k]) < 1e-9, (av, k)
            assert row.support == cr[f'{av} avg']['support']
            assert abs(row.ap - skm.average_precision_score(y, p, average=av)) < 1e-9
        for c in range(y.shape[1]):
            assert abs(rep.loc[('class', str(c)), 'f1'] - cr[str(c)]['f1-score']) < 1e-9
    assert abs(rep.loc[('model', 'exact match'), 'value'] - skm.accuracy_score(y, pred)) < 1e-9
    assert abs(rep.loc[('model', 'hamming loss'), 'value'] - skm.hamming_loss(y, pred)) < 1e-9
    assert abs(rep.loc[('model', 'label-wise accuracy'), 'value'] - (1 - skm.hamming_loss(y, pred))) < 1e-9

def test_baselines_equal_explicit_trivial_predictions():
    p, y, rep = _report()
    zero = np.zeros_like(y)
    prior = np.broadcast_to(y.mean(0), y.shape)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        for av in ('micro', 'macro', 'weighted', 'samples'):
            assert rep.loc[('all negative', f'{av} avg'), 'f1'] == skm.f1_score(y, zero, average=av, zero_division=0)
            assert abs(rep.loc[('class prior', f'{av} avg'), 'f1'] - skm.f1_score(y, (prior > .5).astype(int), average=av, zero_division=0)) < 1e-12
            assert abs(rep.loc[('class prior', f'{av} avg'), 'ap'] - skm.average_precision_score(y, prior, average=av)) < 1e-9
    assert rep.loc[('all negative', 'label-wise accuracy'), 'value'] == 1 - y.mean()
    assert rep.loc[('all negative', 'exact match'), 'value'] == (y.sum(1) == 0).mean()

def test_best_thresh_maximises_each_class_f1():
    p, y, rep = _report(c=4)
    for c in range(1, 4):
        t = rep.loc[('class', str(c)), 'best_thresh']
        grid = np.linspace(0, 1, 103)[1:-1]
        best = max(skm.f1_score(y[:, c], (p[:, c] > g).astype(int), zero_division=0) for g in grid)
        assert abs(skm.f1_score(y[:, c], (p[:, c] > t).astype(int), zero_division=0) - best) < 1e-12

def test_vocab_and_errors():
    _, _, rep = _report(c=3, vocab=['a', 'b', 'c'])
    assert list(rep.loc['class'].index) == ['a', 'b', 'c']
    with pytest.raises(ValueError, match='vocab has 2 names'): _report(c=3, vocab=['a', 'b'])

BAD = [([fm.accuracy], 'argmax'), ([fm.error_rate], 'argmax'), ([partial(fm.top_k_accuracy, k=2)], 'argmax'),
       ([fm.F1Score()], 'single-label'), ([fm.Precision()], 'single-label'), ([fm.Recall()], 'single-label'),
       ([fm.F1ScoreMulti], 'without calling'), ([fm.accuracy_multi], 'only kind of metric'),
       ([AccuracyMulti()], 'only kind of metric'), ([fm.BrierScoreMulti(), F1ScoreMulti()], 'thresholds the probabilities'),
       ([BrierScoreMulti(), F1ScoreMulti()], 'hard 0/1')]

@pytest.mark.parametrize('metrics,msg', BAD)
def test_check_metrics_warns_on_bad_sets(metrics, msg):
    ms = [m if hasattr(m, 'accumulate') else AvgMetric(m) for m in metrics]
    assert any(msg in o for o in metric_problems(ms)), metric_problems(ms)

def test_check_metrics_warns_on_logit_thresholds():
    ms = [AvgMetric(partial(fm.accuracy_multi, sigmoid=False, thresh=.5)), F1ScoreMulti()]
    assert any('logits' in o for o in metric_problems(ms, torch.tensor([[-3., 2.]])))
    assert not metric_problems(ms, torch.tensor([[.3, .9]]))

@pytest.mark.parametrize('metrics', [[F1ScoreMulti(average='samples'), AccuracyMulti()], [APScoreMulti(), HammingLossMulti(), ExactMatchMulti()],
                                     [BrierScoreMulti(thresh=None)], [RocAucMulti(), AvgMetric(fm.accuracy_multi)]])
def test_check_metrics_is_silent_on_sound_sets(metrics):
    assert metric_problems(metrics) == []

@pytest.mark.parametrize('m,ours', [(fm.APScoreMulti(), 'APScoreMulti'), (fm.RocAucMulti(), 'RocAucMulti'), (fm.BrierScoreMulti(thresh=None), 'BrierScoreMulti'),
                                    (fm.F1ScoreMulti(average='samples'), 'F1ScoreMulti')])
def test_fastai_versions_are_named_not_called_single_label(m, ours):
    "fastai's sound multi-label metrics set `dim_argmax=-1` but apply a sigmoid first: not single-label. They are named as fastai's."
    probs = metric_problems([m])
    assert not any('single-label' in p for p in probs)
    assert probs == [f"{m.name} is fastai's {ours} (every prediction kept, scikit-learn on the CPU at epoch end): "
                     "import fastai_mlmetrics.all after fastai's `all` modules to use ours (same numbers, on the device)"]
