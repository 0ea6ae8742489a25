"choose's building blocks against independent computations: the Hoeffding-Bentkus p-value in mpmath, Clopper-Pearson bounds from scipy's beta, Holm and fixed sequences as loops, and the sizes `needed` finds checked by the procedure itself."
import math, numpy as np, pytest
from scipy.stats import beta
from fastai_mlmetrics.choose import (successes, rate, cp_lower, min_trials, passes, fixed_sequence, certified_points, needed,
                                     hb_pvalue, hb_lower, holm, certified_samplewise, samples_needed, paired_diff)

def test_successes_and_rates():
    tp, fp, fn, tn = np.array([3., 0.]), np.array([1., 0.]), np.array([2., 0.]), np.array([4., 5.])
    for con, (k, n) in (('precision', (tp, tp+fp)), ('recall', (tp, tp+fn)), ('specificity', (tn, tn+fp))):
        s = successes(con, tp, fp, fn, tn)
        assert np.array_equal(s[0], k) and np.array_equal(s[1], n)
        r = rate(con, tp, fp, fn, tn)
        assert r[0] == k[0]/n[0] and (np.isnan(r[1]) if n[1] == 0 else r[1] == k[1]/n[1])

def test_clopper_pearson_bounds_and_their_test():
    g = np.random.default_rng(0)
    n = g.integers(1, 80, 300).astype(float); k = np.floor(g.random(300)*(n+1))
    for conf in (.8, .9, .95):
        ref = np.where(k == 0, 0., beta.ppf(1-conf, np.maximum(k, 1), n-k+1))
        np.testing.assert_allclose(cp_lower(k, n, conf), ref, rtol=1e-12, atol=0)
        for floor in (.3, .6, .9):
            lo = cp_lower(k, n, conf)
            sure = np.abs(lo - floor) > 1e-9  # away from the boundary, the test and the bound agree
            assert np.array_equal(passes(k, n, floor, conf)[sure], (lo >= floor)[sure])
    assert np.isnan(cp_lower(0, 0)) and cp_lower(0, 5) == 0 and np.array_equal(cp_lower(k, n), cp_lower(k, n, .9))
    assert np.array_equal(passes(k, n, 0.), n > 0) and not passes(k, n, 1.).any() and not passes(0, 0, .5) and not passes(0, 10, .01)
    assert np.array_equal(passes(k, n, .6), passes(k, n, .6, .9))
    for floor in (.5, .8, .9, .95):
        for conf in (.8, .9, .95):
            m = min_trials(floor, conf)
            assert cp_lower(m, m, conf) >= floor and cp_lower(m-1, m-1, conf) < floor, (floor, conf)
    assert min_trials(0.) == 1 and min_trials(1.) == math.inf and min_trials(.8) == min_trials(.8, .9)

def test_fixed_sequence_as_a_loop():
    g = np.random.default_rng(1)
    ok = g.random((40, 9)) < .7
    start = g.integers(-1, 9, 40)
    for down in (False, True):
        got = fixed_sequence(ok, start, down)
        for r in range(40):
            ref = np.zeros(9, bool)
            if start[r] >= 0:
                for j in (range(start[r], -1, -1) if down else range(start[r], 9)):
                    if not ok[r, j]: break
                    ref[j] = True
            assert np.array_equal(got[r], ref), (r, down)

def _hb(L, n, a):
    "The Hoeffding-Bentkus p-value in mpmath: min(exp(-n h(min(L/n, a), a)), e P(Bin(n, a) <= ceil(L))), 1 for n = 0."
    import mpmath as mp
    mp.mp.dps = 40
    if n == 0 or a <= 0: return 1.
    if a >= 1: return 0.
    q = min(mp.mpf(L)/n, mp.mpf(a)); a = mp.mpf(a)
    h = (q*mp.log(q/a) if q > 0 else 0) + ((1-q)*mp.log((1-q)/(1-a)) if q < 1 else 0)
    k = int(mp.ceil(mp.mpf(round(L, 9))))
    cdf = mp.fsum(mp.binomial(n, i)*a**i*(1-a)**(n-i) for i in range(0, min(k, n)+1))
    return float(min(mp.exp(-n*h), mp.e*cdf, 1))

def test_hb_pvalue_and_bound_against_mpmath():
    cases = [(L, n, a) for n in (0, 1, 20, 137) for a in (0., .05, .2, .5, .9, 1.) for L in (0., .4, 3., 3 + 1e-12, 7.5, n*.3, n)]
    got = hb_pvalue(*map(np.array, zip(*cases)))
    for (L, n, a), p in zip(cases, got):
        assert p == pytest.approx(_hb(L, n, a), rel=1e-9, abs=1e-300), (L, n, a)
    s, n = np.array([0., 5., 18., 100., 3.3]), np.array([10., 10., 20., 100., 0.])
    for conf in (.8, .9):
        lo = hb_lower(s, n, conf)
        assert np.isnan(lo[-1])
        for i in range(4):  # the least 1-alpha that passes: just above it fails, just below it passes
            assert hb_pvalue(n[i]-s[i], n[i], 1-lo[i]+1e-9) <= 1-conf < hb_pvalue(n[i]-s[i], n[i], 1-lo[i]-1e-6), (i, conf)
    assert np.array_equal(hb_lower(s, n), hb_lower(s, n, .9), equal_nan=True)

