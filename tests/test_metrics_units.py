"""The metrics module's thin layers, each against something independent: the named score classes against `ScoreMulti` (which the
weighted oracle checks) with every argument passed, their documented defaults, the Brier score weighted and masked against NumPy
in float64, the plain `accuracy_multi` on ties, per-label thresholds and the shapes fastai's takes, and `multilabel_stat_scores`
with a mask against scikit-learn. A mutation run over `metrics` found each of these passing unchecked (tests/MUTATION.md)."""
import inspect, math, warnings, numpy as np, pytest, torch, sklearn.metrics as skm
from fastai_mlmetrics.all import *
from helpers import make_data, logits, stream, exact_pred

def data(seed=5, n=200, c=6, mask=.15):
    "Probabilities on a 1/8 grid (ties at the cuts) with an empty class and all-negative rows, -1 targets to mask, and integer weights with zeros."
    rng = np.random.default_rng(seed)
    p, y = make_data(seed, n, c, empty_class=True, neg_rows=True)
    y = np.where(rng.random(y.shape) < mask, -1, y)
    return p, y, rng.integers(0, 4, n).astype(np.float64)

# class, score, whether it takes pos_label
NAMED = [(F1ScoreMulti, 'fbeta', True), (PrecisionMulti, 'precision', True), (RecallMulti, 'recall', True), (JaccardMulti, 'jaccard', True),
         (SpecificityMulti, 'specificity', False), (NPVMulti, 'npv', False)]

@pytest.mark.parametrize('cls,score,has_pos', NAMED + [(FBetaMulti, 'fbeta', True)])
@pytest.mark.parametrize('average', ['micro', 'macro', 'weighted', 'samples', None])
def test_named_scores_pass_every_argument(cls, score, has_pos, average):
    "Each named class gives exactly `ScoreMulti`'s values for the same arguments, none of them at its default."
    p, y, w = data()
    x, t = torch.tensor(p), torch.tensor(y)
    kw = dict(thresh=.375, sigmoid=False, labels=[0, 2, 3, 5], average=average, sample_weight=torch.tensor(w), zero_division=1.,
              ignore_index=-1, name='mine')
    beta = 2. if cls is FBetaMulti else 1.
    m = cls(beta, **kw) if cls is FBetaMulti else cls(**kw)
    ref = ScoreMulti(score, kw['thresh'], False, average, beta, kw['labels'], kw['sample_weight'], 1., -1)
    assert m.name == 'mine' and (m.score, m.beta, m.average, m.ignore_index, m.zero_division) == (score, beta, average, -1, 1.)
    a, b = stream([m], x, t, 64)[0], stream([ref], x, t, 64)[0]
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    plain = ScoreMulti(score, kw['thresh'], False, average, beta, sample_weight=kw['sample_weight'], zero_division=1., ignore_index=-1)
    assert not np.array_equal(np.asarray(a), np.asarray(stream([plain], x, t, 64)[0]), equal_nan=True) or average is None  # labels count

@pytest.mark.parametrize('cls,score,has_pos', NAMED)
def test_named_score_defaults(cls, score, has_pos):
    "The documented defaults, on the signature and on a metric built without arguments."
    want = dict(thresh=.5, sigmoid=True, labels=None, average='macro', sample_weight=None, zero_division='warn', ignore_index=None, name=None)
    if has_pos: want['pos_label'] = 1
    got = {k: v.default for k, v in inspect.signature(cls).parameters.items()}
    assert got == want
    m = cls()
    assert (m.score, m.thresh, m.sigmoid, m.labels, m.average, m.sample_weight, m.zero_division, m.ignore_index, m.beta) == \
           (score, .5, True, None, 'macro', None, 'warn', None, 1.)
    assert inspect.signature(FBetaMulti).parameters['average'].default == 'macro'

def brier_oracle(q, y, w):
    "Per sample, the squared errors summed over the kept labels; averaged over samples with weights `w`, in float64."
    keep = y != -1
    e = (((q - np.where(keep, y, 0))**2)*keep).sum(1)
    return np.average(e, weights=w)

