"""Course programs ported with `import minigrad as torch`, round 7: each program runs on both
libraries (`program(lib)` with lib minigrad or torch) and its results are compared with PyTorch's
(live, or recorded in tests/fixtures/torch_reference/test_porting_round7.npz). Programs:
no-op views as new tensors (squeeze with nothing to squeeze, t() of a vector) while flatten of a
vector and contiguous() give the tensor itself, and flip/roll/pad/diff that move nothing as copies
(not the input); share_memory_() / is_shared() / Module.share_memory(); the optimizers' step count
as a 0-d float tensor (state['step'] prints tensor(3.)) through state_dict() and load_state_dict(),
print(optimizer) (integer defaults shown as 0), and a course's own Optimizer subclass using
self.state[p] (a defaultdict, as PyTorch's);
torch.optim.Rprop and torch.optim.ASGD (updates, state, resuming); the exception classes of bad
class targets (IndexError out of bounds, RuntimeError for a wrong dtype) and of float embedding
indices; grad_fn names (AddBackward0, AddmmBackward0, NllLossBackward0, MaxBackward1, ...);
LambdaLR's state_dict() with PyTorch's lr_lambdas entry, and loading it back."""

import copy
import multiprocessing

import numpy as np
import pytest
from parity import check_program, set_params
from torch_reference import TorchReference

import minigrad

torch_reference = TorchReference(__name__)


def check(key, program, rtol=1e-9):
    """program(minigrad)'s results against program(torch)'s (parity.check_program)."""
    check_program(torch_reference, key, program, rtol)


def caught(cases):
    """For each named case (a function), which of PyTorch's exception classes a ported handler
    catches: "IndexError", "RuntimeError", another class's name, or "returned"."""
    out = []
    for fn in cases.values():
        try:
            fn()
            out.append("returned")
        except IndexError:
            out.append("IndexError")
        except RuntimeError:
            out.append("RuntimeError")
        except Exception as exc:  # noqa: BLE001 (the class is the result)
            out.append(type(exc).__name__)
    return np.array(out)


# ------------------------------------------------------------------- no-op views and copies
def _no_op_views_program(lib):
    x, v, s = lib.ones(2, 3), lib.arange(3.0), lib.tensor(2.0)
    views = {"squeeze": x.squeeze(), "squeeze_dim": x.squeeze(1), "squeeze_dims": x.squeeze((0, 1)),
             "torch_squeeze": lib.squeeze(x), "t_vector": v.t(), "t_scalar": s.t()}
    itself = {"flatten_vector": (v.flatten(), v), "flatten_one_dim": (x.flatten(1, 1), x),
              "torch_flatten": (lib.flatten(v), v), "flatten_scalar": (s.flatten(), s),
              "contiguous": (x.contiguous(), x), "float": (x.float(), x)}
    copies = {"roll_zero": v.roll(0, 0), "roll_full_turn": v.roll(3, 0), "roll_flat": v.roll(0),
              "flip_scalar": s.flip(0), "pad_reflect_zero": lib.nn.functional.pad(x[None], (0, 0), mode="reflect"),
              "diff_zero": lib.diff(v, n=0)}
    sources = {"t_scalar": s, "t_vector": v}
    out = {"views_are_new": np.array([view is not sources.get(name, x) for name, view in views.items()]),
           "itself": np.array([got is want for got, want in itself.values()])}
    x.squeeze().add_(1)  # a view: writes through
    out["written_through"] = x
    for result in copies.values():
        result.add_(10)  # a copy: the input stays as it was
    out["inputs_kept"] = lib.cat([v, s.reshape(1), x.flatten()])
    out["copies"] = lib.cat([c.flatten() for c in copies.values()])
    return out


def test_no_op_views_and_copies_as_torch():
    check("no_op_views", _no_op_views_program)


