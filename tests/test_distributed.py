"Two gloo processes with fastai's DistributedDL give exactly the single-process numbers, for every metric and the sweep (its rules, cross-fitted values, standard errors and operating points included)."
import datetime, gc, json, os, socket, sys, time, warnings, numpy as np, pytest, torch
from pathlib import Path
import torch.multiprocessing as mp
from helpers import identity_learner

pytestmark = pytest.mark.distributed

def _data(n, c=7, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = (torch.randn(n, c, generator=g)*2).round(decimals=1)  # ties, across processes too
    y = (torch.rand(n, c, generator=g) < torch.sigmoid(x-1)).float()
    y[:, 0] = 0  # an empty class
    return x, y

def _metrics():
    from fastai_mlmetrics.all import (ScoreMulti, AccuracyMulti, HammingLossMulti, MatthewsCorrCoefMulti, ExactMatchMulti, BrierScoreMulti,
        RocAucMulti, APScoreMulti, CoverageErrorMulti, LabelRankingAPMulti, RankingLossMulti, TorchMetric)
    from torchmetrics.classification import MultilabelF1Score
    ms = [ScoreMulti(sc, .4, average=av, zero_division=0) for sc in ('fbeta','precision','recall','jaccard','specificity')
          for av in ('micro','macro','weighted','samples')]  # per-class values are refused in a Learner's table
    ms += [AccuracyMulti(), AccuracyMulti(average='macro'), HammingLossMulti(), MatthewsCorrCoefMulti(), ExactMatchMulti(), BrierScoreMulti(thresh=None),
           RocAucMulti(), RocAucMulti(average='micro'), RocAucMulti(average='samples'), APScoreMulti(), APScoreMulti(average='samples'),
           APScoreMulti(thresholds=20), CoverageErrorMulti(), LabelRankingAPMulti(), RankingLossMulti(),
           TorchMetric(MultilabelF1Score, average='macro')]
    return ms

def _values(learn, dl=None):
    from fastai_mlmetrics.all import ThresholdSweep
    sw = ThresholdSweep(thresholds=[.1, .25, .4, .5, .7], metrics=('f1_samples','f1_micro','f1_macro','accuracy','exact_match','precision_samples'),
                        add_to_recorder=False)
    with warnings.catch_warnings(), learn.no_bar():
        warnings.simplefilter('ignore')
        res = learn.validate(dl=dl, cbs=[sw])
    best = sw.best
    honest = [sw.rules.to_numpy(float), best.filter(regex='_(cv|se)$').to_numpy(float), sw.operating_points(min_recall=.5).to_numpy(float),
              sw.class_thresholds.to_numpy(float)]
    return dict(metrics=[np.asarray(v, dtype=float).tolist() for v in res[1:]], sweep=sw.history.drop(columns='epoch').to_numpy().tolist(),
                honest=[np.nan_to_num(h, nan=-9).tolist() for h in honest], rule=sw.rule)

def _cpu_broadcast(self, t, rank):
    "fastai's DistributedDL._broadcast moves to CUDA (NCCL only); the same on the CPU for gloo."
    t = torch.LongTensor(t)
    torch.distributed.broadcast(t, rank)
    return t.tolist()

def _worker(rank, world, port, n, bs, out, backend='gloo', plain=False):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port), WORLD_SIZE=str(world), RANK=str(rank), LOCAL_RANK=str(rank))
    if backend == 'nccl': torch.cuda.set_device(rank)
    torch.distributed.init_process_group(backend, rank=rank, world_size=world, timeout=datetime.timedelta(seconds=120))
    from fastai.distributed import DistributedDL
    if backend == 'gloo': DistributedDL._broadcast = _cpu_broadcast
    x, y = _data(n)
    if plain: x, y = x[rank::world], y[rank::world]  # each process its own slice, no DistributedDL (and so no padding)
    learn = identity_learner(x, y, _metrics(), bs=bs, device=f'cuda:{rank}' if backend == 'nccl' else 'cpu')
    res = _values(learn, None if plain else DistributedDL(learn.dls.valid, rank=rank, world_size=world))
    with open(f'{out}.{rank}', 'w') as f: json.dump(res, f)
    _teardown(rank, world, out)

def _teardown(rank, world, out):
    """Leave with no C++ teardown at interpreter exit. A process used to abort there now and then ("terminate called without
    an active exception", SIGABRT): gloo's worker threads and, on rank 0, the TCP store's server thread were still being
    destroyed during interpreter finalization, racing the other process's exit. So every rank finishes talking (barrier),
    destroys its process group and frees what held it while the interpreter is alive, waits until every rank has done the
    same (files, not gloo), and exits at once."""
    torch.distributed.barrier()
    torch.distributed.destroy_process_group()
    gc.collect()
    Path(f'{out}.down.{rank}').touch()
    for r in range(world):
        for _ in range(1200):
            if Path(f'{out}.down.{r}').exists(): break
            time.sleep(0.05)
    sys.stdout.flush(); sys.stderr.flush()
    os._exit(0)

def _free_port():
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def _check(tmp_path, n, bs, backend, plain=False):
    x, y = _data(n)
    single = _values(identity_learner(x, y, _metrics(), bs=bs))
    mp.spawn(_worker, args=(2, _free_port(), n, bs, str(tmp_path/'res'), backend, plain), nprocs=2, join=True)
    for rank in (0, 1):
        multi = json.loads((tmp_path/f'res.{rank}').read_text())
        for i, (a, b) in enumerate(zip(single['metrics'], multi['metrics'])):
            np.testing.assert_allclose(np.asarray(b, float), np.asarray(a, float), rtol=1e-6, atol=1e-6, err_msg=f'metric {i}')
        np.testing.assert_allclose(np.asarray(multi['sweep']), np.asarray(single['sweep']), rtol=1e-9, atol=1e-12)
        if not plain:  # folds and bootstrap weights follow each sample's position in the validation set, which DistributedDL keeps
            assert multi['rule'] == single['rule']
            for i, (a, b) in enumerate(zip(single['honest'], multi['honest'])):
                np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-9, atol=1e-12, err_msg=f'honest {i}')

# 1001 in batches of 100 or 250: the second process's last batch is all padding (0 rows once trimmed), the first's holds one sample
@pytest.mark.parametrize('n,bs', [(1001, 64), (1000, 50), (203, 256), (1001, 100), (1001, 250)])
def test_two_processes_match_one(tmp_path, n, bs): _check(tmp_path, n, bs, 'gloo')

def test_without_distributed_dl(tmp_path):
    "A process group without DistributedDL: each process validates its own slice, and the counts still add up exactly."
    _check(tmp_path, 1001, 64, 'gloo', plain=True)

@pytest.mark.cuda
@pytest.mark.skipif(torch.cuda.device_count() < 2, reason='needs 2 GPUs')
def test_two_gpus_nccl_match_one(tmp_path): _check(tmp_path, 1001, 64, 'nccl')
