"""Higher-order gradients through the fused recurrent ops (nn.LSTM, nn.GRU, nn.RNN and the cells),
the reentrant checkpoint and ctc_loss. The recurrent layers' second derivatives with respect to
their input, initial states and weights are checked against float64 finite differences
(autograd.gradgradcheck) and, with the first ones, against PyTorch's (live, or recorded in
tests/fixtures/torch_reference/test_create_graph_rnn.npz), per layer and configuration: layers,
directions, batch_first, packed and unbatched input, states given or not, bias on or off,
dropout between layers (finite differences only: the two libraries draw other masks)."""

import numpy as np
import pytest
from parity import check_program, error_of, set_params
from torch_reference import TorchReference

import minigrad
from minigrad import autograd

torch_reference = TorchReference(__name__)

INPUT, HIDDEN, STEPS, BATCH = 3, 2, 3, 2
LENGTHS = [3, 1, 2]  # packed input: unsorted, one sequence ending after the first step

# kind -> (class name, constructor arguments)
_KINDS = {"LSTM": ("LSTM", {}), "GRU": ("GRU", {}), "RNN_tanh": ("RNN", {}),
          "RNN_relu": ("RNN", {"nonlinearity": "relu"})}

# config -> (constructor arguments, initial states given, input layout: "batched", "packed" or "unbatched")
_CONFIGS = {
    "one_layer_with_states": ({}, True, "batched"),
    "two_layers_bidirectional_batch_first": ({"num_layers": 2, "bidirectional": True, "batch_first": True},
                                             False, "batched"),
    "without_bias": ({"bias": False}, True, "batched"),
    "packed_bidirectional_with_states": ({"bidirectional": True}, True, "packed"),
    "packed_two_layers": ({"num_layers": 2}, False, "packed"),
    "unbatched_with_states": ({"num_layers": 2}, True, "unbatched"),
}


def _tensor(lib, rng, shape):
    return lib.tensor(rng.standard_normal(shape), dtype=lib.float64, requires_grad=True)


def _layer(lib, kind, **kwargs):
    name, extra = _KINDS[kind]
    return set_params(getattr(lib.nn, name)(INPUT, HIDDEN, **extra, **kwargs).double(), lib, seed=1, scale=0.6)


def _layer_case(lib, kind, config):
    """The layer, its input and its initial states (a list, empty when not given), all float64."""
    kwargs, with_states, layout = _CONFIGS[config]
    layer = _layer(lib, kind, **kwargs)
    rng = np.random.default_rng(2)
    batch = len(LENGTHS) if layout == "packed" else BATCH
    shape = {"batched": (BATCH, STEPS, INPUT) if kwargs.get("batch_first") else (STEPS, BATCH, INPUT),
             "packed": (STEPS, batch, INPUT), "unbatched": (STEPS, INPUT)}[layout]
    x = _tensor(lib, rng, shape)
    layers = kwargs.get("num_layers", 1) * (2 if kwargs.get("bidirectional") else 1)
    state_shape = (layers, HIDDEN) if layout == "unbatched" else (layers, batch, HIDDEN)
    states = [_tensor(lib, rng, state_shape) for _ in range(2 if kind == "LSTM" else 1)] if with_states else []
    return layer, x, states


def _run_layer(lib, layer, layout, x, *states):
    """The layer's outputs (packed output padded back), final h and (LSTM) c."""
    hx = None if not states else (tuple(states) if len(states) == 2 else states[0])
    if layout != "packed":
        out, hidden = layer(x, hx)
    else:
        rnn = lib.nn.utils.rnn
        out, hidden = layer(rnn.pack_padded_sequence(x, LENGTHS, enforce_sorted=False), hx)
        out = rnn.pad_packed_sequence(out)[0]
    return (out, *hidden) if isinstance(hidden, tuple) else (out, hidden)


def _second_order(lib, outputs, leaves):
    """First derivatives of sum <out, w> (create_graph), then the derivatives of sum <first, v>
    with respect to the leaves and the weights w (so the dependence on the incoming gradient is
    checked too); a derivative that is not there (None) as zeros."""
    rng = np.random.default_rng(3)
    weights = [lib.tensor(rng.uniform(0.5, 1.5, tuple(o.shape)), dtype=o.dtype, requires_grad=True) for o in outputs]
    total = sum((o * w).sum() for o, w in zip(outputs, weights, strict=True))
    firsts = lib.autograd.grad(total, leaves, create_graph=True)
    projected = sum((g * lib.tensor(rng.uniform(-1, 1, tuple(g.shape)), dtype=g.dtype)).sum() for g in firsts)
    targets = [*leaves, *weights]
    seconds = lib.autograd.grad(projected, targets, allow_unused=True)
    made = {f"first{i}": g for i, g in enumerate(firsts)}
    made.update({f"second{i}": lib.zeros_like(t) if g is None else g
                 for i, (g, t) in enumerate(zip(seconds, targets, strict=True))})
    return made


