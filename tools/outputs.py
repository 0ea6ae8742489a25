"""Run every notebook and keep its outputs, so that readers see tables and plots on GitHub: `python tools/outputs.py`.
It runs `nbdev-test --save`, then drops the stderr streams (warnings name paths of the machine that ran them) and cleans."""
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

if __name__ == '__main__':
    subprocess.run(['nbdev-test', '--n-workers', '2', '--save'], cwd=root, check=True)
    for p in sorted((root/'nbs').glob('*.ipynb')): strip_stderr(p)
    subprocess.run(['nbdev-clean'], cwd=root, check=True)
    subprocess.run([sys.executable, str(root/'tools'/'readme.py')], cwd=root, check=True)
