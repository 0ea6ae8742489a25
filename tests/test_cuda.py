"On a GPU: the same values as on the CPU, and no host-device sync in any metric's per-batch path."
import warnings, numpy as np, pytest, torch
from fastai_mlmetrics.all import *
from fastai_mlmetrics.sweep import SweepStats
from helpers import make_data, logits, FakeLearn

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
