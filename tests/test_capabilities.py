"""The same numbers whatever CPU kernels PyTorch picks: the oracle under every `ATEN_CPU_CAPABILITY` this CPU supports,
and identical values across capabilities and batch sizes on tie-heavy float32 logits."""
import json, os, subprocess, sys, warnings, numpy as np, pytest, torch, sklearn.metrics as skm
from pathlib import Path

HERE = Path(__file__).parent
X86 = ['default', 'avx2', 'avx512']

def capabilities():
    "Every capability up to the highest this CPU has: default, avx2, avx512 on x86; default and the top one elsewhere."
    top = torch.backends.cpu.get_cpu_capability().lower()
    return X86[:X86.index(top)+1] if top in X86 else ['default', top]

def _run(args, cap, **kw):
    env = {**os.environ, 'ATEN_CPU_CAPABILITY': cap}
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, cwd=HERE.parent, **kw)

def data():
    "Tie-heavy float32 logits: a half-unit grid (0 is the cut of 0.5), large margins where a float32 sigmoid saturates, an empty class."
    g = torch.Generator().manual_seed(0)
    x = (torch.randint(-8, 9, (997, 9), generator=g)/2).float()
    x[::7, 3] = torch.tensor([17., 18, 20, 25, -30])[torch.randint(0, 5, (len(x[::7]),), generator=g)]
    x[:, 4] = torch.tensor([-1.0986123, -0.8472979, 0.8472978, 1.0986123])[torch.randint(0, 4, (len(x),), generator=g)]  # at logit(.25/.3/.7/.75)
    y = (torch.rand(x.shape, generator=g) < torch.sigmoid(x.double()-1)).float()
    y[:, 0] = 0
    return x, y

def values(bs):
    "Every metric's value (and the sweep's table) on `data()`, streamed in batches of `bs`."
    from fastai_mlmetrics.all import (ScoreMulti, AccuracyMulti, HammingLossMulti, MatthewsCorrCoefMulti, ExactMatchMulti, BrierScoreMulti,
        RocAucMulti, APScoreMulti, CoverageErrorMulti, LabelRankingAPMulti, RankingLossMulti, accuracy_multi)
    from fastai_mlmetrics.sweep import SweepStats
    from helpers import stream
    x, y = data()
    th = [.3, .25, .5, .7, .75, .5, .4, .6, .2]
    ms = [ScoreMulti(sc, t, average=av, zero_division=0) for sc in ('fbeta','precision','recall','jaccard','specificity')
          for av in ('micro','macro','weighted','samples',None) for t in (.3, .5, th)]
    ms += [AccuracyMulti(.7), HammingLossMulti(.25), MatthewsCorrCoefMulti(), ExactMatchMulti(.3), BrierScoreMulti(thresh=.7), BrierScoreMulti(thresh=None)]
    ms += [M(average=av) for M in (RocAucMulti, APScoreMulti) for av in ('micro','macro','weighted','samples',None)]
    ms += [RocAucMulti(max_fpr=.2), APScoreMulti(thresholds=50), CoverageErrorMulti(), LabelRankingAPMulti(), RankingLossMulti()]
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        vals = [np.asarray(v, dtype=float).tolist() for v in stream(ms, x, y, bs)]
    sw = SweepStats(101)
    for i in range(0, len(x), bs): sw.update(x[i:i+bs], y[i:i+bs])
    return dict(metrics=vals, accuracy_multi=float(accuracy_multi(x, y, thresh=.3)), sweep=sw.table().to_numpy().tolist(),
                cap=torch.backends.cpu.get_cpu_capability())

BATCHES = (1, 64, 997)
if __name__ == '__main__':
    sys.path.insert(0, str(HERE))
    print(json.dumps({bs: values(bs) for bs in BATCHES}))

@pytest.fixture(scope='module')
def by_cap():
    out = {}
    for cap in capabilities():
        r = _run([str(Path(__file__).resolve())], cap, timeout=600)
        assert r.returncode == 0, r.stderr[-3000:]
        out[cap] = {int(k): v for k, v in json.loads(r.stdout.strip().splitlines()[-1]).items()}
    return out

def test_capabilities_take_effect(by_cap):
    for cap, res in by_cap.items(): assert res[BATCHES[0]]['cap'].lower() == cap

def test_identical_across_capabilities(by_cap):
    "Bit for bit: every metric, every batch size, under every capability."
    caps = list(by_cap)
    for cap in caps[1:]:
        for bs in BATCHES:
            a, b = by_cap[caps[0]][bs], by_cap[cap][bs]
            for k in ('metrics', 'accuracy_multi', 'sweep'):
                for i, (u, v) in enumerate(zip(np.atleast_1d(np.asarray(a[k], dtype=object)), np.atleast_1d(np.asarray(b[k], dtype=object)))):
                    np.testing.assert_array_equal(np.asarray(v, float), np.asarray(u, float), err_msg=f'{caps[0]} vs {cap}, bs={bs}, {k}[{i}]')

def test_same_across_batch_sizes(by_cap):
    "Counts are integers, so only the order of float64 sums of per-sample scores can change the last bits."
    for res in by_cap.values():
        for bs in BATCHES[1:]:
            for k in ('metrics', 'sweep'):
                for a, b in zip(res[BATCHES[0]][k], res[bs][k]):
                    np.testing.assert_allclose(np.asarray(b, float), np.asarray(a, float), rtol=1e-12, atol=1e-12, err_msg=f'{k} bs={bs}')

def test_ranking_equals_sklearn_on_the_logits(by_cap):
    "The ranking metrics equal scikit-learn on the float32 logits themselves, ties and large margins included, to 1e-12."
    x, y = (t.double().numpy() for t in data())
    keep = (y.min(0) == 0) & (y.max(0) == 1)
    rows = (y.min(1) == 0) & (y.max(1) == 1)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        exp = [skm.roc_auc_score(y, x, average='micro'), skm.roc_auc_score(y[:, keep], x[:, keep]),
               skm.roc_auc_score(y[:, keep], x[:, keep], average='weighted'), skm.roc_auc_score(y[rows], x[rows], average='samples')]
        exp += [skm.average_precision_score(y, x, average=av) for av in ('micro', 'macro', 'weighted', 'samples')]
        exp += [skm.roc_auc_score(y[:, keep], x[:, keep], max_fpr=.2), skm.coverage_error(y, x),
                skm.label_ranking_average_precision_score(y, x), skm.label_ranking_loss(y, x)]
    for res in by_cap.values():
        m = res[BATCHES[-1]]['metrics']
        n0 = 5*5*3 + 6
        got = m[n0:n0+4] + m[n0+5:n0+9] + [m[n0+10], *m[-3:]]
        np.testing.assert_allclose(got, exp, rtol=0, atol=1e-12)

@pytest.mark.parametrize('cap', capabilities())
def test_oracle_under_capability(cap):
    "tests/test_oracle.py passes with PyTorch held to `cap`."
    r = _run(['-m', 'pytest', '-q', '-p', 'no:cacheprovider', str(HERE/'test_oracle.py')], cap, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:]