# ------------------------------------------------------------------- share_memory_
def _share_memory_program(lib):
    x = lib.ones(2, 3)
    before = x.is_shared()
    returned = x.share_memory_()
    model = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.BatchNorm1d(2))
    fresh = model[0].weight.is_shared()
    return {"flags": np.array([before, returned is x, x.is_shared(), x[0].is_shared(), lib.ones(1).is_shared(),
                               fresh, model.share_memory() is model,
                               all(t.is_shared() for t in [*model.parameters(), *model.buffers()])])}


def test_share_memory_as_torch():
    check("share_memory", _share_memory_program)


def _train_in_child(x, model):
    x.add_(1)
    optimizer = minigrad.optim.SGD(model.parameters(), lr=0.5)
    model(minigrad.ones(2, 3)).sum().backward()
    optimizer.step()


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs the fork start method")
def test_share_memory_is_shared_with_forked_processes():
    """Hogwild: after share_memory_(), a forked process's in-place updates (and its optimizer's
    steps) are seen by the parent; without it they are not."""
    x, kept = minigrad.zeros(4), minigrad.zeros(4)
    model = minigrad.nn.Linear(3, 2)
    x.share_memory_()
    model.share_memory()
    weight = model.weight.detach().clone()
    child = multiprocessing.get_context("fork").Process(target=_train_in_child, args=(x, model))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    assert x.tolist() == [1.0] * 4 and kept.tolist() == [0.0] * 4
    np.testing.assert_allclose((weight - model.weight.detach()).numpy(), np.ones((2, 3)))  # lr 0.5, gradient 2
    with pytest.raises(RuntimeError, match="share_memory_: self is a view of another tensor"):
        minigrad.zeros(2, 3)[0].share_memory_()


# ------------------------------------------------------------------- optimizer step counts
_STEPPED = ("Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam")


def _train(lib, model, optimizer, steps):
    """steps of full-batch training of model (Linear(3, 2)) on a fixed regression problem."""
    x = lib.tensor(np.linspace(-1, 1, 12).reshape(4, 3), dtype=lib.float64)
    y = lib.tensor(np.linspace(0, 1, 8).reshape(4, 2), dtype=lib.float64)
    for _ in range(steps):
        optimizer.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        optimizer.step()


def _optimizer_step_program(lib):
    out = {}
    for name in _STEPPED:
        cls = getattr(lib.optim, name)
        model = set_params(lib.nn.Linear(3, 2).double(), lib, seed=1)
        optimizer = cls(model.parameters(), lr=0.05)
        _train(lib, model, optimizer, 3)
        # as saved to a file: PyTorch's load_state_dict takes the step tensors themselves, not copies
        saved = copy.deepcopy(optimizer.state_dict())
        saved_step = repr(saved["state"][0]["step"])
        step = optimizer.state[model.weight]["step"]
        resumed_model = set_params(lib.nn.Linear(3, 2).double(), lib, seed=1)
        with lib.no_grad():
            for p, q in zip(resumed_model.parameters(), model.parameters(), strict=True):
                p.copy_(q)
        resumed = cls(resumed_model.parameters(), lr=0.05)
        resumed.load_state_dict(saved)
        _train(lib, model, optimizer, 2)
        _train(lib, resumed_model, resumed, 2)
        out[name] = np.array([repr(step), saved_step, type(step).__name__, step.dim(),
                              step.dtype == lib.get_default_dtype(), str(step.device),
                              repr(resumed.state[resumed_model.weight]["step"]), len(resumed.state)])
        out[name + "_weights"] = lib.cat([p.detach().flatten() for p in [*model.parameters(),
                                                                          *resumed_model.parameters()]])
    return out


def test_optimizer_step_counts_are_tensors_as_torch():
    check("optimizer_steps", _optimizer_step_program)


def _optimizer_repr_program(lib):
    reprs = []
    for name in (*_STEPPED, "SGD", "Rprop", "ASGD"):
        model = lib.nn.Linear(3, 2)
        optimizer = getattr(lib.optim, name)(model.parameters(), lr=0.01)
        model(lib.ones(1, 3)).sum().backward()
        optimizer.step()
        reprs.append(repr(optimizer).replace(lib.__name__ + ".", ""))
    return {"reprs": np.array(reprs)}