def test_holm_as_a_loop():
    g = np.random.default_rng(2)
    p = np.round(g.random((60, 7))**3, 2)  # ties included
    for d in (.05, .1, .2):
        got = holm(p, d)
        for r in range(60):
            ref, o = np.zeros(7, bool), np.argsort(p[r], kind='stable')
            for i, j in enumerate(o):
                if p[r, j] > d/(7-i): break
                ref[j] = True
            assert np.array_equal(got[r], ref), (r, d)

def test_needed_is_the_least_scale_that_certifies():
    "Scaled to the size `needed` reports (found to about 2%), the counts certify; rows that certify report their own size, the others more. (Certification is not monotone in the scale at small counts, as the counts round, so the size is a bisection's, not provably the least.)"
    g = np.random.default_rng(3)
    T = 9
    pos, neg = g.integers(5, 60, 12).astype(float), g.integers(50, 300, 12).astype(float)
    tpr = np.sort(g.random((12, T)), 1)[:, ::-1]; fpr = tpr*g.random((12, 1))*.5
    tp, fp = np.round(tpr*pos[:, None]), np.round(fpr*neg[:, None])
    fn, tn = pos[:, None]-tp, neg[:, None]-fp
    for con, floor in (('recall', .8), ('precision', .5), ('specificity', .97)):
        have = pos if con != 'specificity' else neg
        need = needed(tp, fp, fn, tn, con, floor)
        assert np.array_equal(need, needed(tp, fp, fn, tn, con, floor, .9, 1000))
        ok = certified_points(tp, fp, fn, tn, con, floor)[0] >= 0
        assert np.array_equal(need[ok], have[ok]) and (need[~ok] > have[~ok]).all()
        assert ok.sum() + (~ok & np.isfinite(need)).sum() >= 3 and (~ok & np.isfinite(need)).any()  # both kinds of row are met
        for r in np.flatnonzero(~ok & np.isfinite(need)):
            f = need[r]/have[r]
            at = lambda s: certified_points(*(np.round(a[r:r+1]*s) for a in (tp, fp, fn, tn)), con, floor)[0][0] >= 0
            assert any(at(f*k) for k in (1/1.02, 1/1.01, 1)), (con, r, f)
        assert np.isinf(needed(tp, fp, fn, tn, con, floor, most=1.0001)[~ok]).all()

def test_samples_needed_is_the_least_scale_that_certifies():
    g = np.random.default_rng(4)
    T, n = 7, np.array([20., 40., 60., 100.])
    R = n[:, None]*np.sort(g.uniform(.5, .99, (4, T)), 1)[:, ::-1]; O = n[:, None]*np.sort(g.uniform(.3, .9, (4, T)), 1)
    for con, floor in (('recall', .85), ('precision', .8)):
        need = samples_needed(R, O, n, con, floor)
        assert np.array_equal(need, samples_needed(R, O, n, con, floor, .9, 1000))
        ok = certified_samplewise(R, O, n, con, floor)[0] >= 0
        assert np.array_equal(need[ok], n[ok]) and ok.any() and (~ok & np.isfinite(need)).any()
        for r in np.flatnonzero(~ok & np.isfinite(need)):
            f = need[r]/n[r]
            at = lambda s: certified_samplewise(R[r:r+1]*s, O[r:r+1]*s, n[r:r+1]*s, con, floor)[0][0] >= 0
            assert any(at(f*k) for k in (1/1.02, 1/1.01, 1)), (con, r, f)

def test_needed_keeps_the_leading_shape():
    "Counts `[2,3,T]` give sizes `[2,3]`, each the one its row gives alone."
    g = np.random.default_rng(5)
    T = 6
    pos, neg = g.integers(5, 80, (2, 3, 1)).astype(float), g.integers(50, 300, (2, 3, 1)).astype(float)
    tpr = np.sort(g.random((2, 3, T)), -1)[..., ::-1]; fpr = tpr*g.random((2, 3, 1))*.5
    tp, fp = np.round(tpr*pos), np.round(fpr*neg)
    fn, tn = pos-tp, neg-fp
    for con, floor in (('recall', .8), ('precision', .6)):
        need = needed(tp, fp, fn, tn, con, floor)
        assert need.shape == (2, 3)
        flat = needed(*(a.reshape(6, T) for a in (tp, fp, fn, tn)), con, floor)
        np.testing.assert_array_equal(need.reshape(6), flat)
    R = np.sort(g.uniform(.5, .99, (2, 3, T)), -1)[..., ::-1]*50; O = np.sort(g.uniform(.3, .9, (2, 3, T)), -1)*50
    n = np.full((2, 3), 50.)
    need = samples_needed(R, O, n, 'recall', .85)
    assert need.shape == (2, 3)
    np.testing.assert_array_equal(need.reshape(6), samples_needed(R.reshape(6, T), O.reshape(6, T), n.reshape(6), 'recall', .85))