def _checked_parameters(layer):
    """The weights gradgradcheck perturbs (all of them take long): the recurrent ones of the first
    layer, where the second derivatives run through every step (those of W_ih are products of the
    same terms with the input)."""
    return [p for p in (layer.weight_hh_l0, getattr(layer, "bias_hh_l0", None)) if p is not None]


def _assert_first_derivatives_as_without_create_graph(fn, inputs):
    """create_graph's first derivatives (through the recomputed steps) are the fused backward's."""
    on_tape = autograd.grad(sum(o.sum() for o in fn(*inputs)), inputs, create_graph=True)
    plain = autograd.grad(sum(o.sum() for o in fn(*inputs)), inputs)
    for g, want in zip(on_tape, plain, strict=True):
        np.testing.assert_allclose(g.detach().numpy(), want.numpy(), rtol=1e-10, atol=1e-12)


_LAYER_CASES = [(kind, config) for kind in _KINDS for config in _CONFIGS]
# finite differences take long: every kind with states, and each other configuration for one kind
# (PyTorch's second derivatives are checked for every case)
_DIFFERENCED_CASES = [*((kind, "one_layer_with_states") for kind in _KINDS),
                      ("LSTM", "two_layers_bidirectional_batch_first"), ("GRU", "packed_bidirectional_with_states"),
                      ("RNN_relu", "packed_two_layers"), ("RNN_tanh", "unbatched_with_states"),
                      ("GRU", "without_bias")]


