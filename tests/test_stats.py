"The bootstrap kernels fed as a validation feeds them: batch by batch, with and without a mask, against one batch and against scikit-learn with the same weights."
import itertools, math, numpy as np, pytest, torch
import sklearn.metrics as skm
from fastai_mlmetrics.stats import BootCounts, boot_scores, boot_ap, poisson_weights

def _data(n=300, c=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, c, generator=g).double()
    y = torch.rand(n, c, generator=g) < torch.sigmoid(2*x - 1)
    keep = torch.rand(n, c, generator=g) > .15
    return x, y, keep

@pytest.mark.parametrize('bs', [1, 7, 64, 300])
@pytest.mark.parametrize('masked', [False, True])
def test_boot_counts_add_up_over_batches(bs, masked):
    "Any batching gives the one-batch state (counts, sums and weights; the first batch at the default start), and each replicate is scikit-learn's with its weights."
    x, y, keep = _data()
    k = keep if masked else None
    one, many = BootCounts(R=12, plain=True), BootCounts(R=12, plain=True)
    one.update(x, y, k, 0.)
    for i in range(0, len(x), bs):
        args = (x[i:i+bs], y[i:i+bs], None if k is None else k[i:i+bs], 0.)
        if i == 0: many.update(*args)  # start defaults to 0
        else: many.update(*args, start=i)
    assert torch.equal(many.c, one.c) and torch.equal(many.n, one.n)
    torch.testing.assert_close(many.v, one.v, rtol=0, atol=1e-12)
    res = boot_scores(many)
    W = torch.cat([torch.ones(1, len(x)), poisson_weights(torch.arange(len(x)), 12)]).double().numpy()
    m = np.ones(y.shape, bool) if k is None else k.numpy()
    yt, pr = y.numpy().astype(int), (x > 0).numpy().astype(int)
    for r in range(len(W)):
        w = np.broadcast_to(W[r][:, None], yt.shape)[m]
        assert res[('micro', 'f1')][r] == pytest.approx(skm.f1_score(yt[m], pr[m], sample_weight=w, zero_division=0), abs=1e-12)
        # per sample over its kept labels
        t_, p_, y_ = ((pr & yt) * m).sum(1), (pr * m).sum(1), (yt * m).sum(1)
        f = np.where(p_ + y_ > 0, 2*t_/np.maximum(p_ + y_, 1), 0.)
        assert res[('samples', 'f1')][r] == pytest.approx((f * W[r]).sum()/W[r].sum(), abs=1e-9)
        acc = (((pr == yt) & m).sum(1) @ W[r]) / (m.sum(1) @ W[r])
        assert res['label-wise accuracy'][r] == pytest.approx(acc, abs=1e-12)

def test_boot_ap_without_a_mask_is_an_all_true_mask():
    x, y, _ = _data(200, 3, 1)
    W = torch.cat([torch.ones(1, 200), poisson_weights(torch.arange(200), 8)]).double()
    a, b = boot_ap(x, y, None, W), boot_ap(x, y, torch.ones_like(y), W)
    assert torch.equal(a, b)
    for r in range(len(W)):
        for c in range(3):
            assert a[r, c].item() == pytest.approx(skm.average_precision_score(y[:, c].numpy(), x[:, c].numpy(), sample_weight=W[r].numpy()), abs=1e-9)

def _messages(f):
    "The warnings `f` raises, as text; each must be scikit-learn's UndefinedMetricWarning."
    import warnings
    from sklearn.exceptions import UndefinedMetricWarning
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        f()
    assert all(x.category is UndefinedMetricWarning for x in w), [x.category for x in w]
    return [str(x.message) for x in w]

