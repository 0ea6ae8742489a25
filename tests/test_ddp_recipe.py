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
