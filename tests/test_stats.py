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
