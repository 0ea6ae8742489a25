"""The sweep's rules (`choose`) against a brute-force oracle: every threshold a rule picks is picked again here by scoring each grid
threshold with scikit-learn on the samples the rule may see (the other folds, the other two folds, a bootstrap replicate's weights),
and every held-out value is scikit-learn's on the decisions the rule ships, sample by sample. Ties sit exactly on the cuts."""
import math, numpy as np, pandas as pd, pytest, torch, sklearn.metrics as skm
from fastai_mlmetrics.stats import sample_folds, poisson_weights, _cols
from fastai_mlmetrics.choose import (_choose, _best, _others, _pick, _at, _pooled, _fold_values, _nested_global, _best_rule, _paired,
    _others_table, _global_sels, _rechosen, _class_sels, _shrunk_sels, _pull, _pooled_class_f1, _fixed_sel, _rule_names, _se)
from fastai_mlmetrics.sweep import SweepStats, sweep_metrics
from helpers import sweep_score as sk, best_index, rounded

THS = np.array([.1, .3, .5, .7, .9])

def data(seed, n=90, c=4, K=3, empty=True):
    "Probabilities on a 1/10 grid (so on the cuts), per-class priors from 10% to 60%, the last class empty, and each sample's fold."
    rng = np.random.default_rng(seed)
    p = rng.integers(0, 11, (n, c))/10
    y = (rng.random((n, c)) < rng.uniform(.1, .6, c)).astype(int)
    if empty: y[:, -1] = 0
    return p, y, sample_folds(torch.arange(n), K).numpy()

def folded(p, y, fold, K):
    "`F` by brute force: per fold, class and threshold the counts, per fold the per-sample precision, recall, F1, exact match sums, and fold sizes."
    pred = p[None] > THS[:, None, None]  # [T,n,C]
    cnt = [np.stack([((pred[:, fold == k] == a) & ((y[fold == k] == 1) == b)).sum(1).T for k in range(K)])
           for a, b in ((1, 1), (1, 0), (0, 1), (0, 0))]  # tp, fp, fn, tn: [K,C,T]
    tp, pp, pos = (pred & (y == 1)).sum(2), pred.sum(2), (y == 1).sum(1)  # [T,n]
    div = lambda a, b: np.where(b > 0, a/np.where(b > 0, b, 1), 0.)
    q = np.stack([div(tp, pp), div(tp, pos), div(2*tp, pp+pos), (pred == (y == 1)).all(2)])  # [4,T,n]
    s = np.stack([q[:, :, fold == k].sum(2) for k in range(K)])
    return tuple(c.astype(float) for c in cnt), s, np.bincount(fold, minlength=K).astype(float)

def at(sel, fold, C):
    "Each sample's thresholds `[n,C]` under the indices `sel[fold,class]`."
    return THS[np.broadcast_to(sel, (sel.shape[0], C))[fold]]

@pytest.fixture(scope='module')
def case():
    p, y, fold = data(0)
    return p, y, fold, folded(p, y, fold, 3)

def test_brute_force_counts_are_the_sweeps(case):
    "The oracle's `F` is what `SweepStats` collects from the same samples (its folds follow positions)."
    p, y, fold, F = case
    ss = SweepStats(thresholds=THS.tolist(), sigmoid=False, folds=3)
    for i in range(0, len(p), 7): ss.update(torch.tensor(p[i:i+7]), torch.tensor(y[i:i+7]))
    G = ss.folded()
    for a, b in zip(F[0], G[0]): np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(F[1], G[1], rtol=0, atol=1e-12); np.testing.assert_array_equal(F[2], G[2])

@pytest.mark.parametrize('m', sweep_metrics)
def test_global_rule_chosen_on_the_other_folds_and_scored_on_its_own(case, m):
    p, y, fold, F = case
    C, lo = y.shape[1], m == 'hamming'
    tab = pd.DataFrame(_cols(*(a.sum(0) for a in F[0]), F[1].sum(0), F[2].sum(), 0.))
    cv, ins = _global_sels(m, _others_table(F, 0.), tab, THS, C)
    assert cv.shape == ins.shape == (3, C)
    for k in range(3):
        o = fold != k
        assert (cv[k] == best_index([sk(m, y[o], p[o] > t) for t in THS], THS, lo)).all()
    assert (ins == best_index([sk(m, y, p > t) for t in THS], THS, lo)).all()
    assert _best(tab[m].to_numpy(), THS, lo) == ins[0, 0]
    pred = p > at(cv, fold, C)
    assert _pooled(m, F, cv, 0.) == pytest.approx(sk(m, y, pred), abs=1e-12)
    np.testing.assert_allclose(_fold_values(m, F, cv, 0.), [sk(m, y[fold == k], pred[fold == k]) for k in range(3)], rtol=0, atol=1e-12)

