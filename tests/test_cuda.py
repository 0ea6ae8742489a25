"On a GPU: the same values as on the CPU, and no host-device sync in any metric's per-batch path."
import warnings, numpy as np, pytest, torch
from contextlib import contextmanager
from fastai_mlmetrics.all import *
from fastai_mlmetrics.sweep import SweepStats
from fastai_mlmetrics.core import prep, cutoff
from fastai_mlmetrics.stats import BootCounts, boot_scores
from helpers import make_data, logits, FakeLearn, identity_learner

pytestmark = [pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device')]

def metrics():
    return [AccuracyMulti(), F1ScoreMulti(average='samples'), F1ScoreMulti(average='macro'), F1ScoreMulti(average='micro'),
            PrecisionMulti(average='samples'), RecallMulti(average='weighted'), HammingLossMulti(), JaccardMulti(average='samples'),
            ExactMatchMulti(), MatthewsCorrCoefMulti(), BrierScoreMulti(thresh=None), RocAucMulti(), APScoreMulti(),
            APScoreMulti(thresholds=50), CoverageErrorMulti(), LabelRankingAPMulti(), RankingLossMulti(),
            F1ScoreMulti(thresh=torch.linspace(.2, .8, 12), average='macro')]

def test_gpu_matches_cpu_without_sync():
    p, y = make_data(0, 512, 12)
    x, t = torch.tensor(logits(p), dtype=torch.float32), torch.tensor(y)
    res = {}
    for dev in ('cpu', 'cuda'):
        ms, L = metrics(), FakeLearn()
        xs, ts = x.to(dev), t.to(dev)
        for m in ms: m.reset()
        sweep = SweepStats(51)
        if dev == 'cuda':
            for m in ms: L.pred, L.y = xs[:8], ts[:8]; m.accumulate(L)  # first batch creates state (allowed to allocate)
            for m in ms: m.reset()
            torch.cuda.synchronize(); torch.cuda.set_sync_debug_mode('error')
        try:
            for i in range(0, 512, 64):
                L.pred, L.y = xs[i:i+64], ts[i:i+64]
                for m in ms: m.accumulate(L)
                sweep.update(L.pred, L.y)
        finally: torch.cuda.set_sync_debug_mode(0)
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            res[dev] = [np.asarray(m.value) for m in ms] + [sweep.table().drop(columns='threshold').to_numpy()]
    for a, b in zip(res['cpu'], res['cuda']): np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)

def test_bad_values_on_gpu_raise_at_value():
    m, L = F1ScoreMulti(), FakeLearn()
    m.reset(); L.pred, L.y = torch.full((4, 3), float('nan'), device='cuda'), torch.zeros(4, 3, device='cuda')
    m.accumulate(L)
    with pytest.raises(ValueError, match='NaN'): m.value

@contextmanager
def no_sync(dev):
    "On a GPU, raise at any host-device sync inside the block; elsewhere run it as it is."
    if dev != 'cuda': yield; return
    torch.cuda.synchronize(); torch.cuda.set_sync_debug_mode('error')
    try: yield
    finally: torch.cuda.set_sync_debug_mode(0)

def masked_data(n=384, c=10):
    "Logits on a 1/8 probability grid (ties at the cuts) with an empty class, an all-negative row every third, and -1 targets to mask."
    p, y = make_data(1, n, c, empty_class=True, neg_rows=True)
    y = np.where(np.random.default_rng(2).random(y.shape) < .1, -1, y)
    return torch.tensor(logits(p), dtype=torch.float32), torch.tensor(y)

def weighted_metrics(n):
    "Metrics with masks, weights, labels and per-class thresholds, which the plain suite above leaves out."
    w = torch.tensor(np.random.default_rng(3).integers(0, 4, n), dtype=torch.float32)  # some zero weights
    th = torch.linspace(.2, .8, 10)
    return [F1ScoreMulti(average='samples', ignore_index=-1), F1ScoreMulti(average='macro', ignore_index=-1, sample_weight=w),
            PrecisionMulti(th, average='weighted', ignore_index=-1), AccuracyMulti(ignore_index=-1, sample_weight=w),
            ExactMatchMulti(sample_weight=w, ignore_index=-1), HammingLossMulti(labels=[0, 2, 5], sample_weight=w, ignore_index=-1),
            RocAucMulti(ignore_index=-1), APScoreMulti(average='samples', ignore_index=-1, sample_weight=w),
            APScoreMulti(thresholds=50, ignore_index=-1)]

