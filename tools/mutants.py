"""Put realistic bugs back into the generated modules, one at a time, and check that the tests catch each: `python tools/mutants.py [NAME ...]`.
Each bug is a small edit of `fastai_mlmetrics/*.py` (restored afterwards, whatever happens) and the test files that should fail.
It prints one line per bug, killed or SURVIVED, and exits with an error if any survives. Outside CI: it edits the package in place."""
import subprocess, sys, time
from pathlib import Path

root = Path(__file__).parents[1]
O, W, R, S, H, D, C = ('tests/test_oracle.py', 'tests/test_oracle_weighted.py', 'tests/test_report_oracle.py', 'tests/test_sweep_grid.py',
                       'tests/test_honest.py', 'tests/test_distributed.py', 'tests/test_core.py')
# name: (module, what the code says, the bug, tests that must fail)
BUGS = {
    'decision >=':              ('stats.py', "    torch.gt(scores, cut, out=s[0])", "    torch.ge(scores, cut, out=s[0])", [O]),
    'mask left off decisions':  ('stats.py', "        pred &= rest[0]; pos &= rest[0]", "        pos &= rest[0]", [O]),
    'tn without tp':            ('stats.py', "        s = dict(tp=tp, fp=pred-tp, fn=pos-tp, tn=cn-pred-pos+tp)", "        s = dict(tp=tp, fp=pred-tp, fn=pos-tp, tn=cn-pred-pos)", [O]),
    'masked zeros as nonzero':  ('core.py', "pos if ignore_index is None or ignore_index==0 else pos+numel-kept", "pos if ignore_index is None else pos+numel-kept", [C]),
    'F-beta fp/fn swapped':     ('stats.py', "'fbeta':((1+b2)*tp,(1+b2)*tp+b2*fn+fp)", "'fbeta':((1+b2)*tp,(1+b2)*tp+b2*fp+fn)", [O]),
    'zero_division ignored':    ('stats.py', "    return torch.where(ok, num/torch.where(ok, den, 1), zero)", "    return torch.where(ok, num/torch.where(ok, den, 1), 0.)", [W]),
    'weighted average unweighted': ('stats.py', "    if weights is None or weights.sum()==0: return x.mean()", "    return x.mean()", [W]),
    'exact match unweighted':   ('stats.py', "(z[-1]*w).sum()[None]", "z[-1].sum().to(w.dtype)[None]", [W]),
    'samples AUROC/AP unweighted': ('metrics.py', "return nanaverage(res, None if s.get('w') is None else s['w'].to(res.dtype))", "return nanaverage(res, None)", [W]),
    'AUROC/AP mask dropped':    ('metrics.py', "None if keep is None else f(keep), wb, ft)", "None, wb, ft)", [W]),
    'class prior unmasked':     ('report.py', "    n = pos.shape[0] if keep is None else keep.sum(0).clamp_min(1)", "    n = pos.shape[0]", [R]),
    'interval percentiles':     ('report.py', "    q = [(1-ci)/2, (1+ci)/2]", "    q = [1-ci, ci]", [H]),
    'standard error ddof 0':    ('choose.py', "return float(v.std(ddof=1))", "return float(v.std(ddof=0))", [H]),
    'held-out fold leaks':      ('choose.py', "    return a.sum(0, keepdims=True)-a", "    return a.sum(0, keepdims=True)+0*a", [H]),
    'macro monitor as micro':   ('stats.py', "    return _prf(monitor.split('_')[0], tp, fp, fn, zd).mean(-1)",
                                 "    return _prf(monitor.split('_')[0], tp.sum(-1), fp.sum(-1), fn.sum(-1), zd)", [H]),
    'one padding row kept':     ('distributed.py', "max(0, min(bs, learn.dl.n-start))", "max(0, min(bs, learn.dl.n-start+1))", [D]),
    'flags AND-ed':             ('core.py', "    return b if a is None else a if b is None else a|b", "    return b if a is None else a if b is None else a&b", [C]),
    'byte counters overflow':   ('core.py', "    m = v.shape[d]//127*127", "    m = v.shape[d]//300*300", ['tests/test_stats.py']),
    'byte counters blocks of 128': ('core.py', "unflatten(d, (-1, 127))", "unflatten(d, (-1, 128))", ['tests/test_stats.py']),
    'counts below a bin off by one': ('stats.py', "    below,above = c[...,:-1],c[...,-1:]-c[...,:-1]", "    below,above = c[...,1:],c[...,-1:]-c[...,1:]", [S]),
    'sample recall over predictions': ('stats.py', "torch.div(t, tp+fn, out=q[:,1])", "torch.div(t, tp+fp, out=q[:,1])", [S]),
    'int16 fold counts overflow': ('sweep.py', "        if self._pn+B>32767: self._flush()", "        if self._pn+B>65535: self._flush()", [S]),
    'flat histogram rows swapped': ('stats.py', "(torch.arange(C, device=col.device)[None] if by_class else torch.arange(B, device=col.device)[:,None])",
                                    "(torch.arange(B, device=col.device)[:,None] if by_class else torch.arange(C, device=col.device)[None])", ['tests/test_stats.py']),
    'Poisson table range half':  ('stats.py', "_pois_search(lo + 2**16-1)", "_pois_search(lo + 2**15)", ['tests/test_stats.py']),
    'kept bins decided at bin >= th': ('sweep.py', "[(2*torch.as_tensor(s)+1).to(dev, code.dtype)", "[(2*torch.as_tensor(s)).to(dev, code.dtype)", ['tests/test_rules.py']),
    'bin correction off':       ('stats.py', "view(k.shape) < scores)", "view(k.shape) <= scores)", [S]),
}

def run(name:str)->tuple:
    "Put bug `name` in, run its tests (stopping at the first failure), restore the module; `(killed, seconds)`."
    mod, old, new, tests = BUGS[name]
    path = root/'fastai_mlmetrics'/mod
    src = path.read_text()
    if src.count(old) != 1: sys.exit(f"{name}: the code it edits is not in {mod} exactly once: update tools/mutants.py")
    t = time.perf_counter()
    try:
        path.write_text(src.replace(old, new))
        r = subprocess.run([sys.executable, '-m', 'pytest', '-x', '-q', '-p', 'no:cacheprovider', *tests], cwd=root, capture_output=True, text=True)
    finally: path.write_text(src)
    return r.returncode != 0, time.perf_counter()-t

if __name__ == '__main__':
    names, alive = sys.argv[1:] or list(BUGS), []
    for n in names:
        killed, s = run(n)
        print(f"{'killed  ' if killed else 'SURVIVED'} {n:30} {s:5.0f} s", flush=True)
        if not killed: alive.append(n)
    print(f"{len(names)-len(alive)} of {len(names)} killed")
    if alive: sys.exit(f"survived: {alive}")