def test_print_optimizer_as_torch():
    # PyTorch's defaults of 0 for weight_decay, momentum, dampening, ... are ints: printed as 0, not 0.0
    check("optimizer_reprs", _optimizer_repr_program)


def _custom_optimizer_program(lib):
    class MomentumSGD(lib.optim.Optimizer):
        """The course's own optimizer: per-parameter state made on first use of self.state[p]."""

        def __init__(self, params, lr=0.1, beta=0.9):
            super().__init__(params, dict(lr=lr, beta=beta))

        @lib.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]
                    if len(state) == 0:
                        state["velocity"] = lib.zeros_like(p)
                    state["velocity"].mul_(group["beta"]).add_(p.grad)
                    p.add_(state["velocity"], alpha=-group["lr"])

    w = lib.tensor([1.0, -2.0], dtype=lib.float64, requires_grad=True)
    unused = lib.zeros(1, requires_grad=True)
    optimizer = MomentumSGD([w, unused])
    looked_up = optimizer.state[unused]  # PyTorch's state is a defaultdict: an empty dict, not a KeyError
    for _ in range(3):
        optimizer.zero_grad()
        (w**2).sum().backward()
        optimizer.step()
    saved = optimizer.state_dict()["state"]
    return {"w": w.detach(), "state": np.array([type(optimizer.state).__name__, repr(looked_up), len(optimizer.state),
                                                repr(sorted(saved)), repr(saved[1])])}


def test_custom_optimizer_state_as_torch():
    check("custom_optimizer", _custom_optimizer_program)


def test_optimizer_loads_an_integer_step_count():
    # a checkpoint an older minigrad saved keeps the count as an int: still loaded, as a tensor
    model = minigrad.nn.Linear(2, 1)
    optimizer = minigrad.optim.Adam(model.parameters())
    model(minigrad.ones(1, 2)).sum().backward()
    optimizer.step()
    state = optimizer.state_dict()
    state["state"] = {i: {**entry, "step": 5} for i, entry in state["state"].items()}
    optimizer.load_state_dict(state)
    optimizer.step()
    assert repr(optimizer.state[model.weight]["step"]) == "tensor(6.)"


# ------------------------------------------------------------------- Rprop and ASGD
_RPROP_ASGD = {
    "rprop": ("Rprop", {}),
    "rprop_options": ("Rprop", {"lr": 0.1, "etas": (0.3, 1.5), "step_sizes": (1e-3, 0.2), "maximize": True}),
    "asgd": ("ASGD", {}),
    "asgd_averaging": ("ASGD", {"lr": 0.05, "t0": 2, "lambd": 0.01, "alpha": 0.5, "weight_decay": 0.1}),
}


def _rprop_asgd_program(lib):
    out = {}
    w0 = np.linspace(-1, 1, 6).reshape(2, 3)
    scale = np.arange(6.0).reshape(2, 3) - 2.5

    def loss_at(w, i):  # the sign of the cubic term flips each step: gradients change sign
        return ((w - 0.3) ** 2 * lib.tensor(scale, dtype=lib.float64)).sum() + (w**3).sum() * (-1) ** i

    for key, (name, kwargs) in _RPROP_ASGD.items():
        w = lib.tensor(w0, dtype=lib.float64, requires_grad=True)
        optimizer = getattr(lib.optim, name)([w], **kwargs)
        trajectory = []
        for i in range(8):
            optimizer.zero_grad()
            loss_at(w, i).backward()
            optimizer.step()
            trajectory.append(w.detach().clone())
            if i == 3:
                saved = copy.deepcopy(optimizer.state_dict())
        state = optimizer.state[w]
        group = optimizer.param_groups[0]
        out[key] = lib.stack(trajectory)
        out[key + "_state"] = np.array([*sorted(state), *(repr(state[k]) for k in sorted(state) if state[k].dim() == 0),
                                        *(f"{k}={group[k]}" for k in sorted(group) if k != "params")])
        out[key + "_tensors"] = lib.stack([state[k] for k in sorted(state) if state[k].dim()])
        resumed_w = lib.tensor(trajectory[3].numpy(), dtype=lib.float64, requires_grad=True)
        resumed = getattr(lib.optim, name)([resumed_w], **kwargs)
        resumed.load_state_dict(saved)
        for i in range(4, 8):
            resumed.zero_grad()
            loss_at(resumed_w, i).backward()
            resumed.step()
        out[key + "_resumed"] = resumed_w.detach()
    return out


