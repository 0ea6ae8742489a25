"Shared test helpers: data with the edge cases that break metrics, and a stand-in learner that streams batches."
import numpy as np, torch

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
