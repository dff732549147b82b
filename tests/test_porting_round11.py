"""Course programs ported with `import minigrad as torch`, round 11: each program runs on both
libraries (`program(lib)` with lib minigrad or torch) and its results are compared with PyTorch's
(live, or recorded in tests/fixtures/torch_reference/test_porting_round11.npz). Programs:
F.ctc_loss, torch.ctc_loss and nn.CTCLoss (padded and concatenated targets, tensor and tuple
lengths, every reduction, zero_infinity, unbatched input, float32 and float64; values, gradients,
grad_fn names and errors); F.linear's refusal of a bias that PyTorch's flattened addmm cannot
expand; the .grad setter's checks; backward(inputs=...) running only the nodes that lead to the
inputs; add/sub with alpha rounded once in float32, as PyTorch's fused multiply-add; the deprecated
number-first signatures of add_/sub_/addcmul_/addcdiv_ (and their out-of-place forms) with PyTorch's
warning; the messages of item(), a bool alpha and clip_grad_norm_'s non-finite norm; LR schedulers'
lr and momentum sequences, state_dict round trips, CyclicLR's state_dict keys, get_lr()'s warning
outside step(), the deprecation warning of step(epoch) and the schedulers' argument errors."""

import json
import subprocess
import sys
import tempfile
import warnings

import numpy as np
from parity import check_program, error_of
from test_porting_round8 import caught_as
from torch_reference import TorchReference
from train_utils import same_minigrad_env

torch_reference = TorchReference(__name__)


def check(key, program, rtol=1e-6):
    """program(minigrad)'s results against program(torch)'s (parity.check_program)."""
    check_program(torch_reference, key, program, rtol)


# ------------------------------------------------------------------- CTC loss
def _ctc_program(lib, dtype):
    """CTC losses of one batch in many forms; their values, gradients and grad_fn names."""
    F, nn = lib.nn.functional, lib.nn
    rng = np.random.default_rng(11)
    logits = lib.tensor(rng.standard_normal((12, 4, 6)), dtype=dtype, requires_grad=True)
    # a leaf of log-probabilities: PyTorch's gradient is exp(lp) - (the posterior), not the plain derivative
    direct = lib.tensor(rng.standard_normal((12, 4, 6)), dtype=dtype).log_softmax(2).detach().requires_grad_()
    impossible = lib.tensor(rng.standard_normal((12, 4, 6)), dtype=dtype).log_softmax(2).detach().requires_grad_()
    log_probs = logits.log_softmax(2)
    # repeated labels (which need a blank between them), a target of length 0
    padded = lib.tensor([[1, 2, 2, 3, 0], [4, 4, 4, 0, 0], [5, 1, 0, 0, 0], [0, 0, 0, 0, 0]])
    input_lengths, target_lengths = lib.tensor([12, 10, 7, 5]), lib.tensor([4, 3, 2, 0])
    concatenated = lib.tensor([1, 2, 2, 3, 4, 4, 4, 5, 1])
    last_blank = lib.tensor([[0, 1, 1, 2, 3], [3, 3, 3, 5, 5], [4, 0, 5, 5, 5], [5, 5, 5, 5, 5]])
    # sample 0 needs 7 frames (repeats need blanks) for its 4; sample 2 has no frame for its one label
    unreachable = lib.tensor([[2, 2, 2, 2], [1, 3, 0, 0], [4, 0, 0, 0], [1, 2, 3, 4]])
    unreachable_lengths = (lib.tensor([4, 12, 0, 9]), lib.tensor([4, 2, 1, 4]))
    losses = {
        "mean": F.ctc_loss(log_probs, padded, input_lengths, target_lengths),
        "sum": F.ctc_loss(log_probs, padded, input_lengths, target_lengths, reduction="sum"),
        "none": F.ctc_loss(log_probs, padded, input_lengths, target_lengths, reduction="none"),
        "concatenated_tuples": F.ctc_loss(log_probs, concatenated, (12, 10, 7, 5), [4, 3, 2, 0], reduction="none"),
        "concatenated_mean": F.ctc_loss(log_probs, concatenated, input_lengths, target_lengths),
        "blank_last": F.ctc_loss(log_probs, last_blank, input_lengths, target_lengths, blank=5, reduction="sum"),
        "int32": F.ctc_loss(log_probs, padded.int(), input_lengths.int(), target_lengths.int(), reduction="none"),
        "unbatched": F.ctc_loss(log_probs[:, 0], padded[0, :4], lib.tensor(12), lib.tensor(4)),
        "unbatched_none": F.ctc_loss(log_probs[:, 1], padded[1:2], [10], [3], reduction="none"),
        "module": nn.CTCLoss()(log_probs, padded, input_lengths, target_lengths),
        "module_sum": nn.CTCLoss(blank=5, reduction="sum", zero_infinity=True)(
            log_probs, last_blank, input_lengths, target_lengths),
        "top_level": lib.ctc_loss(log_probs, padded, input_lengths, target_lengths),
        "top_level_mean": lib.ctc_loss(log_probs, padded, input_lengths, target_lengths, 0, 1),
        "direct": F.ctc_loss(direct, padded, input_lengths, target_lengths, reduction="none"),
        "zero_infinity": F.ctc_loss(log_probs, unreachable, *unreachable_lengths, zero_infinity=True),
        "zero_infinity_none": F.ctc_loss(log_probs, unreachable, *unreachable_lengths, reduction="none",
                                         zero_infinity=True),
    }
    total = sum((k + 1) * loss.sum() for k, loss in enumerate(losses.values()))
    total.backward()
    infinite = F.ctc_loss(impossible, unreachable, *unreachable_lengths, reduction="none")
    infinite.sum().backward()  # NaN gradients for the infinite losses, as PyTorch's
    names = [loss.grad_fn.name() for loss in losses.values()] + [infinite.grad_fn.name()]
    return {**losses, "infinite": infinite, "logits_grad": logits.grad, "direct_grad": direct.grad,
            "impossible_grad": impossible.grad, "names": np.array(names)}