def sweep_states(dev, bs=64):
    """Feed, on `dev`, the default `ThresholdSweep`'s state (5 folds, 200 bootstrap replicates, kept bins), the report's
    bootstrap counts and `weighted_metrics`; every batch after the first (which creates the state) under `no_sync`. Returns
    everything as float64 NumPy arrays."""
    x, y = (t.to(dev) for t in masked_data())
    ms, L, st, bc = weighted_metrics(len(x)), FakeLearn(), ThresholdSweep(ignore_index=-1).stats, BootCounts(200)
    cut = cutoff(.5, True, x.dtype)
    def feed(i):
        L.pred, L.y = x[i:i+bs], y[i:i+bs]
        for m in ms: m.accumulate(L)
        st.update(L.pred, L.y)
        s, pos, keep, _ = prep(L.pred, L.y, True, -1)
        bc.update(s, pos, keep, cut, start=i)
    for m in ms: m.reset()
    feed(0)
    with no_sync(dev):
        for i in range(bs, len(x), bs): feed(i)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        F = st.folded()
        out = [np.asarray(m.value, dtype=np.float64) for m in ms] + [np.stack(F[0]), F[1], F[2]]
    out += [t.double().cpu().numpy() for t in (st.b, st.bn, torch.cat(st.codes), torch.cat(st.idx))]
    return out + [np.asarray(v, dtype=np.float64) for v in boot_scores(bc).values()]

def test_default_sweep_and_weighted_metrics_without_sync():
    "The default sweep's state (folds, bootstrap, kept bins), the bootstrap counts and masked, weighted metrics: no sync on a GPU, the CPU's numbers."
    cpu, gpu = sweep_states('cpu'), sweep_states('cuda')
    for i, (a, b) in enumerate(zip(cpu, gpu)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9, err_msg=f'output {i}')

def learner_values(dev, x, y, strict):
    "A learner on `dev` validating `x`, `y` twice with the seven shared metrics and a default `ThresholdSweep`; the second pass's per-batch work under `no_sync` when `strict`."
    class StrictSweep(ThresholdSweep):
        def after_batch(self):
            with no_sync(dev if strict[0] else 'cpu'): super().after_batch()
    ms = [AccuracyMulti(), F1ScoreMulti(average='samples'), F1ScoreMulti(average='macro'), PrecisionMulti(average='samples'),
          RecallMulti(average='samples'), HammingLossMulti(), JaccardMulti(average='samples'), ExactMatchMulti()]
    for m in ms:
        def acc(learn, f=m.accumulate):
            with no_sync(dev if strict[0] else 'cpu'): f(learn)
        m.accumulate = acc
    sw = StrictSweep()
    learn = identity_learner(x, y, ms, bs=64, device=dev, cbs=[sw])
    with learn.no_bar(), warnings.catch_warnings():
        warnings.simplefilter('ignore')
        learn.validate()  # the first validation creates the state and the cuts on the device
        strict[0] = True
        res = learn.validate()[1:]
    return np.array([float(v) for v in res]), sw.history.drop(columns=['threshold', 'epoch'], errors='ignore').to_numpy(np.float64)

def test_learner_validate_on_gpu_without_sync():
    "Through a real `Learner` on the GPU: no metric and no sweep forces a sync per batch, and the values are the CPU's."
    x, y = masked_data(); y = y.clamp(min=0)
    (vc, hc), (vg, hg) = learner_values('cpu', x, y, [False]), learner_values('cuda', x, y, [False])
    np.testing.assert_allclose(vc, vg, rtol=1e-6)
    np.testing.assert_allclose(hc, hg, rtol=1e-6, atol=1e-9)
