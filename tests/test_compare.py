"Paired comparisons: replicates against scikit-learn under the same weights, and simulations from a known truth (equal models, a truly better one, the best of eight equal epochs)."
import math, tempfile, warnings, numpy as np, torch, pytest
import sklearn.metrics as skm
from hypothesis import given, settings, example, strategies as st
from fastai_mlmetrics.all import ThresholdSweep, compare
from fastai_mlmetrics.choose import paired_replicates, compare_metrics, paired_diff
from fastai_mlmetrics.stats import poisson_weights
from helpers import make_data, logits, exact_pred

def oracle(p, pr, y, keep, w):
    "Every metric of `compare_metrics`, by scikit-learn on the kept entries with sample weights `w`, from scores `p` and decisions `pr`."
    n, C = y.shape
    out = {}
    sk = lambda f, yy, pp, ww: f(yy, pp, sample_weight=ww, zero_division=0) if ww.sum() > 0 else 0.  # nothing weighed: every count is 0
    for av in ('micro', 'macro', 'weighted', 'samples'):
        for k, f in (('f1', skm.f1_score), ('precision', skm.precision_score), ('recall', skm.recall_score)):
            if keep.all() and av != 'samples' and C > 1: out[f'{k}_{av}'] = f(y, pr, average=av, sample_weight=w, zero_division=0)
            elif av == 'micro':  # every kept entry, weighted by its sample's weight (and one label as multi-label: scikit-learn reads it as binary)
                out[f'{k}_{av}'] = sk(f, y[keep], pr[keep], np.broadcast_to(w[:, None], y.shape)[keep])
            elif av in ('macro', 'weighted'):
                v = np.array([sk(f, y[keep[:, c], c], pr[keep[:, c], c], w[keep[:, c]]) for c in range(C)])
                sup = np.array([(w * y[:, c] * keep[:, c]).sum() for c in range(C)])
                out[f'{k}_{av}'] = v.mean() if av == 'macro' or sup.sum() == 0 else (v * sup).sum() / sup.sum()
            else:  # per sample over its kept labels, as 'samples' does (which scikit-learn cannot mask, nor take for one label)
                t_, p_, y_ = ((pr & y) * keep).sum(1), (pr * keep).sum(1), (y * keep).sum(1)
                num, den = dict(f1=(2*t_, p_ + y_), precision=(t_, p_), recall=(t_, y_))[k]
                out[f'{k}_{av}'] = (np.where(den > 0, num / np.maximum(den, 1), 0.) * w).sum() / w.sum()
    ok = ((pr == y) | ~keep)
    out['exact_match'] = (ok.all(1) * w).sum() / w.sum()
    out['accuracy'] = ((ok & keep).sum(1) @ w) / (keep.sum(1) @ w)
    out['hamming_loss'] = 1 - out['accuracy']
    out['ap_macro'] = np.mean([skm.average_precision_score(y[keep[:, c], c], p[keep[:, c], c], sample_weight=w[keep[:, c]])
                               if (y[keep[:, c], c] * w[keep[:, c]]).sum() > 0 else 0. for c in range(C)])
    return out

@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31), n=st.integers(2, 60), c=st.integers(1, 5), sigmoid=st.booleans(), masked=st.booleans(),
       per_class=st.booleans())