@pytest.mark.parametrize(("kind", "config"), _DIFFERENCED_CASES)
def test_layer_second_derivatives_match_finite_differences(kind, config):
    layer, x, states = _layer_case(minigrad, kind, config)
    params = _checked_parameters(layer)
    layout = _CONFIGS[config][2]

    def run(x, *rest):  # rest: the states, then the parameters the layer reads itself
        return _run_layer(minigrad, layer, layout, x, *rest[: len(states)])

    _assert_first_derivatives_as_without_create_graph(run, [x, *states, *params])
    assert autograd.gradgradcheck(run, [x, *states, *params], atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize(("kind", "config"), _LAYER_CASES)
def test_layer_second_derivatives_as_torch(kind, config):
    def program(lib):
        layer, x, states = _layer_case(lib, kind, config)
        outputs = _run_layer(lib, layer, _CONFIGS[config][2], x, *states)
        return _second_order(lib, outputs, [x, *states, *layer.parameters()])

    check_program(torch_reference, f"layer/{kind}/{config}", program, rtol=1e-9)


@pytest.mark.parametrize("kind", sorted(_KINDS))
def test_dropout_between_layers_keeps_its_mask_in_the_second_derivatives(kind):
    """Dropout between layers: every call draws from the same seed, so finite differences see the
    mask of the recorded forward; the formulas reuse that mask."""
    minigrad.manual_seed(0)
    layer = _layer(minigrad, kind, num_layers=2, dropout=0.5).train()
    rng = np.random.default_rng(4)
    x = _tensor(minigrad, rng, (STEPS, BATCH, INPUT))
    params = [layer.weight_hh_l1]

    def run(x, *params):
        minigrad.manual_seed(5)
        return _run_layer(minigrad, layer, "batched", x)

    _assert_first_derivatives_as_without_create_graph(run, [x, *params])
    assert autograd.gradgradcheck(run, [x, *params], atol=1e-5, rtol=1e-4)


# cell -> (class name, constructor arguments)
_CELLS = {"LSTMCell": ("LSTMCell", {}), "GRUCell": ("GRUCell", {}), "RNNCell_tanh": ("RNNCell", {}),
          "RNNCell_relu": ("RNNCell", {"nonlinearity": "relu"})}
_CELL_CONFIGS = {"with_states": (True, True), "without_states_or_bias": (False, False)}  # (states, bias)


def _cell_case(lib, cell, config):
    with_states, bias = _CELL_CONFIGS[config]
    name, extra = _CELLS[cell]
    module = set_params(getattr(lib.nn, name)(INPUT, HIDDEN, bias=bias, **extra).double(), lib, seed=6, scale=0.6)
    rng = np.random.default_rng(7)
    x = _tensor(lib, rng, (BATCH, INPUT))
    states = [_tensor(lib, rng, (BATCH, HIDDEN)) for _ in range(2 if cell == "LSTMCell" else 1)] if with_states else []
    return module, x, states


def _run_cell(module, x, *states):
    out = module(x, (tuple(states) if len(states) == 2 else states[0]) if states else None)
    return out if isinstance(out, tuple) else (out,)


_CELL_CASES = [(cell, config) for cell in _CELLS for config in _CELL_CONFIGS]


@pytest.mark.parametrize(("cell", "config"), _CELL_CASES)
def test_cell_second_derivatives_match_finite_differences(cell, config):
    module, x, states = _cell_case(minigrad, cell, config)
    params = list(module.parameters())

    def run(x, *rest):
        return _run_cell(module, x, *rest[: len(states)])

    _assert_first_derivatives_as_without_create_graph(run, [x, *states, *params])
    assert autograd.gradgradcheck(run, [x, *states, *params], atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize(("cell", "config"), _CELL_CASES)
def test_cell_second_derivatives_as_torch(cell, config):
    def program(lib):
        module, x, states = _cell_case(lib, cell, config)
        return _second_order(lib, _run_cell(module, x, *states), [x, *states, *module.parameters()])

    check_program(torch_reference, f"cell/{cell}/{config}", program, rtol=1e-9)


def test_third_derivatives_of_an_lstm_as_torch():
    """The recomputed steps are ops with formulas: a third derivative goes through them again."""

    def program(lib):
        layer, x, (h0, c0) = _layer_case(lib, "LSTM", "one_layer_with_states")
        out, h, c = _run_layer(lib, layer, "batched", x, h0, c0)
        (d1,) = lib.autograd.grad((out**2).sum() + (h * c).sum(), x, create_graph=True)
        d2 = lib.autograd.grad((d1 * d1).sum(), [x, layer.weight_hh_l0], create_graph=True)
        d3 = lib.autograd.grad(d2[0].sum() + (d2[1] ** 2).sum(), [x, h0, c0, layer.weight_hh_l0])
        return {"d1": d1, **{f"d2_{i}": d for i, d in enumerate(d2)}, **{f"d3_{i}": d for i, d in enumerate(d3)}}

    check_program(torch_reference, "third/LSTM", program, rtol=1e-9)


def test_the_fused_ops_run_unchanged_without_create_graph():
    """The recomputation runs only under create_graph: a plain backward gives no graph."""
    layer, x, states = _layer_case(minigrad, "LSTM", "one_layer_with_states")
    (g,) = autograd.grad(_run_layer(minigrad, layer, "batched", x, *states)[0].sum(), x)
    assert not g.requires_grad and g.grad_fn is None


# ------------------------------------------------------------------ checkpoint and ctc_loss
def _checkpointed_program(checkpointed):
    """A gradient penalty through a block (Linear, tanh, a product with another argument):
    backward(create_graph=True), then the penalty's gradients for the inputs and the block's
    parameters."""

    def program(lib):
        rng = np.random.default_rng(8)
        linear = set_params(lib.nn.Linear(3, 3).double(), lib, seed=9, scale=0.6)
        x = _tensor(lib, rng, (2, 3))

        def block(t, scale):
            return lib.tanh(linear(t)) * scale

        scale = _tensor(lib, rng, (3,))
        inner = x * x
        y = lib.utils.checkpoint.checkpoint(block, inner, scale, use_reentrant=False) if checkpointed \
            else block(inner, scale)
        (y**3).sum().backward(create_graph=True)
        penalty = (x.grad**2).sum() + (linear.weight.grad**2).sum() + (scale.grad * linear.bias.grad).sum()
        seconds = lib.autograd.grad(penalty, [x, scale, linear.weight, linear.bias])
        return {"x_grad": x.grad, "weight_grad": linear.weight.grad, **{f"second{i}": g for i, g in enumerate(seconds)}}

    return program


def test_checkpoint_gradients_are_differentiable_again_as_torch():
    """minigrad's checkpoint (the reentrant scheme, whatever use_reentrant says) under create_graph
    gives what PyTorch's use_reentrant=False does, and what no checkpoint gives."""
    check_program(torch_reference, "checkpoint/penalty", _checkpointed_program(True), rtol=1e-9)
    want = _checkpointed_program(False)(minigrad)
    for name, got in _checkpointed_program(True)(minigrad).items():
        np.testing.assert_allclose(got.detach().numpy(), want[name].detach().numpy(), rtol=1e-12, err_msg=name)


def test_checkpoint_second_derivatives_match_finite_differences():
    from minigrad.utils.checkpoint import checkpoint

    rng = np.random.default_rng(10)
    x, w = _tensor(minigrad, rng, (2, 3)), _tensor(minigrad, rng, (3, 3))
    assert autograd.gradgradcheck(lambda x, w: checkpoint(lambda a, b: (a @ b).tanh() * a, x * 1, w), [x, w])


def test_ctc_loss_gives_a_first_order_gradient_only_as_torch():
    """PyTorch has no second derivative of ctc_loss ("derivative for aten::_ctc_loss_backward is not
    implemented", gradgradcheck included); minigrad refuses it the same way, after the same
    first derivative."""
    logits = np.random.default_rng(11).standard_normal((5, 2, 4))
    values = logits - np.log(np.exp(logits).sum(2, keepdims=True))
    targets, input_lengths, target_lengths = [[1, 2], [3, 3]], [5, 4], [2, 2]

    def first(lib):
        log_probs = lib.tensor(values, dtype=lib.float64, requires_grad=True)
        loss = lib.nn.functional.ctc_loss(log_probs, lib.tensor(targets), input_lengths, target_lengths)
        (g,) = lib.autograd.grad(loss, log_probs, create_graph=True)
        return {"first": g}, g

    check_program(torch_reference, "ctc_loss/first", lambda lib: first(lib)[0], rtol=1e-9)
    _, g = first(minigrad)
    assert g.requires_grad
    assert error_of(lambda: g.sum().backward()) == (
        "RuntimeError: derivative for aten::_ctc_loss_backward is not implemented")