def test_ctc_loss_float64_as_torch():
    check("ctc_float64", lambda lib: _ctc_program(lib, lib.float64), rtol=1e-10)


def test_ctc_loss_float32_as_torch():
    check("ctc_float32", lambda lib: _ctc_program(lib, lib.float32), rtol=2e-5)


def _ctc_mistakes(lib):
    """Mistakes in calling ctc_loss: name -> (PyTorch's exception class, the mistake)."""
    F = lib.nn.functional
    log_probs = lib.zeros(6, 3, 5, dtype=lib.float64).log_softmax(2)
    targets, input_lengths, target_lengths = lib.tensor([[1, 2, 3], [1, 1, 0], [2, 0, 0]]), [6, 5, 4], [3, 2, 1]

    def ctc(*args, **kwargs):
        arguments = [log_probs, targets, input_lengths, target_lengths]
        arguments[:len(args)] = args
        return lambda: F.ctc_loss(*arguments, **kwargs)

    return {
        "blank_above": (RuntimeError, ctc(blank=5)), "blank_negative": (RuntimeError, ctc(blank=-1)),
        "input_lengths_size": (RuntimeError, ctc(log_probs, targets, [6, 5])),
        "target_lengths_size": (RuntimeError, ctc(log_probs, targets, input_lengths, [3, 2, 1, 1])),
        "float_input_lengths": (RuntimeError, ctc(log_probs, targets, lib.tensor([6.0, 5.0, 4.0]),
                                                  lib.tensor(target_lengths))),
        "target_too_long": (RuntimeError, ctc(log_probs, targets, input_lengths, [4, 2, 1])),
        "input_too_long": (RuntimeError, ctc(log_probs, targets, [7, 5, 4])),
        "input_negative": (RuntimeError, ctc(log_probs, targets, [-1, 5, 4])),
        "target_negative": (RuntimeError, ctc(log_probs, targets, input_lengths, [-1, 2, 1])),
        "concatenated_short": (RuntimeError, ctc(log_probs, targets.reshape(-1)[:5])),
        "padded_rows": (RuntimeError, ctc(log_probs, targets[:2])),
        "targets_3d": (RuntimeError, ctc(log_probs, targets[None])),
        "unbatched_2d_lengths": (RuntimeError, ctc(log_probs[0])),
        "reduction": (ValueError, ctc(reduction="avg")),
        "number_lengths": (TypeError, ctc(log_probs, targets, 6, 3)),
        "float_tuple_lengths": (TypeError, ctc(log_probs, targets, (6.0, 5, 4))),
    }


_CTC_SAME_MESSAGE = ("blank_above", "input_lengths_size", "target_lengths_size", "float_input_lengths",
                     "target_too_long", "input_too_long", "input_negative", "target_negative",
                     "concatenated_short", "padded_rows", "targets_3d")


