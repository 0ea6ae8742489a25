"The project's own wiring: CI runs the README's test command, and the package exposes its public API."
import re, subprocess, sys
from pathlib import Path

root = Path(__file__).parents[1]

def readme_cmds():
    return re.findall(r"```sh\n(.*?)\n```", (root/'README.md').read_text(), flags=re.S)

def test_readme_has_two_setup_commands():
    cmds = readme_cmds()
    assert len(cmds) == 2, cmds
    assert cmds[0].startswith('pip install -e ".[dev]"') and 'fastai_mlmetrics.demo' in cmds[0]
    assert 'nbdev-test' in cmds[1] and cmds[1].split(' && ')[-1].split()[0] == 'pytest'

def test_ci_runs_the_readme_test_command():
    grep = re.search(r"grep -m1 '(.*?)' README.md", (root/'.ci/run').read_text()).group(1)
    hits = [l for l in (root/'README.md').read_text().splitlines() if re.match(grep.replace('\\"','"'), l)]
    assert hits and hits[0] == readme_cmds()[1]

def test_readme_is_generated_from_index_notebook():
    sys.path.insert(0, str(root/'tools'))
    from readme import render
    assert (root/'README.md').read_text() == render(), "README.md is stale: run python tools/readme.py"
