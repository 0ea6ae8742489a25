"One threshold for all labels, certified to keep the mean per-sample recall or precision: the procedure written out, through a learner, from a known truth, and beside MAPIE."
import math, warnings, numpy as np, torch, pytest
from scipy.stats import binom
from fastai_mlmetrics.all import ThresholdSweep
from fastai_mlmetrics.choose import certified_samplewise, hb_pvalue, hb_lower
from fastai_mlmetrics.stats import sample_folds
from helpers import identity_learner

GRID = np.arange(1, 100)/100  # MAPIE's default grid without its 0

def per_sample(p, y, ths=GRID):
    "Per-sample recall and precision `[N,T]` of the decisions `p > t`, by brute force (0 where undefined, the sweep's default)."
    d, yt = p[..., None] > ths, (y == 1)[..., None]
    tp, P, pp = (d & yt).sum(1), yt.sum(1), d.sum(1)
    return np.where(P > 0, tp/np.maximum(P, 1), 0.), np.where(pp > 0, tp/np.maximum(pp, 1), 0.)

def hb_scalar(mean_loss, n, alpha):
    "The Hoeffding-Bentkus p-value for one mean, written out (Angelopoulos, Bates et al. 2021, Proposition 3)."
    r = min(mean_loss, alpha)
    h = (r*math.log(r/alpha) if r > 0 else 0.) + ((1-r)*math.log((1-r)/(1-alpha)) if r < 1 else 0.)
    return min(1., math.exp(-n*h), math.e*binom.cdf(math.ceil(round(n*mean_loss, 9)), n, alpha))

def certify_loop(R, O, n, con, floor, conf):
    "The procedure one threshold at a time: recall in fixed sequence from the bottom up, precision by Holm; then the best other mean."
    p = [hb_scalar(1 - r/n, n, 1 - floor) for r in R]
    cert = [False]*len(R)
    if con == 'recall':
        for j in range(len(R)):
            if p[j] > 1 - conf: break
            cert[j] = True
    else:
        for i, j in enumerate(sorted(range(len(R)), key=lambda j: p[j])):
            if p[j] > (1 - conf)/(len(R) - i): break
            cert[j] = True
    return best_of(cert, R, O)

def best_of(allowed, R, O):
    "Among the allowed thresholds: the best other mean, then the best constrained mean, then the lowest threshold (-1: none)."
    best = -1
    for j in range(len(R)):
        if allowed[j] and (best < 0 or O[j] > O[best] + 1e-9 or (abs(O[j] - O[best]) <= 1e-9 and R[j] > R[best] + 1e-9)): best = j
    return best

def test_the_procedure_written_out():
    "`certified_samplewise` equals the loop above on random sums, for both rates, several floors and sizes."
    rng = np.random.default_rng(0)
    for _ in range(60):
        n, T = int(rng.integers(5, 400)), int(rng.integers(1, 30))
        R, O = np.sort(rng.random(T))[::-1]*n, rng.random(T)*n  # recall falls with the threshold
        for con in ('recall', 'precision'):
            R_ = R if con == 'recall' else rng.random(T)*n
            floor, conf = rng.choice([.5, .7, .8, .9]), rng.choice([.8, .9, .95])
            assert certified_samplewise(R_, O, n, con, floor, conf)[0] == certify_loop(R_, O, n, con, floor, conf)

