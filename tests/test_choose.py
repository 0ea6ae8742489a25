"choose's building blocks against independent computations: the Hoeffding-Bentkus p-value in mpmath, Clopper-Pearson bounds from scipy's beta, Holm and fixed sequences as loops, and the sizes `needed` finds checked by the procedure itself."
import math, numpy as np, pytest
from scipy.stats import beta
from fastai_mlmetrics.choose import (successes, rate, cp_lower, min_trials, passes, fixed_sequence, certified_points, needed,
                                     hb_pvalue, hb_lower, holm, certified_samplewise, samples_needed)

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
