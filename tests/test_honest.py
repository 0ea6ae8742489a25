"Honest thresholds: cross-fitted rules, bootstrap errors and operating points against an independent NumPy/scikit-learn computation with the same folds and weights."
import warnings, numpy as np, torch, pytest, sklearn.metrics as skm
from hypothesis import example, given, settings, strategies as st
from fastai.losses import BCEWithLogitsLossFlat
from fastai_mlmetrics.all import *
from fastai_mlmetrics.stats import sample_folds, poisson_weights
from helpers import make_data, identity_learner, sweep_score as score, best_index, rounded

THS = np.array([.125, .25, .4, .5, .75])

def oracle(p, y, mask, m, K, R):
    "Each rule's in-sample value, cross-fitted value and bootstrap standard error (each replicate choosing the rule again on its other folds), by brute force."
    n, c = p.shape
    fold, W = sample_folds(torch.arange(n), K).numpy(), poisson_weights(torch.arange(n), R).numpy()
    lo, per_sample = m == 'hamming', m in ('f1_samples', 'precision_samples', 'recall_samples', 'exact_match')
    def glob(rows, w=None):  # in a replicate, a per-sample monitor is chosen on the rounded values the bootstrap sums hold
        f = (lambda t: rounded(m, y[rows], p[rows] > t, mask[rows], w[rows])) if w is not None and per_sample else \
            (lambda t: score(m, y[rows], p[rows] > t, mask[rows], None if w is None else w[rows]))
        return best_index([f(t) for t in THS], THS, lo)
    def cls(rows, w=None):  # each class's best F1 on `rows`, from (weighted) counts written out
        ww = np.ones(rows.sum()) if w is None else w[rows]
        yt, pr = ((y[rows] == 1) & ~mask[rows])[..., None], (p[rows][..., None] > THS) & ~mask[rows][..., None]
        tp, fp, fn = (np.einsum('n,nct->ct', ww, a.astype(float)) for a in (yt & pr, ~yt & pr, yt & ~pr))
        f1 = np.where(2*tp + fp + fn > 0, 2*tp/np.maximum(2*tp + fp + fn, 1e-300), 0.)
        return np.array([best_index(f1[j], THS) for j in range(c)])
    def shrunk(rows, w=None, lam=20):  # each class's best-F1 threshold pulled toward the global one by `lam` pseudo-positives, then the nearest grid point
        npos = (np.ones(n) if w is None else w)[rows] @ ((y[rows] == 1) & ~mask[rows])
        t = (npos*THS[cls(rows, w)] + lam*THS[glob(rows, w)])/(npos + lam)
        return np.abs(t[:, None] - THS).argmin(1)
    alls = np.ones(n, bool)
    pick = {'global': lambda rows, w=None: np.full(c, glob(rows, w)), 'shrunk': shrunk, 'per_class': cls}
    rules = {'fixed': (np.full(c, 3), [np.full(c, 3)]*K), **{r: (f(alls), [f(fold != k) for k in range(K)]) for r, f in pick.items()}}
    out = {}
    for r, (ins, per_fold) in rules.items():
        cvpred = p > THS[np.stack(per_fold)[fold]]
        reps = [score(m, y, cvpred, mask, w) for w in W] if r == 'fixed' else \
               [score(m, y, p > THS[np.stack([pick[r](fold != k, w) for k in range(K)])[fold]], mask, w) for w in W]
        out[r] = (score(m, y, p > THS[ins], mask), score(m, y, cvpred, mask), np.std(reps, ddof=1))
    return out

@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31), n=st.integers(30, 150), c=st.integers(2, 5), bs=st.integers(1, 64),
       m=st.sampled_from(['f1_samples', 'f1_micro', 'f1_macro', 'precision_samples', 'precision_macro', 'recall_micro', 'recall_macro',
                          'accuracy', 'exact_match', 'hamming']),
       masked=st.booleans(), empty_class=st.booleans(), neg_rows=st.booleans())
