"""minigrad.func (torch.func: functional_call, stack_module_state, grad, grad_and_value, vjp, jvp,
jacrev, jacfwd, hessian, vmap) and minigrad.utils.checkpoint, against PyTorch's (live, or
recorded in tests/fixtures/torch_reference/test_func.npz) on the programs of PyTorch's own
tutorials: per-sample gradients, model ensembling, Jacobians and Hessians."""

import numpy as np
import pytest
from parity import check_program, error_of, set_params
from torch_reference import TorchReference

import minigrad
from minigrad.func import functional_call, grad, jacrev, vmap

torch_reference = TorchReference(__name__)


def _mlp(lib, seed):
    nn = lib.nn
    return set_params(nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3)).double(), lib, seed)


def _per_sample_gradients_program(lib):
    """PyTorch's per-sample-gradients tutorial: vmap(grad(loss)) over the batch with
    functional_call, against the loop of one backward per sample."""
    F = lib.func
    model = _mlp(lib, 1)
    rng = np.random.default_rng(2)
    data = lib.tensor(rng.standard_normal((5, 4)))
    targets = lib.tensor(rng.integers(0, 3, 5))
    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def compute_loss(params, buffers, sample, target):
        predictions = F.functional_call(model, (params, buffers), (sample.unsqueeze(0),))
        return lib.nn.functional.cross_entropy(predictions, target.unsqueeze(0))

    per_sample = F.vmap(F.grad(compute_loss), in_dims=(None, None, 0, 0))(params, buffers, data, targets)
    loop = {}
    for i in range(5):
        model.zero_grad()
        lib.nn.functional.cross_entropy(model(data[i : i + 1]), targets[i : i + 1]).backward()
        for name, p in model.named_parameters():
            loop.setdefault(name, []).append(p.grad.clone())
    made = {f"vmap_{k}": v for k, v in per_sample.items()}
    made.update({f"loop_{k}": lib.stack(v) for k, v in loop.items()})
    return made


def _ensemble_program(lib):
    """PyTorch's model-ensembling tutorial: stack_module_state, then vmap over the stacked
    parameters with functional_call, the same minibatch for every model and one per model."""
    F = lib.func
    models = [_mlp(lib, seed) for seed in (3, 4, 5)]
    params, buffers = F.stack_module_state(models)
    base = models[0]

    def fmodel(params, buffers, x):
        return F.functional_call(base, (params, buffers), (x,))

    rng = np.random.default_rng(6)
    minibatch = lib.tensor(rng.standard_normal((2, 4)))
    minibatches = lib.tensor(rng.standard_normal((3, 2, 4)))
    same = F.vmap(fmodel, in_dims=(0, 0, None))(params, buffers, minibatch)
    different = F.vmap(fmodel)(params, buffers, minibatches)
    total = same.sum() + (different**2).sum()
    total.backward()
    return {"same": same, "different": different, "grad_weight": params["0.weight"].grad,
            "direct": lib.stack([m(minibatch) for m in models])}


def _transforms_program(lib):
    F = lib.func
    rng = np.random.default_rng(7)
    x, y = (lib.tensor(rng.standard_normal(3)) for _ in range(2))

    def f(a, b):
        return (a.sin() * b).sum() + (a * a * b[0]).sum()

    def g(a):
        return lib.stack([a[0] * a[1], a.exp().sum(), (a**3)[2]])

    made = {"grad": F.grad(f)(x, y)}
    ga, gb = F.grad(f, argnums=(0, 1))(x, y)
    made.update(grad_a=ga, grad_b=gb)
    (value_grad, (value, aux)) = F.grad_and_value(lambda a: (f(a, y), a * 2), has_aux=True)(x)
    made.update(value_grad=value_grad, value=value, aux=aux)
    made["grad_grad"] = F.grad(lambda a: F.grad(lambda b: (b**4).sum() * b[0])(a).sum())(x)
    made["jacrev"] = F.jacrev(g)(x)
    made["jacfwd"] = F.jacfwd(g)(x)
    ja, jb = F.jacrev(f, argnums=(0, 1))(x, y)
    made.update(jacrev_a=ja, jacrev_b=jb)
    made["hessian"] = F.hessian(f)(x, y)
    out, vjp_fn = F.vjp(g, x)
    (made["vjp"],) = vjp_fn(lib.tensor(rng.standard_normal(3)))
    made["vjp_out"] = out
    out, tangent_out = F.jvp(g, (x,), (lib.tensor(rng.standard_normal(3)),))
    made.update(jvp_out=out, jvp=tangent_out)
    made["vmap_out_dims"] = F.vmap(lambda a, b: a * b, in_dims=(1, None), out_dims=1)(
        lib.tensor(rng.standard_normal((2, 4))), lib.tensor(rng.standard_normal(2)))
    pairs = F.vmap(lambda a: (a.sum(), a * 2))(lib.tensor(rng.standard_normal((3, 2))))
    made.update(vmap_pair_sum=pairs[0], vmap_pair_twice=pairs[1])
    return made