def test_zero_division_warns_as_sklearn():
    "`zero_division='warn'` (the default) gives 0 and scikit-learn's warnings, in its words, for every score and average: with nothing predicted, nothing true, or both somewhere."
    from fastai_mlmetrics.stats import stat_update, stat_compute
    y = np.array([[1, 0, 1, 0], [0, 0, 0, 0], [1, 1, 0, 0]]); p = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [1, 1, 1, 0]])
    seen = 0
    for yy, pp in ((y, p), (y, 0*p), (0*y, p), (y, y)):
        s = stat_update(torch.tensor(pp).float(), torch.tensor(yy).bool(), cut=.5)
        for sc, fn in (('precision', skm.precision_score), ('recall', skm.recall_score), ('fbeta', skm.f1_score), ('jaccard', skm.jaccard_score)):
            for av in ('macro', 'micro', 'weighted', 'samples', None):
                ours, theirs = _messages(lambda: stat_compute(s, sc, av)), _messages(lambda: fn(yy, pp, average=av))
                assert ours == theirs, (sc, av, ours, theirs)
                seen += len(ours)
                import warnings
                with warnings.catch_warnings():
                    warnings.simplefilter('ignore')
                    np.testing.assert_allclose(stat_compute(s, sc, av).numpy(), fn(yy, pp, average=av), rtol=1e-12, err_msg=f"{sc} {av}")
    assert seen > 20
    s = stat_update(torch.tensor(p).float(), torch.tensor(y).bool(), cut=.5)
    assert _messages(lambda: stat_compute(s, 'fbeta', 'macro', 0)) == []  # a number for zero_division: silent
    # the defaults are F1, macro, 'warn'
    assert _messages(lambda: stat_compute(s)) == _messages(lambda: skm.f1_score(y, p, average='macro'))
    np.testing.assert_allclose(stat_compute(s).numpy(), skm.f1_score(y, p, average='macro', zero_division=0), rtol=1e-12)

def test_poisson_weights_are_poisson_and_independent():
    "Over two million draws: each weight's frequencies are Poisson(1)'s, tail included (a weight of 6 or more, one draw in 1,700); replicates and seeds are uncorrelated; the defaults are R=200 and seed 0."
    from scipy.stats import poisson
    idx = torch.arange(1_000_000)
    w = poisson_weights(idx, 2, seed=3)
    n = w.numel()
    for k in range(9):
        f, q = (w == k).sum().item(), n*poisson.pmf(k, 1) if k < 8 else n*poisson.sf(7, 1)
        if k == 8: f = (w >= 8).sum().item()
        assert abs(f - q) <= 5*np.sqrt(q) + 1, (k, f, q)  # five binomial standard errors
    assert abs(np.corrcoef(w[0].numpy(), w[1].numpy())[0, 1]) < 5e-3
    assert abs(np.corrcoef(w[0].numpy(), poisson_weights(idx, 1, seed=4)[0].numpy())[0, 1]) < 5e-3
    i = torch.arange(50)
    assert torch.equal(poisson_weights(i), poisson_weights(i, 200, 0)) and poisson_weights(i).shape == (200, 50)
    assert poisson_weights(i).dtype == torch.float64 and poisson_weights(i, 3, dtype=torch.float32).dtype == torch.float32

def test_stat_compute_checks_average_and_keeps_jaccard_nan():
    "A bad `average` is refused; Jaccard with `zero_division=nan` averages the NaN in (scikit-learn does), where the other scores skip it."
    from fastai_mlmetrics.stats import stat_update, stat_compute
    y = np.array([[1, 0, 0], [0, 0, 0], [1, 1, 0]]); p = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0]])
    s = stat_update(torch.tensor(p).float(), torch.tensor(y).bool(), cut=.5)
    with pytest.raises(ValueError): stat_compute(s, 'fbeta', 'average')
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        assert np.isnan(stat_compute(s, 'jaccard', 'macro', np.nan).item())  # class 2 has no true and no predicted label
        for av in ('macro', 'weighted'):
            np.testing.assert_allclose(stat_compute(s, 'jaccard', av, 1).item(), skm.jaccard_score(y, p, average=av, zero_division=1), rtol=1e-12)
            np.testing.assert_allclose(stat_compute(s, 'fbeta', av, np.nan).item(), skm.f1_score(y, p, average=av, zero_division=np.nan), rtol=1e-12)

