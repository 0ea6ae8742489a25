"core: every accepted shape and dtype goes through, every bad input fails early and names the problem."
import math, re, numpy as np, pytest, torch
from hypothesis import given, settings, strategies as st
from fastai_mlmetrics.core import *

FLOATS = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
TARGS = [torch.bool, torch.int64, torch.int32, torch.float32]

@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 30), c=st.integers(1, 12), pd=st.sampled_from(FLOATS), td=st.sampled_from(TARGS), sigmoid=st.booleans())
def test_prep_accepts_every_dtype(n, c, pd, td, sigmoid):
    g = torch.Generator().manual_seed(n*100+c)
    x = (torch.randn(n, c, generator=g) if sigmoid else torch.rand(n, c, generator=g)).to(pd)
    y = (torch.rand(n, c, generator=g) < .3).to(td)
    scores, pos, keep, flags = prep(x, y, sigmoid)
    assert scores.dtype == (torch.float64 if pd == torch.float64 else torch.float32)
    assert pos.dtype == torch.bool and keep is None and not flags[:3].any()  # no problem; flags[3]: any value outside [0,1]
    assert torch.equal(scores.double(), x.double())  # the inputs themselves, upcast exactly
    exp = x.double().sigmoid() if sigmoid else x.double()
    assert torch.allclose(to_probs(scores, sigmoid), exp, rtol=0, atol=1e-15)

@settings(max_examples=40, deadline=None)
@given(a=st.tuples(st.integers(1, 5), st.integers(1, 5)), b=st.tuples(st.integers(1, 5), st.integers(1, 5)))
def test_shape_mismatch_names_both_shapes(a, b):
    if a == b: return
    with pytest.raises(ValueError, match=re.escape(f"{a} does not match targs shape {b}")):
        prep(torch.rand(*a), torch.zeros(*b))

@pytest.mark.parametrize('bad,msg', [
    (dict(x=torch.tensor([[float('nan'), 0.]])), 'contain NaN: the model'),
    (dict(x=torch.tensor([[float('nan'), 0.]]), sigmoid=False), 'contain NaN'),
    (dict(x=torch.tensor([[float('inf'), 0.]]), sigmoid=False), 'outside \\[0,1\\] \\(or are infinite\\)'),
    (dict(x=torch.tensor([[1.5, 0.]]), sigmoid=False), 'outside \\[0,1\\] \\(or are infinite\\) with sigmoid=False'),
    (dict(y=torch.tensor([[2, 0]])), 'targets must be 0 or 1'),
    (dict(y=torch.tensor([[-1, 0]])), 'targets must be 0 or 1'),
])
def test_bad_values_raise_on_cpu(bad, msg):
    x, y = bad.get('x', torch.tensor([[.2, .7]])), bad.get('y', torch.tensor([[1, 0]]))
    with pytest.raises(ValueError, match=msg): prep(x, y, bad.get('sigmoid', True))

def test_infinite_logits_are_accepted():
    "A logit of +-inf is a probability of 1 or 0: defined, and decided and ranked exactly."
    _, _, _, f = prep(torch.tensor([[float('inf'), -float('inf')]]), torch.tensor([[1, 0]]))
    assert not f[:3].any()

def test_ignore_index_is_accepted_and_masked():
    _, pos, keep, _ = prep(torch.zeros(2, 2), torch.tensor([[1, -1], [0, 1]]), ignore_index=-1)
    assert keep.tolist() == [[True, False], [True, True]] and pos.tolist() == [[True, False], [False, True]]

def test_deferred_flags_do_not_raise_until_read():
    _, _, _, f = prep(torch.tensor([[float('nan')]]), torch.tensor([[1]]), defer=True)
    assert f.tolist() == [True, False, False, False]
    with pytest.raises(ValueError, match='NaN'): raise_flags(f)

@pytest.mark.parametrize('x,y,msg', [(torch.rand(3), torch.zeros(3), 'x\\[None\\] for one sample'),
                                     (torch.rand(2, 3, 4), torch.zeros(2, 3, 4), 'must be 2-D'),
                                     (torch.ones(2, 2, dtype=torch.long), torch.zeros(2, 2), 'floating point')])
