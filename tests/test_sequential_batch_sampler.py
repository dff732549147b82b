"""Sequential's list editing (insert, extend, pop, del, item assignment, +) and DataLoader's
batch_sampler, as PyTorch's (expected values written out from PyTorch 2.13)."""

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.utils.data import BatchSampler, DataLoader, SequentialSampler, TensorDataset


def names(seq: nn.Sequential) -> list[tuple[str, str]]:
    return [(key, type(module).__name__) for key, module in seq.named_children()]


def test_sequential_insert_pop_extend_del_set_and_add():
    seq = nn.Sequential(nn.ReLU(), nn.Tanh())
    assert seq.insert(1, nn.Sigmoid()) is seq
    assert names(seq) == [("0", "ReLU"), ("1", "Sigmoid"), ("2", "Tanh")]
    assert isinstance(seq.pop(0), nn.ReLU)
    assert names(seq) == [("0", "Sigmoid"), ("1", "Tanh")]
    seq.extend([nn.ReLU()])
    seq.insert(-1, nn.ELU())  # before the last, as list.insert
    assert names(seq) == [("0", "Sigmoid"), ("1", "Tanh"), ("2", "ELU"), ("3", "ReLU")]
    del seq[1:3]
    assert names(seq) == [("0", "Sigmoid"), ("1", "ReLU")]
    seq[-1] = nn.Tanh()
    assert names(seq) == [("0", "Sigmoid"), ("1", "Tanh")]
    both = nn.Sequential(nn.ReLU()) + seq
    assert names(both) == [("0", "ReLU"), ("1", "Sigmoid"), ("2", "Tanh")]
    x = mg.tensor([-1.0, 2.0])
    np.testing.assert_allclose(both(x).numpy(), np.tanh(1 / (1 + np.exp(-np.maximum([-1.0, 2.0], 0)))))


def test_sequential_editing_keeps_parameters_reachable():
    seq = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    seq.insert(1, nn.Linear(3, 3))
    assert [k for k, _ in seq.named_parameters()] == ["0.weight", "0.bias", "1.weight", "1.bias", "2.weight", "2.bias"]


@pytest.mark.parametrize("call, error", [
    (lambda s: s.insert(3, nn.ReLU()), IndexError),
    (lambda s: s.insert(-3, nn.ReLU()), IndexError),
    (lambda s: s.insert(0, "relu"), TypeError),
    (lambda s: s.pop(5), IndexError),
    (lambda s: s + nn.ReLU(), ValueError),
])
def test_sequential_editing_bad_input(call, error):
    with pytest.raises(error):
        call(nn.Sequential(nn.ReLU(), nn.Tanh()))


def test_dataloader_batch_sampler():
    data = TensorDataset(mg.arange(10.0), mg.arange(10))
    loader = DataLoader(data, batch_sampler=BatchSampler(SequentialSampler(data), 4, drop_last=False))
    assert len(loader) == 3 and loader.batch_size is None
    assert [labels.tolist() for _, labels in loader] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    custom = [[9, 0], [5]]  # any iterable of index lists with a length
    assert [labels.tolist() for _, labels in DataLoader(data, batch_sampler=custom)] == [[9, 0], [5]]


@pytest.mark.parametrize("options", [{"batch_size": 2}, {"shuffle": True}, {"drop_last": True},
                                     {"sampler": SequentialSampler(range(10))}])
def test_dataloader_batch_sampler_excludes_the_other_batching_options(options):
    data = TensorDataset(mg.arange(10.0))
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(data, batch_sampler=[[0, 1]], **options)
