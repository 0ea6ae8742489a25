"""Write README.md from nbs/index.ipynb without Quarto: markdown cells as they are, visible code cells
as ```python blocks followed by their text output. `python tools/readme.py --check` fails if README.md is stale."""
import json, re, sys
from pathlib import Path

root = Path(__file__).parents[1]

def render(nb_path=root/'nbs'/'index.ipynb'):
    "GitHub-flavoured markdown for the notebook at `nb_path`."
    out = []
    for c in json.loads(Path(nb_path).read_text())['cells']:
        src = ''.join(c['source']).strip()
        if c['cell_type'] == 'markdown': out.append(src); continue
        if re.search(r'^#\|\s*(hide|exporti?)\b', src, re.M) or not src: continue
        out.append(f"```python\n{src}\n```")
        txt = ''.join(''.join(o.get('text', '') or o.get('data', {}).get('text/plain', '')) for o in c.get('outputs', []))
        if txt.strip(): out.append(f"```\n{txt.rstrip()}\n```")
    return "<!-- generated from nbs/index.ipynb by tools/readme.py: edit the notebook, not this file -->\n\n" + "\n\n".join(out) + "\n"

if __name__ == '__main__':
    txt, dst = render(), root/'README.md'
    if '--check' in sys.argv: sys.exit(0 if dst.exists() and dst.read_text() == txt else "README.md is stale: run python tools/readme.py")
    dst.write_text(txt)
