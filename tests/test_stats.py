"The bootstrap kernels fed as a validation feeds them: batch by batch, with and without a mask, against one batch and against scikit-learn with the same weights."
import numpy as np, pytest, torch
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
