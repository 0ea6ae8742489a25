"Every Python block of the README runs as written, in order, on a machine without network (sockets refused), in an empty folder."
import re, subprocess, sys, pytest
from pathlib import Path

root = Path(__file__).parents[1]
offline = '''import socket
def _refuse(*a, **k): raise OSError("no network in this test: the README must run offline")
socket.socket.connect = socket.socket.connect_ex = socket.create_connection = _refuse
'''

def env(tmp_path):
    "This environment, with empty caches for weights (torch, fastai): nothing downloaded earlier can stand in."
    import os
    return {**os.environ, 'TORCH_HOME': str(tmp_path/'torch'), 'FASTAI_HOME': str(tmp_path/'fastai'), 'HF_HOME': str(tmp_path/'hf')}

def blocks(): return re.findall(r"```python\n(.*?)\n```", (root/'README.md').read_text(), flags=re.S)

def test_offline_guard_refuses_a_download(tmp_path):
    "The guard itself works: pretrained weights cannot be fetched under it (with an empty weights cache)."
    src = offline + "import torchvision\ntorchvision.models.resnet18(weights='IMAGENET1K_V1')\n"
    (tmp_path/'s.py').write_text(src)
    r = subprocess.run([sys.executable, 's.py'], cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env(tmp_path))
    assert r.returncode != 0 and 'no network in this test' in r.stderr

@pytest.mark.slow
def test_readme_code_runs_offline(tmp_path):
    bs = blocks()
    assert len(bs) >= 2 and any('vision_learner' in b for b in bs)
    (tmp_path/'readme.py').write_text(offline + '\n\n'.join(bs) + '\n')
    r = subprocess.run([sys.executable, 'readme.py'], cwd=tmp_path, capture_output=True, text=True, timeout=900, env=env(tmp_path))
    assert r.returncode == 0, r.stderr[-4000:]
    out = r.stdout
    assert 'f1_samples      0.778' in out  # the first block's printed output, as the README shows it
    for s in ('in_sample', 'cv', 'se', 'shrunk', 'per_class', 'recall_cv', 'all positive', 'f1_lo'): assert s in out, s