# macro monitors, pinned: one computed as micro would otherwise be found only after minutes of shrinking
@example(seed=11, n=60, c=4, bs=16, m='f1_macro', masked=True, empty_class=True, neg_rows=False)
@example(seed=12, n=45, c=3, bs=7, m='recall_macro', masked=False, empty_class=False, neg_rows=True)
@example(seed=13, n=50, c=5, bs=64, m='precision_macro', masked=True, empty_class=False, neg_rows=True)
# global and per_class tie exactly here: rounding the kept bins' plain value to 2^-32 once broke the tie toward per_class
@example(seed=5284917, n=30, c=2, bs=1, m='f1_samples', masked=False, empty_class=False, neg_rows=False)
# shrunk's held-out thresholds are one for every class here and its in-sample ones are not: the in-sample value was left NaN
@example(seed=0, n=36, c=2, bs=1, m='f1_samples', masked=False, empty_class=True, neg_rows=False)
def test_rules_match_an_independent_cross_fit(seed, n, c, bs, m, masked, empty_class, neg_rows):
    p, y = make_data(seed, n, c, empty_class=empty_class, neg_rows=neg_rows)
    mask = (np.random.default_rng(seed).random(y.shape) < .15) if masked else np.zeros(y.shape, bool)
    sw = ThresholdSweep(THS, metrics=(m,), monitor=m, sigmoid=False, folds=3, boot=20, ignore_index=-1 if masked else None)
    learn = identity_learner(p, np.where(mask, -1, y), [], bs=bs, cbs=sw)
    with warnings.catch_warnings(), learn.no_bar(), learn.no_logging():
        warnings.simplefilter('ignore')
        learn.validate()
        exp = oracle(p, y, mask, m, 3, 20)
    got = sw.rules
    for r, (ins, cv, se) in exp.items():
        np.testing.assert_allclose(got.loc[r, ['in_sample', 'cv', 'se']].to_numpy(float), [ins, cv, se], rtol=0, atol=1e-9, err_msg=r)
        assert got.loc[r, 'R'] == 20 and got.loc[r, 'se_with_choice'], got
    np.testing.assert_allclose(sw.best[f'{m}_cv'].iloc[0], exp['global'][1], atol=1e-9)
    best = sw.rules.cv.reindex(['fixed', 'global', 'shrunk', 'per_class'])  # simplest first: ties go to it
    assert sw.rule == best.index[int(np.flatnonzero(np.isclose(-best if m == 'hamming' else best, (-best if m == 'hamming' else best).max(), atol=1e-12))[0])]

def direct_points(p, y, con, target, rows):
    "Per class, by brute force on `rows`: the threshold index meeting `min_<con>` with the best other metric (then the best constrained one, then the lowest)."
    other = 'precision' if con == 'recall' else 'recall'
    out = []
    for j in range(p.shape[1]):
        best = None
        for k, t in enumerate(THS):
            pr, yt = p[rows, j] > t, y[rows, j] == 1
            tp, fp, fn, tn = (pr & yt).sum(), (pr & ~yt).sum(), (~pr & yt).sum(), (~pr & ~yt).sum()
            v = dict(precision=tp/(tp+fp) if tp+fp else np.nan, recall=tp/(tp+fn) if tp+fn else np.nan, specificity=tn/(tn+fp) if tn+fp else np.nan)
            if not v[con] >= target - 1e-12: continue
            key = (np.nan_to_num(v[other], nan=-1.), v[con])
            if best is None or key[0] > best[0][0] + 1e-12 or (abs(key[0] - best[0][0]) <= 1e-12 and key[1] > best[0][1] + 1e-12): best = (key, k)
        out.append(-1 if best is None else best[1])
    return np.array(out)

def pooled_rates(p, y, sel, fold):
    "Per class, the rates of the decisions at THS[sel[fold_i, c]], pooled over samples; NaN where a fold had no threshold."
    t = THS[np.maximum(sel, 0)][fold]
    pr, yt = p > t, y == 1
    tp, fp, fn, tn = ((pr & yt).sum(0), (pr & ~yt).sum(0), (~pr & yt).sum(0), (~pr & ~yt).sum(0))
    with np.errstate(invalid='ignore', divide='ignore'):
        r = dict(precision=tp/(tp+fp), recall=tp/(tp+fn), specificity=tn/(tn+fp))
    bad = (sel < 0).any(0)
    return {k: np.where(bad, np.nan, v) for k, v in r.items()}

@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31), n=st.integers(40, 200), c=st.integers(2, 5), con=st.sampled_from(['precision', 'recall', 'specificity']),
       target=st.sampled_from([.5, .8, .9, .95, 1.]))
