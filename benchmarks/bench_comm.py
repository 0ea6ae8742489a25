"""Bytes that torch.distributed collectives carry per process during one `Learner.validate` on 2 gloo processes with
fastai's DistributedDL: fastai's eight-metric suite (per-batch gather) against ours (the same eight plus ThresholdSweep,
reduced once). The no-metric run (index broadcast, loss gather) is subtracted.

    python benchmarks/bench_comm.py [--n 20000] [--c 1000]
"""
import argparse, json, os, socket, sys, tempfile, warnings
from pathlib import Path
import torch, torch.distributed as dist, torch.multiprocessing as mp
sys.path.insert(0, str(Path(__file__).parent))
from common import make_learner
from bench_metrics import suite

def _count(stats):
    "Wrap the collectives to add up the bytes of what each call returns to this process."
    nb = lambda t: t.numel()*t.element_size()
    orig = {k: getattr(dist, k) for k in ('all_reduce', 'all_gather', 'broadcast')}
    def all_reduce(t, *a, **k): stats['all_reduce'] += nb(t); stats['calls'] += 1; return orig['all_reduce'](t, *a, **k)
    def all_gather(out, t, *a, **k): stats['all_gather'] += sum(nb(o) for o in out); stats['calls'] += 1; return orig['all_gather'](out, t, *a, **k)
    def broadcast(t, *a, **k): stats['broadcast'] += nb(t); stats['calls'] += 1; return orig['broadcast'](t, *a, **k)
    dist.all_reduce, dist.all_gather, dist.broadcast = all_reduce, all_gather, broadcast

def _worker(rank, world, port, cfg, n, c, out):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port), WORLD_SIZE=str(world), RANK=str(rank), LOCAL_RANK=str(rank))
    dist.init_process_group('gloo', rank=rank, world_size=world)
    from fastai.distributed import DistributedDL
    def _bc(self, t, r):
        t = torch.LongTensor(t); dist.broadcast(t, r); return t.tolist()
    DistributedDL._broadcast = _bc
    from fastai_mlmetrics.sweep import ThresholdSweep
    cbs = [ThresholdSweep(101, add_to_recorder=False)] if cfg == 'ours' else []
    learn = make_learner(n, c, suite(cfg), cbs=cbs)
    ddl = DistributedDL(learn.dls.valid, rank=rank, world_size=world)
    stats = dict(all_reduce=0, all_gather=0, broadcast=0, calls=0)
    _count(stats)
    with warnings.catch_warnings(), learn.no_bar():
        warnings.simplefilter('ignore')
        learn.validate(dl=ddl)
    if rank == 0: Path(out).write_text(json.dumps(stats))
    dist.barrier()
    dist.destroy_process_group()

def run(cfg, n, c):
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]
    out = tempfile.mktemp()
    mp.spawn(_worker, args=(2, port, cfg, n, c, out), nprocs=2, join=True)
    return json.loads(Path(out).read_text())

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=20000); ap.add_argument('--c', type=int, default=1000)
    a = ap.parse_args()
    r = {cfg: run(cfg, a.n, a.c) for cfg in ('none', 'fastai', 'ours')}
    tot = lambda d: d['all_reduce'] + d['all_gather'] + d['broadcast']
    print(f"bytes returned by collectives to each of 2 processes, one validation of {a.n:,} x {a.c:,}, metrics only (no-metric run subtracted)")
    for k in ('fastai', 'ours'):
        b = tot(r[k]) - tot(r['none'])
        print(f"{k:7} {b/1e6:12.3f} MB in {r[k]['calls']-r['none']['calls']:5d} calls  (all_gather {(r[k]['all_gather']-r['none']['all_gather'])/1e6:.3f} MB, "
              f"all_reduce {(r[k]['all_reduce']-r['none']['all_reduce'])/1e6:.3f} MB)")
    print(f"fastai / ours: {(tot(r['fastai'])-tot(r['none']))/(tot(r['ours'])-tot(r['none'])):.0f}x")

if __name__ == '__main__': main()