def _ctc_errors_program(lib):
    mistakes = _ctc_mistakes(lib)
    return {"caught": caught_as(mistakes), "names": np.array(list(mistakes)),
            "messages": np.array([error_of(mistakes[name][1]) for name in _CTC_SAME_MESSAGE]),
            "repr": np.array([repr(lib.nn.CTCLoss()), repr(lib.nn.CTCLoss(blank=3, zero_infinity=True))])}


def test_ctc_loss_errors_as_torch():
    """PyTorch's exception classes, and its messages for the checks of ctc_loss's arguments."""
    check("ctc_errors", _ctc_errors_program)


# ------------------------------------------------------------------- F.linear's bias
# (input shape, whether the input is a transposed (non-contiguous) view, bias shape): PyTorch adds a
# 1-D bias (or one that squeezes to 1-D) to a contiguous input flattened to 2-D with addmm, so the
# bias must expand to (rows, out_features); other biases are added in place to the output
_LINEAR_BIASES = [
    ((5, 2, 3), False, (2, 1)), ((5, 2, 3), True, (2, 1)), ((5, 2, 3), False, (5, 1, 1)),
    ((5, 2, 3), False, (1, 1, 1, 4)), ((5, 2, 3), False, (1, 4)), ((5, 2, 3), False, (10, 1)),
    ((5, 2, 3), True, (10, 1)), ((5, 2, 3), False, (10, 4)), ((5, 2, 3), False, (5, 2, 1)),
    ((5, 2, 3), False, (2, 4)), ((5, 2, 3), False, (4,)), ((5, 2, 3), False, (1,)), ((5, 2, 3), False, ()),
    ((5, 2, 3), True, (1, 4)), ((3,), False, (1, 4)), ((3,), False, (4, 1)), ((3,), False, (1, 1)),
    ((2, 3, 2, 3), False, (12, 1)), ((2, 3, 2, 3), False, (3, 1, 4)), ((2, 3), False, (2, 1)),
]


def _linear_bias_program(lib):
    F = lib.nn.functional
    rng = np.random.default_rng(12)
    weight = lib.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    accepted, outputs, names, grads = [], [], [], []
    for shape, transposed, bias_shape in _LINEAR_BIASES:
        values = rng.standard_normal(shape)
        x = lib.tensor(np.swapaxes(values, -1, -2).copy()).transpose(-1, -2) if transposed else lib.tensor(values)
        bias = lib.tensor(rng.standard_normal(bias_shape), requires_grad=True)
        try:
            y = F.linear(x, weight, bias)
        except RuntimeError:
            accepted.append(False)
            continue
        accepted.append(True)
        (y * y).sum().backward()
        outputs.append(y.detach().reshape(-1))
        names.append(y.grad_fn.name())
        grads.append(bias.grad.reshape(-1))
    return {"accepted": np.array(accepted), "outputs": lib.cat(outputs), "names": np.array(names),
            "bias_grads": lib.cat(grads), "weight_grad": weight.grad}


def test_linear_refuses_biases_torch_cannot_expand():
    """A (2, 1) bias with a 3-D input is refused (it does not expand to (10, 4)), yet taken with a
    transposed input; a (10, 1) bias is added per flattened row, as PyTorch's addmm."""
    check("linear_bias", _linear_bias_program, rtol=1e-12)


# ------------------------------------------------------------------- the .grad setter
def _grad_setter_program(lib):
    p = lib.zeros(3, requires_grad=True)
    ints = lib.zeros(3, dtype=lib.int64)

    def assign(tensor, value):
        def run():
            tensor.grad = value
        return run

    mistakes = {
        "shape": (RuntimeError, assign(p, lib.zeros(2))), "row": (RuntimeError, assign(p, lib.zeros(1, 3))),
        "dtype": (RuntimeError, assign(p, lib.zeros(3, dtype=lib.float64))),
        "dtype_and_shape": (RuntimeError, assign(p, lib.zeros(2, dtype=lib.float64))),
        "int_grad": (RuntimeError, assign(p, lib.zeros(3, dtype=lib.int64))),
        "float_for_int": (RuntimeError, assign(ints, lib.zeros(3))),
        "ndarray": (TypeError, assign(p, np.zeros(3, dtype=np.float32))), "number": (TypeError, assign(p, 1.0)),
        "itself": (RuntimeError, assign(p, p)),
    }
    messages = [error_of(fn) for _, fn in mistakes.values()]
    fine = {"same": assign(p, lib.ones(3)), "none": assign(p, None),
            "int_same": assign(ints, lib.ones(3, dtype=lib.int64)),
            "requires_grad": assign(p, lib.ones(3, requires_grad=True)), "non_leaf": assign(p * 2, lib.ones(3))}
    errors = [error_of(fn) for fn in fine.values()]
    p.grad = lib.full((3,), 2.0)
    return {"caught": caught_as(mistakes), "names": np.array(list(mistakes)),
            # PyTorch's messages, but that minigrad has no grad_dtype to name
            "messages": np.array([m.replace("grad_dtype", "dtype").split(". The gradient must")[0] for m in messages]),
            "fine": np.array(errors), "grad": p.grad}