def test_bad_shapes_and_dtypes(x, y, msg):
    with pytest.raises((ValueError, TypeError), match=msg): check_shapes(x, y)

@settings(max_examples=40, deadline=None)
@given(t=st.floats(allow_nan=True, allow_infinity=True))
def test_thresholds_outside_unit_interval_are_refused(t):
    if 0 <= t <= 1: assert check_thresh(t) == t  # 1 too: it predicts nothing, as in fastai
    else:
        with pytest.raises(ValueError, match='outside \\[0,1\\]'): check_thresh(t)

def test_a_scalar_threshold_is_a_float_however_given():
    "Python numbers take a short path; numpy scalars and 0-d tensors the long one: both give the same Python float, and lists a float64 tensor."
    import numpy as np
    for t in (0, 1, .25, np.float64(.25), np.float32(.25), torch.tensor(.25), torch.tensor(.25, dtype=torch.float64), np.array(.25)):
        got = check_thresh(t)
        assert type(got) is float and got == float(t), t
    assert torch.equal(check_thresh([.25, 1]), torch.tensor([.25, 1.], dtype=torch.float64))

@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device')
def test_mixed_devices_are_refused():
    with pytest.raises(ValueError, match='move both to one device'): prep(torch.rand(2, 2).cuda(), torch.zeros(2, 2))

def test_flags_merge_over_batches():
    "A problem in any batch is a problem of the pass: flags are OR-ed, so a clean batch after a bad one hides nothing."
    a, b = torch.tensor([False, True, False, False]), torch.tensor([True, False, False, True])
    assert merge_flags(a, b).tolist() == [True, True, False, True] and merge_flags(None, b) is b and merge_flags(a, None) is a
    assert merge_flags(None, None) is None
    with pytest.raises(ValueError, match='NaN'): raise_flags(merge_flags(value_flags(torch.tensor([[float('nan')]]), torch.zeros(1, 1)), value_flags(torch.zeros(1, 1), torch.zeros(1, 1))))
    # logits in one batch and values inside [0,1] in another are logits: no warning that probabilities were passed as logits
    from fastai_mlmetrics.all import F1ScoreMulti
    from helpers import stream
    import warnings
    x, y = torch.tensor([[.2, .9], [-3., 4.]]), torch.tensor([[0, 1], [0, 1]])
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        for order in (x, x.flip(0)): stream([F1ScoreMulti(average='samples')], order, y, 1)
    with pytest.warns(UserWarning, match='pass sigmoid=False'): stream([F1ScoreMulti(average='samples')], x[:1], y[:1], 1)

def test_boundaries_that_mutation_testing_found_untested():
    "Each line kills a mutant of core.py that survived the suite (tests/MUTATION.md): thresholds just outside [0,1] or 2-D, the 0/1 check with ignore_index 0 or 1, the defaults, the shape hints' boundaries."
    for bad in (1.5, -0.1, [.5, 1.2]):
        with pytest.raises(ValueError, match=re.escape('is outside [0,1]')): check_thresh(bad)
    with pytest.raises(ValueError, match='scalar or 1-D'): check_thresh([[.5, .5]])
    t = torch.tensor([[0., 1.], [1., 0.]])
    for ii in (0, 1): assert not value_flags(torch.randn(2, 2), t, ignore_index=ii)[2]  # 0/1 targets are fine whatever is masked
    assert value_flags(torch.randn(2, 2), t*2, ignore_index=0)[2] and value_flags(torch.randn(2, 2), t/2, ignore_index=1)[2]
    assert not value_flags(torch.tensor([[2.]]), torch.tensor([[1.]]))[1]  # sigmoid=True by default: logits may lie outside [0,1]
    assert cutoff(.5) == 0.  # sigmoid=True by default: the cut is logit(0.5)
    warn_flags(None, True)  # nothing seen: nothing to warn about
    with pytest.raises(ValueError, match='look single-label'): check_shapes(torch.randn(4, 2), torch.tensor([0, 1, 1, 0]))
    with pytest.raises(ValueError, match=re.escape('x[:,None] for one label')): check_shapes(torch.randn(4, 1), torch.tensor([0, 1, 1, 0]))
    with pytest.raises(ValueError, match='must be 2-D'): check_shapes(torch.randn(4, 2), torch.zeros(4, 2, 1))

