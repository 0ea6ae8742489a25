"Shared by the benchmarks: an identity-model learner over fixed logits, and a runner that times one configuration per subprocess."
import json, os, resource, subprocess, sys, time, warnings
import numpy as np, torch
from torch import nn

DEVICE = os.environ.get('BENCH_DEVICE', 'cpu')  # set by `cli`'s --device, so that the configurations' processes inherit it

def sync(device=None):
    "Wait for the queued work of `device` (default: the benchmark's), so that a wall-clock time on a GPU holds what it launched."
    if (device or DEVICE) != 'cpu': torch.cuda.synchronize()

class Ident(nn.Module):
    "Returns its input: the validation predictions are exactly the stored logits."
    def __init__(self): super().__init__(); self.b = nn.Parameter(torch.zeros(1))
    def forward(self, x): return x + self.b

def data(n, c, seed=0):
    "`n`×`c` float32 logits and float32 0/1 targets, about 1.5 positive labels per sample."
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, c, generator=g)
    return x, (torch.rand(n, c, generator=g) < torch.sigmoid(2*x - 6)).float()

def batches(n, c, bs=256, seed=0, device=None):
    "The benchmarks' data (`data`, as the learners validate it), in batches, on `device` (default: the benchmark's)."
    return list(zip(*(t.to(device or DEVICE).split(bs) for t in data(n, c, seed))))

FLOOR = {'read': lambda x, y: x.sum(), 'decision': lambda x, y: ((x > 0) & (y > 0)).sum(0)}  # one batch's read pass and decision pass (at logit 0)

def floor(n, c, bs=256, reps=5, seed=0):
    """The floor over the benchmark's batches, in this process: seconds of one read pass (`x.sum()` per batch) and of one
    decision pass (`((x > 0) & (y > 0)).sum(0)` per batch), each the best of `reps`."""
    bat = batches(n, c, bs, seed)
    def best(f):
        ts = []
        for _ in range(reps):
            sync(); t = time.perf_counter()
            for x, y in bat: f(x, y)
            sync(); ts.append(time.perf_counter()-t)
        return min(ts)
    return {k: best(f) for k, f in FLOOR.items()}

def time_events():
    """Time, from now on in this process, what each callback spends in the validation events that hold metric work
    (`before_validate`, `after_batch`, `after_validate`): the Recorder's (the metrics' `reset`, `accumulate` and `value`) and
    our callbacks'. Returns the running totals, by callback class name."""
    from collections import Counter
    from fastai.callback.core import Callback
    spent, orig = Counter(), Callback.__call__
    def timed(self, event_name):
        if event_name not in ('before_validate', 'after_batch', 'after_validate'): return orig(self, event_name)
        sync(); t = time.perf_counter(); res = orig(self, event_name); sync(); spent[type(self).__name__] += time.perf_counter()-t
        return res
    Callback.__call__ = timed
    return spent

def make_learner(n, c, metrics, bs=256, cbs=None, seed=0):
    "A `Learner` validating `n`×`c` logits (about 1.5 positive labels per sample) with `metrics`."
    from fastai.learner import Learner
    import fastai.callback.progress  # noqa: F401 (adds Learner.no_bar)
    from fastai.data.core import DataLoaders
    from fastai.data.load import DataLoader
    ds = torch.utils.data.TensorDataset(*data(n, c, seed))
    dl = DataLoader(ds, bs=bs, device=DEVICE)
    return Learner(DataLoaders(dl, dl, device=DEVICE), Ident(), loss_func=nn.BCEWithLogitsLoss(), metrics=metrics, cbs=cbs)

class TMAdapter:
    "torchmetrics' own class as a plain fastai metric, as a user would wire it: float32 probabilities, no checks of ours."
    def __new__(cls, tm_cls, **kw):
        from fastai.learner import Metric
        class _M(Metric):
            name = tm_cls.__name__
            def reset(self): self.m = None
            def accumulate(self, learn):
                if self.m is None: self.m = tm_cls(num_labels=learn.pred.shape[1], validate_args=False, **kw).to(learn.pred.device)
                self.m.update(torch.sigmoid(learn.pred), learn.y.long())
            @property
            def value(self):
                v = self.m.compute()
                v = v[0] if isinstance(v, (tuple, list)) else v
                return float(torch.stack(v).float().mean() if isinstance(v, list) else v.float().mean())
        return _M()

def timed_validate(learn, reps=1):
    """Best wall time of `reps` `learn.validate()` calls, with fastai's progress bar off; the values; and the best time spent in
    the events that hold metric work (`time_events`)."""
    best, events, spent = float('inf'), float('inf'), time_events()
    with learn.no_bar(), warnings.catch_warnings():
        warnings.simplefilter('ignore')
        for _ in range(reps):
            spent.clear()
            t = time.perf_counter(); res = learn.validate(); best = min(best, time.perf_counter()-t)
            events = min(events, sum(spent.values()))
    def num(v):
        try: return float(np.asarray(v).mean())
        except (TypeError, ValueError): return float('nan')  # e.g. a curve: a tuple of tensors
    return best, [num(v) for v in res[1:]], events

def peak_rss_mb():
    "Peak memory so far: the process's RSS on the CPU, the device's allocated memory on a GPU."
    return torch.cuda.max_memory_allocated()/2**20 if DEVICE != 'cpu' else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024