@pytest.mark.parametrize('seed', [0, 2, 3])
def test_per_class_rule_and_its_scores(seed):
    p, y, fold = data(seed)
    F, C = folded(p, y, fold, 3), y.shape[1]
    cv, ins = _class_sels(F, THS, 0.)
    f1 = lambda yy, pp: skm.f1_score(yy, pp, zero_division=0)
    for c in range(C):
        for k in range(3):
            o = fold != k
            assert cv[k, c] == best_index([f1(y[o, c], p[o, c] > t) for t in THS], THS), (k, c)
        assert (ins[:, c] == best_index([f1(y[:, c], p[:, c] > t) for t in THS], THS)).all()
    assert (ins != ins[:, :1]).any() and ins[0, -1] == 2  # classes choose differently; the empty class: F1 0 at every threshold, so the one nearest 0.5
    pred = p > at(cv, fold, C)
    for m in sweep_metrics:  # per-class thresholds: the per-sample sums were kept at one threshold, so those are NaN
        if m.endswith('_samples') or m == 'exact_match': assert math.isnan(_pooled(m, F, cv, 0.)) and np.isnan(_fold_values(m, F, cv, 0.)).all()
        else: assert _pooled(m, F, cv, 0.) == pytest.approx(sk(m, y, pred), abs=1e-12), m
    np.testing.assert_allclose(_pooled_class_f1(F, cv, 0.), [f1(y[:, c], pred[:, c]) for c in range(C)], rtol=0, atol=1e-12)
    f1z = lambda yy, pp: skm.f1_score(yy, pp, zero_division=1)
    top = np.full((3, C), 4)  # at 0.9 some classes predict nothing in some folds
    np.testing.assert_allclose(_pooled_class_f1(F, top, 1.), [f1z(y[:, c], p[:, c] > .9) for c in range(C)], rtol=0, atol=1e-12)

@pytest.mark.parametrize('lam', [20., 3.])
def test_shrunk_rule_pulls_each_class_by_its_positives(case, lam):
    p, y, fold, F = case
    C = y.shape[1]
    cls = _class_sels(F, THS, 0.)
    tab = pd.DataFrame(_cols(*(a.sum(0) for a in F[0]), F[1].sum(0), F[2].sum(), 0.))
    glob = _global_sels('f1_micro', _others_table(F, 0.), tab, THS, C)
    cv, ins = _shrunk_sels(F, cls, glob, THS, lam)
    snap = lambda t: int(np.argmin(np.abs(t-THS)))
    for c in range(C):
        for k in range(3):
            n = y[fold != k, c].sum()
            assert cv[k, c] == snap((n*THS[cls[0][k, c]] + lam*THS[glob[0][k, c]])/(n+lam)), (k, c)
            n = y[:, c].sum()
            assert ins[k, c] == snap((n*THS[cls[1][k, c]] + lam*THS[glob[1][k, c]])/(n+lam))
    assert (cv[:, -1] == glob[0][:, -1]).all()  # no positives: the global threshold
    # few pseudo-positives leave a class with many positives at its own threshold; many pull it to the global one
    np.testing.assert_array_equal(_pull(cls[1], glob[1], np.full(cls[1].shape, 1e9), THS, 1.), cls[1])
    np.testing.assert_array_equal(_pull(cls[1], glob[1], np.full(cls[1].shape, 1.), THS, 1e9), glob[1])