def test_operating_points_match_a_direct_computation(seed, n, c, con, target):
    p, y = make_data(seed, n, c, p_pos=.4)
    sw = ThresholdSweep(THS, sigmoid=False, folds=4, boot=0)
    learn = identity_learner(p, y, [], bs=32, cbs=sw)
    with warnings.catch_warnings(), learn.no_bar(), learn.no_logging():
        warnings.simplefilter('ignore')
        learn.validate()
    op = sw.operating_points(**{f'min_{con}': target}, confidence=None)  # the in-sample choice (tests/test_certified.py: the certified one)
    other = 'precision' if con == 'recall' else 'recall'
    fold = sample_folds(torch.arange(n), 4).numpy()
    ins = direct_points(p, y, con, target, np.ones(n, bool))
    np.testing.assert_array_equal(op.thresh.to_numpy(), np.where(ins < 0, np.nan, THS[np.maximum(ins, 0)]))
    a = pooled_rates(p, y, np.tile(ins, (4, 1)), fold)
    cv = pooled_rates(p, y, np.stack([direct_points(p, y, con, target, fold != k) for k in range(4)]), fold)
    for col, ref in ((con, a[con]), (other, a[other]), (f'{con}_cv', cv[con]), (f'{other}_cv', cv[other])):
        np.testing.assert_allclose(op[col].to_numpy(float), ref, rtol=0, atol=1e-12, err_msg=col)
    assert (op[con].dropna() >= target - 1e-12).all()

def gen(n, prior, scale, shift, seed):
    "Logits of a model whose classes have the given priors and separability (`scale`) and an offset (`shift`)."
    g = torch.Generator().manual_seed(seed)
    y = (torch.rand(n, len(prior), generator=g) < torch.tensor(prior)).float()
    return (y*2 - 1)*torch.tensor(scale) + torch.randn(n, len(prior), generator=g) + torch.tensor(shift), y

@pytest.mark.parametrize('seed', [0, 1, 2])
def test_rule_is_global_for_alike_classes_and_per_class_for_differing_ones(seed):
    "Without shrinkage the rule is `per_class`; with it, it may be `shrunk`, the same per-class thresholds pulled toward the global one."
    alike = gen(1000, [.3]*8, [1.2]*8, [-1.]*8, seed)
    differ = gen(2000, [.02, .05, .1, .2, .3, .4, .5, .6], [3, 2.5, 2, 1.5, 1.2, 1, .8, .6], [-2, -1.5, -1, 0, .5, 1, 1, 1.5], seed)
    for (x, y), shrink, exp in ((alike, 20, {'global'}), (differ, 0, {'per_class'}), (differ, 20, {'shrunk', 'per_class'})):
        sw = ThresholdSweep(boot=0, shrink=shrink)
        learn = identity_learner(x, y, [], cbs=sw)
        with learn.no_bar(), learn.no_logging(): learn.validate()
        assert sw.rule in exp, sw.rules
        ct = sw.class_thresholds  # `apply` ships the chosen rule's thresholds (seed 0's differing classes choose 'shrunk')
        want = sw.best_thresh if sw.rule == 'global' else ct['thresh_shrunk' if sw.rule == 'shrunk' else 'thresh'].to_numpy()
        learn.loss_func = BCEWithLogitsLossFlat()  # a loss with a `thresh` to set
        np.testing.assert_allclose(np.asarray(sw.apply(learn), float), want, atol=1e-6)
        if exp != {'global'}:  # the classes want other thresholds, and a per-class rule beats the global one on held-out folds
            assert sw.class_thresholds.thresh.std() > .1 and sw.rules.cv[sw.rule] > sw.rules.cv['global'] + .005, sw.rules

