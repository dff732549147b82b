"""RNN, LSTM, GRU and their cells: PyTorch's weights loaded into minigrad's layers give PyTorch's
outputs, final states and gradients (live or recorded) over layers, directions, batch_first,
unbatched input and given initial states; float64 finite differences through time; the
state_dict names, initialisation, reprs, dropout between layers, bad input."""

import numpy as np
import pytest
from torch_reference import TorchReference

import minigrad
from minigrad import _C, nn
from minigrad.autograd import gradcheck

torch_reference = TorchReference(__name__)

LAYERS = [  # (name, class name, keyword arguments)
    ("RNN", "RNN", {}),
    ("RNN relu 2 layers", "RNN", {"nonlinearity": "relu", "num_layers": 2}),
    ("LSTM", "LSTM", {}),
    ("LSTM 2 layers bidirectional batch_first", "LSTM", {"num_layers": 2, "bidirectional": True,
                                                         "batch_first": True}),
    ("LSTM no bias", "LSTM", {"bias": False}),
    ("GRU", "GRU", {}),
    ("GRU 3 layers bidirectional no bias", "GRU", {"num_layers": 3, "bidirectional": True, "bias": False}),
]


def _run(lib, cls, kwargs, make, shape, with_state):
    layer = getattr(lib.nn, cls)(4, 5, **kwargs).double()
    rng = np.random.default_rng(1)
    x = make(rng.standard_normal(shape))
    layers = kwargs.get("num_layers", 1) * (2 if kwargs.get("bidirectional") else 1)
    state_shape = (layers, 5) if len(shape) == 2 else (layers, shape[0 if kwargs.get("batch_first") else 1], 5)
    h0, c0 = make(rng.standard_normal(state_shape)), make(rng.standard_normal(state_shape))
    hx = ((h0, c0) if cls == "LSTM" else h0) if with_state else None
    return layer, x, hx, (h0, c0)


def _forward_backward(layer, x, hx, cls):
    out, state = layer(x, hx)
    h = state[0] if cls == "LSTM" else state
    loss = out.sum() + (h * h).sum() + (state[1].sum() if cls == "LSTM" else 0)
    loss.backward()
    result = {"out": out, "h": h, "dx": x.grad}
    if cls == "LSTM":
        result["c"] = state[1]
    result.update({f"grad/{n}": p.grad for n, p in layer.named_parameters()})
    return result


@pytest.mark.parametrize(("name", "cls", "kwargs"), LAYERS, ids=[n for n, _, _ in LAYERS])
@pytest.mark.parametrize(("shape", "with_state"), [((6, 3, 4), False), ((6, 3, 4), True), ((6, 4), True)],
                         ids=["batch", "batch, hx", "unbatched, hx"])
def test_layers_match_torch(name, cls, kwargs, shape, with_state):
    def torch_run(torch):
        torch.manual_seed(0)
        layer, x, hx, _ = _run(torch, cls, kwargs, lambda a: torch.tensor(a, requires_grad=True), shape, with_state)
        return {**{f"param/{k}": v for k, v in layer.state_dict().items()}, "repr": np.array(repr(layer)),
                **_forward_backward(layer, x, hx, cls)}

    want = torch_reference(f"{name}/{shape}/{with_state}", torch_run)
    layer, x, hx, _ = _run(minigrad, cls, kwargs, lambda a: minigrad.tensor(a, requires_grad=True), shape,
                           with_state)
    assert repr(layer) == str(want["repr"])
    state = layer.state_dict()
    assert sorted(state) == sorted(k[len("param/"):] for k in want if k.startswith("param/"))
    layer.load_state_dict({k: minigrad.tensor(want[f"param/{k}"]) for k in state})
    got = _forward_backward(layer, x, hx, cls)
    for key, value in want.items():
        if key.startswith(("param/", "repr")):
            continue
        np.testing.assert_allclose(got[key].detach().numpy(), value, rtol=1e-9, atol=1e-12, err_msg=key)