def test_rprop_and_asgd_as_torch():
    check("rprop_asgd", _rprop_asgd_program)


# ------------------------------------------------------------------- bad targets and indices
def _bad_targets_program(lib):
    F = lib.nn.functional
    x = lib.tensor(np.linspace(-1, 1, 12).reshape(3, 4))
    embedding = lib.nn.Embedding(5, 2)
    cases = {
        "cross_entropy_above": lambda: F.cross_entropy(x, lib.tensor([0, 1, 7])),
        "cross_entropy_negative": lambda: F.cross_entropy(x, lib.tensor([0, -3, 1])),
        "cross_entropy_3d": lambda: F.cross_entropy(x.reshape(1, 4, 3), lib.tensor([[0, 1, 9]])),
        "cross_entropy_weighted": lambda: F.cross_entropy(x, lib.tensor([0, 1, 4]), weight=x[0].abs()),
        "nll_loss_above": lambda: F.nll_loss(x, lib.tensor([4, 1, 2])),
        "nn_cross_entropy": lambda: lib.nn.CrossEntropyLoss()(x, lib.tensor([0, 1, 4])),
        "cross_entropy_float_labels": lambda: F.cross_entropy(x, lib.tensor([0.0, 1.0, 2.0])),
        "cross_entropy_int32": lambda: F.cross_entropy(x, lib.tensor([0, 1, 2], dtype=lib.int32)),
        "nll_loss_float": lambda: F.nll_loss(x, lib.tensor([0.0, 1.0, 2.0])),
        "embedding_float": lambda: embedding(lib.tensor([1.0, 2.0])),
        "embedding_above": lambda: embedding(lib.tensor([1, 5])),
        "ignored": lambda: F.cross_entropy(x, lib.tensor([0, 1, -100])),
    }
    return {"caught": caught(cases), "names": np.array(list(cases)),
            "ignored": F.cross_entropy(x, lib.tensor([0, 1, -100]))}


def test_bad_targets_raise_torch_exception_classes():
    check("bad_targets", _bad_targets_program)


def test_bad_targets_still_raise_the_old_classes():
    # minigrad raised ValueError / TypeError before; handlers written for those still catch them
    F, x = minigrad.nn.functional, minigrad.zeros(3, 4)
    with pytest.raises(ValueError, match="cross_entropy: target 7 is out of range for 4 classes"):
        F.cross_entropy(x, minigrad.tensor([0, 1, 7]))
    with pytest.raises(ValueError, match="nll_loss: target 4 is out of range for 4 classes"):
        F.nll_loss(x, minigrad.tensor([4, 1, 2]))
    with pytest.raises(TypeError, match="cross_entropy: target must be int64"):
        F.cross_entropy(x, minigrad.tensor([0, 1, 2], dtype=minigrad.int32))
    with pytest.raises(TypeError, match="embedding: indices must be an int64 or int32 tensor"):
        minigrad.nn.Embedding(5, 2)(minigrad.tensor([1.0]))
    with pytest.raises(ValueError, match="probability target shape"):
        F.cross_entropy(x, minigrad.zeros(3))