def measure(cfg, n, c, reps, metrics=(), cbs=None, **extra):
    """One configuration, measured in this process and printed as JSON: `validate` time and values; the peak RSS; `metric`, the
    time its events spend (`time_events`) beyond those of a learner without metrics validating the same data in this process,
    afterwards; and the `floor` over the same batches. `extra` (name: function of the learner) adds fields."""
    learn = make_learner(n, c, list(metrics), cbs=cbs)
    if DEVICE != 'cpu': torch.cuda.reset_peak_memory_stats()
    before = peak_rss_mb()
    t, vals, ev = timed_validate(learn, reps)
    res = dict(cfg=cfg, n=n, c=c, time=t, rss=peak_rss_mb(), rss_before=before, values=vals)
    res |= {k: f(learn) for k, f in extra.items()}
    del learn  # the baseline and the floor run after the peak RSS is read, so that they do not raise it
    res |= dict(metric=ev-timed_validate(make_learner(n, c, []), reps)[2], floor=floor(n, c))
    print(json.dumps(res))

def run_child(script, cfg, n, c, reps, src=None):
    "Run `script --child cfg n c reps` in a fresh process (importing the package from the source tree `src` if given); return its JSON result."
    env = {**os.environ, 'OMP_NUM_THREADS': os.environ.get('OMP_NUM_THREADS', str(os.cpu_count()))}
    if src: env['PYTHONPATH'] = os.pathsep.join([str(src)] + [p for p in [os.environ.get('PYTHONPATH')] if p])
    out = subprocess.run([sys.executable, script, '--child', cfg, str(n), str(c), str(reps)], capture_output=True, text=True, env=env)
    if out.returncode: raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])

def cli(doc, reps, **extra):
    "The options every timing benchmark takes: --n, --c, --big (the N that shows memory is flat) and --reps; and `extra` ones (name: default)."
    import argparse
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    for k,v in extra.items(): ap.add_argument(f'--{k}', default=v)
    ap.add_argument('--n', type=int, default=20000); ap.add_argument('--c', type=int, default=1000)
    ap.add_argument('--big', type=int, default=80000); ap.add_argument('--reps', type=int, default=reps)
    ap.add_argument('--rounds', type=int, default=1, help='run every configuration this many times in turn, each keeping its fastest')
    ap.add_argument('--device', default='cpu', help="where the learner validates, e.g. 'cuda' (memory is then the device's peak allocation)")
    a = ap.parse_args()
    os.environ['BENCH_DEVICE'] = a.device
    return a

def run_all(script, a, cfgs, flat, srcs=None):
    """Every configuration in `cfgs` at N, and 'none' and `flat` at the big N, each in its own process; `srcs` maps a configuration
    to the source tree it imports. With `a.rounds` > 1 the configurations run that many times in turn and each keeps its fastest
    run, so that a slow spell of a shared machine does not fall on one configuration alone."""
    r = {}
    for _ in range(getattr(a, 'rounds', 1)):
        for cfg in cfgs:
            x = run_child(script, cfg, a.n, a.c, a.reps, (srcs or {}).get(cfg))
            if cfg not in r or x['time'] < r[cfg]['time']: r[cfg] = x
    return r, {cfg: run_child(script, cfg, a.big, a.c, a.reps) for cfg in ('none', flat)}

def metric_s(d, k):
    "Seconds the metric work of configuration `k` takes in `Learner.validate` (`measure`)."
    return d[k]['metric']

def floor_line(r):
    "The floor, from the process of each configuration: the range of its read and decision passes."
    f = lambda k: (min(v['floor'][k] for v in r.values()), max(v['floor'][k] for v in r.values()))
    (r0, r1), (d0, d1) = f('read'), f('decision')
    return (f"floor over the same batches, in each configuration's process: read pass {r0:.3f}-{r1:.3f} s, "
            f"decision pass {d0:.3f}-{d1:.3f} s")

def mem_label():
    "The memory column's name: peak RSS on the CPU, the device's peak allocation on a GPU."
    return 'metric RSS' if os.environ.get('BENCH_DEVICE', 'cpu') == 'cpu' else 'metric GPU'

def print_table(r, title, width):
    """The timing table: validate time; metric time (the events' time beyond a learner without metrics, in the same process) and
    its multiple of the decision pass measured in that process; metric memory."""
    print(title)
    print(floor_line(r))
    print(f"{'':{width}}{'validate s':>12}{'metric s':>10}{'x decision':>12}{mem_label()+' MB':>15}")
    for k, v in r.items():
        print(f"{k:{width}}{v['time']:12.3f}{metric_s(r,k):10.3f}{metric_s(r,k)/v['floor']['decision']:12.2f}{v['rss']-r['none']['rss']:15.0f}")

def print_flat(r, big, a, flat):
    "Metric time and memory of `flat` at the big N, beside its memory at N."
    print(f"{flat} at N={a.big:,}: metric time {metric_s(big,flat):.3f} s, {mem_label()} {big[flat]['rss']-big['none']['rss']:.0f} MB "
          f"(at N={a.n:,}: {r[flat]['rss']-r['none']['rss']:.0f} MB)")

def dispatch(child, main):
    "Run `child(cfg, n, c, reps)` when called as `script --child cfg n c reps`, else `main()`."
    if len(sys.argv) > 1 and sys.argv[1] == '--child': child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    else: main()