@pytest.mark.parametrize('m,zd', [('f1_samples', 0.), ('f1_macro', 0.), ('precision_micro', 0.), ('hamming', 0.), ('exact_match', 0.), ('recall_macro', 1.)])
def test_nested_global_leaves_two_folds_out(m, zd):
    p, y, fold = data(1, n=120, c=3, K=4)
    F = folded(p, y, fold, 4)
    out = _nested_global(m, F, THS, zd)
    assert out.shape == (4, 4) and np.isnan(np.diag(out)).all()
    for k in range(4):
        for j in range(4):
            if j == k: continue
            o = (fold != j) & (fold != k)
            t = THS[best_index([sk(m, y[o], p[o] > t, zd=zd) for t in THS], THS, m == 'hamming')]
            assert out[k, j] == pytest.approx(sk(m, y[fold == j], p[fold == j] > t, zd=zd), abs=1e-12), (k, j)

def test_choose_ties_nan_and_direction():
    ths = np.array([.1, .3, .5, .7, .9])
    assert _choose(np.array([1., 1, 1, 1, 1]), ths) == 2
    assert _choose(np.array([np.nan]*5), ths) == 2  # nothing defined: the threshold nearest 0.5
    assert _choose(np.array([.9, .2, np.nan, .9, .1]), ths) == 3  # a tie at .3/.7 from 0.5: 0.7 is nearer in float64
    assert _choose(np.array([.9, .2, np.nan, .9-1e-12/2, .1]), ths) == 3  # within 1e-12: a tie
    assert _choose(np.array([.9, .2, np.nan, .9-3e-12, .1]), ths) == 0  # beyond it: the best
    assert _choose(np.array([.9, .2, np.nan, .9, .1]), ths, lower=True) == 4
    assert _choose(np.array([[.2, .8, .8, .1, 0], [.2, .1, 0, .1, .2]]), ths).tolist() == [2, 0]
    assert _choose(np.array([[.2, .8, .8, .1, 0], [.2, .1, 0, .1, .2]]), ths, lower=True).tolist() == [4, 2]
    rng = np.random.default_rng(0)
    v = rng.integers(0, 4, (200, 5))/4
    v[rng.random(v.shape) < .1] = np.nan
    for lo in (False, True): assert _choose(v, ths, lo).tolist() == [best_index(r, ths, lo) for r in v]
    assert _best([.1, .4, .4], np.array([.1, .4, .6])) == 1 and type(_best([.1, .4], np.array([.1, .5]))) is int
    a = np.arange(24.).reshape(3, 2, 4)
    np.testing.assert_array_equal(_others(a), np.stack([a.sum(0)-a[k] for k in range(3)]))
    sel = np.array([[0, 3], [1, 1], [2, 0]])
    np.testing.assert_array_equal(_pick(a, sel), [[a[k, c, sel[k, c]] for c in range(2)] for k in range(3)])

def test_at_keeps_sums_only_at_one_threshold(case):
    p, y, fold, F = case
    c, sv = _at(F, np.full((3, 4), 1))
    assert [x.shape for x in c] == [(3, 4, 1)]*4 and sv.shape == (3, 4, 1)
    np.testing.assert_array_equal(sv[..., 0], F[1][:, :, 1])
    _, sv = _at(F, np.array([[1, 1, 1, 2]]*3))
    assert sv.shape == (3, 4, 1) and np.isnan(sv).all()
    c, sv = _at(F, np.array([[1]*4, [2]*4, [3]*4]))  # one threshold per fold: still sums
    np.testing.assert_array_equal(sv[:, :, 0], np.stack([F[1][k, :, k+1] for k in range(3)]))

