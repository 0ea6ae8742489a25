"""Run every notebook and keep its outputs, so that readers see tables and plots on GitHub: `python tools/outputs.py [NOTEBOOK ...]`.
It runs the notebooks as `nbdev-test --save` does, with fastprogress's notebook display (HTML), as Jupyter would show them:
run outside Jupyter, fastprogress writes console bars into the outputs when the terminal is a tty, and nothing when it is not.
Then it keeps the last state of each progress display (the epoch table, without bars), drops the stderr streams (warnings name
paths of the machine that ran them), cleans, and writes README.md."""
import json, subprocess, sys
from pathlib import Path

root = Path(__file__).parents[1]

def strip_stderr(path:Path)->int:
    "Remove stderr stream outputs from the notebook at `path`; return how many were removed."
    nb = json.loads(path.read_text())
    n = 0
    for c in nb['cells']:
        keep = [o for o in c.get('outputs', []) if not (o.get('output_type') == 'stream' and o.get('name') == 'stderr')]
        n += len(c.get('outputs', [])) - len(keep)
        if 'outputs' in c: c['outputs'] = keep
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n')
    return n

def _html(o)->str|None:
    if o.get('output_type') != 'display_data': return None
    h = o.get('data', {}).get('text/html')
    return None if h is None else ''.join(h)

def collapse_progress(path:Path)->int:
    """Keep, per cell, only what Jupyter shows once fastprogress is done: its final epoch table. Outside Jupyter each update of
    a progress display is a new output (bars, the style block, the emptied bars of `predict`); return how many were removed."""
    nb = json.loads(path.read_text())
    n = 0
    for c in nb['cells']:
        outs = c.get('outputs', [])
        prog = [i for i,o in enumerate(outs) if (h := _html(o)) is not None and ('<progress' in h or 'fastprogress' in h or 'progress {' in h or not h.strip())]
        tables = [i for i in prog if 'class="fastprogress"' in _html(outs[i]) and '<progress' not in _html(outs[i])]
        drop = set(prog) - set(tables[-1:])
        n += len(drop)
        if drop: c['outputs'] = [o for i,o in enumerate(outs) if i not in drop]
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n')
    return n

def run(paths:list):
    "Execute the notebooks at `paths` and save their outputs, with fastprogress's notebook display."
    import fastai.callback.progress as fcp, fastprogress.fastprogress as fpp
    fcp.master_bar,fcp.progress_bar = fpp.NBMasterBar,fpp.NBProgressBar  # what ProgressCallback calls in Jupyter
    from nbdev.test import test_nb
    from fastcore.parallel import parallel
    ok = parallel(test_nb, paths, n_workers=2, save=True, basepath=root/'nbs', force_flags=None, skip_flags=['slow','cuda'])
    bad = [p.name for p,(r,_) in zip(paths, ok) if not r]
    if bad: sys.exit(f"failed: {bad}")

if __name__ == '__main__':
    paths = [Path(p).resolve() for p in sys.argv[1:]] or sorted((root/'nbs').glob('[0-9]*.ipynb')) + [root/'nbs'/'index.ipynb']
    run(paths)
    for p in paths: strip_stderr(p); collapse_progress(p)
    subprocess.run(['nbdev-clean'], cwd=root, check=True)
    subprocess.run([sys.executable, str(root/'tools'/'readme.py')], cwd=root, check=True)
