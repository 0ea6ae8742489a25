"""What repeating the threshold choice in the bootstrap replicates costs: one `Learner.validate` with the default `ThresholdSweep`
(`choice_boot=None`: as many replicates as about 4 million entry-replicates allow, up to `boot`, none below 20) against
`choice_boot=0` (the thresholds held fixed in the replicates), at several sizes; each timing the best of two.

    python benchmarks/bench_choice.py
"""
import time, warnings, torch
from torch import nn
from fastai.learner import Learner
from fastai.data.core import DataLoaders
from fastai.data.load import DataLoader
from fastai_mlmetrics.all import ThresholdSweep

class Ident(nn.Module):
    "The model returns its input: the validation predictions are exactly the logits."
    def __init__(self): super().__init__(); self.b = nn.Parameter(torch.zeros(1))
    def forward(self, x): return x + self.b

def validate(x, y, choice_boot):
    "Seconds of one validation with the default sweep but `choice_boot`, and the sweep."
    ds = list(zip(x, y))
    learn = Learner(DataLoaders(DataLoader(ds, bs=256), DataLoader(ds, bs=256)), Ident(), loss_func=nn.BCEWithLogitsLoss())
    sw = ThresholdSweep(choice_boot=choice_boot)
    with warnings.catch_warnings(), learn.no_bar(), learn.no_logging():
        warnings.simplefilter('ignore')
        t = time.perf_counter(); learn.validate(cbs=[sw]); return time.perf_counter() - t, sw

def main():
    print(f"{'N':>7} {'C':>5} {'N x C':>10} {'held fixed s':>13} {'default s':>10} {'added s':>8}  replicates that choose again")
    for N, C in ((200, 20), (2000, 10), (4000, 50), (20000, 100)):
        g = torch.Generator().manual_seed(0)
        y = (torch.rand(N, C, generator=g) < .2).float()
        x = torch.randn(N, C, generator=g) + 2*y
        t = {cb: min(validate(x, y, cb)[0] for _ in range(2)) for cb in (0, None)}
        r = validate(x, y, None)[1].rules
        print(f"{N:>7,} {C:>5} {N*C:>10,} {t[0]:>13.3f} {t[None]:>10.3f} {t[None]-t[0]:>+8.3f}  {int(r.R['per_class']) if r.se_with_choice['per_class'] else 0}")

if __name__ == '__main__': main()
