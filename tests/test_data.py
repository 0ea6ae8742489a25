"The bundled-digits image set, and the demo command end to end."
import os, subprocess, sys, time, numpy as np, pandas as pd, pytest
from pathlib import Path
from PIL import Image
from fastai_mlmetrics.data import make_multilabel_digits

def test_shapes_labels_and_distribution(tmp_path):
    df = make_multilabel_digits(tmp_path, n=400, size=40, seed=3)
    assert list(df.columns) == ['fname', 'labels', 'is_valid'] and len(df) == 400
    assert len(list((tmp_path/'images').glob('*.png'))) == 400
    arr = np.asarray(Image.open(tmp_path/'images'/df.fname[7]))
    assert arr.shape == (40, 40, 3) and arr.max() > 100 and (arr == 0).mean() > 0.3  # digits on a blank canvas
    labs = df.labels.str.split()
    assert labs.map(len).between(1, 4).all() and labs.map(lambda l: len(set(l)) == len(l)).all()
    freq = pd.Series([x for l in labs for x in l]).value_counts()
    assert set(freq.index) == {str(i) for i in range(10)} and freq['0'] > 3*freq['9']
    assert 0.1 < df.is_valid.mean() < 0.3

def test_deterministic_and_cached(tmp_path):
    a = make_multilabel_digits(tmp_path/'a', n=50, size=32, seed=1)
    b = make_multilabel_digits(tmp_path/'b', n=50, size=32, seed=1)
    pd.testing.assert_frame_equal(a, b)
    assert (tmp_path/'a'/'images'/'00010.png').read_bytes() == (tmp_path/'b'/'images'/'00010.png').read_bytes()
    m = (tmp_path/'a'/'images'/'00010.png').stat().st_mtime_ns
    time.sleep(0.01)
    pd.testing.assert_frame_equal(make_multilabel_digits(tmp_path/'a', n=50, size=32, seed=1), a)
    assert (tmp_path/'a'/'images'/'00010.png').stat().st_mtime_ns == m  # reused, not rewritten
    c = make_multilabel_digits(tmp_path/'a', n=50, size=32, seed=2)  # other parameters: rebuilt
    assert not c.equals(a)

def test_unwritable_path_fails_clearly(tmp_path):
    ro = tmp_path/'ro'; ro.mkdir(); ro.chmod(0o500)
    try:
        if os.access(ro, os.W_OK): pytest.skip('running as a user who can write anywhere')
        with pytest.raises(OSError, match='cannot create the data folder'): make_multilabel_digits(ro/'x', n=5)
    finally: ro.chmod(0o700)

def test_file_in_the_way_fails_clearly(tmp_path):
    (tmp_path/'f').write_text('')
    with pytest.raises(OSError, match='pass a writable path'): make_multilabel_digits(tmp_path/'f', n=5)

def test_too_small_size_is_refused(tmp_path):
    with pytest.raises(ValueError, match='too small'): make_multilabel_digits(tmp_path, n=5, size=8)

def test_demo_command_runs_end_to_end(tmp_path):
    out = subprocess.run([sys.executable, '-m', 'fastai_mlmetrics.demo', '--epochs', '1', '--n', '200', '--size', '32', '--out', str(tmp_path)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    for s in ('f1_samples_best', 'threshold to ship', 'per-class thresholds', 'all negative', 'class prior', 'sweep plot saved to'):
        assert s in out.stdout, s
    assert (tmp_path/'sweep.png').stat().st_size > 1000 and (tmp_path/'models'/'model.pth').exists()

def test_demo_help():
    out = subprocess.run([sys.executable, '-m', 'fastai_mlmetrics.demo', '--help'], capture_output=True, text=True)
    assert out.returncode == 0 and all(o in out.stdout for o in ('--epochs', '--out', '--size', '--device'))