def test_hist_update_per_class_per_sample_and_defaults():
    "`hist_update` gives per-class (dim 0), per-sample (dim 1) or both histograms, each the counts of its entries' bins; its defaults are a non-uniform grid and logits."
    from fastai_mlmetrics.stats import hist_update, hist_counts, grid_cuts, uniform_grid
    x, y, keep = _data(64, 5, seed=2)
    ths = uniform_grid(9)
    cuts = grid_cuts(ths, True, x.dtype)
    hc, hs = hist_update(x, y, keep, cuts, dim=(0, 1), uniform=True, sigmoid=True)
    assert torch.equal(hc, hist_update(x, y, keep, cuts)) and torch.equal(hs, hist_update(x, y, keep, cuts, dim=1))
    pr = torch.sigmoid(x)[..., None] > ths  # [B,C,T]
    for h, d in ((hc, 0), (hs, 1)):
        tp, fp, fn, tn = hist_counts(h)
        yy, kk = y[..., None], keep[..., None]
        for got, ref in ((tp, pr & yy & kk), (fp, pr & ~yy & kk), (fn, ~pr & yy & kk), (tn, ~pr & ~yy & kk)):
            assert torch.equal(got, ref.sum(d).to(got.dtype))  # per class: over the samples; per sample: over the classes
    # added into a histogram in place (the sweep's): per class on the CPU by a 2-D scatter, elsewhere by one flat `index_add_`
    from fastai_mlmetrics.stats import _hist, _add_hist, hist_bins
    code = hist_bins(x, cuts).mul_(2).add_(y)
    B, C = code.shape
    for k in (None, keep):
        for by_class, rows, row in ((True, C, torch.arange(C)[None]), (False, B, torch.arange(B)[:, None])):
            ref = _hist(code, k, rows, 10, row)
            assert ref.sum() == (B * C if k is None else k.sum())
            for flat in (False, True):
                for dt in (torch.int16, torch.int32, torch.long):
                    out = torch.ones(rows, 10 * 2, dtype=dt)
                    got = _add_hist(out, code.long(), k, by_class, flat)
                    assert got is out and torch.equal(out.view(rows, 10, 2), (ref + 1).to(dt))

def test_count_true_is_the_same_on_both_paths(monkeypatch):
    "`count_true` gives int32 counts equal to a bool sum, by whole words and by bytes, on views, past the byte counters' limit and on empty matrices."
    import fastai_mlmetrics.core as co
    g, words = torch.Generator().manual_seed(5), co._words
    for shape in ((37, 11), (0, 4), (3, 0), (1, 1), (300, 24), (130, 2040), (5, 1016 * 2 + 8)):
        b = torch.rand(*shape, generator=g) < .95
        for v in (b, b[1:], b[:, 1:], b.t()):
            for wd in (words, ()):  # every word size that fits, or bytes only
                monkeypatch.setattr(co, '_words', wd)
                for d in (0, 1):
                    got = co.count_true(v, d)
                    assert got.dtype == torch.int32 and torch.equal(got, v.sum(d).int()), (shape, v.stride(), len(wd), d)
    monkeypatch.setattr(co, '_words', words)
    u = torch.ones(300, 8 * 300, dtype=torch.bool)  # every byte counter at its limit: chunks of rows and of words; int64, int32 and int16 words
    for w in (16, 8, 4, 2): assert torch.equal(co.count_true(u[:, :w], 0), torch.full((w,), 300, dtype=torch.int32))
    for w in (8 * 300, 4 * 299, 2 * 299): assert torch.equal(co.count_true(u[:3, :w], 1), torch.full((3,), w, dtype=torch.int32))