def test_best_rule_paired_se_and_fixed_sel():
    s = lambda **kw: pd.Series(kw)
    assert _best_rule(s(per_class=.8, shrunk=.8, globl=.9, fixed=.7)) == 'shrunk'  # an unknown name is no rule; ties to the simpler
    assert _best_rule(s(per_class=.8, shrunk=.8, fixed=.7, **{'global': .8})) == 'global'  # ties to the simpler
    assert _best_rule(s(per_class=.8, shrunk=.8+1e-13, fixed=.7, **{'global': .8-1e-13})) == 'global'
    assert _best_rule(s(per_class=.8, shrunk=.8+1e-11, fixed=.7, **{'global': .8})) == 'shrunk'
    assert _best_rule(s(per_class=.2, fixed=np.nan, **{'global': .3})) == 'global'
    assert _best_rule(s(per_class=.2, fixed=np.nan, **{'global': .3}), lower=True) == 'per_class'
    assert _best_rule(s(per_class=np.nan, fixed=np.nan)) == 'fixed'
    assert _rule_names == ('fixed', 'global', 'shrunk', 'per_class')
    a = dict(cv=.7, reps=[.6, .7, .9], n=np.array([3., 4]))
    b = dict(cv=.5, reps=[.5, .4, .6], n=np.array([3., 4]))
    d, se = _paired(a, b)
    assert d == pytest.approx(.2) and se == pytest.approx(np.std([.1, .3, .3], ddof=1))
    for x, z in ((None, b), (a, None), (a, dict(b, reps=[.5, .4])), (a, dict(b, n=np.array([3., 5])))):
        assert all(math.isnan(v) for v in _paired(x, z))
    assert _se(np.array([1., np.nan, 3., 2.])) == pytest.approx(1.) and _se(np.array([1., np.nan, 3.])) == pytest.approx(math.sqrt(2)) and math.isnan(_se(np.array([1., np.nan]))) and math.isnan(_se(np.array([])))
    ths = np.array([.1, .3, .5, .7, .9])
    np.testing.assert_array_equal(_fixed_sel(.5, ths, 3, 4), np.full((3, 4), 2))
    np.testing.assert_array_equal(_fixed_sel(torch.tensor([.1, .3, .5, .9]), ths, 2, 4), [[0, 1, 2, 4]]*2)
    np.testing.assert_array_equal(_fixed_sel(.5+5e-8, ths, 1, 2), [[2, 2]])
    assert _fixed_sel(1e-7, np.array([0., .5]), 1, 1) is None and _fixed_sel(.99e-7, np.array([0., .5]), 1, 1).tolist() == [[0]]  # within 1e-7, not at it
    assert _fixed_sel(.55, ths, 3, 4) is None and _fixed_sel(.5+2e-7, ths, 3, 4) is None and _fixed_sel([.1, .3, .5, .55], ths, 1, 4) is None

def rep_value(m, y, pred, w, fixed=False):
    "`m` under weights `w`: scikit-learn's; with `fixed`, a per-sample monitor's values rounded to the sweep's 2^-32 grid first (its bootstrap sums)."
    if fixed and (m.endswith('_samples') or m == 'exact_match'): return rounded(m, y, pred, np.zeros(np.shape(y), bool), w)
    return sk(m, y, pred, w=w)

def sweep_of(p, y, m, R, K, codes=True, zd=0.):
    ss = SweepStats(thresholds=THS.tolist(), sigmoid=False, folds=K, boot=R, monitor=m, keep_codes=codes, zero_division=zd)
    for i in range(0, len(p), 16): ss.update(torch.tensor(p[i:i+16]), torch.tensor(y[i:i+16]))
    return ss

@pytest.mark.parametrize('seed,m,coarse', [(i, m, False) for i, m in enumerate(['f1_samples', 'precision_samples', 'exact_match', 'f1_micro',
                                           'f1_macro', 'recall_macro', 'hamming', 'accuracy'])] + [(0, 'f1_macro', True), (1, 'f1_samples', True)])