@example(seed=0, n=40, c=4, sigmoid=True, masked=True, per_class=True)
@example(seed=1, n=2, c=1, sigmoid=False, masked=False, per_class=False)
def test_paired_replicates_are_weighted_sklearn(seed, n, c, sigmoid, masked, per_class):
    "Each model's value and each replicate equal scikit-learn's with the same Poisson weights: ties at the threshold, an empty class, all-negative samples, masks, per-class thresholds."
    pa, y = make_data(seed, n, c, empty_class=True, neg_rows=True)
    pb, _ = make_data(seed + 1, n, c)
    rng = np.random.default_rng(seed)
    keep = rng.random((n, c)) > (.2 if masked else -1)
    yt = np.where(keep, y, -1)
    ta = np.round(rng.integers(1, 8, c) / 8, 3) if per_class else .5
    tb = .25
    x = lambda p: torch.tensor(logits(p) if sigmoid else p)
    reps = paired_replicates(x(pa), x(pb), torch.tensor(yt), torch.tensor(ta) if per_class else ta, tb, sigmoid, boot=6, seed=seed % 7,
                             metrics=compare_metrics, ignore_index=-1 if masked else None)
    W = np.concatenate([np.ones((1, n)), poisson_weights(torch.arange(n), 6, seed % 7).double().numpy()])
    # the decisions `sigmoid(logit) > t` in exact arithmetic: ties at the threshold are common here
    dec = [exact_pred(x(p).numpy(), np.broadcast_to(t, (c,)), sigmoid) for p, t in ((pa, ta), (pb, tb))]
    for r in range(len(W)):
        if W[r].sum() == 0: continue  # no sample drawn: scikit-learn has nothing to score
        for i, p in enumerate((pa, pb)):
            ref = oracle(x(p).numpy(), dec[i], y, keep, W[r])
            for m in compare_metrics:
                a, b = reps[m][i, r], ref[m]
                assert (np.isnan(a) and np.isnan(b)) or abs(a - b) <= 1e-9, (m, i, r, a, b)

def draw(rng, n, C=10, pi=.25, mu_a=1.2, mu_b=1.2):
    "Targets and two models' logits: each is signal plus a shared difficulty plus its own noise, so they err on many of the same entries."
    y = rng.random((n, C)) < pi
    s = rng.standard_normal((n, C))
    la = (2*y - 1)*mu_a + s + rng.standard_normal((n, C)) - .3
    lb = (2*y - 1)*mu_b + s + rng.standard_normal((n, C)) - .3
    return torch.tensor(la), torch.tensor(lb), torch.tensor(y.astype(np.float32))

def f1_samples(l, y):
    pr, y = l.numpy() > 0, y.numpy() > 0
    tp, den = (pr & y).sum(1), pr.sum(1) + y.sum(1)
    return np.where(den > 0, 2*tp/np.maximum(den, 1), 0.).mean()

def test_equal_models_are_called_equal():
    "Two models of the same population quality: each 95% paired interval covers 0 in at least 93% of 400 draws, and p < 0.05 in at most 7%."
    rng, cover, small = np.random.default_rng(0), [], []
    for _ in range(400):
        r = compare(*draw(rng, 300), boot=200, seed=int(rng.integers(1 << 30)))
        cover.append((r.lo <= 0) & (r.hi >= 0)); small.append(r.p < .05)
    cover, small = np.mean(cover, 0), np.mean(small, 0)
    assert (cover >= .93).all(), dict(zip(r.index, cover))
    assert (small <= .07).all(), dict(zip(r.index, small))

MU_B = 1.31  # with MU_A = 1.2: the population F1 over samples is 0.03 higher (checked below on 400,000 samples)

def test_a_better_model_is_found_and_pairing_sharpens():
    "Model b truly better by 0.03 F1 over samples at N=1,000: the paired interval excludes 0 in at least 80% of 200 draws, and is narrower than the unpaired one (each model's own interval)."
    la, lb, y = draw(np.random.default_rng(1), 400_000, mu_b=MU_B)
    assert f1_samples(lb, y) - f1_samples(la, y) == pytest.approx(.03, abs=.002)
    rng, found, paired, unpaired = np.random.default_rng(2), [], [], []
    for _ in range(200):
        la, lb, y = draw(rng, 1000, mu_b=MU_B)
        reps = paired_replicates(la, lb, y, metrics='f1_samples', seed=int(rng.integers(1 << 30)))['f1_samples']
        row = paired_diff(*reps)
        found.append(row['lo'] > 0)
        paired.append(row['hi'] - row['lo'])
        unpaired.append(2*1.96*math.hypot(reps[0, 1:].std(ddof=1), reps[1, 1:].std(ddof=1)))
    assert np.mean(found) >= .8, np.mean(found)
    print(f"found {np.mean(found):.3f}; paired/unpaired width {np.mean(np.array(paired)/np.array(unpaired)):.3f}")
    paired, unpaired = np.array(paired), np.array(unpaired)
    assert (paired < unpaired).all() and np.mean(paired/unpaired) < .75, np.mean(paired/unpaired)  # 0.67 here: the models share much of their error

