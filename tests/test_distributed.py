"Two gloo processes with fastai's DistributedDL give the single-process numbers, for every metric and the sweep (its rules, cross-fitted values, standard errors, operating points and the paired replicates that comparisons read included): bit for bit, except sums of per-sample float scores, to their last bits (see `_float_sums`)."
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
    honest = [sw.rules.to_numpy(float), best.filter(regex='_(cv|se)$').to_numpy(float), sw.operating_points(min_recall=.5).drop(columns='note').to_numpy(float),
              sw.class_thresholds.to_numpy(float), sw.operating_points(min_recall=.5, average='samples').drop(columns='note').to_numpy(float)]
    sh = sw.shipped  # what paired comparisons read: the shipped value's replicates, each fold's value, the nested values
    honest.append(np.r_[sh['cv'], sh['reps'], sh['folds'], sh['track'].ravel(), *sh['rules'].values()])
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

# Sums of per-sample float scores (the 'samples' averages of the threshold scores, the Brier score, LRAP, ranking loss, and the sweep's
# per-sample columns) are added in another order across processes, which may move their last bit (2 ulp at most, seen). Everything
# counted (integer sums: per-class counts, exact match, coverage, the histograms) or ranked (the gathered scores keep their order)
# is bit for bit the single-process value. Without DistributedDL the gathered samples come in another order, so the per-sample
# AUROC and AP are averaged in another order too.
def _float_sums(name, plain=False):
    return name in ('brier_score', 'lrap', 'ranking_loss') or (name.endswith('_samples') and (plain or not name.startswith(('roc_auc', 'ap_'))))
ULP = dict(rtol=1e-15, atol=0)

def _check(tmp_path, n, bs, backend, plain=False):
    x, y = _data(n)
    single = _values(identity_learner(x, y, _metrics(), bs=bs))
    mp.spawn(_worker, args=(2, _free_port(), n, bs, str(tmp_path/'res'), backend, plain), nprocs=2, join=True)
    names = [m.name for m in _metrics()]
    cols = ['threshold', 'f1_samples', 'f1_micro', 'f1_macro', 'accuracy', 'exact_match', 'precision_samples']
    for rank in (0, 1):
        multi = json.loads((tmp_path/f'res.{rank}').read_text())
        for nm, a, b in zip(names, single['metrics'], multi['metrics']):
            if _float_sums(nm, plain): np.testing.assert_allclose(np.asarray(b, float), np.asarray(a, float), **ULP, err_msg=nm)
            else: assert np.array_equal(np.asarray(b, float), np.asarray(a, float), equal_nan=True), (nm, a, b)
        sw, sw1 = np.asarray(multi['sweep']), np.asarray(single['sweep'])
        for j, c in enumerate(cols):
            if _float_sums(c): np.testing.assert_allclose(sw[:, j], sw1[:, j], **ULP, err_msg=c)
            else: assert np.array_equal(sw[:, j], sw1[:, j], equal_nan=True), c
        if not plain:  # folds and bootstrap weights follow each sample's position in the validation set, which DistributedDL keeps
            assert multi['rule'] == single['rule']
            # the held-out values of a per-sample monitor read the per-sample sums too; the bootstrap sums are exact (2^-32 grid)
            for i, (a, b) in enumerate(zip(single['honest'], multi['honest'])):
                np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-14, atol=0, err_msg=f'honest {i}')

# 1001 in batches of 100 or 250: the second process's last batch is all padding (0 rows once trimmed), the first's holds one sample
@pytest.mark.parametrize('n,bs', [(1001, 64), (1000, 50), (203, 256), (1001, 100), (1001, 250)])
def test_two_processes_match_one(tmp_path, n, bs): _check(tmp_path, n, bs, 'gloo')

def test_without_distributed_dl(tmp_path):
    "A process group without DistributedDL: each process validates its own slice, and the counts still add up exactly."
    _check(tmp_path, 1001, 64, 'gloo', plain=True)

@pytest.mark.cuda
@pytest.mark.skipif(torch.cuda.device_count() < 2, reason='needs 2 GPUs')
def test_two_gpus_nccl_match_one(tmp_path): _check(tmp_path, 1001, 64, 'nccl')
