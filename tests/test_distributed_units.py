"The distributed helpers one at a time, without processes: padding rows under DistributedDL, and the reductions' plumbing with a stand-in for two processes (the gloo tests in test_distributed.py run the real thing)."
from types import SimpleNamespace
import pytest, torch
import torch.distributed as dist
import fastai_mlmetrics.distributed as D

def _learn(n, world_size, rank, i, padded=None):
    padded = padded if padded is not None else -(-n//world_size)*world_size
    return SimpleNamespace(dl=SimpleNamespace(n=n, n_padded=padded, i=i, rank=rank, world_size=world_size))

def test_one_process():
    assert D.world() == 1
    s = {'a': torch.arange(3)}
    assert D.reduce_sums(s) is s and D.reduce_sums(None) is None and D.gather_cat(s['a']) is s['a'] and D.gather_cat(None) is None

def test_batch_start_and_valid_rows_follow_distributeddl():
    "Rank r holds positions r*(n_padded/world) onwards; `i` counts the rows it has served, the current batch included; rows past `n` are padding."
    L = _learn(1001, 2, 1, 300)  # rank 1 holds positions 501..1001 (the last is padding), and has served 300 rows
    assert D.batch_start(L, 100) == 501 + 200 and D.valid_rows(L, 100) == 100
    L = _learn(1001, 2, 1, 501)  # its last batch: positions 1001-1 ... 1001+0, one padding row
    assert D.batch_start(L, 101) == 901 and D.valid_rows(L, 101) == 100
    assert D.valid_rows(_learn(1001, 2, 1, 501), 1) == 0  # a batch of padding alone
    assert D.valid_rows(_learn(1000, 4, 0, 50), 50) == 50 and D.batch_start(_learn(1000, 4, 3, 50), 50) == 750
    for dl in (None, SimpleNamespace(n=10, n_padded=10, i=5, rank=0), _learn(10, 1, 0, 5).dl):  # not a DistributedDL, or one process
        L = SimpleNamespace(dl=dl) if dl is not None else SimpleNamespace()
        assert D.batch_start(L, 5) is None and D.valid_rows(L, 5) == 5

def test_reductions_with_a_stand_in_for_two_processes(monkeypatch):
    "Sums add (bools OR), on copies; gathers concatenate each process's rows in rank order, trimmed of the padding that equal lengths need."
    other = {'f': torch.tensor([1., 2.]), 'i': torch.tensor([5]), 'b': torch.tensor([False, False, True])}
    monkeypatch.setattr(D, 'world', lambda: 2)
    def all_reduce(t):  # this process's copy plus the other's
        t += (other[next(k for k, v in mine.items() if v.shape == t.shape)].to(t.dtype))
    monkeypatch.setattr(dist, 'all_reduce', all_reduce)
    mine = {'f': torch.tensor([.5, .25]), 'i': torch.tensor([7]), 'b': torch.tensor([True, False, False])}
    keep = {k: v.clone() for k, v in mine.items()}
    out = D.reduce_sums(mine)
    assert torch.equal(out['f'], torch.tensor([1.5, 2.25])) and torch.equal(out['i'], torch.tensor([12]))
    assert out['b'].dtype == torch.bool and out['b'].tolist() == [True, False, True]
    assert all(torch.equal(mine[k], keep[k]) for k in mine)  # the inputs are not changed
    theirs = torch.arange(12.).view(4, 3) + 100
    def all_gather(outs, t):  # rank 0 is this process; rank 1 has `theirs`
        outs[0].copy_(t)
        if t.shape[0] == 1 and t.dtype == torch.int64 and t.ndim == 1 and outs[1].shape == (1,): outs[1].fill_(len(theirs))
        else: outs[1].copy_(torch.cat([theirs, theirs.new_zeros(len(t)-len(theirs), *theirs.shape[1:])]))
    monkeypatch.setattr(dist, 'all_gather', all_gather)
    for n in (2, 4, 6, 0):
        x = torch.arange(n*3.).view(n, 3)
        assert torch.equal(D.gather_cat(x), torch.cat([x, theirs])), n