def test_report_intervals_are_percentiles_of_weighted_sklearn_replicates():
    p, y = make_data(3, 250, 5, empty_class=True, neg_rows=True, ties=False)
    rep = multilabel_report(torch.tensor(p), torch.tensor(y), thresh=.4, sigmoid=False, ci=.9, boot=40, seed=2)
    pred, W = (p > .4).astype(int), poisson_weights(torch.arange(250), 40, seed=2).numpy()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        for av in ('micro', 'macro', 'weighted', 'samples'):
            for col, f in (('precision', skm.precision_score), ('recall', skm.recall_score), ('f1', skm.f1_score)):
                reps = [f(y, pred, average=av, sample_weight=w, zero_division=0) for w in W]
                np.testing.assert_allclose(rep.loc[('model', f'{av} avg'), [f'{col}_lo', f'{col}_hi']].to_numpy(float), np.quantile(reps, [.05, .95]), atol=1e-9)
        reps = {'exact match': [skm.accuracy_score(y, pred, sample_weight=w) for w in W],
                'hamming loss': [skm.hamming_loss(y, pred, sample_weight=w) for w in W]}
    for row, v in reps.items():
        np.testing.assert_allclose(rep.loc[('model', row), ['value_lo', 'value_hi']].to_numpy(float), np.quantile(v, [.05, .95]), atol=1e-9)
    assert rep.loc['all negative'].filter(like='_lo').isna().all().all()  # baselines are exact: no interval

def test_95_percent_intervals_cover_the_truth_at_300_samples():
    """By simulation from a known generator: over 2,000 validation sets of 300 samples, each 95% interval holds the population value
    at least 93.5% of the time. With 2,000 sets the measured coverage of a true 95% interval has a standard error of 0.5 points, so
    93.5% is 3 of them below 95%; an interval that truly covers 90% sits 5.7 of its own standard errors below 93.5%, and fails.
    The intervals use 1,000 replicates: with the default 200, the percentile endpoints' own noise costs about half a point of
    coverage (measured over the same 2,000 sets: 93.8% to 95.2%, against 94.8% to 95.4% with 1,000)."""
    prior, scale = torch.tensor([.2, .3, .4, .3, .25]), torch.tensor([1.5, 1., 2., .8, 1.2])
    def draw(n, g):
        y = (torch.rand(n, 5, generator=g) < prior).float()
        return (y*2 - 1)*scale + torch.randn(n, 5, generator=g) - .3, y
    x, y = draw(400_000, torch.Generator().manual_seed(123))
    pr, yt = (x > 0).numpy(), y.numpy() == 1  # decisions at 0.5
    tp, fp, fn = (pr & yt).sum(0), (pr & ~yt).sum(0), (~pr & yt).sum(0)
    stp, sfp, sfn = (pr & yt).sum(1), (pr & ~yt).sum(1), (~pr & yt).sum(1)
    with np.errstate(invalid='ignore', divide='ignore'):
        f1_i = np.where(2*stp + sfp + sfn > 0, 2*stp/(2*stp + sfp + sfn), 0)
    truth = {('micro avg', 'f1'): 2*tp.sum()/(2*tp.sum() + fp.sum() + fn.sum()), ('macro avg', 'f1'): np.mean(2*tp/(2*tp + fp + fn)),
             ('micro avg', 'precision'): tp.sum()/(tp.sum() + fp.sum()), ('samples avg', 'f1'): f1_i.mean(),
             ('samples avg', 'recall'): np.where(stp + sfn > 0, stp/np.maximum(stp + sfn, 1), 0).mean(),
             ('exact match', 'value'): ((sfp + sfn) == 0).mean(), ('label-wise accuracy', 'value'): 1 - (fp.sum() + fn.sum())/pr.size}
    g, hits, S = torch.Generator().manual_seed(8), {k: 0 for k in truth}, 2000
    for s in range(S):
        xs, ys = draw(300, g)
        rep = multilabel_report(xs, ys, ci=.95, seed=s, boot=1000).loc['model']
        for (row, col), v in truth.items(): hits[(row, col)] += rep.loc[row, f'{col}_lo'] <= v <= rep.loc[row, f'{col}_hi']
    cover = {k: h/S for k, h in hits.items()}
    assert min(cover.values()) >= .935, cover