class Epochs(torch.nn.Module):
    "Returns the current epoch's predictions for the samples whose indices it is given."
    def __init__(self, P): super().__init__(); self.P, self.e, self.w = P, 0, torch.nn.Parameter(torch.zeros(1))
    def forward(self, i): return self.P[self.e][i.long()] + self.w

def fit_epochs(P, y, sweep, monitor='f1_samples_cv', bs=100):
    "A fit of len(P) epochs whose validation predictions are P[epoch] (nothing is learnt), the best restored by SaveModelCallback."
    from fastai.learner import Learner
    from fastai.data.core import DataLoaders
    from fastai.data.load import DataLoader
    from fastai.callback.core import Callback
    from fastai.callback.tracker import SaveModelCallback
    class SetEpoch(Callback):
        def before_validate(self): self.learn.model.e = self.epoch
    idx = torch.arange(len(y)).float()
    dls = DataLoaders(DataLoader(list(zip(idx[:8], y[:8])), bs=8), DataLoader(list(zip(idx, y)), bs=bs))
    with tempfile.TemporaryDirectory() as d, warnings.catch_warnings():
        warnings.simplefilter('ignore')
        learn = Learner(dls, Epochs([p.float() for p in P]), loss_func=torch.nn.BCEWithLogitsLoss(), path=d,
                        cbs=[sweep, SetEpoch(), SaveModelCallback(monitor=monitor, with_opt=False)])
        with learn.no_bar(), learn.no_logging(): learn.fit(len(P), 0)
    return learn

def test_epoch_differences_and_the_held_out_choice_written_out():
    "`best`'s paired differences and `epoch_choice`, recomputed in NumPy from the predictions: the cross-fitted global threshold per fold, each sample's F1, the same Poisson weights, the tracker's comparison replayed per fold."
    from fastai_mlmetrics.stats import sample_folds
    rng, ths = np.random.default_rng(15), np.arange(1, 20)/20
    y = draw(rng, 300)[2]
    P = [(2*y.double() - 1)*mu + torch.tensor(rng.standard_normal(y.shape)*1.4) - .3 for mu in (.6, 1.15, 1.15, 1.15)]
    sw = ThresholdSweep(ths, per_class=False, boot=40, seed=3)
    fit_epochs(P, y, sw)
    fold, K = sample_folds(torch.arange(300), 5, 3).numpy(), 5
    W = poisson_weights(torch.arange(300), 40, 3).double().numpy()
    yy = y.numpy() > 0
    def f1s(pr):  # each sample's F1 (0 with no true and no predicted label)
        t_ = yy if pr.ndim == 2 else yy[:, None]
        tp, den = (pr & t_).sum(-1), pr.sum(-1) + t_.sum(-1)
        return np.where(den > 0, 2*tp/np.maximum(den, 1), 0.)
    ship, gcv = [], []
    for p in P:
        F = f1s(torch.sigmoid(p).numpy()[:, None, :] > ths[None, :, None])  # [N,T]
        def chosen(rows):  # the global threshold best on `rows`, ties toward 0.5
            v = F[rows].mean(0)
            c = np.flatnonzero(np.isclose(v, v.max(), rtol=0, atol=1e-12))
            return c[np.argmin(np.abs(ths[c] - .5))]
        t = ths[[chosen(fold != k) for k in range(K)]]
        # the tracker's values with fold k never seen: fold j scored at the threshold chosen on the folds other than j and k
        nest = np.array([[F[fold == j, chosen((fold != j) & (fold != k))].mean() if j != k else np.nan for j in range(K)] for k in range(K)])
        fx = F[:, 9]  # the learner's 0.5
        f = f1s(torch.sigmoid(p).numpy() > t[fold][:, None])
        cv = dict(fixed=fx.mean(), **{'global': f.mean()})
        r = 'global' if cv['global'] > cv['fixed'] + 1e-12 else 'fixed'
        gcv.append(cv['global'])  # the Recorder's f1_samples_cv, which the tracker compares
        g = f if r == 'global' else fx
        ship.append(dict(rule=r, cv=g.mean(), reps=W@g/W.sum(1), folds=np.array([g[fold == k].mean() for k in range(K)]), nest=nest,
                         by_rule={q: np.array([v[fold == k].mean() for k in range(K)]) for q, v in (('fixed', fx), ('global', f))}))
    b, ch = sw.best, sw.chosen_epoch
    assert ch == int(np.argmax(gcv))
    for e, s in enumerate(ship):
        assert b.f1_samples_diff[e] == pytest.approx(s['cv'] - ship[ch]['cv'], abs=1e-9)
        assert b.f1_samples_diff_se[e] == pytest.approx((s['reps'] - ship[ch]['reps']).std(ddof=1), abs=1e-9)
    n = np.bincount(fold, minlength=K)
    V, Vt = np.stack([s['folds'] for s in ship]), np.stack([s['nest'] for s in ship])
    pick = [int(np.argmax(np.nan_to_num(Vt[:, k])@np.where(np.arange(K) == k, 0, n)/(300 - n[k]))) for k in range(K)]
    ec = sw.epoch_choice
    assert len(set(pick)) > 1 and {s['rule'] for s in ship} == {'fixed', 'global'}  # the folds disagree, and both rules ship: a real test
    assert ec.epoch.iloc[1] == ', '.join(map(str, pick))
    assert ec.cv.iloc[0] == pytest.approx(ship[ch]['cv'], abs=1e-9)
    def held(e, k):  # the rule chosen on the other folds (ties to 'fixed'), scored on fold k
        w = np.where(np.arange(K) == k, 0, n)
        v = {q: a@w/w.sum() for q, a in ship[e]['by_rule'].items()}
        return ship[e]['by_rule']['global' if v['global'] > v['fixed'] + 1e-12 else 'fixed'][k]
    assert ec.cv.iloc[1] == pytest.approx(sum(n[k]*held(e, k) for k, e in enumerate(pick))/300, abs=1e-9)