@pytest.mark.parametrize('sigmoid', [True, False])
@pytest.mark.parametrize('thresh', [None, .5, .375])
@pytest.mark.parametrize('weighted', [False, True])
def test_brier_weighted_masked(sigmoid, thresh, weighted):
    "BrierScoreMulti with `ignore_index`, weights (some zero) and a threshold at a tie, against NumPy in float64."
    p, y, w = data(7)
    x = torch.tensor(logits(p) if sigmoid else p, dtype=torch.float32)
    xs = x.double().numpy()
    q = (1/(1+np.exp(-xs)) if sigmoid else xs) if thresh is None else exact_pred(xs, thresh, sigmoid)
    m = BrierScoreMulti(thresh, sigmoid, sample_weight=torch.tensor(w) if weighted else None, ignore_index=-1)
    got = float(stream([m], x, torch.tensor(y), 64)[0])
    want = brier_oracle(q, y, w if weighted else np.ones(len(y)))
    np.testing.assert_allclose(got, want, rtol=1e-6 if thresh is None else 1e-12)
    assert m.name == 'brier_score' and BrierScoreMulti(name='b').name == 'b'

def test_brier_defaults():
    "fastai's signature: thresholded at 0.5 on logits, unless `thresh=None`."
    assert {k: v.default for k, v in inspect.signature(BrierScoreMulti).parameters.items()} == \
           dict(thresh=.5, sigmoid=True, sample_weight=None, pos_label=None, ignore_index=None, name=None)

@pytest.mark.parametrize('thresh', [.5, .375, [.25, .5, .75, .375, .625, .125]])
@pytest.mark.parametrize('sigmoid', [True, False])
def test_accuracy_multi_ties_and_thresholds(thresh, sigmoid):
    "The plain function: label-wise accuracy of `prob > thresh` (exactly, at ties), against scikit-learn's Hamming loss."
    p, y = make_data(3, 150, 6)
    x = torch.tensor(logits(p) if sigmoid else p, dtype=torch.float32)
    th = torch.tensor(thresh) if isinstance(thresh, list) else thresh
    want = 1 - skm.hamming_loss(y, exact_pred(x.double().numpy(), np.asarray(thresh), sigmoid))
    got = accuracy_multi(x, torch.tensor(y, dtype=torch.float32), th, sigmoid)
    assert got.dtype == torch.float32
    np.testing.assert_allclose(float(got), want, rtol=1e-6)

def test_accuracy_multi_shapes():
    "Any shape fastai's takes: labels on the last dimension, one sample's vector, a stack of batches; NaN scores raise on the CPU."
    p, y = make_data(4, 60, 5)
    x, t = torch.tensor(logits(p), dtype=torch.float32), torch.tensor(y, dtype=torch.float32)
    flat = float(accuracy_multi(x, t))
    assert float(accuracy_multi(x.view(3, 20, 5), t.view(3, 20, 5))) == flat
    for i in (0, 7):
        want = 1 - skm.hamming_loss(y[i:i+1], exact_pred(x[i:i+1].double().numpy(), .5))
        np.testing.assert_allclose(float(accuracy_multi(x[i], t[i])), want, rtol=1e-6)
    assert float(accuracy_multi(x[0, 0], t[0, 0])) == float((x[0, 0] > 0) == (t[0, 0] > 0))
    bad = x.clone(); bad[2, 3] = float('nan')
    with pytest.raises(ValueError, match='predictions contain NaN'): accuracy_multi(bad, t)  # a GPU returns NaN instead: no sync
    with pytest.warns(UserWarning, match='thresh=0 with sigmoid=True'): accuracy_multi(x, t, 0.)
    with warnings.catch_warnings():
        warnings.simplefilter("error"); accuracy_multi(torch.sigmoid(x), t, 0., sigmoid=False)

@pytest.mark.parametrize('average', ['micro', 'macro', 'weighted', None])
@pytest.mark.parametrize('sigmoid', [True, False])
def test_multilabel_stat_scores_masked(average, sigmoid):
    "`[tp, fp, tn, fn, support]` with `ignore_index`, against scikit-learn's confusion matrices on each class's kept entries."
    p, y, _ = data(9)
    x = torch.tensor(logits(p) if sigmoid else p, dtype=torch.float32)
    d = exact_pred(x.double().numpy(), .375, sigmoid)
    per = []
    for j in range(y.shape[1]):
        k = y[:, j] != -1
        tn, fp, fn, tp = skm.confusion_matrix(y[k, j], d[k, j], labels=[0, 1]).ravel()
        per.append([tp, fp, tn, fn, tp + fn])
    per = np.array(per, dtype=np.float64)
    want = {None: per, 'micro': per.sum(0), 'macro': per.mean(0), 'weighted': (per*per[:, 4:]).sum(0)/per[:, 4].sum()}[average]
    got = multilabel_stat_scores(x, torch.tensor(y), .375, sigmoid, average, ignore_index=-1)
    np.testing.assert_allclose(got.double().numpy(), want, rtol=1e-12)
    assert inspect.signature(multilabel_stat_scores).parameters['average'].default == 'micro'
    with pytest.raises(ValueError, match="average must be 'micro', 'macro', 'weighted' or None, got 'samples'"):
        multilabel_stat_scores(x, torch.tensor(y), average='samples')

