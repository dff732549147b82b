"""nn.utils.rnn's PackedSequence (pack_padded_sequence, pad_packed_sequence, pack_sequence,
unpack_sequence) and the recurrent layers on packed input, against PyTorch: packed data, batch
sizes and indices, outputs, final states and every gradient (float64)."""

import numpy as np
import pytest
from torch_reference import TorchReference

import minigrad
from minigrad import nn
from minigrad.autograd import gradcheck
from minigrad.nn.utils import rnn as R

torch_reference = TorchReference(__name__)

PACKS = [  # (name, lengths, batch_first, enforce_sorted)
    ("sorted", [5, 3, 3, 1], False, True),
    ("unsorted batch_first", [3, 5, 1, 3], True, False),
    ("equal lengths", [4, 4, 4], False, True),
]


def _padded(lengths, batch_first, seed=0):
    shape = (len(lengths), max(lengths), 3) if batch_first else (max(lengths), len(lengths), 3)
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize(("name", "lengths", "batch_first", "enforce_sorted"), PACKS, ids=[p[0] for p in PACKS])
def test_pack_and_pad_as_torch(name, lengths, batch_first, enforce_sorted):
    x = _padded(lengths, batch_first)

    def compute(torch):
        tr = torch.nn.utils.rnn
        tx = torch.tensor(x, requires_grad=True)
        packed = tr.pack_padded_sequence(tx, lengths, batch_first=batch_first, enforce_sorted=enforce_sorted)
        padded, out_lengths = tr.pad_packed_sequence(packed, batch_first=batch_first, padding_value=-1.0,
                                                     total_length=max(lengths) + 1)  # fmt: skip
        (padded * padded).sum().backward()
        none = torch.tensor([])
        return {"data": packed.data, "batch_sizes": packed.batch_sizes, "padded": padded, "lengths": out_lengths,
                "sorted": none if packed.sorted_indices is None else packed.sorted_indices,
                "unsorted": none if packed.unsorted_indices is None else packed.unsorted_indices, "grad": tx.grad}

    want = torch_reference(f"pack/{name}", compute)
    mx = minigrad.tensor(x, requires_grad=True)
    packed = R.pack_padded_sequence(mx, minigrad.tensor(lengths), batch_first=batch_first,
                                    enforce_sorted=enforce_sorted)  # fmt: skip
    padded, out_lengths = R.pad_packed_sequence(packed, batch_first=batch_first, padding_value=-1.0,
                                                total_length=max(lengths) + 1)  # fmt: skip
    (padded * padded).sum().backward()
    np.testing.assert_array_equal(packed.data.detach().numpy(), want["data"])
    np.testing.assert_array_equal(packed.batch_sizes.numpy(), want["batch_sizes"])
    for key, got in (("sorted", packed.sorted_indices), ("unsorted", packed.unsorted_indices)):
        np.testing.assert_array_equal(np.array([]) if got is None else got.numpy(), want[key])
    np.testing.assert_array_equal(padded.detach().numpy(), want["padded"])
    np.testing.assert_array_equal(out_lengths.numpy(), want["lengths"])
    np.testing.assert_array_equal(mx.grad.numpy(), want["grad"])


def test_pack_sequence_round_trip_and_gradcheck():
    rng = np.random.default_rng(1)
    seqs = [minigrad.tensor(rng.standard_normal((n, 2)), requires_grad=True) for n in (2, 4, 1)]
    packed = R.pack_sequence(seqs, enforce_sorted=False)
    assert packed.batch_sizes.tolist() == [3, 2, 1, 1]
    for got, want in zip(R.unpack_sequence(packed), seqs, strict=True):
        np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())
    assert gradcheck(lambda *s: R.pad_packed_sequence(R.pack_sequence(list(s), enforce_sorted=False))[0], seqs)
    moved = packed.to(minigrad.float32)
    assert moved.data.dtype == minigrad.float32 and moved.batch_sizes is packed.batch_sizes and not moved.is_cuda


LAYERS = [  # (name, mode, constructor keyword arguments, lengths, enforce_sorted, batch_first)
    ("LSTM 2 layers bidirectional unsorted", "LSTM", {"num_layers": 2, "bidirectional": True}, [3, 5, 1, 3], False,
     False),
    ("LSTM batch_first sorted", "LSTM", {"batch_first": True}, [5, 3, 3, 1], True, True),
    ("GRU 2 layers bidirectional unsorted", "GRU", {"num_layers": 2, "bidirectional": True}, [2, 4, 4, 1], False,
     False),
    ("RNN relu sorted", "RNN", {"nonlinearity": "relu"}, [4, 2, 1], True, False),
]