def test_int8_products_need_dot_product_instructions(monkeypatch):
    "torch's int8 product is used only where the CPU has int8 dot-product instructions (elsewhere it is a slow path)."
    import fastai_mlmetrics.core as co
    has = torch._int_mm(torch.ones(1, 1, dtype=torch.int8), torch.ones(1, 1, dtype=torch.int8)).item() == 1
    for caps, want in (({'avx2': True}, False), ({'avx512_vnni': True}, has), ({'avx_vnni': True}, has), ({'amx_int8': True}, has), ({}, False)):
        monkeypatch.setattr(torch.cpu, 'get_capabilities', lambda caps=caps: caps)
        co._cpu_int_mm.cache_clear()
        assert co._cpu_int_mm() == want, caps
    co._cpu_int_mm.cache_clear()

def test_stat_update_defaults_and_float32_weights():
    "The default cut is 0 (logits at p=0.5); float32 sample weights give the float64 weights' sums."
    from fastai_mlmetrics.stats import stat_update
    x, y, keep = _data(50, 4, seed=3)
    x = x.float()
    a, b = stat_update(x, y, keep), stat_update(x, y, keep, 0.)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(stat_update(x, y, keep, 1.)['tp'], a['tp'])
    w = torch.rand(50, generator=torch.Generator().manual_seed(0))
    s32, s64 = stat_update(x, y, keep, 0., w.float()), stat_update(x, y, keep, 0., w.double())
    for k in s64: torch.testing.assert_close(s32[k], s64[k], rtol=1e-6, atol=0)