def test_grid():
    "The binned ranking metrics' grids: a count gives evenly spaced points, a float 1.0 or 2.0 is refused as ambiguous, values are sorted float64."
    from fastai_mlmetrics.metrics import _grid
    assert _grid(1).tolist() == [.5] and _grid(3).tolist() == [.25, .5, .75]
    for v, want in ((.3, [.3]), (1., None), ([.6, .2, 1.], [.2, .6, 1.]), (torch.tensor([.7, .1], dtype=torch.float64), [.1, .7]), (0., [0.])):
        if want is None:
            with pytest.raises(TypeError, match=r"thresholds=1.0 is a float: pass 1 \(an int\) for that many evenly spaced thresholds"): _grid(v)
            continue
        g = _grid(v)
        assert g.dtype == torch.float64 and g.ndim == 1 and g.tolist() == want
    with pytest.raises(TypeError, match=r"thresholds=2.0 is a float"): _grid(2.)
    with pytest.raises(ValueError, match=r"thresholds=0: pass a positive number of evenly spaced thresholds, or the thresholds themselves"): _grid(0)
    with pytest.raises(ValueError, match=r"^thresholds=1.5 is outside \[0,1\]"): _grid([.5, 1.5])
    p, y = make_data(2, 80, 4)
    x, t = torch.tensor(logits(p), dtype=torch.float32), torch.tensor(y)
    one = [float(stream([RocAucMulti(thresholds=th)], x, t, 32)[0]) for th in (1, [.5])]
    assert one[0] == one[1]  # a single cut at 0.5: AUROC of the decision itself
    with pytest.raises(ValueError, match="sample_weight is not supported with thresholds=: use exact mode"):
        stream([APScoreMulti(thresholds=10, sample_weight=torch.ones(80))], x, t, 32)

RANKING = [(RocAucMulti, dict(sigmoid=True, average='macro', sample_weight=None, max_fpr=None, thresholds=None, ignore_index=None, name=None)),
           (APScoreMulti, dict(sigmoid=True, average='macro', pos_label=1, sample_weight=None, thresholds=None, ignore_index=None, name=None)),
           (CoverageErrorMulti, dict(sigmoid=True, ignore_index=None, sample_weight=None, name=None)),
           (LabelRankingAPMulti, dict(sigmoid=True, ignore_index=None, sample_weight=None, name=None)),
           (RankingLossMulti, dict(sigmoid=True, ignore_index=None, sample_weight=None, name=None)),
           (MatthewsCorrCoefMulti, dict(thresh=.5, sigmoid=True, sample_weight=None, labels=None, ignore_index=None, name=None))]

@pytest.mark.parametrize('cls,want', RANKING)
def test_other_defaults_and_names(cls, want):
    "The documented defaults of the ranking and correlation metrics; a `name` given is the Recorder's column."
    assert {k: v.default for k, v in inspect.signature(cls).parameters.items()} == want
    m = cls()
    assert all(getattr(m, k) == v for k, v in want.items() if k not in ('name', 'pos_label'))
    assert cls(name='mine').name == 'mine'

def test_label_rank_metric_and_score_rows_defaults():
    "LabelRankMetric ranks label-wise AP by default; score_rows ranks per label by default; a partial AUROC reaches the rows."
    from fastai_mlmetrics.metrics import LabelRankMetric, ScoresAcc, score_rows
    assert inspect.signature(LabelRankMetric).parameters['kind'].default == 'lrap' and LabelRankMetric().kind == 'lrap'
    assert LabelRankMetric().sigmoid is True and LabelRankMetric(name='z').name == 'z'
    with pytest.raises(ValueError, match="unknown kind 'auc'"): LabelRankMetric('auc')
    assert inspect.signature(ScoresAcc).parameters['sigmoid'].default is True
    p, y = make_data(6, 90, 4, ties=False)
    a = ScoresAcc(); a.update(torch.tensor(logits(p)), torch.tensor(y))
    s = a.sums()
    rows, labels = score_rows(s), score_rows(s, 'labels')
    assert all(torch.equal(rows[k], labels[k]) for k in labels)
    want = [skm.roc_auc_score(y[:, j], p[:, j], max_fpr=.25) for j in range(4)]
    np.testing.assert_allclose(score_rows(s, 'labels', max_fpr=.25)['roc_auc'].double().numpy(), want, rtol=1e-12)
    np.testing.assert_allclose(rows['npos'].double().numpy(), y.sum(0))
    np.testing.assert_allclose(rows['nneg'].double().numpy(), (1-y).sum(0))