@pytest.mark.parametrize('monitor', ['f1_samples', 'f1_macro'])
def test_se_includes_the_threshold_choice_of_every_rule(monitor):
    """By simulation from one known population (20 labels, prevalence 1-40%, positives' logits shifted by 0.5-3.5): over 80
    validation sets of 200 samples, each rule's mean `se` lies within 0.75-1.35 times the spread of its `cv`, and `cv ± 1.96 se`
    covers the population value of the thresholds it ships in at least 90% of the sets (the target, 0.8-1.25 and 92%, is measured over
    150 sets in the sweep notebook: 0.94-1.17, and at least 94.7%). Measured here: f1_samples 1.02-1.20 and 97.5-98.8%, f1_macro
    0.95-1.25 and 93.8-97.5%. Holding the thresholds fixed in the replicates (`choice_boot=0`), `per_class` falls short (0.77 and
    91% over 150 sets)."""
    C, rng0 = 20, np.random.default_rng(0)
    pi, mu = rng0.uniform(.01, .4, C), rng0.uniform(.5, 3.5, C)
    def draw(n, rng):
        y = rng.random((n, C)) < pi
        return (rng.standard_normal((n, C)) + y*mu - 1.5).astype(np.float32), y.astype(np.float32)
    xb, yb = draw(100_000, np.random.default_rng(1))
    pb, yt = 1/(1 + np.exp(-xb.astype(np.float64))), yb > 0
    def pop(t):  # the population value of decisions at thresholds t (one, or one per class)
        pr = pb > np.broadcast_to(t, (C,))
        tp = pr & yt
        if monitor == 'f1_samples':
            d = pr.sum(1) + yt.sum(1)
            return np.where(d > 0, 2*tp.sum(1)/np.maximum(d, 1), 0.).mean()
        tpc, d = tp.sum(0), (2*tp + (pr & ~yt) + (~pr & yt)).sum(0)
        return np.where(d > 0, 2*tpc/np.maximum(d, 1), 0.).mean()
    rng, res, fixed_pc = np.random.default_rng(2), {}, []
    for d in range(80):
        x, y = draw(200, rng)
        for cb in (0, None) if monitor == 'f1_samples' else (None,):
            sw = ThresholdSweep(monitor=monitor, seed=d, choice_boot=cb)
            learn = identity_learner(x, y, [], bs=256)
            with warnings.catch_warnings(), learn.no_bar(), learn.no_logging():
                warnings.simplefilter('ignore')
                learn.validate(cbs=[sw])
            if cb == 0: fixed_pc.append(sw.rules.se['per_class']); continue
            for r in ('fixed', 'global', 'shrunk', 'per_class'):
                x_ = sw.rules.loc[r]
                assert x_.R == 200 and x_.se_with_choice
                res.setdefault(r, []).append((x_.cv, x_.se, pop(np.asarray(sw._rule_thresh(r), dtype=np.float64))))
    for r, v in res.items():
        cv, se, truth = np.array(v).T
        ratio, cover = se.mean()/cv.std(ddof=1), np.mean(np.abs(cv - truth) <= 1.96*se)
        assert .75 <= ratio <= 1.35 and cover >= .9, (monitor, r, ratio, cover)  # the target is 0.8-1.25; 80 sets estimate a spread to about 8%
    if fixed_pc:  # the test has power: with the choice left out, per_class's se falls short
        cv = np.array(res['per_class'])[:, 0]
        assert np.mean(fixed_pc)/cv.std(ddof=1) < .85, np.mean(fixed_pc)/cv.std(ddof=1)

def test_choice_boot_sets_the_replicates_that_choose_again():
    "`choice_boot` replicates re-choose the per-class rules (R column); 0 holds their thresholds fixed, and says so; the global rule of a per-sample monitor re-chooses in every replicate from the bootstrap sums, whatever `choice_boot`."
    p, y = make_data(4, 120, 4, ties=False)
    got = {}
    for cb in (None, 7, 0):
        sw = ThresholdSweep(THS, sigmoid=False, folds=3, boot=20, choice_boot=cb)
        learn = identity_learner(p, y, [], bs=32, cbs=sw)
        with warnings.catch_warnings(), learn.no_bar(), learn.no_logging():
            warnings.simplefilter('ignore')
            learn.validate()
        got[cb] = sw.rules
    assert got[None].R.tolist() == [20]*4 and got[None].se_with_choice.all()
    assert got[7].loc[['shrunk', 'per_class'], 'R'].tolist() == [7, 7] and got[7].loc[['fixed', 'global'], 'R'].tolist() == [20, 20]
    assert got[0].loc[['shrunk', 'per_class'], 'se_with_choice'].tolist() == [False, False] and got[0].loc['global', 'se_with_choice']
    np.testing.assert_array_equal(got[0][['in_sample', 'cv']].to_numpy(), got[None][['in_sample', 'cv']].to_numpy())  # only se moves
    assert (got[0].se['per_class'] != got[None].se['per_class'])
    with pytest.raises(ValueError, match='choice_boot is a number of bootstrap replicates'): ThresholdSweep(choice_boot=-1)