def test_grad_setter_checks_as_torch():
    check("grad_setter", _grad_setter_program)


# ------------------------------------------------------------------- backward(inputs=...)
def _backward_inputs_program(lib):
    out = {}
    for listed in (["a"], ["b"], ["y"], ["y", "a"], ["w", "a"], ["w", "y"]):
        a = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        b = lib.tensor([3.0, 4.0], dtype=lib.float64, requires_grad=True)
        y, w = a * 2, b * 5
        y.retain_grad()
        w.retain_grad()
        hooked = []
        y.register_hook(lambda g, hooked=hooked: hooked.append("y"))
        w.register_hook(lambda g, hooked=hooked: hooked.append("w"))
        tensors = {"a": a, "b": b, "y": y, "w": w}
        (y * w).sum().backward(inputs=[tensors[name] for name in listed])
        key = "_".join(listed)
        out[key] = np.array([[np.nan] * 2 if t.grad is None else t.grad.tolist() for t in tensors.values()])
        out[f"{key}_hooks"] = np.array(",".join(hooked))
    return out


def test_backward_inputs_runs_only_what_leads_to_them():
    """Retained gradients and tensor hooks of nodes that do not lead to the inputs stay untouched,
    and a retained input's gradient is accumulated once."""
    check("backward_inputs", _backward_inputs_program, rtol=1e-12)


# ------------------------------------------------------------------- add/sub with alpha
def _alpha_program(lib):
    rng = np.random.default_rng(13)
    x = lib.tensor((rng.standard_normal(2000) * 100).astype(np.float32))
    y = lib.tensor(rng.standard_normal(2000).astype(np.float32), requires_grad=True)
    row = lib.tensor(np.float32([1.3]))
    out = {}
    for alpha in (0.3, -0.7, 3, 2.5):
        out[f"add_{alpha}"] = lib.add(x, y, alpha=alpha)
        out[f"sub_{alpha}"] = x.sub(y, alpha=alpha)
        out[f"add__{alpha}"] = x.clone().add_(y.detach(), alpha=alpha)
        out[f"sub__{alpha}"] = x.clone().sub_(y.detach(), alpha=alpha)
        out[f"broadcast_{alpha}"] = x.add(row, alpha=alpha)
        out[f"zero_dim_{alpha}"] = x.sub(lib.tensor(np.float32(2.7)), alpha=alpha)
    out["tensor_alpha"] = x.add(y.detach(), alpha=lib.tensor(0.3))  # a one-element tensor: its number
    (out["add_0.3"] * 2 + out["sub_-0.7"]).sum().backward()
    return {**out, "names": np.array([out["add_0.3"].grad_fn.name(), out["sub_3"].grad_fn.name()]), "y_grad": y.grad}


def test_add_with_alpha_rounds_once_as_torch():
    """x + alpha * y in float32 rounded once (PyTorch's fused multiply-add): bit for bit."""
    check("alpha", _alpha_program, rtol=0)


_SCALAR_FIRST_SCRIPT = """
import json, sys, warnings
lib = __import__(sys.argv[1])
x, g = lib.tensor([1.0, 2.0, 3.0]), lib.tensor([0.5, 0.25, 2.0])
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    values = [x.clone().add_(-0.1, g), x.clone().sub_(0.1, g), x.add(2, g), x.sub(2, g),
              x.clone().addcmul_(0.5, g, g), x.clone().addcdiv_(-0.5, g, g), x.addcmul(2, g, g), x.addcdiv(2, g, g)]
    p = lib.nn.Parameter(lib.ones(3))
    (p * g).sum().backward()
    p.data.add_(-0.1, p.grad.data)  # the SGD step of old tutorials
print(json.dumps({"values": [v.tolist() for v in values] + [p.tolist()],
                  "warnings": [str(w.message).split(" (Triggered")[0] for w in caught],
                  "files": sorted({w.filename for w in caught})}))
"""


