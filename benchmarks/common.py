"Shared by the benchmarks: an identity-model learner over fixed logits, and a runner that times one configuration per subprocess."
import json, os, resource, subprocess, sys, time, warnings
import numpy as np, torch
from torch import nn

class Ident(nn.Module):
    "Returns its input: the validation predictions are exactly the stored logits."
    def __init__(self): super().__init__(); self.b = nn.Parameter(torch.zeros(1))
    def forward(self, x): return x + self.b

def make_learner(n, c, metrics, bs=256, cbs=None, seed=0):
    "A `Learner` validating `n`×`c` logits (about 1.5 positive labels per sample) with `metrics`."
    from fastai.learner import Learner
    import fastai.callback.progress  # noqa: F401 (adds Learner.no_bar)
    from fastai.data.core import DataLoaders
    from fastai.data.load import DataLoader
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, c, generator=g)
    y = (torch.rand(n, c, generator=g) < torch.sigmoid(2*x - 6)).float()
    ds = torch.utils.data.TensorDataset(x, y)
    dl = DataLoader(ds, bs=bs, device='cpu')
    return Learner(DataLoaders(dl, dl, device='cpu'), Ident(), loss_func=nn.BCEWithLogitsLoss(), metrics=metrics, cbs=cbs)

def timed_validate(learn, reps=1):
    "Best wall time of `reps` `learn.validate()` calls, with fastai's progress bar off."
    best = float('inf')
    with learn.no_bar(), warnings.catch_warnings():
        warnings.simplefilter('ignore')
        for _ in range(reps):
            t = time.perf_counter(); res = learn.validate(); best = min(best, time.perf_counter()-t)
    def num(v):
        try: return float(np.asarray(v).mean())
        except (TypeError, ValueError): return float('nan')  # e.g. a curve: a tuple of tensors
    return best, [num(v) for v in res[1:]]

def peak_rss_mb(): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024

def run_child(script, cfg, n, c, reps):
    "Run `script --child cfg n c reps` in a fresh process; return its JSON result."
    out = subprocess.run([sys.executable, script, '--child', cfg, str(n), str(c), str(reps)], capture_output=True, text=True,
                         env={**os.environ, 'OMP_NUM_THREADS': os.environ.get('OMP_NUM_THREADS', str(os.cpu_count()))})
    if out.returncode: raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])
