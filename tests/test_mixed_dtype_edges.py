"""Result dtypes of losses whose operands differ in float dtype, and the exception class of
logical ops (and xlogy / xlog1py, built on them) for shapes that do not broadcast, against PyTorch
(live, or recorded in tests/fixtures/torch_reference/test_mixed_dtype_edges.npz). PyTorch is not
uniform here: binary_cross_entropy_with_logits gives the target's dtype, huber_loss and
soft_margin_loss the input's, smooth_l1 / mse / l1 the promoted one; a float64 weight or
pos_weight leaves the dtype as it was."""

import numpy as np
import pytest
from parity import check_program
from torch_reference import TorchReference

import minigrad

torch_reference = TorchReference(__name__)

X = np.array([0.3, -1.2, 2.0])
Y = np.array([1.0, -1.0, 1.0])
PAIRS = {"f32_f64": ("float32", "float64"), "f64_f32": ("float64", "float32")}


def _loss_program(lib):
    F = lib.nn.functional
    out = {}
    for key, (a, b) in PAIRS.items():
        x = lib.tensor(X, dtype=getattr(lib, a), requires_grad=True)
        y = lib.tensor(Y, dtype=getattr(lib, b))
        probs = (y + 1) / 2
        losses = {
            "bce_logits": F.binary_cross_entropy_with_logits(x, probs),
            "bce_logits_weight": F.binary_cross_entropy_with_logits(
                x, probs.to(x.dtype), weight=lib.ones(3, dtype=lib.float64)),
            "bce_logits_pos_weight": F.binary_cross_entropy_with_logits(
                x, probs.to(x.dtype), pos_weight=lib.full((3,), 2.0, dtype=lib.float64)),
            "bce_logits_module": lib.nn.BCEWithLogitsLoss()(x, probs),
            "huber": F.huber_loss(x, y, delta=0.5),
            "soft_margin": F.soft_margin_loss(x, y),
            "smooth_l1": F.smooth_l1_loss(x, y),
            "mse": F.mse_loss(x, y),
        }
        for name, loss in losses.items():
            out[f"{key}/{name}"] = loss
            out[f"{key}/{name}/dtype"] = np.array(str(loss.dtype).rpartition(".")[2])
        # huber's backward fails in PyTorch for mixed dtypes ("Found dtype Double but expected
        # Float"); minigrad's works, so it is left out of the compared gradient
        sum(loss for name, loss in losses.items() if name != "huber").backward()
        out[f"{key}/grad"] = x.grad
        out[f"{key}/grad/dtype"] = np.array(str(x.grad.dtype).rpartition(".")[2])
    return out


def test_loss_dtypes_and_values_as_torch():
    # the float32 operands round each loss to float32: 1e-6, not 1e-9
    check_program(torch_reference, "losses", _loss_program, 1e-6)


@pytest.mark.parametrize("op", ["logical_and", "logical_or", "logical_xor", "xlogy", "special.xlog1py"])
def test_shapes_that_do_not_broadcast_raise_runtime_error(op):
    """PyTorch raises RuntimeError; minigrad's ShapeError is one (and a ValueError), where numpy's
    plain ValueError leaked out before."""
    fn = minigrad
    for part in op.split("."):
        fn = getattr(fn, part)
    with pytest.raises(RuntimeError, match="broadcast"):
        fn(minigrad.ones(2, 3), minigrad.ones(4))
    assert fn(minigrad.ones(2, 3), minigrad.ones(3)).shape == (2, 3)