def _scalar_first_program(lib):
    """In a fresh process (PyTorch warns once a process, of whichever deprecated signature comes first)."""
    run = subprocess.run([sys.executable, "-c", _SCALAR_FIRST_SCRIPT, lib.__name__], capture_output=True, text=True,
                         check=True, cwd=tempfile.gettempdir(), env=same_minigrad_env())
    out = json.loads(run.stdout)
    return {"values": np.array(out["values"], dtype=np.float32), "warnings": np.array(out["warnings"]),
            "files": np.array(out["files"])}


def test_deprecated_scalar_first_signatures_as_torch():
    """p.data.add_(-lr, p.grad.data) and v.addcmul_(1 - beta, g, g) of old tutorials and optimizers
    work, with PyTorch's warning, once, at the user's line."""
    check("scalar_first", _scalar_first_program)


def _messages_program(lib):
    x = lib.tensor([1.0, 2.0, 3.0])
    p = lib.nn.Parameter(lib.ones(3))
    p.grad = lib.full((3,), float("nan"))
    mistakes = {"item_of_three": lambda: x.item(), "bool_alpha": lambda: lib.add(x, x, alpha=True),
                "bool_alpha_sub": lambda: x.sub(x, alpha=False),
                "clip_non_finite": lambda: lib.nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)}
    return {"errors": np.array([error_of(fn) for fn in mistakes.values()]), "names": np.array(list(mistakes)),
            "bool_alpha_of_bools": lib.add(lib.tensor([True, False]), lib.tensor([False, False]), alpha=True)}


def test_error_messages_of_item_bool_alpha_and_clip_grad_norm_as_torch():
    check("messages", _messages_program)


# ------------------------------------------------------------------- LR schedulers
class _CountingScale:
    """A callable object as CyclicLR's scale_fn: its state (the calls so far) is in the state_dict."""

    def __init__(self):
        self.calls = 0

    def __call__(self, x):
        self.calls += 1
        return 0.5**x * (1 + 0.01 * self.calls)


