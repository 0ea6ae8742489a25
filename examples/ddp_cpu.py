"""Distributed data parallel on the CPU, two processes: `torchrun --nproc_per_node 2 examples/ddp_cpu.py`.

fastai's DDP support (2.8) targets GPUs; two of its steps assume one, and this recipe patches them here, in the script (fastai's
gaps, not ours): `DistributedDL._broadcast` moves its tensor to CUDA (NCCL only), and `DistributedTrainer._wrap_dl` reads
`model.device`, which a plain `nn.Module` lacks. `learn.distrib_ctx(cpu=True)` then starts gloo through accelerate.
(`accelerate launch --cpu --num_processes 2` has been seen to start one process without a word: check `world_size` below.)

It trains a small multi-label model for three epochs on 1,001 made-up samples (so one process gets one sample more, and its last
batch holds a single sample), validates under DDP, then validates the same weights in one process: our metrics and the sweep
give the same numbers both ways (to 1e-12; fastai's validation loss does not, as it averages the padding in), printed by the
first process, which exits with an error if they differ or if only one process ran.

Same numbers need the same predictions. `nn.Linear`'s BLAS kernels order their sums by the batch's size and by where its rows
lie in memory, so a sample's logits under DDP (another batch, another address) can differ from one process's in the last bit;
a ranking metric then moves by a swapped pair of nearly tied scores (AUROC by 5e-7 in one run), though every metric counted
what it was given exactly. The model here is therefore `Linear`: the same layer, computed in a fixed order."""
import os, torch, numpy as np
from torch import nn
from fastai.learner import Learner
from fastai.data.core import DataLoaders
from fastai.data.load import DataLoader
from fastai.distributed import DistributedDL, DistributedTrainer, rank_distrib, num_distrib
from fastai.losses import BCEWithLogitsLossFlat
from fastai.callback.schedule import fit_one_cycle  # noqa: F401 (Learner.fit_one_cycle)
from fastai_mlmetrics.all import *

def _broadcast(self, t, rank):
    "`DistributedDL._broadcast` on the CPU: gloo takes CPU tensors."
    t = torch.LongTensor(t)
    torch.distributed.broadcast(t, rank)
    return t.tolist()
DistributedDL._broadcast = _broadcast
DistributedTrainer._wrap_dl = lambda self, dl: dl if isinstance(dl, DistributedDL) else DistributedDL(dl, device=next(self.learn.model.parameters()).device)

class Linear(nn.Linear):
    "`nn.Linear` computed as a fixed chain of elementwise products and sums: a sample's outputs do not depend on its batch or its address."
    def forward(self, x):
        out = self.bias.expand(len(x), -1)
        for j in range(x.shape[1]): out = out + x[:, j:j+1]*self.weight[:, j]
        return out

def data(n=1001, c=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 10, generator=g)
    y = (x[:, :c] + torch.randn(n, c, generator=g) > 0.8).float()
    return list(zip(x, y))

def values(learn):
    sw = ThresholdSweep(add_to_recorder=False)
    with learn.no_bar(), learn.no_logging(): res = learn.validate(cbs=[sw])
    return [float(v) for v in res] + [sw.best_thresh, sw.rules.cv['global'], sw.rules.se['global']]

if __name__ == '__main__':
    torch.manual_seed(0)
    ds = data()
    dls = DataLoaders(DataLoader(ds[:800], bs=100, shuffle=True), DataLoader(ds, bs=100))
    learn = Learner(dls, Linear(10, 5), loss_func=BCEWithLogitsLossFlat(),
                    metrics=[F1ScoreMulti(average='samples'), AccuracyMulti(), ExactMatchMulti(), APScoreMulti(), RocAucMulti()])
    with learn.distrib_ctx(cpu=True):
        world_size = num_distrib()
        with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(3, 5e-2)
        ddp = values(learn)
    rank = rank_distrib()
    torch.distributed.destroy_process_group()  # from here on, each process is on its own
    os.environ['WORLD_SIZE'] = '1'  # fastai reads the process count from the environment
    if rank == 0:
        one = values(learn)  # the same weights, in one process
        print(f"processes: {world_size}")
        for n, a, b in zip(['valid_loss', *learn.metrics.attrgot('name'), 'best_thresh', 'global_cv', 'global_se'], ddp, one):
            print(f"{n:16} DDP {a:.15f}   one process {b:.15f}")
        # the loss is fastai's batch mean, padding included; ours agree to the last bits (a sum of per-sample scores, such as
        # F1 over samples, is added in another order across processes, which may move its last bit)
        err = np.max(np.abs(np.subtract(ddp[1:], one[1:]))/np.maximum(np.abs(one[1:]), 1e-300))
        same = err <= 1e-12
        print(f"largest relative difference of our numbers: {err:.1e}" + ('' if same else ': they DIFFER'))
        if world_size < 2 or not same: raise SystemExit(1)