def rank_warnings(m, x, y):
    "The value of ranking metric `m` on `x`, `y`, and the texts of the warnings it gave."
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter('always')
        v = stream([m], x, y, 16)[0]
    return v, [str(r.message) for r in rec if 'only one class' in str(r.message) or 'no positive' in str(r.message)]

def test_ranking_undefined_rows_named_word_for_word():
    "Which labels, samples or entries a ranking metric cannot score, and why, word for word; and the value it gives then."
    rng = np.random.default_rng(8)
    x = torch.tensor(rng.normal(size=(40, 13)), dtype=torch.float32)
    y = torch.tensor((rng.random((40, 13)) < .4).astype(np.int64))
    y[:, [0, 2]] = 0; y[:, 5] = 1  # 0 and 2: no positive; 5: no negative
    v, w = rank_warnings(APScoreMulti(average='macro'), x, y)
    assert w == ["ap_macro: labels [0, 2] have no positive: its AP is 0"]
    ref = [skm.average_precision_score(y[:, j], x[:, j]) if y[:, j].any() else 0. for j in range(13)]
    np.testing.assert_allclose(float(v), np.mean(ref), rtol=1e-9)
    v, w = rank_warnings(RocAucMulti(average='macro'), x, y)
    assert w == ["roc_auc_macro: labels [0, 2, 5] have only one class present: left out of the average"]
    ok = [j for j in range(13) if j not in (0, 2, 5)]
    np.testing.assert_allclose(float(v), np.mean([skm.roc_auc_score(y[:, j], x[:, j]) for j in ok]), rtol=1e-9)
    y2 = y.clone(); y2[:, :12] = 0
    _, w = rank_warnings(RocAucMulti(average=None), x, y2)
    assert w == ["roc_auc_per_class: labels [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]... have only one class present: left out of the average"]
    y3 = y.clone(); y3[:11] = 0
    _, w = rank_warnings(RocAucMulti(average='samples'), x, y3)
    assert w == ["roc_auc_samples: samples [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]... have only one class present: left out of the average"]
    y4 = y.clone(); y4[:10] = 0
    _, w = rank_warnings(APScoreMulti(average='samples'), x, y4)
    assert w == ["ap_samples: samples [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] have no positive: its AP is 0"]
    v, w = rank_warnings(RocAucMulti(average='micro'), x, torch.zeros_like(y))
    assert w == ["roc_auc_micro: all entries have only one class present: left out of the average"] and math.isnan(float(v))
    v, w = rank_warnings(APScoreMulti(average='micro'), x, y)
    assert w == [] and float(v) == pytest.approx(skm.average_precision_score(y.numpy().ravel(), x.numpy().ravel()), rel=1e-9)

@pytest.mark.parametrize('average', ['macro', None])
def test_ranking_with_no_sample(average):
    "A validation set of no sample: NaN, one per label with `average=None`."
    m = RocAucMulti(average=average)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        L = type('L', (), {})(); L.pred, L.y = torch.zeros(0, 4), torch.zeros(0, 4)
        m.reset(); m.accumulate(L); v = m.value  # one empty batch
    if average is None: assert v.dtype == torch.float64 and v.shape == (4,) and torch.isnan(v).all()
    else: assert math.isnan(float(v))

