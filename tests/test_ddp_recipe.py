"The CPU recipe for DDP (`examples/ddp_cpu.py`) runs as written under torchrun, in two processes, and gives our single-process numbers."
import os, socket, subprocess, sys, pytest
from pathlib import Path

pytestmark = pytest.mark.distributed
root = Path(__file__).parents[1]

def test_cpu_ddp_recipe_runs_as_written():
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]
    r = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2', '--master_port', str(port),
                        str(root/'examples'/'ddp_cpu.py')], cwd=root, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    out = r.stdout.splitlines()
    assert 'processes: 2' in out
    rows = {l.split()[0]: l.split() for l in out if ' DDP ' in l}
    assert set(rows) >= {'f1_samples', 'accuracy_multi', 'ap_macro', 'best_thresh', 'global_cv'}
    for n in ('accuracy_multi', 'exact_match', 'ap_macro', 'roc_auc_macro', 'best_thresh'):  # counts and ranks: identical
        assert rows[n][2] == rows[n][5], rows[n]
    assert float(rows['roc_auc_macro'][2]) > 0.6  # the model learned something: the numbers compared are not trivial

def test_recipe_model_gives_every_sample_the_same_logits_in_any_batch():
    "The recipe's `Linear` gives a sample bitwise the same logits whatever its batch (size, neighbours) and its address, as a DDP split changes them."
    src = f'''import runpy, torch
Linear = runpy.run_path({str(root/'examples'/'ddp_cpu.py')!r}, run_name='recipe')['Linear']
torch.manual_seed(0)
m, x = Linear(10, 5), torch.randn(1001, 10)
with torch.no_grad():
    ref = torch.cat([m(b) for b in x.split(100)])
    for bs in (1, 7, 51, 99, 101, 501, 1001): assert torch.equal(torch.cat([m(b) for b in x.split(bs)]), ref), bs
    for off in range(1, 9):  # the same rows at other addresses
        xs = torch.empty(x.numel()+off)[off:].view(x.shape); xs.copy_(x)
        assert torch.equal(torch.cat([m(b) for b in xs.split(100)]), ref), off
    out = torch.empty_like(ref)
    for r in range(2): i = torch.arange(r, 1001, 2); out[i] = torch.cat([m(b) for b in x[i].split(100)])  # two processes' interleaved halves
    assert torch.equal(out, ref)
    assert torch.allclose(ref, torch.nn.functional.linear(x, m.weight, m.bias), atol=1e-5)  # the same layer
print('ok')
'''
    r = subprocess.run([sys.executable, '-c', src], capture_output=True, text=True, timeout=300)  # the recipe patches fastai: in a process of its own
    assert r.returncode == 0 and r.stdout.strip() == 'ok', r.stderr[-3000:]
