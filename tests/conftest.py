"Hypothesis runs the same examples on every run by default (profile 'ci'), so that a landing never fails on an example drawn by chance; `HYPOTHESIS_PROFILE=explore` draws new ones, to look for failures before they land."
import os
from hypothesis import settings

settings.register_profile('ci', derandomize=True, database=None)
settings.register_profile('explore')
settings.load_profile(os.environ.get('HYPOTHESIS_PROFILE', 'ci'))

if os.environ.get('PYTEST_XDIST_WORKER'):  # under `pytest -n auto` (pytest-xdist), one PyTorch thread a process: as many threads as cores, not twice as many
    import torch
    torch.set_num_threads(1)
