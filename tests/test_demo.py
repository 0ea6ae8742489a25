"The demo as a user runs it, its output sent to a file: no progress-bar frames, no folder left behind, the same numbers for the same seed."
import os, re, subprocess, sys, tempfile
from pathlib import Path

def _demo(*args, tmp=None):
    # torchvision's import makes torch create its compile cache under TMPDIR (and record it in the environment, so whether a test
    # process has imported it decides what a child inherits): that folder is torch's, kept outside the one checked here
    env = {**os.environ, 'TMPDIR': str(tmp), 'TORCHINDUCTOR_CACHE_DIR': str(tmp.parent/'torchinductor')} if tmp else None
    r = subprocess.run([sys.executable, '-m', 'fastai_mlmetrics.demo', '--epochs', '2', '--n', '160', '--size', '32', *args],
                       capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout

def test_demo_log_is_clean_reproducible_and_tidy(tmp_path):
    a, b = _demo(tmp=tmp_path), _demo(tmp=tmp_path)
    assert '\r' not in a and '█' not in a and '|----' not in a  # no progress-bar frames in a log
    assert re.search(r'^\s*epoch\s+train_loss\s+valid_loss', a, re.M) and 'threshold to ship' in a and 'all negative' in a
    assert 'certified to keep precision >= 0.9' in a and 'precision_lcb' in a
    assert re.search(r'^epoch \d+ minus epoch \d+ \(the best other epoch\).*[+-]\d\.\d{3} ± \d\.\d{3} \(paired, 95%\)', a, re.M) and 'the epoch choice, held out' in a
    assert list(tmp_path.iterdir()) == []  # without --out, nothing is left in the temporary folder
    strip = lambda s: re.sub(r'\d\d:\d\d', 'MM:SS', re.sub(r'trained in \d+ s', 'trained', s))  # wall times differ
    assert strip(a) == strip(b)  # the same seed: the same table, thresholds and report

def test_help_answers_without_loading_torch():
    "`mlmetrics-demo --help` imports neither torch nor fastai (about 45 s on a loaded machine); the report prints three decimals."
    r = subprocess.run([sys.executable, '-c', "import sys, runpy; sys.argv=['mlmetrics-demo','--help']\n"
                        "try: runpy.run_module('fastai_mlmetrics.demo', run_name='__main__')\n"
                        "except SystemExit: pass\nprint(sorted(m for m in ('torch','fastai','pandas') if m in sys.modules))"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and '--epochs' in r.stdout and r.stdout.strip().endswith('[]'), r.stdout + r.stderr

def test_report_numbers_have_three_decimals():
    import pandas as pd
    from fastai_mlmetrics.demo import _fixed3
    df = pd.DataFrame({'f1': [0.5, 0.86789, float('nan')], 'support': pd.array([3, 4, None], dtype='Int64')})
    assert _fixed3(df).values.tolist() == [['0.500', '3'], ['0.868', '4'], ['', '']]