def _closure_program(lib):
    """grad through a closed-over parameter stays on the tape: a MAML-style inner gradient whose
    outer gradient reaches the parameter."""
    rng = np.random.default_rng(8)
    w = lib.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    x = lib.tensor(rng.standard_normal((4, 3)))
    inner = lib.func.grad(lambda v: ((x @ (w * v)) ** 2).sum())(lib.ones(3, 2, dtype=lib.float64))
    outer = (inner**2).sum()
    outer.backward()
    return {"inner": inner, "w_grad": w.grad}


@pytest.mark.parametrize("name, program", [("per_sample_gradients", _per_sample_gradients_program),
                                           ("ensemble", _ensemble_program), ("transforms", _transforms_program),
                                           ("closure", _closure_program)])
def test_func_as_torch(name, program):
    check_program(torch_reference, name, program, rtol=1e-9)


def test_results_off_the_tape_unless_connected_and_bad_arguments():
    x = minigrad.tensor([1.0, 2.0], dtype=minigrad.float64)
    g = grad(lambda t: (t**2).sum())(x)
    assert not g.requires_grad and not x.requires_grad
    np.testing.assert_allclose(g.numpy(), [2.0, 4.0])
    assert "scalar Tensor" in error_of(lambda: grad(lambda t: t * 2)(x))
    assert "argnums" in error_of(lambda: grad(lambda t: t.sum(), argnums=3)(x))
    assert "same size" in error_of(lambda: vmap(lambda a, b: a + b)(minigrad.ones(2, 3), minigrad.ones(3, 3)))
    assert "compatible" in error_of(lambda: vmap(lambda a, b: a + b, in_dims=(0,))(x, x))
    model = minigrad.nn.Linear(2, 2)
    # a name that is no parameter or buffer: an attribute for the call (PyTorch's), unless strict
    assert error_of(lambda: functional_call(model, {"nope": x}, (x.float(),))) == "" and not hasattr(model, "nope")
    assert "Unexpected key(s): 'nope'" in error_of(lambda: functional_call(model, {"nope": x}, (x,), strict=True))
    assert "Missing key(s): 'bias'" in error_of(
        lambda: functional_call(model, {"weight": minigrad.ones(2, 2)}, (minigrad.ones(2),), strict=True))
    # the module's own parameters are back after the call, even when it raises
    weight = model.weight
    error_of(lambda: functional_call(model, {"weight": minigrad.ones(3, 3)}, (minigrad.ones(2),)))
    assert model.weight is weight
    assert jacrev(lambda t: t * 3)(x).shape == (2, 2)


def test_functional_call_ties_weights():
    model = minigrad.nn.Sequential(minigrad.nn.Linear(2, 2, bias=False), minigrad.nn.Linear(2, 2, bias=False))
    model[1].weight = model[0].weight  # tied
    twice = minigrad.eye(2) * 2
    x = minigrad.tensor([1.0, 3.0])
    np.testing.assert_allclose(functional_call(model, {"0.weight": twice}, (x,)).detach().numpy(), [4.0, 12.0])
    untied = functional_call(model, {"0.weight": twice}, (x,), tie_weights=False).detach().numpy()
    np.testing.assert_allclose(untied, (model[1].weight.detach().numpy() @ (2 * x.numpy())))


def _checkpoint_program(lib):
    """A block with dropout run through checkpoint and checkpoint_sequential: the same outputs
    and gradients as without (the recomputation draws the same dropout mask)."""
    from minigrad.utils.checkpoint import checkpoint, checkpoint_sequential  # noqa: F401 (minigrad's names)

    nn = lib.nn
    block = set_params(nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 4), nn.Tanh()).double(), lib, 9)
    rng = np.random.default_rng(10)
    x = lib.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    made = {}
    for mode in ("plain", "checkpoint", "sequential"):
        block.zero_grad()
        x.grad = None
        h = x * 2
        if mode == "plain":
            y = block(h)
        elif mode == "checkpoint":
            y = lib.utils.checkpoint.checkpoint(block, h, use_reentrant=False)
        else:
            y = lib.utils.checkpoint.checkpoint_sequential(block, 2, h, use_reentrant=False)
        (y**2).sum().backward()
        made.update({f"{mode}_y": y, f"{mode}_x_grad": x.grad, f"{mode}_w_grad": block[0].weight.grad})
    return made


def test_checkpoint_as_torch():
    check_program(torch_reference, "checkpoint", _checkpoint_program, rtol=1e-12)


def test_checkpoint_recomputes_dropout_with_the_same_mask():
    from minigrad.utils.checkpoint import checkpoint

    minigrad.manual_seed(0)
    layer = minigrad.nn.Linear(5, 5).double()
    x = minigrad.tensor(np.arange(10.0).reshape(2, 5) / 10, requires_grad=True)
    drop = minigrad.nn.Dropout(0.5)
    grads = []
    for use in (False, True):
        minigrad.manual_seed(1)
        layer.zero_grad()
        y = checkpoint(lambda t: drop(layer(t)), x, use_reentrant=False) if use else drop(layer(x))
        y.sum().backward()
        grads.append(layer.weight.grad.numpy().copy())
    np.testing.assert_array_equal(grads[0], grads[1])
    # nothing requiring grad among the arguments: the block simply runs, its parameters still learn
    layer.zero_grad()
    checkpoint(layer, minigrad.ones(1, 5, dtype=minigrad.float64), use_reentrant=True).sum().backward()
    assert layer.weight.grad is not None