def _schedulers(S):
    """name -> (the optimizer's kind, a function making the scheduler of an optimizer)."""
    plateau = {
        "plateau_min_rel": {},
        "plateau_max_abs": {"mode": "max", "threshold_mode": "abs", "threshold": 0.05, "patience": 2},
        "plateau_cooldown": {"cooldown": 3, "patience": 1, "factor": 0.5, "min_lr": [0.02, 0.001]},
        "plateau_eps": {"factor": 0.5, "patience": 0, "min_lr": 0.0999, "eps": 1e-3},
        "plateau_max_rel": {"mode": "max", "patience": 1, "threshold": 0.1, "factor": 0.3, "min_lr": 0.001},
    }
    return {
        "cyclic_triangular": ("sgd", lambda o: S.CyclicLR(o, 0.01, 0.1, step_size_up=4)),
        "cyclic_triangular2": ("sgd", lambda o: S.CyclicLR(o, [0.01, 0.02], [0.1, 0.2], step_size_up=3,
                                                           step_size_down=5, mode="triangular2")),
        "cyclic_exp_range": ("sgd", lambda o: S.CyclicLR(o, 0.01, 0.1, step_size_up=4, mode="exp_range", gamma=0.9)),
        "cyclic_scale_fn": ("sgd", lambda o: S.CyclicLR(o, 0.01, 0.1, step_size_up=4, scale_fn=lambda x: 0.5**x,
                                                        scale_mode="iterations")),
        "cyclic_callable_scale_fn": ("sgd", lambda o: S.CyclicLR(o, 0.01, 0.1, step_size_up=4,
                                                                 scale_fn=_CountingScale())),
        "cyclic_adam": ("adam", lambda o: S.CyclicLR(o, 0.01, 0.1, step_size_up=4, base_momentum=0.8,
                                                     max_momentum=0.95)),
        "cyclic_no_momentum": ("sgd", lambda o: S.CyclicLR(o, 0.01, 0.1, step_size_up=4, cycle_momentum=False)),
        "one_cycle_cos": ("sgd", lambda o: S.OneCycleLR(o, 1.0, total_steps=50)),
        "one_cycle_linear_three_phase": ("sgd", lambda o: S.OneCycleLR(
            o, [1.0, 0.5], epochs=5, steps_per_epoch=10, three_phase=True, anneal_strategy="linear", pct_start=0.4,
            div_factor=10, final_div_factor=100)),
        "one_cycle_adam": ("adam", lambda o: S.OneCycleLR(o, 1.0, total_steps=50, base_momentum=0.8, max_momentum=0.9)),
        "sequential": ("sgd", lambda o: S.SequentialLR(
            o, [S.LinearLR(o, 0.1, total_iters=5), S.ExponentialLR(o, 0.9), S.StepLR(o, 3)], milestones=[5, 20])),
        "chained": ("sgd", lambda o: S.ChainedScheduler([S.ConstantLR(o, factor=0.5, total_iters=4),
                                                         S.ExponentialLR(o, gamma=0.95)])),
        "warm_restarts": ("sgd", lambda o: S.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=2, eta_min=0.001)),
        "warm_restarts_fractional": ("sgd", lambda o: S.CosineAnnealingWarmRestarts(o, T_0=7)),
        "lambda": ("sgd", lambda o: S.LambdaLR(o, [lambda e: 0.9**e, lambda e: 1 / (e + 1)])),
        "multiplicative": ("sgd", lambda o: S.MultiplicativeLR(o, lambda e: 0.95)),
        "polynomial": ("sgd", lambda o: S.PolynomialLR(o, total_iters=20, power=2.0)),
        "polynomial_default": ("sgd", lambda o: S.PolynomialLR(o)),
        "linear": ("sgd", lambda o: S.LinearLR(o, start_factor=0.25, end_factor=0.75, total_iters=15)),
        "constant": ("sgd", lambda o: S.ConstantLR(o, factor=0.2, total_iters=7)),
        **{name: ("sgd", lambda o, kw=kw: S.ReduceLROnPlateau(o, **kw)) for name, kw in plateau.items()},
    }


_METRICS = [1.0, 0.9, 0.95, 0.95, 0.94, 0.96, 0.8, 0.81, 0.82, 0.83, 0.84, 0.5, 0.5, 0.5, 0.5, 0.49, 0.6, 0.7,
            0.7, 0.7] * 3


def _optimizer(lib, kind):
    groups = [{"params": [lib.nn.Parameter(lib.ones(2))]}, {"params": [lib.nn.Parameter(lib.ones(2))], "lr": 0.05}]
    if kind == "adam":
        return lib.optim.Adam(groups, lr=0.1, betas=(0.9, 0.99))
    return lib.optim.SGD(groups, lr=0.1, momentum=0.9)


def _rates(optimizer):
    """Each group's lr and momentum (Adam's beta1)."""
    groups = optimizer.param_groups
    return [g["lr"] for g in groups] + [g["momentum"] if "momentum" in g else g["betas"][0] for g in groups]


def _step(name, scheduler, i):
    """Step i: a metric for ReduceLROnPlateau, now and then a fractional epoch for the warm restarts."""
    if name.startswith("plateau"):
        scheduler.step(_METRICS[i])
    elif name.startswith("warm_restarts") and i % 3 == 1:
        scheduler.step(i / 3 + 0.5)
    else:
        scheduler.step()


def _scheduler_sequences_program(lib):
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the deprecated epoch argument of step()
        for name, (kind, make) in _schedulers(lib.optim.lr_scheduler).items():
            optimizer = _optimizer(lib, kind)
            scheduler = make(optimizer)
            rates = [_rates(optimizer)]
            for i in range(45):
                optimizer.step()
                _step(name, scheduler, i)
                rates.append(_rates(optimizer))
                if i == 20:  # resumed from here by a copy made from the state_dicts
                    resumed_optimizer = _optimizer(lib, kind)
                    resumed = make(resumed_optimizer)
                    resumed.load_state_dict(scheduler.state_dict())
                    resumed_optimizer.load_state_dict(optimizer.state_dict())
            for i in range(21, 45):
                resumed_optimizer.step()
                _step(name, resumed, i)
            out[name] = np.array(rates + [_rates(resumed_optimizer)])
            out[f"{name}_keys"] = np.array(sorted(scheduler.state_dict()))
            out[f"{name}_last_lr"] = np.array(scheduler.get_last_lr())
    return out