def test_messages_name_the_input_and_the_fix():
    "The exact words of every error and hint in core (the notebooks check them too; mutation testing runs pytest only)."
    x, y = torch.zeros(4, 3), torch.zeros(4, 3)
    with pytest.raises(TypeError, match=r"^preds must be a torch.Tensor, got ndarray$"): check_shapes(np.zeros((4, 3)), y)
    with pytest.raises(TypeError, match=r"^targs must be a torch.Tensor, got list$"): check_shapes(x, [[0, 1, 0]])
    with pytest.raises(ValueError, match=re.escape("got preds (4, 3, 1) and targs (4, 3)") + "$"): check_shapes(x[..., None], y)  # no 1-D hint
    with pytest.raises(ValueError, match="^" + re.escape("multi-label inputs must be 2-D (samples, labels); got preds (3,) and targs (3,) "
                                                         "(use x[None] for one sample, x[:,None] for one label)") + "$"): check_shapes(x[0], y[0])
    with pytest.raises(ValueError, match="must be 2-D"): check_shapes(x[..., None], y[..., None])  # both 3-D
    with pytest.raises(TypeError, match=r"^thresh must be a number in \[0,1\] or one per class, got None$"): check_thresh(None)
    with pytest.raises(TypeError, match=r"^thresh must be a number in \[0,1\] or one per class, got True$"): check_thresh(True)
    with pytest.raises(TypeError, match=r"^cut must be a number in \[0,1\] or one per class, got <object"): check_thresh(object(), 'cut')
    with pytest.raises(ValueError, match=re.escape("thresh must be a scalar or 1-D (one per class), got shape (2, 2)") + "$"): check_thresh([[.5, .5]]*2)
    with pytest.raises(ValueError, match=re.escape("thresh=2 is outside [0,1]: thresholds apply to probabilities (after the sigmoid when sigmoid=True); "
                                                   "for a logit cut-off z, use thresh=sigmoid(z) (here 0.8808)") + "$"): check_thresh([.5, 2., 3.])
    with pytest.raises(ValueError, match=re.escape("thresh=inf is outside [0,1]: thresholds apply to probabilities (after the sigmoid when sigmoid=True)") + "$"):
        check_thresh(float('inf'))
    with pytest.raises(TypeError, match=r"^scores must be float32 or float64 here, got torch.float16$"): cutoff(.5, True, torch.float16)
    assert cutoff(.5) == 0. and cutoff(.5, False) == .5  # sigmoid=True by default: the cut of a logit
    # raise_flags: the metric's name, then each problem, joined by '; '
    f = value_flags(torch.tensor([[math.nan, 2.]]), torch.tensor([[0., 3.]]), sigmoid=False)
    with pytest.raises(ValueError, match=r"^F1: predictions contain NaN.*; targets must be 0 or 1"): raise_flags(f, 'F1')
    with pytest.raises(ValueError, match=r"^predictions contain NaN"): raise_flags(f)
    warn_flags(None, True)  # nothing seen: nothing to say, and no error

def test_value_flags_without_the_callers_masks():
    "`value_flags` computes the targets' masks itself when not given them: 0/1 targets pass, a 2 is flagged, ignore_index entries pass."
    p = torch.zeros(3, 2)
    ok = lambda t, **k: not value_flags(p, torch.tensor(t), **k)[2].item()
    assert ok([[0., 1.], [1., 0.], [0., 0.]]) and not ok([[0., 2.], [1., 0.], [0., 0.]])
    assert ok([[0., -1.], [1., 0.], [-1., 1.]], ignore_index=-1) and not ok([[0., -1.], [1., 2.], [-1., 1.]], ignore_index=-1)
    assert not ok([[0., -1.], [1., 0.], [0., 0.]], ignore_index=-2)
    assert prep(p, torch.zeros(3, 2), validate_args=False)[3] is None  # no check, no flags