def test_best_of_eight_equal_epochs_flatters_and_the_held_out_choice_does_not():
    "Eight epochs of equal population quality (each a fresh draw of one generator), the best restored by SaveModelCallback: the chosen epoch's cv overstates the truth of what ships; the epoch chosen on the other folds does not (mean error within 0.005 over 200 fits; 300 other fits: +0.018 and +0.003)."
    ths = np.arange(1, 20)/20
    la, _, yb = draw(np.random.default_rng(3), 400_000)  # the population: every epoch's logits have this law given the targets
    pr, yy = torch.sigmoid(la).numpy()[..., None] > ths, yb.numpy()[..., None] > 0
    tp, den = (pr & yy).sum(1), pr.sum(1) + yy.sum(1)
    truth = np.where(den > 0, 2*tp/np.maximum(den, 1), 0.).mean(0)  # F1 over samples at each global threshold
    rng, err_in, err_out = np.random.default_rng(4), [], []
    for _ in range(200):
        y = draw(rng, 400)[2]  # one validation set; each epoch's logits drawn afresh given its targets, with draw's law
        P = [(2*y.double() - 1)*1.2 + torch.tensor(rng.standard_normal(y.shape)*math.sqrt(2)) - .3 for _ in range(8)]
        sw = ThresholdSweep(ths, per_class=False, boot=0)
        fit_epochs(P, y, sw)
        t = sw._rule_thresh()
        true = truth[int(np.argmin(np.abs(ths - t)))] if sw.rule == 'global' else truth[9]  # 'fixed': 0.5
        ch = sw.epoch_choice
        err_in.append(ch.cv.iloc[0] - true); err_out.append(ch.cv.iloc[1] - true)
    print(f"in-sample epoch choice error {np.mean(err_in):+.4f}, held out {np.mean(err_out):+.4f}")
    assert np.mean(err_in) > .008, np.mean(err_in)  # the best of eight flatters
    assert abs(np.mean(err_out)) <= .005, np.mean(err_out)