def test_rechosen_chooses_again_inside_each_replicate(seed, m, coarse):
    "Each bootstrap replicate chooses every rule again on its own weighted other folds; its held-out value is scikit-learn's with those weights. `coarse` scores sit on three values, so thresholds tie."
    R, K, lam = 6, 3, 5.
    p, y, fold = data(seed, n=60, K=K)
    if coarse: p = np.array([0., .6, 1.])[(p*3).astype(int) % 3]
    C, n, lo, macro = y.shape[1], len(p), m == 'hamming', m.endswith('_macro')
    ss = sweep_of(p, y, m, R, K)
    out = _rechosen(ss, m, ['global', 'shrunk', 'per_class'], THS, 0., lam, R)
    assert sorted(out) == ['global', 'per_class', 'shrunk']
    W = poisson_weights(torch.arange(n), R, 0, torch.float64).numpy()
    f1 = lambda yy, pp, w: skm.f1_score(yy, pp, zero_division=0, sample_weight=w)
    fixed = not macro  # the global choice reads the bootstrap sums, where per-sample values sit on a 2^-32 grid
    for r, w in enumerate(W):
        o = [fold != k for k in range(K)]
        g = np.array([best_index([rep_value(m, y[ok], p[ok] > t, w[ok], fixed) for t in THS], THS, lo) for ok in o])  # [K]
        pc = np.array([[best_index([f1(y[ok, c], p[ok, c] > t, w[ok]) for t in THS], THS) for c in range(C)] for ok in o])  # [K,C]
        npos = np.array([[(w[ok]*y[ok, c]).sum() for c in range(C)] for ok in o])
        sh = np.abs(((npos*THS[pc] + lam*THS[g][:, None])/(npos+lam))[..., None]-THS).argmin(-1)
        for rule, sel in (('global', np.repeat(g[:, None], C, 1)), ('per_class', pc), ('shrunk', sh)):
            exp = rep_value(m, y, p > at(sel, fold, C), w, fixed and rule == 'global')
            assert out[rule][r] == pytest.approx(exp, abs=1e-9), (rule, r)
    # each rule asked alone gives what it gives beside the others; two code replicates are the first two
    for rules in (['global'], ['shrunk'], ['per_class'], ['global', 'per_class']):
        one = _rechosen(ss, m, rules, THS, 0., lam, R)
        assert sorted(one) == sorted(rules) and all(np.array_equal(one[r], out[r]) for r in rules), rules
    two = _rechosen(ss, m, ['global', 'shrunk', 'per_class'], THS, 0., lam, 2)
    assert {r: len(v) for r, v in two.items()} == dict(shrunk=2, per_class=2, **{'global': 2 if macro else R})
    assert all(np.array_equal(v[:2], out[r][:2]) for r, v in two.items())
    # one code replicate, or no codes: only the global rule, from the bootstrap sums (none for a macro monitor)
    only = [] if macro else ['global']
    assert sorted(_rechosen(ss, m, ['global', 'shrunk', 'per_class'], THS, 0., lam, 1)) == only
    nc = _rechosen(sweep_of(p, y, m, R, K, codes=False), m, ['global', 'shrunk', 'per_class'], THS, 0., lam, R)
    assert sorted(nc) == only and all(np.array_equal(v, out[r]) for r, v in nc.items())
    assert _rechosen(ss, m, [], THS, 0., lam, R) == {}

@pytest.mark.parametrize('m', ['precision_micro', 'precision_macro', 'precision_samples'])
def test_rechosen_where_nothing_is_predicted(m):
    "Scores all 0: no threshold predicts anything, so every replicate's precision is `zero_division` (the sweep's, which its per-sample sums use too), whichever rule."
    p, y, _ = data(4, n=40)
    out = _rechosen(sweep_of(np.zeros_like(p), y, m, 4, 3, zd=1.), m, ['global', 'shrunk', 'per_class'], THS, 1., 5., 4)
    assert sorted(out) == ['global', 'per_class', 'shrunk'] and all(np.array_equal(v, np.ones(4)) for v in out.values())

def test_shrunk_sels_on_a_fine_grid():
    "On a fine grid the snapped threshold moves with each class's positives: each fold's are its other folds' `tp+fn`, and the global index is each fold's own."
    g = np.random.default_rng(8)
    ths, K, C, T = np.linspace(.01, .99, 99), 3, 4, 99
    pos = g.integers(0, 30, (K, C, 1)).astype(float)
    tp = np.sort(g.random((K, C, T)), -1)[..., ::-1]*pos/2//1  # decreasing in the threshold; tp+fn the same at every threshold
    tp[..., 0] = pos[..., 0]  # every positive caught at the lowest threshold, far fewer at the next
    fn, fp = pos-tp, g.integers(0, 9, (K, C, T)).astype(float)
    F = ((tp, fp, fn, fp*0), None, None)
    cls = (g.integers(0, T, (K, C)), g.integers(0, T, (K, C)))
    glob = (np.repeat(g.integers(0, T, K)[:, None], C, 1), np.full((K, C), g.integers(0, T)))
    assert (glob[0] != glob[1]).any()
    for lam in (.5, 7.):
        cv, ins = _shrunk_sels(F, cls, glob, ths, lam)
        for k in range(K):
            for c in range(C):
                n = pos[:, c, 0].sum()-pos[k, c, 0]
                assert cv[k, c] == np.abs((n*ths[cls[0][k, c]] + lam*ths[glob[0][k, c]])/(n+lam)-ths).argmin(), (lam, k, c)
                n = pos[:, c, 0].sum()
                assert ins[k, c] == np.abs((n*ths[cls[1][k, c]] + lam*ths[glob[1][k, c]])/(n+lam)-ths).argmin()