# ------------------------------------------------------------------- grad_fn names
def _grad_fn_names_program(lib):
    F = lib.nn.functional
    x = lib.tensor(np.linspace(-1, 1, 12).reshape(3, 4), dtype=lib.float32, requires_grad=True)
    w = lib.tensor(np.linspace(0, 1, 8).reshape(4, 2), dtype=lib.float32)
    image = lib.tensor(np.linspace(-1, 1, 36).reshape(1, 1, 6, 6), dtype=lib.float32, requires_grad=True)
    made = {
        "add": x + 1, "add_tensors": x + x, "mul": x * 2, "sub": x - 1, "div": x / 2, "mm": x @ w,
        "sum": x.sum(), "mean": x.mean(), "relu": x.relu(), "F.relu": F.relu(x),
        "linear": lib.nn.Linear(4, 2)(x), "log_softmax": F.log_softmax(x, 1), "softmax": F.softmax(x, 1),
        "cross_entropy": F.cross_entropy(x, lib.tensor([0, 1, 2])), "nll_loss": F.nll_loss(x, lib.tensor([0, 1, 2])),
        "view": x.view(12), "reshape": x.reshape(12), "flatten": x.flatten(), "T": x.T, "permute": x.permute(1, 0),
        "conv2d": lib.nn.Conv2d(1, 1, 3)(image), "max_pool2d": F.max_pool2d(image, 2),
        "avg_pool2d": F.avg_pool2d(image, 2), "sigmoid": x.sigmoid(), "tanh": x.tanh(), "exp": x.exp(),
        "log": x.abs().log(), "log1p": x.abs().log1p(), "pow": x**2, "neg": -x, "cat": lib.cat([x, x]),
        "expand": x[:1].expand(3, 4), "clone": x.clone(), "abs": x.abs(), "sqrt": x.abs().sqrt(),
        "where": lib.where(x > 0, x, 0.0), "gelu": F.gelu(x), "leaky_relu": F.leaky_relu(x),
        "batch_norm": lib.nn.BatchNorm1d(4)(x), "layer_norm": lib.nn.LayerNorm(4)(x),
        "double": x.double(), "max": x.max(), "max_dim": x.max(1).values, "min": x.min(),
        "min_dim": lib.min(x, 0)[0], "maximum": lib.maximum(x, w.t()[:1]),
    }
    nodes = {name: y.grad_fn for name, y in made.items()}
    return {"names": np.array([node.name() for node in nodes.values()]),
            "reprs": np.array([repr(made["add"])[-25:], repr(made["mul"].sum())[-25:]])}


def test_grad_fn_names_as_torch():
    check("grad_fn_names", _grad_fn_names_program)


# ------------------------------------------------------------------- LambdaLR's state_dict
class _Warmup:
    """A callable lr_lambda with state (PyTorch saves such an object's attributes)."""

    def __init__(self, steps):
        self.steps = steps

    def __call__(self, epoch):
        return min(1.0, (epoch + 1) / self.steps)


def _lambda_lr_program(lib):
    def run(warmup):
        model = lib.nn.Linear(2, 1)
        optimizer = lib.optim.SGD([{"params": [model.weight]}, {"params": [model.bias], "lr": 0.5}], lr=0.1)
        return optimizer, lib.optim.lr_scheduler.LambdaLR(optimizer, [lambda epoch: 0.9**epoch, warmup])

    optimizer, scheduler = run(_Warmup(4))
    for _ in range(3):
        optimizer.step()
        scheduler.step()
    saved = scheduler.state_dict()
    resumed_optimizer, resumed = run(_Warmup(10))
    resumed.load_state_dict(saved)
    lrs = []
    for _ in range(3):
        for opt, sched in ((optimizer, scheduler), (resumed_optimizer, resumed)):
            opt.step()
            sched.step()
            lrs.append(sched.get_last_lr())
    return {"keys": np.array(sorted(k for k in saved if k != "_get_lr_called_within_step")),
            "lr_lambdas": np.array([repr(entry) for entry in saved["lr_lambdas"]]),
            "restored": np.array([resumed.lr_lambdas[1].steps, resumed.last_epoch, callable(resumed.lr_lambdas[0])]),
            "lrs": np.array(lrs)}


def test_lambda_lr_state_dict_as_torch():
    check("lambda_lr", _lambda_lr_program)