@pytest.mark.parametrize('con,floor', [('recall', .8), ('precision', .6)])
def test_samplewise_point_through_a_learner(con, floor):
    "The sweep's one row: threshold, mean rates, bound and held-out columns from its per-fold sums equal the loop on per-sample rates made directly."
    rng = np.random.default_rng(3)
    y = (rng.random((500, 6)) < .35).astype(np.int64)
    p = np.clip(rng.random((500, 6))*.6 + .4*y, 0, 1)
    sw = ThresholdSweep(GRID, sigmoid=False, folds=4, boot=0)
    learn = identity_learner(p, y, [], bs=64, cbs=sw)
    with warnings.catch_warnings(), learn.no_bar(), learn.no_logging():
        warnings.simplefilter('ignore')
        learn.validate()
    op = sw.operating_points(**{f'min_{con}': floor}, average='samples')
    other = 'precision' if con == 'recall' else 'recall'
    rec, pre = (a.astype(np.float64) for a in per_sample(p.astype(np.float32).astype(np.float64), y))
    rates = dict(recall=rec, precision=pre)
    R, O, n = rates[con].sum(0), rates[other].sum(0), len(p)
    i = certify_loop(R, O, n, con, floor, .9)
    assert i >= 0 and list(op.index) == ['all labels']
    row = op.iloc[0]
    assert row.thresh == GRID[i] and row.note == ''
    np.testing.assert_allclose([row[f'{con}_samples'], row[f'{other}_samples']], [R[i]/n, O[i]/n], rtol=0, atol=1e-12)
    lcb = row[f'{con}_samples_lcb']  # the bound inverts the test: it passes there and not a hair above
    assert floor <= lcb <= R[i]/n and hb_scalar(1 - R[i]/n, n, 1 - lcb + 1e-9) <= .1 + 1e-9 < hb_scalar(1 - R[i]/n, n, 1 - lcb - 1e-6)
    fold = sample_folds(torch.arange(n), 4).numpy()
    cv = [certify_loop(rates[con][fold != k].sum(0), rates[other][fold != k].sum(0), (fold != k).sum(), con, floor, .9) for k in range(4)]
    assert min(cv) >= 0
    for m in (con, other):
        ref = sum(rates[m][fold == k, cv[k]].sum() for k in range(4))/n
        np.testing.assert_allclose(row[f'{m}_samples_cv'], ref, rtol=0, atol=1e-12, err_msg=m)
    # in-sample (not certified): the highest mean other rate among those meeting the floor as measured
    raw = sw.operating_points(**{f'min_{con}': floor}, average='samples', confidence=None).iloc[0]
    assert raw.thresh == GRID[best_of(R/n >= floor - 1e-12, R, O)] and 'note' not in raw
    # too few samples for a floor this high: NaN and a note with the number needed
    hi = sw.operating_points(**{f'min_{con}': .97}, average='samples').iloc[0]
    assert math.isnan(hi.thresh) and math.isnan(hi[f'{con}_samples_cv']) and hi.note.startswith('not certified: 500 samples')
    with pytest.raises(ValueError, match='per-sample specificity'): sw.operating_points(min_specificity=.9, average='samples')
    with pytest.raises(ValueError, match="average must be None"): sw.operating_points(min_recall=.9, average='macro')

# a known truth: 20 labels, prevalence uniform in 1-40%, positives' logits N(mu, 1), mu uniform in 0.5-3.5, negatives' N(0, 1);
# every sample has at least one label (as MAPIE requires), and the population means come from 20,000 fresh samples
C = 20

def draw(rng, n, pi, mu):
    xs, ys, got = [], [], 0
    while got < n:
        y = rng.random((2*n, C)) < pi
        x = rng.standard_normal((2*n, C)) + y*mu
        k = y.any(1)
        xs.append(x[k]), ys.append(y[k])
        got += k.sum()
    return 1/(1 + np.exp(-np.concatenate(xs)[:n])), np.concatenate(ys)[:n].astype(np.int64)

def simulate(n, sets, floor, seed=0):
    "Per set: the population mean recall and precision `[T]`, and the validation set's per-sample rates `[n,T]`."
    rng = np.random.default_rng(seed)
    for _ in range(sets):
        pi, mu = rng.uniform(.01, .4, C), rng.uniform(.5, 3.5, C)
        rt, pt = per_sample(*draw(rng, 20000, pi, mu))
        yield rt.mean(0), pt.mean(0), per_sample(*draw(rng, n, pi, mu))