def test_stat_batch_defaults_and_stat_update_arguments():
    "`stat_batch` cuts at 0 and checks the targets by default (bool targets need no check); `stat_update` passes on its weights and betas."
    from fastai_mlmetrics.stats import stat_batch, stat_unpack, stat_update
    x, y, keep = _data(50, 4, seed=4)
    yf = y.float(); yf[0, 0] = .5
    s, bad = stat_batch(x, yf)
    assert bad.item() is True and stat_batch(x, y.float())[1].item() is False  # checked by default
    assert stat_batch(x, yf, check=False)[1] is None and stat_batch(x, y)[1] is None and stat_batch(x, y, keep=keep)[1] is None
    assert torch.equal(s['cnt'], stat_batch(x, yf, 0.)[0]['cnt']) and not torch.equal(s['cnt'], stat_batch(x, yf, 1.)[0]['cnt'])
    w = torch.rand(50, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    sw = stat_update(x, y, keep, 0., w)
    p, t = (x > 0) & keep, y & keep
    torch.testing.assert_close(sw['tp'], w @ (p & t).double()); torch.testing.assert_close(sw['n'], w.sum())
    torch.testing.assert_close(sw['exact'], (w * ((p ^ t).sum(1) == 0)).sum())
    sb = stat_update(x, y, keep, 0., betas=(1., .3, 2.))
    assert len(sb['sdef']) == len(sb['sund']) == 8 and sb['n'].ndim == sb['exact'].ndim == 0 and torch.equal(sb['sdef'], stat_unpack(stat_batch(x, y, keep=keep, betas=(1., .3, 2.))[0])['sdef'])
    f2 = ((1 + 4) * (p & t).sum(1)).double() / (4 * t.sum(1) + p.sum(1)).clamp_min(1)  # F2 over samples, 0 where undefined
    torch.testing.assert_close(sb['sdef'][-1], f2.sum())
    from fastai_mlmetrics.stats import decide
    buf, sl = decide(x, yf, 0.)  # two slots by default: the decisions and the positives (a 0.5 is not one), no nonzero targets
    assert buf.shape == (50, 2, 4) and torch.equal(sl[0], x > 0) and torch.equal(sl[1], yf == 1)
    from fastai_mlmetrics.metrics import StatScores
    a, b = StatScores(), StatScores()
    a.update(x, y); b.update(x, y.float())  # bool targets (no check, no nonzero slot) and float ones: the same sums
    assert all(torch.equal(v, b.sums()[k]) for k, v in a.sums().items()) and not a.flags[2] and not b.flags[2]

def test_hist_bins_off_the_uniform_grid():
    "Thresholds that are not `uniform_grid(T)` (close to it, or far) are binned by search, also with the defaults; `is_uniform` tells them apart."
    from fastai_mlmetrics.stats import hist_bins, grid_cuts, uniform_grid, is_uniform
    x = torch.randn(2000, generator=torch.Generator().manual_seed(1))*3
    u = uniform_grid(19)
    for ths in (u**2, u + 1e-9, torch.tensor([.5]), u[:5]):
        assert not is_uniform(ths) or torch.equal(ths, uniform_grid(len(ths)))
        cuts = grid_cuts(ths, True, x.dtype)
        ref = (torch.sigmoid(x.double())[:, None] > ths).sum(1).int()
        assert torch.equal(hist_bins(x, cuts), ref) and torch.equal(hist_bins(x, cuts, False, True), ref)
    # `hist_update` with its defaults (a grid searched, not the closed form) on a grid that is not uniform
    from fastai_mlmetrics.stats import hist_update, hist_counts
    X = x[:1800].view(90, 20); Y = torch.rand(90, 20, generator=torch.Generator().manual_seed(2)) < .3
    tp = hist_counts(hist_update(X, Y, None, grid_cuts(u**2, True, X.dtype)))[0]
    assert torch.equal(tp, ((torch.sigmoid(X.double())[..., None] > u**2) & Y[..., None]).sum(0).to(tp.dtype))
    assert is_uniform(u) and is_uniform(uniform_grid(1)) and not is_uniform(u**2) and not is_uniform(u + 1e-9) and not is_uniform(u[:0])
    assert torch.equal(grid_cuts(u), grid_cuts(u, True, torch.float32)) and grid_cuts(u, dtype=torch.float64).dtype == torch.float64

def test_checks_name_the_bad_value():
    "A bad average or zero_division is refused, naming it."
    from fastai_mlmetrics.stats import check_average, check_zero_division, accuracy_compute, stat_update
    with pytest.raises(ValueError, match="average must be one of .* got 'mean'"): check_average('mean')
    for zd in (.5, 2, 'nan', None):
        with pytest.raises(ValueError, match="zero_division must be 'warn', 0, 1 or nan"): check_zero_division(zd)
    assert np.isnan(check_zero_division(float('nan'))) and check_zero_division(1) == 1. and check_zero_division('warn') == 0.
    x, y, _ = _data(20, 3)
    with pytest.raises(ValueError, match="label-wise accuracy .* got 'samples'"): accuracy_compute(stat_update(x, y), 'samples')

def test_sample_folds_defaults():
    "Five folds and seed 0 by default, every fold used."
    from fastai_mlmetrics.stats import sample_folds
    i = torch.arange(1000)
    assert torch.equal(sample_folds(i), sample_folds(i, 5, 0)) and set(sample_folds(i).tolist()) == set(range(5))

@pytest.mark.parametrize('zd', [0., 1.])
def test_boot_scores_class_averages_match_sklearn(zd):
    "Macro, weighted and sample-wise precision, recall and F1 of every replicate are scikit-learn's with its weights, for either zero_division, also in replicates that draw no positive (weighted gives the plain mean there, as scikit-learn does)."
    g = torch.Generator().manual_seed(4)
    x = torch.randn(60, 4, generator=g).double()
    y = torch.zeros(60, 4, dtype=torch.bool); y[3, 0] = y[10, 0] = y[7, 1] = True  # classes 2 and 3 have no positive
    x[:, 1] = -5  # class 1 predicts nothing
    b = BootCounts(R=40, zero_division=zd)
    b.update(x, y, None, 0.)
    assert b.c.shape == (40, 12)  # no plain row by default
    res, W = boot_scores(b), poisson_weights(torch.arange(60), 40).numpy()
    yt, pr = y.numpy().astype(int), (x > 0).numpy().astype(int)
    assert (W[:, [3, 10, 7]].sum(1) == 0).any()  # some replicates draw no positive at all
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        for r in range(40):
            for av in ('macro', 'weighted'):
                p, rc, f, _ = skm.precision_recall_fscore_support(yt, pr, average=av, sample_weight=W[r], zero_division=zd)
                for k, v in (('precision', p), ('recall', rc), ('f1', f)):
                    assert res[(av, k)][r] == pytest.approx(v, abs=1e-12), (r, av, k)
            if W[r].sum() == 0: continue
            p, rc, f, _ = skm.precision_recall_fscore_support(yt, pr, average='samples', sample_weight=W[r], zero_division=zd)
            for k, v in (('precision', p), ('recall', rc), ('f1', f)): assert res[('samples', k)][r] == pytest.approx(v, abs=1e-9), (r, k)

def test_boot_ap_is_nan_where_a_replicate_draws_no_positive():
    "AP of a replicate that weighs every positive of a class 0 is NaN (undefined), and only there."
    x, y, _ = _data(80, 2, seed=6)
    y[:, 0] = False; y[5, 0] = True  # one positive in class 0
    W = poisson_weights(torch.arange(80), 30)
    a = boot_ap(x, y, None, W)
    none = W[:, 5] == 0
    assert none.any() and (~none).any()
    assert a[none, 0].isnan().all() and not a[~none].isnan().any()

def test_boot_counts_flush_before_sums_stop_being_exact(monkeypatch):
    "The partial counts (int32 on the CPU, float32 on a GPU) move to float64 before they could hold more than `_exact_samples`; any limit gives the same state."
    import fastai_mlmetrics.stats as st
    for dt, bound in ((torch.int32, 2**31), (torch.float32, 2**24)):
        n = st._exact_samples(dt)
        assert n*23 < bound <= (n+1)*23 or n*23 == bound  # as many samples as stay exact, and no more
    x, y, keep = _data(100, 3, seed=7)
    ref = BootCounts(R=9, plain=True); ref.update(x, y, keep, 0.)
    monkeypatch.setattr(st, '_exact_samples', lambda dt: 20)
    b, held = BootCounts(R=9, plain=True), []
    for i in range(0, 100, 10):
        b.update(x[i:i+10], y[i:i+10], keep[i:i+10], 0., start=i)
        held.append(b._pn)
    assert held == [10, 20]*5  # flushed when the next batch would pass 20, not before
    assert torch.equal(b.c, ref.c) and b._pn == 0 and torch.equal(b.n, ref.n)

def test_bincount_nosync_both_ways():
    "The scatter-add (the default on a GPU) and `torch.bincount` (on the CPU) give the same int64 counts, empty bins and an empty input included."
    from fastai_mlmetrics.stats import bincount_nosync
    g = torch.Generator().manual_seed(8)
    for idx, n in ((torch.randint(0, 7, (500,), generator=g), 10), (torch.tensor([3, 3, 3]), 4), (torch.zeros(0, dtype=torch.long), 5)):
        ref = torch.bincount(idx, minlength=n)
        for sc in (None, False, True):
            got = bincount_nosync(idx, n, sc)
            assert got.dtype == torch.int64 and torch.equal(got, ref), (n, sc)

def test_documented_defaults():
    "Defaults the docs state: Hamming loss over all entries, F-beta at beta 1, 200 bootstrap replicates."
    from fastai_mlmetrics.stats import stat_update, hamming_compute, _ratio
    x, y, keep = _data(40, 3, seed=9)
    s = stat_update(x, y, keep)
    assert torch.equal(hamming_compute(s), hamming_compute(s, 'micro')) and not torch.equal(hamming_compute(s), hamming_compute(s, 'macro'))
    assert all(torch.equal(a, b) for a, b in zip(_ratio('fbeta', s), _ratio('fbeta', s, 1., False)))  # beta 1, per class
    b = BootCounts(); b.update(x, y, keep, 0.)
    assert b.R == 200 and b.c.shape == (200, 9)

# the Poisson(1) cdf at 0..23, written out as the docs define the weights' cuts
_CDF = list(itertools.accumulate(math.exp(-1)/math.factorial(k) for k in range(24)))

def _mix(x):
    "The 32-bit hash of `_mix32`, written out on Python integers."
    M = 0xFFFFFFFF
    x &= M
    for _ in range(2): x = (((x >> 16) ^ x) * 0x45d9f3b) & M
    return (x >> 16) ^ x

def test_weights_and_folds_are_the_documented_functions_of_seed_and_position():
    "Fold and bootstrap weight of a sample, written out on Python integers: the stream a seed gives is part of the API (intervals and folds reproduce across machines and releases)."
    from fastai_mlmetrics.stats import sample_folds
    idx = list(range(0, 3000, 7)) + [2**31 + 5, 10**9 + 3]
    for seed in (0, 3):
        W = poisson_weights(torch.tensor(idx), 6, seed)
        for r in range(6):
            for j, i in enumerate(idx):
                u = (_mix(_mix(_mix(i + (seed+1)*0x85EBCA6B) + r*0x9E3779B1)) + .5)/2**32
                assert W[r, j].item() == sum(c < u for c in _CDF), (seed, r, i)
        for K in (2, 5):
            f = sample_folds(torch.tensor(idx), K, seed).tolist()
            assert f == [_mix(_mix(i + seed*0x9E3779B1) ^ 0x5bd1e995) % K for i in idx], (seed, K)

def test_poisson_draws_at_the_cuts():
    "A 32-bit draw exactly at a cut of the Poisson(1) cdf, just below it, at the ends of the 2^16-wide ranges around it, and any other: the table (CPU) and the search (GPU) give the weight written out with the cdf."
    from fastai_mlmetrics.stats import _pois_cuts, _pois_draw, _pois_search
    edges = {v for c in _pois_cuts for j in (c >> 16, (c >> 16) - 1, (c >> 16) + 1) for v in (j << 16, (j << 16) + 2**16 - 1)}
    h = torch.tensor(sorted(v for v in {v for c in _pois_cuts for v in (c-1, c, c+1)} | edges | {0, 2**32-1, 123456789} if 0 <= v < 2**32))
    ref = torch.tensor([sum(c < (v + .5)/2**32 for c in _CDF) for v in h.tolist()], dtype=torch.int8)
    assert torch.equal(_pois_draw(h), ref) and torch.equal(_pois_search(h), ref) and ref.max() >= 10
    h = torch.randint(0, 2**32, (200, 5000), generator=torch.Generator().manual_seed(3))  # a million draws, as `poisson_weights` shapes them
    assert torch.equal(_pois_draw(h), _pois_search(h))

def test_sample_q_is_safe_div_for_every_zero_division():
    "`_sample_q`'s one division (0/0 read as `zero_division`) equals precision, recall and F1 by `safe_div`, and the exact matches, for 0, 1 and NaN."
    from fastai_mlmetrics.stats import _sample_q, safe_div
    g = torch.Generator().manual_seed(7)
    tp, fp, fn = (torch.randint(0, 3, (40, 6), generator=g).double() for _ in range(3))  # many rows with no prediction or no positive
    for shape in ((40, 6), (40,)):
        t, p, n = (a if len(shape)==2 else a[:, 0] for a in (tp, fp, fn))
        for zd in (0., 1., float('nan')):
            want = torch.stack([safe_div(t, t+p, zd), safe_div(t, t+n, zd), safe_div(2*t, 2*t+p+n, zd), ((p+n)==0).double()], 1)
            got = _sample_q(t, p, n, zd)
            assert got.shape == want.shape and torch.equal(got.nan_to_num(-7), want.nan_to_num(-7)), (shape, zd)
            # int32 counts (the sweep's), and strided views of them, divided in float64: the same bits; the counts untouched
            ti, pi, ni = (torch.stack([a, a], -1).int()[..., 0] for a in (t, p, n))
            got = _sample_q(ti, pi, ni, zd, torch.float64)
            assert got.dtype == torch.float64 and torch.equal(got.nan_to_num(-7), want.nan_to_num(-7)) and torch.equal(ti, t.int()), (shape, zd)
            assert ((t+p)==0).any() and ((t+n)==0).any()
    t0 = tp.clone(); _sample_q(tp, fp, fn, 0.); assert torch.equal(tp, t0)  # float counts: not written to either