def test_rank_metric_refusals_and_defaults():
    "Built without arguments: exact macro AUROC on logits. A partial AUROC needs 0 < max_fpr <= 1 (1 is the whole curve); binned needs an average over labels."
    from fastai_mlmetrics.metrics import RankMetric
    m = RankMetric()
    assert (m.kind, m.sigmoid, m.average, m.thresholds, m.max_fpr) == ('roc_auc', True, 'macro', None, None)
    assert RocAucMulti(max_fpr=1).max_fpr is None and RocAucMulti(max_fpr=.5).max_fpr == .5
    for bad in (0, 1.5, 2, -.1):
        with pytest.raises(ValueError, match=rf"max_fpr must be in \(0, 1\] \(partial AUROC\), got {bad}"): RocAucMulti(max_fpr=bad)
    with pytest.raises(ValueError, match=r"max_fpr must be in \(0, 1\]"): RankMetric('ap', max_fpr=.5)
    for av in ('micro', 'samples'):
        with pytest.raises(ValueError, match=f"average='{av}' needs exact mode: leave thresholds=None"): RocAucMulti(average=av, thresholds=10)
    assert FBetaMulti(2.).average == 'macro' and FBetaMulti(2., name='f').name == 'f'

def _raises(f, msg):
    with pytest.raises(ValueError) as e: f()
    assert str(e.value) == msg

def test_score_multi_defaults_refusals_and_names():
    "`ScoreMulti` built bare holds its documented defaults; each refusal is worded as documented; the entry-rate classes keep a given name."
    m = ScoreMulti()
    assert (m.score, m.thresh, m.sigmoid, m.average, m.beta, m.zero_division, m.labels, m.sample_weight, m.ignore_index, m.betas) == \
           ('fbeta', .5, True, 'macro', 1., 'warn', None, None, None, (1.,))
    assert ScoreMulti('fbeta', average='samples', beta=2.).betas == (2.,) and ScoreMulti('fbeta', average='micro', beta=2.).betas == (1.,)
    assert ScoreMulti('precision', average='samples', beta=2.).betas == (1.,)
    _raises(lambda: ScoreMulti('f2'), "unknown score 'f2'")
    for b in (0., -1., math.inf, math.nan): _raises(lambda: ScoreMulti(beta=b), f"beta must be positive and finite, got {b}")
    ScoreMulti('precision', beta=0.)  # beta matters to F-beta only
    _raises(lambda: ScoreMulti(average='bogus'), "average must be one of ('micro', 'macro', 'weighted', 'samples', None), got 'bogus'")
    _raises(lambda: F1ScoreMulti(pos_label=0), "pos_label=0: multi-label targets count 1 as positive; scikit-learn ignores pos_label unless average='binary'")
    _raises(lambda: AccuracyMulti(average='samples'), "label-wise accuracy and Hamming loss support average 'micro', 'macro', 'weighted' or None, got 'samples'")
    assert AccuracyMulti(name='acc').name == 'acc' and HammingLossMulti(name='ham', average='macro').name == 'ham'
    assert AccuracyMulti(average='macro').name == 'accuracy_macro'
    with pytest.warns(UserWarning, match="thresh=0 with sigmoid=True predicts every label"): ScoreMulti(thresh=0.)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        ScoreMulti(thresh=0., sigmoid=False)  # a probability threshold of 0 is what it says

def test_cut_for_checks_its_labels():
    from fastai_mlmetrics.metrics import cut_for
    _raises(lambda: cut_for(torch.tensor([.5, .5]), True, torch.zeros(4, 3)), "thresh has 2 per-class values but the inputs have 3 labels")
    _raises(lambda: cut_for(torch.tensor([.5, .5]), False, torch.zeros(4, 3), 'per_class'), "per_class has 2 per-class values but the inputs have 3 labels")
    c = cut_for(torch.tensor([.5, .25, .75]), False, torch.zeros(4, 3, dtype=torch.float64))
    assert c.dtype == torch.float64 and c.tolist() == [.5, .25, .75]

def test_one_metric_over_batches_of_two_dtypes():
    "The exact cut is kept per dtype: a float64 score exactly at the float64 cut of 0.3 is negative after a float32 batch too."
    from fastai_mlmetrics.core import cutoff
    c64 = cutoff(.3, True, torch.float64)
    x64 = torch.tensor([[c64, math.nextafter(c64, math.inf)]], dtype=torch.float64)  # at the cut: no; just above: yes
    m = F1ScoreMulti(thresh=.3, average='micro')
    x32 = torch.tensor([[-5., 5.]])
    stream([m], x32, torch.tensor([[0., 1.]]), 1)
    acc = m._acc
    acc.reset()
    for x, y in ((x32, torch.tensor([[0., 1.]])), (x64, torch.tensor([[1., 1.]]))):
        acc.update(x, y)
    s = acc.sums(m.name)
    assert (s['tp'].tolist(), s['fn'].tolist(), s['fp'].tolist()) == ([0, 2], [1, 0], [0, 0])