def test_table_at_its_edges():
    "The table's conventions where a ratio has no denominator: a per-sample mean over no sample, and label-wise accuracy over no entry, are NaN; a count ratio is `zero_division`; macro averages the classes."
    from fastai_mlmetrics.stats import _sdiv, _from_sums, _from_class_sums
    z = np.zeros((2, 1))
    v = _cols(z, z, z, z, np.zeros((4, 1)), 0, .5)
    for m in ('f1_samples', 'precision_samples', 'recall_samples', 'exact_match', 'accuracy', 'hamming'): assert np.isnan(v[m]).all(), m
    for m in ('f1_micro', 'precision_micro', 'recall_micro', 'f1_macro', 'precision_macro', 'recall_macro'): assert (v[m] == .5).all(), m
    assert np.isnan(_from_sums('f1_samples', np.zeros((3, 1)), np.zeros(3), 0.)).all()
    assert np.isnan(_from_sums('hamming', np.zeros((3, 2)), np.ones(3), 0.)).all() and np.isnan(_from_sums('accuracy', np.zeros((3, 2)), np.ones(3), 0.)).all()
    np.testing.assert_allclose(_from_sums('accuracy', np.array([[1., 4], [0, 4]]), np.ones(2), 0.), [.75, 1.])
    np.testing.assert_allclose(_from_sums('precision_micro', np.array([[1., 0, 2], [0, 0, 2]]), np.ones(2), .25), [1., .25])
    y, p = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0]]), np.array([[1, 1, 0], [0, 1, 0], [0, 1, 0]])
    tp, fp, fn = ((p & y).sum(0), (p & ~y+2).sum(0), (~p+2 & y).sum(0))
    for zd in (0., 1.):
        for k, f in (('f1', skm.f1_score), ('precision', skm.precision_score), ('recall', skm.recall_score)):
            assert _from_class_sums(f'{k}_macro', tp, fp, fn, zd) == pytest.approx(f(y, p, average='macro', zero_division=zd), abs=1e-12)
    np.testing.assert_array_equal(_sdiv([1, 2, 3], [0, 1, 4], 7.), [7., 2., .75])
    p2 = p.copy(); p2[:, 0] = 1  # a second row of counts: each row averages its own classes
    tp2, fp2, fn2 = (np.stack([a, b]) for a, b in zip((tp, fp, fn), ((p2 & y).sum(0), (p2 & ~y+2).sum(0), (~p2+2 & y).sum(0))))
    np.testing.assert_allclose(_from_class_sums('f1_macro', tp2, fp2, fn2, 0.), [skm.f1_score(y, p, average='macro', zero_division=0),
                               skm.f1_score(y, p2, average='macro', zero_division=0)], rtol=0, atol=1e-12)

@pytest.mark.parametrize('m', ['f1_samples', 'exact_match', 'f1_micro', 'f1_macro', 'accuracy'])
def test_code_values_at_per_class_thresholds(m):
    "`code_values` decides from the kept bins at per-fold, per-class thresholds (ties on the cuts included): its plain value, each replicate's and each fold's equal scikit-learn's."
    R, K = 4, 3
    p, y, fold = data(5, n=70, K=K)
    sel = np.random.default_rng(1).integers(0, len(THS), (K, y.shape[1]))
    got = sweep_of(p, y, m, R, K).code_values([sel], folds=True)[0]
    pred = p > at(sel, fold, y.shape[1])
    W = [*poisson_weights(torch.arange(len(p)), R, 0, torch.float64).numpy(), *[(fold == k).astype(float) for k in range(K)]]
    np.testing.assert_allclose(got, [sk(m, y, pred)] + [sk(m, y, pred, w=w) for w in W], rtol=0, atol=1e-9)  # replicates: values on a 2^-32 grid