@pytest.mark.parametrize('n', [200, 1000])
def test_samplewise_points_keep_their_floor_on_the_population(n):
    "At confidence 0.9, a certified threshold falls below its floor on the population in at most about 10% of sets; in-sample choices fall below far more often."
    fails, got, raw_fails, raw_got = ({'recall': 0, 'precision': 0} for _ in range(4))
    sets = 60
    for rt, pt, (r, p) in simulate(n, sets, .8, seed=n):
        truth, rates = dict(recall=rt, precision=pt), dict(recall=r, precision=p)
        for con, other, floor in (('recall', 'precision', .8), ('precision', 'recall', .6)):
            i = certified_samplewise(rates[con].sum(0), rates[other].sum(0), n, con, floor, .9)[0]
            if i >= 0: got[con] += 1; fails[con] += truth[con][i] < floor
            j = best_of(rates[con].mean(0) >= floor, rates[con].sum(0), rates[other].sum(0))  # in-sample: sits at the floor
            if j >= 0: raw_got[con] += 1; raw_fails[con] += truth[con][j] < floor
    for con in fails:
        assert fails[con] <= .12*sets, (con, fails, got)  # measured: 0 of 60, for both rates at both sizes (the bound is conservative)
        assert raw_fails[con] >= .15*raw_got[con], (con, raw_fails, raw_got)  # measured: 18-47%
    assert got['recall'] == sets and got['precision'] >= .5*sets, got


def test_beside_mapie_on_the_same_scores():
    "MAPIE 1.6 on the same scores and split: the same per-sample risks and p-values; its RCPS keeps the floor as ours does; ours finds the better threshold where both use the same test."
    pytest.importorskip('mapie')
    from mapie.risk_control import MultiLabelClassificationController
    from mapie.risk_control.methods import compute_hoeffding_bentkus_p_value
    rng = np.random.default_rng(5)
    pi, mu = rng.uniform(.05, .4, C), rng.uniform(1, 3, C)
    p, y = draw(rng, 400, pi, mu)
    rec, pre = per_sample(p, y)
    # MAPIE's own pipeline: its risk matrix is one minus our per-sample recall
    ctl = MultiLabelClassificationController(predict_function=lambda X: X, risk='recall', method='rcps', target_level=.8,
                                            confidence_level=.9, rcps_bound='hoeffding', predict_params=GRID)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        ctl.calibrate(p, y)
    np.testing.assert_allclose(ctl._risks, 1 - rec, rtol=0, atol=1e-12)
    np.testing.assert_allclose(hb_pvalue((1 - pre).sum(0), len(p), .3), np.minimum(1, compute_hoeffding_bentkus_p_value(1 - pre.mean(0), len(p), .3)[:, 0]), rtol=1e-9, atol=1e-12)
    # recall: Hoeffding-Bentkus is never looser than plain Hoeffding, so ours reaches at least MAPIE's RCPS-Hoeffding threshold
    i = certified_samplewise(rec.sum(0), pre.sum(0), len(p), 'recall', .8, .9)[0]
    assert GRID[i] >= float(np.asarray(ctl.best_predict_param).ravel()[0])
    # precision: MAPIE's LTT (the same p-values, Holm) certifies the same thresholds; it ships the best precision, ours the best recall
    ctl = MultiLabelClassificationController(predict_function=lambda X: X, risk='precision', target_level=.7, confidence_level=.9, predict_params=GRID)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        ctl.calibrate(p, y)
    j, cert = certified_samplewise(pre.sum(0), rec.sum(0), len(p), 'precision', .7, .9)
    np.testing.assert_array_equal(np.flatnonzero(cert), np.sort(np.asarray(ctl.valid_index[0])))
    k = int(np.flatnonzero(np.isclose(GRID, float(np.asarray(ctl.best_predict_param).ravel()[0])))[0])
    assert cert[k] and rec.mean(0)[j] >= rec.mean(0)[k] and pre.mean(0)[k] >= pre.mean(0)[j]