def test_learner_compare_through_learners():
    "Learner.compare: the function's numbers at each learner's own thresholds; a warning (and attrs) when a sweep tuned them on this validation set; held_out=True pairs the sweeps' shipped rules; clear errors."
    from helpers import identity_learner
    rng = np.random.default_rng(9)
    la, lb, y = draw(rng, 300)
    sa, sb = ThresholdSweep(thresholds=19, boot=50), ThresholdSweep(thresholds=19, boot=50)
    from fastai.losses import BCEWithLogitsLossFlat
    A, B = (identity_learner(l.float(), y, [], cbs=s, loss_func=BCEWithLogitsLossFlat()) for l, s in ((la, sa), (lb, sb)))
    with warnings.catch_warnings(), A.no_bar(), A.no_logging(), B.no_bar(), B.no_logging():
        warnings.simplefilter('ignore')
        A.validate(); B.validate()
        plain = A.compare(B, boot=50)  # nothing applied yet: each at 0.5
    np.testing.assert_allclose(plain.to_numpy(float), compare(la.float(), lb.float(), y, boot=50).to_numpy(float), rtol=0, atol=1e-12)
    assert plain.attrs['tuned_on_validation'] == []
    ta, tb = sa.apply(A, per_class=False), sb.apply(B, per_class=False)  # the global thresholds: tuned here
    with A.no_bar(), B.no_bar(), pytest.warns(UserWarning, match=r"model\(s\) a and b were tuned on this validation set.*held_out=True"):
        res = A.compare(B, boot=50)
    assert res.attrs['tuned_on_validation'] == ['a', 'b']
    ref = compare(la.float(), lb.float(), y, ta, tb, boot=50)
    np.testing.assert_allclose(res.to_numpy(float), ref.to_numpy(float), rtol=0, atol=1e-12)
    ho = A.compare(B, held_out=True)
    a_, b_ = sa.shipped, sb.shipped
    assert ho.index.tolist() == ['f1_samples_cv'] and (ho.rule_a.item(), ho.rule_b.item()) == (sa.rule, sb.rule)
    assert ho['diff'].item() == pytest.approx(b_['cv'] - a_['cv'], abs=1e-12)
    d = b_['reps'] - a_['reps']
    assert ho.se.item() == pytest.approx(d.std(ddof=1), abs=1e-12)
    assert (ho.lo.item(), ho.hi.item()) == pytest.approx(tuple(np.quantile(d, [.025, .975])), abs=1e-12)
    # sweeps that do not pair, and learners that saw other samples
    sc = ThresholdSweep(thresholds=19, boot=50, seed=1)
    C_ = identity_learner(lb.float(), y, [], cbs=sc)
    with warnings.catch_warnings(), C_.no_bar(), C_.no_logging():
        warnings.simplefilter('ignore'); C_.validate()
    with pytest.raises(ValueError, match=r"the sweeps differ in \['seed'\]"): A.compare(C_, held_out=True)
    D = identity_learner(lb[:200].float(), y[:200], [])
    with D.no_bar(), A.no_bar(), pytest.raises(ValueError, match="the two learners' targets differ"): A.compare(D)
    with pytest.raises(ValueError, match="both learners need one"): A.compare(D, held_out=True)

def test_apply_keeps_two_learners_thresholds_apart():
    "Two learners built on one DataLoaders share its loss object (fastai takes it from the dataset): applying one sweep's thresholds leaves the other learner's alone."
    from fastai.learner import Learner
    from fastai.losses import BCEWithLogitsLossFlat
    from helpers import identity_learner
    la, lb, y = draw(np.random.default_rng(10), 200)
    A = identity_learner(la.float(), y, [], loss_func=BCEWithLogitsLossFlat())
    B = Learner(A.dls, torch.nn.Identity(), loss_func=A.loss_func)  # as two vision_learners on one dls
    s = ThresholdSweep(thresholds=19, boot=0)
    with warnings.catch_warnings(), A.no_bar(), A.no_logging():
        warnings.simplefilter('ignore'); A.validate(cbs=[s])
    t = s.apply(A, per_class=False)
    assert A.loss_func.thresh == t and B.loss_func.thresh == .5