def test_a_second_pass_starts_afresh():
    "Metrics that share one state, streamed twice over the same learner, give the second pass's values, not both passes' together."
    p, y, w = data()
    x, t = torch.tensor(logits(p)), torch.tensor(np.where(y == -1, 0, y))
    from helpers import FakeLearn
    ms, learn = [F1ScoreMulti(average='micro'), PrecisionMulti(average='samples'), AccuracyMulti()], FakeLearn()
    first = stream(ms, x, t, 64, learn)
    assert stream(ms, x, t, 64, learn) == first and all(type(v) is float for v in first)
    assert stream(ms, x[:100], t[:100], 64, learn) == stream(ms, x[:100], t[:100], 64)
    one, learn = [F1ScoreMulti(average='micro')], FakeLearn()  # alone on its state: no other metric's first batch resets it
    stream(one, x, t, 64, learn)
    assert stream(one, x[:100], t[:100], 64, learn) == stream(one, x[:100], t[:100], 64)

def test_a_warning_names_its_metric():
    "The end-of-pass warning that probabilities were passed as logits names the metric's column."
    m = F1ScoreMulti(average='micro', name='mine')
    with pytest.warns(UserWarning) as rec: stream([m], torch.rand(8, 3), (torch.rand(8, 3) < .5).float(), 4)
    assert [str(w.message) for w in rec] == ["mine: every prediction lies in [0,1] but sigmoid=True, so they are read as logits: if they are "
                                             "probabilities (learn.get_preds() applies the sigmoid), pass sigmoid=False"]

def test_first_batch_checks_the_learners_metrics():
    "Our metric's first batch in a `Learner` runs `check_metrics`, with that batch's logits for the checks that read values: once per list of metrics, again when the list changes."
    from functools import partial
    import fastai.metrics as fm
    from helpers import identity_learner
    p, y, _ = data()
    x, t = torch.tensor(logits(p), dtype=torch.float32), torch.tensor(np.where(y == -1, 0, y), dtype=torch.float32)
    msg = "accuracy_multi has sigmoid=False but the model's outputs are logits (outside [0,1]): its thresh=0.5 is applied to logits"
    ms = lambda: [F1ScoreMulti(average='samples'), partial(fm.accuracy_multi, sigmoid=False)]
    learn = identity_learner(x, t, ms())
    def warned():
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter('always')
            learn.validate()
        return sum(msg in str(m.message) for m in w)
    assert warned() == 1 and warned() == 0
    learn.metrics = ms()
    assert warned() == 1

def test_accumulator_refusals_and_unchecked_values():
    "Labels and sample weights that do not fit are named; `validate_args=False` reads the values as given, with no flags to reduce."
    from fastai_mlmetrics.metrics import StatScores
    x, y = torch.zeros(4, 3), torch.zeros(4, 3)
    _raises(lambda: F1ScoreMulti(labels=[0, -1]), "labels must be column indices >= 0, got -1 < 0")
    _raises(lambda: stream([F1ScoreMulti(labels=[0, 3])], x, y, 4), "f1_macro: labels has index 3, but the inputs have 3 labels (0 to 2)")
    stream([F1ScoreMulti(labels=[0, 2])], x, y, 4)  # the last column is a label
    with pytest.raises(ValueError, match="^f1_macro: sample_weight has 5 entries, but more samples were seen: pass one weight per validation sample"):
        stream([F1ScoreMulti(sample_weight=torch.ones(5))], torch.zeros(6, 3), torch.zeros(6, 3), 3)
    stream([F1ScoreMulti(sample_weight=torch.ones(6))], torch.zeros(6, 3), torch.zeros(6, 3), 3)  # exactly enough
    assert (StatScores().sigmoid, StatScores().thresh, StatScores().validate_args) == (True, .5, True)
    acc = StatScores(validate_args=False)
    acc.update(torch.zeros(2, 3), torch.full((2, 3), 2.))  # a 2 is not checked: read as not 1
    assert acc.flags is None and acc.sums()['fn'].tolist() == [0, 0, 0]
    with pytest.raises(ValueError, match=r"^targets must be 0 or 1 \(or ignore_index\)"): StatScores().update(torch.zeros(2, 3), torch.full((2, 3), 2.))