@pytest.mark.parametrize(("name", "mode", "kwargs", "lengths", "enforce_sorted", "batch_first"), LAYERS,
                         ids=[c[0] for c in LAYERS])  # fmt: skip
def test_recurrent_layers_on_packed_input_as_torch(name, mode, kwargs, lengths, enforce_sorted, batch_first):
    x = _padded(lengths, batch_first, seed=2)
    directions = 2 if kwargs.get("bidirectional") else 1
    rng = np.random.default_rng(3)
    h0, c0 = (rng.standard_normal((kwargs.get("num_layers", 1) * directions, len(lengths), 4)) for _ in range(2))
    lstm = mode == "LSTM"

    def run(lib, layer, tx):
        utils = lib.nn.utils.rnn
        packed = utils.pack_padded_sequence(tx, lengths, batch_first=batch_first, enforce_sorted=enforce_sorted)
        hx = (lib.tensor(h0), lib.tensor(c0)) if lstm else lib.tensor(h0)
        out, state = layer(packed, hx)
        padded, _ = utils.pad_packed_sequence(out, batch_first=batch_first)
        states = state if lstm else (state,)
        (padded.sum() + sum((s * s).sum() for s in states)).backward()
        return {"out": padded, **{f"state{i}": s for i, s in enumerate(states)}, "dx": tx.grad,
                **{f"d{n}": p.grad for n, p in layer.named_parameters()}}

    def compute(torch):
        layer = getattr(torch.nn, mode)(3, 4, **kwargs).double()
        return {**run(torch, layer, torch.tensor(x, requires_grad=True)),
                **{f"w/{n}": p for n, p in layer.state_dict().items()}}

    want = torch_reference(f"layer/{name}", compute)
    layer = getattr(nn, mode)(3, 4, **kwargs).double()
    layer.load_state_dict({n: minigrad.tensor(want[f"w/{n}"]) for n in layer.state_dict()})
    got = run(minigrad, layer, minigrad.tensor(x, requires_grad=True))
    assert got.keys() == {k for k in want if not k.startswith("w/")}
    for key, value in got.items():
        np.testing.assert_allclose(value.detach().numpy(), want[key], rtol=1e-10, atol=1e-12, err_msg=key)


def test_packed_output_type_and_no_hx():
    layer = nn.GRU(3, 4)
    packed = R.pack_padded_sequence(minigrad.randn(4, 2, 3), [4, 2])
    out, h_n = layer(packed)
    assert isinstance(out, R.PackedSequence) and out.data.shape == (6, 4) and h_n.shape == (1, 2, 4)
    assert out.batch_sizes is packed.batch_sizes


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: R.pack_padded_sequence(minigrad.zeros(3, 2, 1), [1, 3]), RuntimeError, "sorted in decreasing order"),
        (lambda: R.pack_padded_sequence(minigrad.zeros(3, 2, 1), [3, 0]), RuntimeError, "greater than 0"),
        (lambda: R.pack_padded_sequence(minigrad.zeros(3, 2, 1), [4, 1]), RuntimeError, "exceeds the 3 steps"),
        (lambda: R.pack_padded_sequence(minigrad.zeros(3, 2, 1), [3]), ValueError, "expected 2 lengths"),
        (lambda: R.pack_padded_sequence(minigrad.zeros(3, 2, 1), []), ValueError, "non-empty"),
        (lambda: R.pack_padded_sequence([[1.0]], [1]), TypeError, "must be a Tensor"),
        (lambda: R.pad_packed_sequence(minigrad.zeros(3)), TypeError, "expected a PackedSequence"),
        (lambda: R.pad_packed_sequence(R.pack_padded_sequence(minigrad.zeros(3, 2, 1), [3, 2]), total_length=2),
         ValueError, "at least the length of the longest"),
        (lambda: nn.LSTM(2, 3)(R.pack_padded_sequence(minigrad.zeros(3, 2, 1), [3, 2])), ValueError, "input_size"),
        (lambda: nn.LSTM(1, 3)(R.pack_padded_sequence(minigrad.zeros(3, 2, 1), [3, 2]), minigrad.zeros(1, 2, 3)),
         TypeError, "hx must be a tuple"),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()