def test_certified_samplewise_refusals_and_empty_rows():
    R, O, n = np.array([[9., 8, 5]]), np.array([[5., 6, 9]]), np.array([10.])
    for kw, msg in ((dict(con='specificity'), "a floor over samples is kept for 'recall' or 'precision', got 'specificity'"),
                    (dict(confidence=0.), "confidence must lie in (0,1), got 0.0"), (dict(confidence=1.), "confidence must lie in (0,1), got 1.0"),
                    (dict(floor=-.1), "the floor must lie in [0,1], got -0.1"), (dict(floor=1.1), "the floor must lie in [0,1], got 1.1")):
        a = dict(con='recall', floor=.5, confidence=.9) | kw
        with pytest.raises(ValueError) as e: certified_samplewise(R, O, n, **a)
        assert str(e.value) == msg
    for f in (0., 1.):  # the bounds of the ranges are allowed
        certified_samplewise(R, O, n, 'recall', f, .9)
    i, cert = certified_samplewise(np.zeros((2, 3)), np.zeros((2, 3)), np.zeros(2), 'precision', .5)  # no sample: nothing certified
    assert (i == -1).all() and not cert.any()
    # 3-D sums: each row as alone
    g = np.random.default_rng(6)
    R3 = np.sort(g.uniform(.6, 1, (2, 2, 5)), -1)[..., ::-1]*200; O3 = np.sort(g.uniform(.2, .9, (2, 2, 5)), -1)*200
    i3, c3 = certified_samplewise(R3, O3, np.full((2, 2), 200.), 'recall', .7)
    i2, c2 = certified_samplewise(R3.reshape(4, 5), O3.reshape(4, 5), np.full(4, 200.), 'recall', .7)
    assert i3.shape == (2, 2) and c3.shape == (2, 2, 5) and (i3 >= 0).any()
    np.testing.assert_array_equal(i3.reshape(4), i2); np.testing.assert_array_equal(c3.reshape(4, 5), c2)

def test_paired_diff_against_its_definition():
    "The difference b-a, the percentiles of the replicates' differences (NaN dropped), their sd (ddof 1) and the two-sided p-value counted by hand."
    g = np.random.default_rng(7)
    a, b = g.normal(.5, .05, 41), g.normal(.52, .05, 41)
    b[5] = np.nan
    r = paired_diff(a, b, ci=.9)
    d = np.sort([b[i]-a[i] for i in range(1, 41) if i != 5])
    pos = lambda q: np.interp(q*(len(d)-1), np.arange(len(d)), d)  # linear interpolation between order statistics
    assert (r['a'], r['b'], r['diff']) == (a[0], b[0], b[0]-a[0]) and all(type(r[k]) is float for k in ('a', 'b', 'diff'))
    assert r['lo'] == pytest.approx(pos(.05), abs=1e-15) and r['hi'] == pytest.approx(pos(.95), abs=1e-15)
    assert r['se'] == pytest.approx(math.sqrt(((d-d.mean())**2).sum()/(len(d)-1)), rel=1e-12)
    below, above = sum(x <= 0 for x in d), sum(x >= 0 for x in d)
    assert 0 < below < above and r['p'] == pytest.approx(2*(below+1)/(len(d)+1), rel=1e-12)
    r95 = paired_diff(a, b)
    assert r95['lo'] == pytest.approx(pos(.025), abs=1e-15) and r95['hi'] == pytest.approx(pos(.975), abs=1e-15)
    z = np.zeros(11)  # every replicate equal: p is 1, not more
    assert paired_diff(z, z)['p'] == 1. and paired_diff(z, z)['se'] == 0.
    one = paired_diff(np.array([.5, .5, np.nan]), np.array([.6, .7, .1]))  # one replicate left: no spread
    assert one['diff'] == pytest.approx(.1) and all(math.isnan(one[k]) for k in ('lo', 'hi', 'se', 'p'))
    two = paired_diff(np.array([.5, .5, .4]), np.array([.6, .7, .1]))
    assert two['se'] == pytest.approx(np.std([.2, -.3], ddof=1)) and two['p'] == pytest.approx(1.)