CELLS = [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu", "bias": False}), ("LSTMCell", {}), ("GRUCell", {})]


@pytest.mark.parametrize(("cls", "kwargs"), CELLS, ids=[f"{c} {k}" for c, k in CELLS])
@pytest.mark.parametrize("batched", [True, False])
def test_cells_match_torch(cls, kwargs, batched):
    rng = np.random.default_rng(2)
    shape = (3, 4) if batched else (4,)
    x, h, c = rng.standard_normal(shape), rng.standard_normal(shape[:-1] + (5,)), rng.standard_normal(shape[:-1] + (5,))

    def run(lib, make, state=None):
        cell = getattr(lib.nn, cls)(4, 5, **kwargs).double()
        if state is not None:
            cell.load_state_dict({k: make(v) for k, v in state.items()})
        xs = make(x)
        hx = (make(h), make(c)) if cls == "LSTMCell" else make(h)
        out = cell(xs, hx)
        first = out[0] if cls == "LSTMCell" else out
        (first.sum() + (out[1].sum() if cls == "LSTMCell" else 0)).backward()
        fresh = cell(xs)  # zero state
        return cell, {"out": first, "c": out[1] if cls == "LSTMCell" else first, "dx": xs.grad,
                      "zero state": fresh[0] if cls == "LSTMCell" else fresh, "repr": np.array(repr(cell))}

    def torch_run(torch):
        torch.manual_seed(0)
        cell, result = run(torch, lambda a: torch.tensor(a, requires_grad=True))
        return {**{f"param/{k}": v for k, v in cell.state_dict().items()}, **result}

    want = torch_reference(f"{cls}/{kwargs}/{batched}", torch_run)
    state = {k[len("param/"):]: v for k, v in want.items() if k.startswith("param/")}
    _, got = run(minigrad, lambda a: minigrad.tensor(a, requires_grad=True), state)
    assert str(got.pop("repr").item()) == str(want["repr"])
    for key, value in got.items():
        np.testing.assert_allclose(value.detach().numpy(), want[key], rtol=1e-10, atol=1e-12, err_msg=key)


@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
def test_gradients_through_time_by_finite_differences(cls):
    minigrad.manual_seed(0)
    layer = getattr(nn, cls)(2, 3, num_layers=2, bidirectional=True).double()
    x = minigrad.tensor(np.random.default_rng(3).standard_normal((4, 2, 2)), requires_grad=True)

    def f(inp, recurrent_weight):  # the layer reads the weight itself; gradcheck perturbs it in place
        return layer(inp)[0]

    assert gradcheck(f, [x, layer.weight_hh_l0])


def test_initialisation_and_dropout():
    minigrad.manual_seed(0)
    layer = nn.LSTM(10, 20, num_layers=2, dropout=0.5)
    bound = 1 / np.sqrt(20)
    for name, p in layer.named_parameters():
        values = p.detach().numpy()
        assert values.min() >= -bound and values.max() <= bound and values.std() > 0.5 * bound / np.sqrt(3), name
    x = minigrad.randn(5, 3, 10)
    train_a, train_b = layer(x)[0].detach().numpy(), layer(x)[0].detach().numpy()
    assert not np.allclose(train_a, train_b)  # dropout between the layers while training
    layer.eval()
    np.testing.assert_array_equal(layer(x)[0].detach().numpy(), layer(x)[0].detach().numpy())


def test_a_sequence_model_learns():
    """A GRU reading a sequence learns to output its sum's sign (a sanity check of training)."""
    minigrad.manual_seed(0)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((200, 6, 1)).astype(np.float32)
    y = (x.sum((1, 2)) > 0).astype(np.int64)
    gru, head = nn.GRU(1, 8, batch_first=True), nn.Linear(8, 2)
    opt = minigrad.optim.Adam([*gru.parameters(), *head.parameters()], lr=0.05)
    for _ in range(60):
        _, h = gru(minigrad.tensor(x))
        loss = nn.functional.cross_entropy(head(h[-1]), minigrad.tensor(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
    _, h = gru(minigrad.tensor(x))
    assert (head(h[-1]).argmax(1).numpy() == y).mean() > 0.9


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: nn.LSTM(4, 5)(minigrad.randn(3, 2, 6)), ValueError, "Expected 4, got 6"),
        (lambda: nn.LSTM(4, 5)(minigrad.randn(3, 2, 2, 4)), ValueError, "2 \\(L, H_in\\) or 3"),
        (lambda: nn.GRU(4, 5)(minigrad.randn(3, 2, 4), minigrad.randn(2, 2, 5)), ValueError, "hidden state of shape"),
        (lambda: nn.LSTM(4, 5)(minigrad.randn(3, 2, 4), minigrad.randn(1, 2, 5)), TypeError, "tuple"),
        (lambda: nn.LSTM(4, 5, proj_size=5), ValueError, "proj_size has to be smaller than hidden_size"),
        (lambda: nn.LSTM(4, 5, proj_size=-1), ValueError, "proj_size should be a positive integer"),
        (lambda: nn.LSTM(4, 5, proj_size=2)(minigrad.randn(3, 2, 4), (minigrad.randn(1, 2, 5),) * 2),
         ValueError, r"hidden state of shape \(1, 2, 2\)"),
        (lambda: nn.RNN(4, 5, nonlinearity="sigmoid"), ValueError, "nonlinearity"),
        (lambda: nn.RNN(4, 0), ValueError, "hidden_size"),
        (lambda: nn.GRU(4, 5, dropout=1.5), ValueError, "dropout"),
        (lambda: nn.GRUCell(4, 5)(minigrad.randn(3, 4), minigrad.randn(2, 5)), ValueError, "hidden state"),
        (lambda: nn.LSTMCell(4, 5)(minigrad.randn(3, 4), minigrad.randn(3, 5)), TypeError, "tuple"),
        (lambda: nn.RNN(4, 5)([1, 2]), TypeError, "PackedSequence"),
        (lambda: nn.GRU(4, 5)(minigrad.zeros(0, 2, 4)), RuntimeError, "sequence length to be larger than 0"),
        (lambda: nn.LSTM(4, 5, batch_first=True)(minigrad.zeros(2, 0, 4)), RuntimeError, "larger than 0"),
        (lambda: nn.RNN(4, 5)(minigrad.zeros(0, 4)), RuntimeError, "larger than 0"),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("cls", ["LSTM", "GRU"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_batch_slices_give_the_one_thread_results(cls, dtype):
    """With several threads the CPU time loops run slices of the batch rows, each over every step
    (13 rows: slices of 6 and 7 at 2 threads, 4, 4 and 5 at 3); a row's outputs, final states and
    every gradient are bit for bit those of one thread."""
    def run(threads):
        previous = _C.get_num_threads()
        _C.set_num_threads(threads)
        try:
            minigrad.manual_seed(0)
            layer = getattr(nn, cls)(16, 64, num_layers=2, bidirectional=True)
            if dtype == "float64":
                layer = layer.double()
            rng = np.random.default_rng(3)
            x = minigrad.tensor(rng.standard_normal((20, 13, 16)).astype(dtype), requires_grad=True)
            result = _forward_backward(layer, x, None, cls)
        finally:
            _C.set_num_threads(previous)
        return {k: v.detach().numpy() for k, v in result.items()}

    one = run(1)
    for threads in (2, 3):
        got = run(threads)
        for key, value in one.items():
            np.testing.assert_array_equal(got[key], value, err_msg=f"{key} at {threads} threads")