def test_lr_scheduler_sequences_and_state_dicts_as_torch():
    """The lrs and momentums of every step, those of a scheduler resumed from its state_dict, and
    the state_dict's keys (CyclicLR's has PyTorch's _scale_fn_custom)."""
    check("scheduler_sequences", _scheduler_sequences_program, rtol=1e-12)


def _scheduler_mistakes(lib):
    S = lib.optim.lr_scheduler

    def optimizer():
        return lib.optim.SGD([lib.nn.Parameter(lib.ones(2))], lr=0.1, momentum=0.9)

    def overstep():
        o = optimizer()
        s = S.OneCycleLR(o, 1.0, total_steps=3)
        for _ in range(4):
            o.step()
            s.step()

    shared, other = optimizer(), optimizer()
    return {
        "resume_without_initial_lr": lambda: S.StepLR(optimizer(), 2, last_epoch=3),
        "sequential_empty": lambda: S.SequentialLR(shared, [], milestones=[]),
        "sequential_other_optimizer": lambda: S.SequentialLR(shared, [S.StepLR(shared, 2), S.StepLR(other, 2)],
                                                             milestones=[2]),
        "chained_empty": lambda: S.ChainedScheduler([]),
        "chained_other_optimizer": lambda: S.ChainedScheduler([S.StepLR(shared, 2), S.StepLR(other, 2)]),
        "plateau_mode": lambda: S.ReduceLROnPlateau(optimizer(), mode="bad"),
        "plateau_factor": lambda: S.ReduceLROnPlateau(optimizer(), factor=1.0),
        "plateau_threshold_mode": lambda: S.ReduceLROnPlateau(optimizer(), threshold_mode="x"),
        "warm_restarts_T_0": lambda: S.CosineAnnealingWarmRestarts(optimizer(), T_0=0),
        "warm_restarts_T_mult": lambda: S.CosineAnnealingWarmRestarts(optimizer(), T_0=2, T_mult=1.5),
        "warm_restarts_epoch": lambda: S.CosineAnnealingWarmRestarts(optimizer(), T_0=2).step(-1),
        "linear_start": lambda: S.LinearLR(optimizer(), start_factor=0),
        "linear_end": lambda: S.LinearLR(optimizer(), end_factor=1.5),
        "constant_factor": lambda: S.ConstantLR(optimizer(), factor=2),
        "sequential_milestones": lambda: S.SequentialLR(shared, [S.StepLR(shared, 2)], milestones=[2]),
        "lambda_count": lambda: S.LambdaLR(optimizer(), [lambda e: 1, lambda e: 2]),
        "one_cycle_steps": lambda: S.OneCycleLR(optimizer(), 1.0),
        "one_cycle_pct": lambda: S.OneCycleLR(optimizer(), 1.0, total_steps=10, pct_start=1.5),
        "one_cycle_anneal": lambda: S.OneCycleLR(optimizer(), 1.0, total_steps=10, anneal_strategy="x"),
        "one_cycle_overstep": overstep,
        "cyclic_momentum": lambda: S.CyclicLR(lib.optim.Adagrad([lib.nn.Parameter(lib.ones(2))]), 0.1, 1.0),
    }


def _scheduler_api_program(lib):
    S = lib.optim.lr_scheduler
    optimizer = lib.optim.SGD([lib.nn.Parameter(lib.ones(2))], lr=0.1, momentum=0.9)
    cyclic = S.CyclicLR(optimizer, 0.01, 0.1)  # its scale_fn is a method: None in the state_dict
    exponential = S.ExponentialLR(optimizer, 0.5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        exponential.get_lr()
        optimizer.step()
        exponential.step(3)  # the deprecated epoch argument
    mistakes = _scheduler_mistakes(lib)
    return {"cyclic_scale_fn": np.array(repr(cyclic.state_dict().get("_scale_fn_custom", "absent"))),
            "warnings": np.array([str(w.message) for w in caught]),
            "errors": np.array([error_of(fn) for fn in mistakes.values()]), "mistakes": np.array(list(mistakes))}


def test_lr_scheduler_state_keys_warnings_and_errors_as_torch():
    """get_lr() outside step() warns, step(epoch) warns as PyTorch's, and the argument errors are
    PyTorch's, with its messages."""
    check("scheduler_api", _scheduler_api_program)
