"Shared test helpers: data with the edge cases that break metrics, and a stand-in learner that streams batches."
import numpy as np, torch, sklearn.metrics as skm

class FakeLearn:
    "What a fastai `Metric.accumulate` reads from a learner: `pred` and `y`."
    pred = y = None

def stream(metrics, x, y, bs, learn=None):
    "Feed `x`, `y` to `metrics` in batches of `bs` as the Recorder does; return their values."
    learn = learn or FakeLearn()
    for m in metrics: m.reset()
    for i in range(0, len(x), bs):
        learn.pred,learn.y = x[i:i+bs],y[i:i+bs]
        for m in metrics: m.accumulate(learn)
    return [m.value for m in metrics]

def make_data(seed, n, c, empty_class=False, neg_rows=False, pos_rows=False, ties=True, p_pos=0.3):
    "Probabilities on a 1/8 grid (so ties at 0.25/0.5/0.75 are common) and 0/1 targets, with optional degenerate rows and columns."
    rng = np.random.default_rng(seed)
    p = rng.integers(0, 9, (n, c))/8 if ties else rng.random((n, c))
    y = (rng.random((n, c)) < p_pos).astype(np.int64)
    if empty_class: y[:, 0] = 0
    if neg_rows: y[::3] = 0
    if pos_rows: y[1::4] = 1
    return p, y

def exact_pred(x, thresh, sigmoid=True):
    "The decisions `prob > thresh` in exact arithmetic (60 digits, mpmath): the oracle for ties at the threshold, where float64 rounds."
    import mpmath
    x, t = np.asarray(x, dtype=np.float64), np.broadcast_to(np.asarray(thresh, dtype=np.float64), np.shape(x))
    if not sigmoid: return (x > t).astype(int)  # both exact binary numbers
    with mpmath.workdps(60):
        f = lambda v, th: int(1/(1+mpmath.exp(-mpmath.mpf(v))) > mpmath.mpf(th)) if np.isfinite(v) else int(v > 0)
        return np.vectorize(f, otypes=[int])(x, t)

def sweep_score(m, y, pred, mask=None, w=None, zd=0.):
    "scikit-learn's value of sweep metric `m`, in float64; masked entries are neither true nor predicted, and label-wise accuracy skips them."
    mask = np.zeros(np.shape(y), bool) if mask is None else mask
    yz, pz = np.where(mask, 0, y), np.where(mask, 0, pred)
    kind, _, av = m.partition('_')
    if m == 'exact_match': return skm.accuracy_score(yz, pz, sample_weight=w)
    if m in ('accuracy', 'hamming'):
        w = np.ones(len(y)) if w is None else w
        acc = ((pred == y) & ~mask).sum(1) @ w / ((~mask).sum(1) @ w)
        return acc if m == 'accuracy' else 1 - acc
    f = dict(f1=skm.f1_score, precision=skm.precision_score, recall=skm.recall_score)[kind]
    return f(yz, pz, average=av, sample_weight=w, zero_division=zd)

def best_index(vals, ths, lower=False):
    "The best index of `vals` on grid `ths` (NaN never best), ties (to 1e-12) toward the threshold nearest 0.5, then the first."
    v = np.asarray(vals, dtype=np.float64)
    v = np.where(np.isnan(v), -np.inf, -v if lower else v)
    cand = np.flatnonzero(np.isclose(v, v.max(), rtol=0, atol=1e-12))
    return cand[np.argmin(np.abs(ths[cand] - .5))]

def rounded(m, y, pred, mask, w):
    "A per-sample metric's weighted mean from per-sample values rounded to 2^-32, as the sweep's bootstrap sums keep them (so that sums are exact in any order)."
    yz, pz = np.where(mask, 0, y) == 1, np.where(mask, 0, pred) == 1
    tp, fp, fn = (yz & pz).sum(1), (~yz & pz).sum(1), (yz & ~pz).sum(1)
    d = dict(precision=(tp, tp + fp), recall=(tp, tp + fn), f1=(2*tp, 2*tp + fp + fn))
    with np.errstate(invalid='ignore', divide='ignore'):
        v = ((fp + fn) == 0).astype(float) if m == 'exact_match' else np.where(d[m.split('_')[0]][1] > 0, d[m.split('_')[0]][0]/d[m.split('_')[0]][1], 0.)
    return np.round(v*2**32)/2**32 @ w / w.sum()

def logits(p):
    "Logits whose sigmoid gives `p` back (0 and 1 clipped), in float64."
    q = np.clip(p, 1e-6, 1-1e-6)
    return np.log(q/(1-q))

def identity_learner(x, y, metrics, bs=64, device='cpu', **kw):
    "A fastai `Learner` whose model returns its input, so the validation predictions are exactly `x`."
    from torch import nn
    from fastai.learner import Learner
    from fastai.data.core import DataLoaders
    from fastai.data.load import DataLoader
    class Ident(nn.Module):
        def __init__(self): super().__init__(); self.b = nn.Parameter(torch.zeros(1))
        def forward(self, x): return x + self.b
    ds = list(zip(torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32)))
    dls = DataLoaders(DataLoader(ds, bs=bs, device=device), DataLoader(ds, bs=bs, device=device), device=device)
    return Learner(dls, Ident().to(device), **{'loss_func': nn.BCEWithLogitsLoss(), **kw}, metrics=metrics)
