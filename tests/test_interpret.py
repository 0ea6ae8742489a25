"`MultiLabelInterpretation` against scikit-learn and NumPy: confusion matrices, confused label pairs and top losses, at one or per-class thresholds, through a real Learner."
import numpy as np, pytest, torch, sklearn.metrics as skm
from fastai_mlmetrics.all import *
from helpers import exact_pred

def _data(seed=0, n=120, c=5):
    g = torch.Generator().manual_seed(seed)
    x = (torch.randn(n, c, generator=g)*2).round(decimals=1)  # ties, and logits of exactly 0
    return x, (torch.rand(n, c, generator=g) < torch.sigmoid(x-.5)).long()

@pytest.mark.parametrize('th', [.5, [.2, .5, .5, .8, 1.]])
def test_matrices_pairs_and_losses(th):
    x, y = _data()
    it = MultiLabelInterpretation(x, y, th, vocab=list('abcde'))
    pred, yn = exact_pred(x.numpy(), np.asarray(th) if isinstance(th, list) else th), y.numpy()
    np.testing.assert_array_equal(it.confusion_matrices(), skm.multilabel_confusion_matrix(yn, pred))
    cc = yn.T @ (pred & (1-yn))  # [a,b]: a present and b predicted although absent
    np.testing.assert_array_equal(it.confused_counts().numpy(), cc)
    mc = it.most_confused(4)
    assert list(mc.columns) == ['present', 'predicted_but_absent', 'count', 'share']
    top = sorted(((cc[a, b], a, b) for a in range(5) for b in range(5) if cc[a, b]), key=lambda t: -t[0])[:4]
    assert mc['count'].tolist() == [t[0] for t in top] and mc['share'].tolist() == pytest.approx([t[0]/yn[:, t[1]].sum() for t in top])
    bce = -(yn*np.log(1/(1+np.exp(-x.double().numpy()))) + (1-yn)*np.log(1-1/(1+np.exp(-x.double().numpy()))))
    tl = it.top_losses(3)
    order = tl.index.to_numpy()  # equal losses may come in any order: check the values, and that each sample has its value
    assert tl.loss.to_numpy() == pytest.approx(np.sort(bce.mean(1))[::-1][:3], rel=1e-5) and bce.mean(1)[order] == pytest.approx(tl.loss.to_numpy(), rel=1e-5)
    assert tl.true.tolist() == [' '.join(c for c, v in zip('abcde', yn[i]) if v) for i in order]
    assert tl.predicted.tolist() == [' '.join(c for c, v in zip('abcde', pred[i]) if v) for i in order]
    d = it.top_losses(2, label='d')
    assert bce[d.index.to_numpy(), 3] == pytest.approx(np.sort(bce[:, 3])[::-1][:2], rel=1e-5)
    with pytest.raises(ValueError, match="unknown label 'z'"): it.top_losses(2, label='z')

def test_from_learner_reads_the_applied_thresholds(tmp_path):
    from helpers import identity_learner
    from fastai.losses import BCEWithLogitsLossFlat
    x, y = _data(1)
    learn = identity_learner(x, y.float(), [], path=tmp_path)
    learn.loss_func = BCEWithLogitsLossFlat(thresh=.3)
    with learn.no_bar(): it = MultiLabelInterpretation.from_learner(learn)
    np.testing.assert_array_equal(it.confusion_matrices(), skm.multilabel_confusion_matrix(y.numpy(), exact_pred(x.numpy(), .3)))
