"""F.embedding_bag and nn.EmbeddingBag (sum, mean, max; offsets or 2-D bags; padding_idx;
per_sample_weights; include_last_offset; empty bags) and Embedding/EmbeddingBag.from_pretrained,
against PyTorch in float64 (values and gradients); float64 gradcheck; bad input."""

import numpy as np
import pytest
from torch_reference import TorchReference

import minigrad
from minigrad import nn
from minigrad.autograd import gradcheck
from minigrad.nn import functional as F

torch_reference = TorchReference(__name__)

WEIGHT = np.random.default_rng(0).standard_normal((10, 4))
INPUT = np.array([1, 2, 4, 5, 4, 3, 2, 9, 2, 2])
OFFSETS = np.array([0, 4, 4, 7])  # bag 1 is empty
CASES = {  # name -> keyword arguments (numpy arrays become tensors)
    "sum": {"input": INPUT, "offsets": OFFSETS, "mode": "sum"},
    "mean": {"input": INPUT, "offsets": OFFSETS, "mode": "mean"},
    "max": {"input": INPUT, "offsets": OFFSETS, "mode": "max"},
    "mean padding": {"input": INPUT, "offsets": OFFSETS, "mode": "mean", "padding_idx": 2},
    "max padding": {"input": INPUT, "offsets": OFFSETS, "mode": "max", "padding_idx": 2},
    "sum weighted": {"input": INPUT, "offsets": OFFSETS, "mode": "sum",
                     "per_sample_weights": np.linspace(-1, 2, INPUT.size)},
    "2-D bags": {"input": INPUT.reshape(2, 5), "mode": "mean"},
    "include_last_offset": {"input": INPUT, "offsets": np.array([0, 3, 10]), "mode": "sum",
                            "include_last_offset": True},
}


def _run(lib, kw):
    weight = lib.tensor(WEIGHT, requires_grad=True)
    args = {k: lib.tensor(v, requires_grad=k == "per_sample_weights") if isinstance(v, np.ndarray) else v
            for k, v in kw.items()}  # fmt: skip
    out = lib.nn.functional.embedding_bag(weight=weight, **args)
    (out * lib.tensor(np.arange(out.numel(), dtype=np.float64).reshape(out.shape))).sum().backward()
    result = {"out": out, "dweight": weight.grad}
    if "per_sample_weights" in args:
        result["dpsw"] = args["per_sample_weights"].grad
    return result


@pytest.mark.parametrize("name", sorted(CASES))
def test_embedding_bag_as_torch(name):
    want = torch_reference(f"embedding_bag/{name}", lambda torch: _run(torch, CASES[name]))
    got = _run(minigrad, CASES[name])
    assert got.keys() == want.keys()
    for key, value in got.items():
        np.testing.assert_allclose(value.detach().numpy(), want[key], rtol=1e-12, atol=1e-12, err_msg=key)


def test_modules_and_from_pretrained_as_torch():
    def compute(torch):
        bag = torch.nn.EmbeddingBag.from_pretrained(torch.tensor(WEIGHT), freeze=False, mode="max", padding_idx=3)
        emb = torch.nn.Embedding.from_pretrained(torch.tensor(WEIGHT), padding_idx=0)
        out = bag(torch.tensor(INPUT), torch.tensor(OFFSETS))
        out.sum().backward()
        return {"bag": out, "dbag": bag.weight.grad, "emb": emb(torch.tensor(INPUT)),
                "frozen": np.array(emb.weight.requires_grad),
                "repr": np.array([repr(bag), repr(emb), repr(torch.nn.EmbeddingBag(10, 3, mode="sum", padding_idx=1))])}

    want = torch_reference("modules", compute)
    bag = nn.EmbeddingBag.from_pretrained(minigrad.tensor(WEIGHT), freeze=False, mode="max", padding_idx=3)
    emb = nn.Embedding.from_pretrained(minigrad.tensor(WEIGHT), padding_idx=0)
    out = bag(minigrad.tensor(INPUT), minigrad.tensor(OFFSETS))
    out.sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), want["bag"], rtol=1e-12)
    np.testing.assert_allclose(bag.weight.grad.numpy(), want["dbag"], rtol=1e-12)
    np.testing.assert_allclose(emb(minigrad.tensor(INPUT)).numpy(), want["emb"], rtol=1e-12)
    assert emb.weight.requires_grad == bool(want["frozen"])
    assert [repr(bag), repr(emb), repr(nn.EmbeddingBag(10, 3, mode="sum", padding_idx=1))] == want["repr"].tolist()
    fresh = nn.EmbeddingBag(10, 3, padding_idx=1)
    assert not fresh.weight[1].detach().numpy().any() and fresh.weight.detach().numpy().any()


def test_gradcheck():
    weight = minigrad.tensor(WEIGHT[:6], requires_grad=True)
    psw = minigrad.tensor(np.linspace(0.5, 2, 5), requires_grad=True)
    idx, offsets = minigrad.tensor(np.array([0, 5, 2, 2, 1])), minigrad.tensor(np.array([0, 2]))
    assert gradcheck(lambda w, p: F.embedding_bag(idx, w, offsets, mode="sum", per_sample_weights=p), [weight, psw])
    for mode in ("mean", "max"):
        assert gradcheck(lambda w, mode=mode: F.embedding_bag(idx, w, offsets, mode=mode), [weight])


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda w: F.embedding_bag(minigrad.tensor([1, 2]), w), ValueError, "offsets are required"),
        (lambda w: F.embedding_bag(minigrad.tensor([[1, 2]]), w, minigrad.tensor([0])), ValueError, "must be None"),
        (lambda w: F.embedding_bag(minigrad.tensor([1, 2]), w, minigrad.tensor([1])), ValueError, "start at 0"),
        (lambda w: F.embedding_bag(minigrad.tensor([1, 2]), w, minigrad.tensor([0, 3])), ValueError, "pass the"),
        (lambda w: F.embedding_bag(minigrad.tensor([1, 12]), w, minigrad.tensor([0])), IndexError, "out of range"),
        (lambda w: F.embedding_bag(minigrad.tensor([1.0]), w, minigrad.tensor([0])), TypeError, "int64 or int32"),
        (lambda w: F.embedding_bag(minigrad.tensor([1]), w, minigrad.tensor([0]), mode="min"), ValueError, "mode"),
        (lambda w: F.embedding_bag(minigrad.tensor([1]), w, minigrad.tensor([0]),
                                   per_sample_weights=minigrad.ones(1)), NotImplementedError, "mode='sum'"),
        (lambda w: F.embedding_bag(minigrad.tensor([1]), w, minigrad.tensor([0]), mode="sum",
                                   per_sample_weights=minigrad.ones(2)), ValueError, "input's shape"),
        (lambda w: F.embedding_bag(minigrad.tensor([1]), w, minigrad.tensor([0]), scale_grad_by_freq=True),
         NotImplementedError, "scale_grad_by_freq"),  # max_norm is supported since porting round 19
        (lambda w: nn.EmbeddingBag(10, 3, mode="median"), ValueError, "mode"),
        (lambda w: nn.Embedding(10, 3, sparse=True), NotImplementedError, "sparse"),
        (lambda w: nn.Embedding.from_pretrained(minigrad.zeros(3)), ValueError, "2-D"),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call(minigrad.tensor(WEIGHT))
