"""More of PyTorch's API that course code uses: F.affine_grid and F.grid_sample (the Spatial
Transformer tutorial), optim.LBFGS (neural style transfer), scatter with reduce=, the size= forms
of the creation functions, nn.Bilinear / F.bilinear, nn.RReLU / F.rrelu, utils.data.BatchSampler,
F.embedding's full signature (nn.Embedding(max_norm=)), backward(inputs=) and bicubic interpolate.

Values, gradients and optimizer trajectories against PyTorch (live or recorded), float64 finite
differences for the new differentiable ops, statistics for the random ones, bad input."""

import itertools
import warnings

import numpy as np
import pytest
from gradcheck_utils import assert_grad_close, numerical_grad
from torch_reference import TorchReference, as_array, assert_matches

import minigrad
from minigrad import nn
from minigrad.nn import functional as F
from minigrad.utils.data import BatchSampler, SequentialSampler

torch_reference = TorchReference(__name__)

rng = np.random.default_rng(0)
IMAGE = rng.standard_normal((2, 3, 5, 6))
GRID = rng.uniform(-1.3, 1.3, (2, 4, 3, 2))  # reaches outside the image on every side
GRID_OUT = rng.standard_normal((2, 3, 4, 3))  # a gradient for grid_sample's output
VOLUME = rng.standard_normal((1, 2, 3, 4, 5))
GRID3 = rng.uniform(-1.3, 1.3, (1, 2, 3, 2, 3))
THETA = rng.standard_normal((2, 2, 3))
THETA3 = rng.standard_normal((2, 3, 4))


# --- grid_sample and affine_grid --------------------------------------------------------------

GRID_CASES = list(itertools.product(("bilinear", "nearest", "bicubic"), ("zeros", "border", "reflection"),
                                    (False, True)))


def _grid_sample(lib, image, grid, mode, padding_mode, align_corners):
    x = lib.tensor(image, requires_grad=True)
    g = lib.tensor(grid, requires_grad=True)
    out = lib.nn.functional.grid_sample(x, g, mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    weights = lib.tensor(np.random.default_rng(1).standard_normal(tuple(out.shape)))
    (out * weights).sum().backward()
    return {"out": out, "grad_input": x.grad, "grad_grid": g.grad}


@pytest.mark.parametrize(("mode", "padding_mode", "align_corners"), GRID_CASES)
def test_grid_sample_matches_torch(mode, padding_mode, align_corners):
    key = f"grid_sample/{mode}/{padding_mode}/{align_corners}"
    want = torch_reference(key, lambda torch: _grid_sample(torch, IMAGE, GRID, mode, padding_mode, align_corners))
    got = _grid_sample(minigrad, IMAGE, GRID, mode, padding_mode, align_corners)
    for name in want:
        assert_matches(as_array(got[name]), want[name], f"{key} {name}")
    assert np.any(want["grad_input"] != 0) and (mode == "nearest") == (not np.any(want["grad_grid"]))


EDGE_GRID = np.array([-1.2, -1.0, -0.6, 0.0, 0.2, 0.6, 1.0, 1.2])[rng.integers(0, 8, (2, 4, 3, 2))]


@pytest.mark.parametrize(("mode", "padding_mode", "align_corners"),
                         [case for case in GRID_CASES if case[0] != "nearest"])
def test_grid_sample_on_pixel_centres_and_borders_matches_torch(mode, padding_mode, align_corners):
    # points on the borders and on pixel centres: the kinks, where PyTorch's one-sided gradients apply
    key = f"grid_sample_edges/{mode}/{padding_mode}/{align_corners}"
    want = torch_reference(key, lambda torch: _grid_sample(torch, IMAGE, EDGE_GRID, mode, padding_mode, align_corners))
    got = _grid_sample(minigrad, IMAGE, EDGE_GRID, mode, padding_mode, align_corners)
    for name in want:
        assert_matches(as_array(got[name]), want[name], f"{key} {name}")


@pytest.mark.parametrize(("mode", "padding_mode"), [("bilinear", "zeros"), ("bilinear", "border"),
                                                    ("bilinear", "reflection"), ("nearest", "zeros")])
def test_grid_sample_volumetric_matches_torch(mode, padding_mode):
    key = f"grid_sample_3d/{mode}/{padding_mode}"
    want = torch_reference(key, lambda torch: _grid_sample(torch, VOLUME, GRID3, mode, padding_mode, False))
    got = _grid_sample(minigrad, VOLUME, GRID3, mode, padding_mode, False)
    for name in want:
        assert_matches(as_array(got[name]), want[name], f"{key} {name}")


def test_grid_sample_float32_on_device_matches_torch(device):
    def run(lib, T):
        return lib.nn.functional.grid_sample(T(IMAGE.astype(np.float32)), T(GRID.astype(np.float32)),
                                             align_corners=False)

    want = torch_reference("grid_sample/float32", lambda torch: {"out": run(torch, torch.tensor)})["out"]
    got = run(minigrad, lambda a: minigrad.tensor(a, device=device))
    assert got.device == device
    assert_matches(as_array(got), want, "grid_sample float32")


@pytest.mark.parametrize(("mode", "padding_mode"), [("bilinear", "zeros"), ("bilinear", "reflection"),
                                                    ("bicubic", "border")])
def test_grid_sample_gradients_by_finite_differences(mode, padding_mode):
    image, grid = IMAGE[:1, :2].copy(), GRID[:1, :2].copy()
    weights = np.random.default_rng(2).standard_normal((1, 2, 2, 3))

    def loss() -> float:
        out = F.grid_sample(minigrad.tensor(image), minigrad.tensor(grid), mode=mode, padding_mode=padding_mode,
                            align_corners=False)
        return float((out * minigrad.tensor(weights)).sum())

    x, g = minigrad.tensor(image, requires_grad=True), minigrad.tensor(grid, requires_grad=True)
    out = F.grid_sample(x, g, mode=mode, padding_mode=padding_mode, align_corners=False)
    (out * minigrad.tensor(weights)).sum().backward()
    assert_grad_close(x.grad.numpy(), numerical_grad(loss, image), name="input")
    assert_grad_close(g.grad.numpy(), numerical_grad(loss, grid), tol=1e-5, name="grid")


def _affine_grid(lib, theta, size, align_corners):
    t = lib.tensor(theta, requires_grad=True)
    grid = lib.nn.functional.affine_grid(t, size, align_corners=align_corners)
    (grid * lib.tensor(np.random.default_rng(1).standard_normal(tuple(grid.shape)), dtype=grid.dtype)).sum().backward()
    return {"grid": grid, "grad_theta": t.grad}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("size", [(2, 3, 4, 5), (2, 1, 1, 3), (2, 1, 2, 3, 4)])
@pytest.mark.parametrize("align_corners", [False, True])
def test_affine_grid_matches_torch(dtype, size, align_corners):
    theta = (THETA if len(size) == 4 else THETA3).astype(dtype)
    key = f"affine_grid/{dtype}/{size}/{align_corners}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the unit-size warning, tested below
        want = torch_reference(key, lambda torch: _affine_grid(torch, theta, size, align_corners))
        got = _affine_grid(minigrad, theta, size, align_corners)
    for name in want:
        assert_matches(as_array(got[name]), want[name], f"{key} {name}")


def test_spatial_transformer_identity_reproduces_the_image():
    # the STN tutorial's pair: an identity theta samples every pixel at its centre
    theta = minigrad.tensor(np.tile(np.array([[1.0, 0, 0], [0, 1.0, 0]]), (2, 1, 1)), requires_grad=True)
    image = minigrad.tensor(IMAGE)
    grid = F.affine_grid(theta, image.shape, align_corners=False)
    out = F.grid_sample(image, grid, align_corners=False)
    np.testing.assert_allclose(out.detach().numpy(), IMAGE, rtol=0, atol=1e-12)
    out.sum().backward()
    assert theta.grad.shape == (2, 2, 3) and np.all(np.isfinite(theta.grad.numpy()))


def test_grid_sample_and_affine_grid_warn_when_align_corners_is_left_out():
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        grid = F.affine_grid(minigrad.tensor(THETA), (2, 3, 5, 6))
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        F.grid_sample(minigrad.tensor(IMAGE), grid)
    with pytest.warns(UserWarning, match="unit-size grids"):
        F.affine_grid(minigrad.tensor(THETA), (2, 3, 1, 6), align_corners=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.grid_sample(minigrad.tensor(IMAGE), grid, align_corners=True)


def test_grid_sample_empty_batch_channels_and_output():
    for image, grid, shape in ((IMAGE[:0], GRID[:0], (0, 3, 4, 3)), (IMAGE[:, :0], GRID, (2, 0, 4, 3)),
                               (IMAGE, GRID[:, :0], (2, 3, 0, 3))):
        assert F.grid_sample(minigrad.tensor(image), minigrad.tensor(grid), align_corners=False).shape == shape


def test_grid_sample_non_finite_grid_reads_zeros_without_crashing():
    grid = np.array([[[[np.nan, 0.0], [np.inf, 0.0], [1e30, -1e30]]]])
    out = F.grid_sample(minigrad.tensor(IMAGE[:1]), minigrad.tensor(grid), align_corners=False)
    assert out.shape == (1, 3, 1, 3) and np.all(out.numpy()[..., 1:] == 0)


def _grid_bad(**kw):
    args = {"input": minigrad.tensor(IMAGE), "grid": minigrad.tensor(GRID), "align_corners": False, **kw}
    return lambda: F.grid_sample(**args)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (_grid_bad(mode="area"), ValueError, "expected mode to be 'bilinear', 'nearest' or 'bicubic'"),
        (_grid_bad(padding_mode="wrap"), ValueError, "expected padding_mode to be 'zeros', 'border', or"),
        (_grid_bad(grid=minigrad.tensor(GRID[:1])), RuntimeError, "same batch size"),
        (_grid_bad(grid=minigrad.tensor(GRID[..., :1])), RuntimeError, "size 2 in last dimension"),
        (_grid_bad(grid=minigrad.tensor(GRID3)), RuntimeError, "same number of dimensions"),
        (_grid_bad(input=minigrad.tensor(IMAGE[0])), RuntimeError, "4D or 5D input"),
        (_grid_bad(grid=minigrad.tensor(GRID, dtype=minigrad.float32)), RuntimeError, "same dtype"),
        (_grid_bad(input=minigrad.tensor(IMAGE[:, :, :0])), RuntimeError, "non-empty spatial dimensions"),
        (_grid_bad(input=minigrad.tensor(IMAGE.astype(np.int64))), TypeError, "floating-point"),
        (_grid_bad(grid=GRID), TypeError, "expected a Tensor"),
        (lambda: F.grid_sample(minigrad.tensor(VOLUME), minigrad.tensor(GRID3), mode="bicubic", align_corners=False),
         RuntimeError, "bicubic interpolation only supports 4D input"),
        (lambda: F.affine_grid(minigrad.tensor(THETA.astype(np.int64)), (2, 1, 3, 3), align_corners=False),
         ValueError, "Expected theta to have floating point type"),
        (lambda: F.affine_grid(minigrad.tensor(THETA), (2, 1, 3), align_corners=False),
         NotImplementedError, "only supports 4D and 5D sizes"),
        (lambda: F.affine_grid(minigrad.tensor(THETA3), (2, 1, 3, 3), align_corners=False),
         ValueError, "shape Nx2x3"),
        (lambda: F.affine_grid(minigrad.tensor(THETA), (2, 1, 0, 3), align_corners=False),
         ValueError, "non-zero, positive output size"),
        (lambda: F.affine_grid(minigrad.tensor(THETA), (3, 1, 2, 3), align_corners=False),
         RuntimeError, "theta holds 2 matrices"),
    ],
)
def test_grid_functions_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


# --- LBFGS ------------------------------------------------------------------------------------

LSQ_A = rng.standard_normal((20, 3))
LSQ_B = rng.standard_normal((20, 1))
LBFGS_CASES = {
    "rosenbrock/strong_wolfe": ("rosenbrock", dict(line_search_fn="strong_wolfe")),
    "rosenbrock/strong_wolfe/history3": ("rosenbrock", dict(line_search_fn="strong_wolfe", history_size=3, lr=0.5,
                                                            max_iter=7)),
    "rosenbrock/fixed_step": ("rosenbrock", dict(history_size=3, lr=0.5, max_iter=7)),
    "least_squares/fixed_step": ("least_squares", dict()),
    "least_squares/strong_wolfe": ("least_squares", dict(line_search_fn="strong_wolfe", max_iter=30)),
}


def _problem(lib, name, dtype):
    """(parameters, loss function) of a small problem, float64 unless dtype."""
    if name == "rosenbrock":
        x = lib.tensor(np.array([-1.5, 2.0]), dtype=dtype, requires_grad=True)
        return [x], lambda: (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2
    w = lib.tensor(np.zeros((3, 1)), dtype=dtype, requires_grad=True)
    c = lib.tensor(np.zeros(1), dtype=dtype, requires_grad=True)
    a, b = lib.tensor(LSQ_A, dtype=dtype), lib.tensor(LSQ_B, dtype=dtype)
    return [w, c], lambda: ((a @ w + c - b) ** 2).mean() + 0.1 * (w**4).sum()


def _lbfgs_run(lib, problem, options, dtype, steps=3):
    params, f = _problem(lib, problem, getattr(lib, dtype))
    opt = lib.optim.LBFGS(params, **options)

    def closure():
        opt.zero_grad()
        loss = f()
        loss.backward()
        return loss

    trajectory, losses = [], []
    for _ in range(steps):
        losses.append(float(opt.step(closure).detach()))
        trajectory.append(np.concatenate([p.detach().numpy().ravel() for p in params]))
    state = opt.state[params[0]]
    return {"trajectory": np.array(trajectory), "losses": np.array(losses),
            "counts": np.array([state["func_evals"], state["n_iter"]])}


@pytest.mark.parametrize("case", sorted(LBFGS_CASES))
def test_lbfgs_follows_torchs_trajectory(case):
    problem, options = LBFGS_CASES[case]
    want = torch_reference(f"lbfgs/{case}", lambda torch: _lbfgs_run(torch, problem, options, "float64"))
    got = _lbfgs_run(minigrad, problem, options, "float64")
    np.testing.assert_array_equal(got["counts"], want["counts"])
    np.testing.assert_allclose(got["trajectory"], want["trajectory"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(got["losses"], want["losses"], rtol=1e-10, atol=1e-12)
    assert np.abs(np.diff(want["trajectory"], axis=0)).max() > 1e-3 or want["counts"][1] > 3  # it moved


def test_lbfgs_float32_follows_torch():
    want = torch_reference("lbfgs/least_squares/float32",
                           lambda torch: _lbfgs_run(torch, "least_squares", {}, "float32"))
    got = _lbfgs_run(minigrad, "least_squares", {}, "float32")
    assert got["trajectory"].dtype == np.float32
    np.testing.assert_allclose(got["trajectory"], want["trajectory"], rtol=0, atol=1e-5)


def test_lbfgs_minimises_rosenbrock_and_returns_the_first_loss():
    params, f = _problem(minigrad, "rosenbrock", minigrad.float64)
    opt = minigrad.optim.LBFGS(params, max_iter=100, line_search_fn="strong_wolfe")
    calls = []

    def closure():
        opt.zero_grad()
        loss = f()
        loss.backward()
        calls.append(float(loss))
        return loss

    first = opt.step(closure)
    assert float(first) == calls[0] and len(calls) > 1 and calls[-1] < 1e-9
    np.testing.assert_allclose(params[0].detach().numpy(), [1.0, 1.0], atol=1e-5)
    with minigrad.no_grad():
        params[0].copy_(minigrad.tensor([1.0, 1.0]))
    before = len(calls)
    assert float(opt.step(closure)) == 0.0  # at the optimum: one evaluation, tolerance_grad stops it
    assert len(calls) - before == 1


def test_lbfgs_state_dict_round_trip_continues_alike():
    params, f = _problem(minigrad, "least_squares", minigrad.float64)
    opt = minigrad.optim.LBFGS(params, max_iter=3, history_size=2)

    def step(o, ps):
        def closure():
            o.zero_grad()
            loss = ((minigrad.tensor(LSQ_A) @ ps[0] + ps[1] - minigrad.tensor(LSQ_B)) ** 2).mean()
            loss.backward()
            return loss

        o.step(closure)

    step(opt, params)
    saved = opt.state_dict()
    clones = [p.detach().clone().requires_grad_(True) for p in params]
    other = minigrad.optim.LBFGS(clones, max_iter=3, history_size=2)
    other.load_state_dict(saved)
    step(opt, params)
    step(other, clones)
    for p, q in zip(params, clones, strict=True):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda p: minigrad.optim.LBFGS(p, lr=-1.0), ValueError, "Invalid learning rate"),
        (lambda p: minigrad.optim.LBFGS(p, lr=minigrad.ones(2)), ValueError, "1-element"),
        (lambda p: minigrad.optim.LBFGS(p, line_search_fn="armijo"), ValueError, "strong_wolfe"),
        (lambda p: minigrad.optim.LBFGS([{"params": p[:1]}, {"params": p[1:]}]), ValueError, "parameter groups"),
        (lambda p: minigrad.optim.LBFGS(p).add_param_group({"params": [minigrad.zeros(1, requires_grad=True)]}),
         ValueError, "parameter groups"),
        (lambda p: minigrad.optim.LBFGS(p).step(), TypeError, "closure"),
        (lambda p: minigrad.optim.LBFGS(p).step(None), TypeError, "closure"),
    ],
)
def test_lbfgs_bad_input(call, error, match):
    params = [minigrad.zeros(2, requires_grad=True), minigrad.zeros(1, requires_grad=True)]
    with pytest.raises(error, match=match):
        call(params)


# --- scatter with reduce, creation with size= --------------------------------------------------

SCATTER_IN = rng.standard_normal((3, 4))
SCATTER_SRC = rng.standard_normal((2, 4))
SCATTER_INDEX = np.array([[0, 1, 2, 0], [0, 2, 2, 1]])  # repeated places accumulate

SCATTER_CASES = {
    "scatter(add)": lambda lib, T: lib.scatter(T(SCATTER_IN), 0, T(SCATTER_INDEX), T(SCATTER_SRC), reduce="add"),
    "scatter(multiply)": lambda lib, T: T(SCATTER_IN).scatter(0, T(SCATTER_INDEX), T(SCATTER_SRC), reduce="multiply"),
    "scatter(value, add)": lambda lib, T: T(SCATTER_IN).scatter(1, T(SCATTER_INDEX[:, :2]), 2.5, reduce="add"),
    "scatter(value=, multiply)": lambda lib, T: lib.scatter(T(SCATTER_IN), 0, T(SCATTER_INDEX), value=-2.0,
                                                            reduce="multiply"),
    "scatter_(add)": lambda lib, T: T(SCATTER_IN).scatter_(0, T(SCATTER_INDEX), T(SCATTER_SRC), reduce="add"),
    "scatter_(multiply, int)": lambda lib, T: T(np.arange(12).reshape(3, 4)).scatter_(
        0, T(SCATTER_INDEX), T(np.full((2, 4), 3)), reduce="multiply"),
    "scatter(value=)": lambda lib, T: T(SCATTER_IN).scatter(0, T(SCATTER_INDEX[:1]), value=7.0),
    "zeros(size=)": lambda lib, T: lib.zeros(size=(2, 3)),
    "ones(size=, dtype)": lambda lib, T: lib.ones(size=[2], dtype=lib.int64),
    "empty(size=).shape": lambda lib, T: np.array(lib.empty(size=(3, 1)).shape),
    "full(size=, fill_value=)": lambda lib, T: lib.full(size=(2, 2), fill_value=1.5),
    "rand(size=).shape": lambda lib, T: np.array(lib.rand(size=(2, 5)).shape),
    "randn(size=, dtype).dtype": lambda lib, T: lib.randn(size=(1,), dtype=lib.float64).numpy().dtype.str,
    "zeros_like(device=)": lambda lib, T: lib.zeros_like(T(SCATTER_IN), device="cpu"),
    "full_like(device=)": lambda lib, T: lib.full_like(T(SCATTER_INDEX), 4, device="cpu"),
}


@pytest.mark.parametrize("name", sorted(SCATTER_CASES))
def test_scatter_reduce_and_creation_match_torch(name):
    fn = SCATTER_CASES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scatter's deprecation warning, tested below
        want = torch_reference(f"value/{name}", lambda torch: {"result": as_array(fn(torch, torch.tensor))})["result"]
        got = as_array(fn(minigrad, minigrad.tensor))
    assert_matches(got, want, name)


def test_scatter_reduce_warns_with_a_tensor_src_only():
    x, index = minigrad.tensor(SCATTER_IN), minigrad.tensor(SCATTER_INDEX)
    with pytest.warns(UserWarning, match="reduce argument of torch.scatter with Tensor src is deprecated"):
        x.scatter(0, index, minigrad.tensor(SCATTER_SRC), reduce="add")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x.scatter(0, index, 2.0, reduce="add")
        x.scatter(0, index, minigrad.tensor(SCATTER_SRC))


@pytest.mark.parametrize("reduce", ["add", "multiply"])
def test_scatter_reduce_gradients_by_finite_differences(reduce):
    x, src = SCATTER_IN.copy(), SCATTER_SRC.copy()
    index = minigrad.tensor(SCATTER_INDEX)
    weights = minigrad.tensor(np.random.default_rng(3).standard_normal((3, 4)))

    def loss() -> float:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return float((minigrad.tensor(x).scatter(0, index, minigrad.tensor(src), reduce=reduce) * weights).sum())

    tx, ts = minigrad.tensor(x, requires_grad=True), minigrad.tensor(src, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (tx.scatter(0, index, ts, reduce=reduce) * weights).sum().backward()
    assert_grad_close(tx.grad.numpy(), numerical_grad(loss, x), name="input")
    assert_grad_close(ts.grad.numpy(), numerical_grad(loss, src), name="src")


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: minigrad.ones(3, 4).scatter(0, minigrad.tensor(SCATTER_INDEX), 1.0, reduce="sum"), RuntimeError,
         "either add or multiply"),
        (lambda: minigrad.ones(3, 4).scatter_(0, minigrad.tensor(SCATTER_INDEX), 1.0, reduce="mean"), RuntimeError,
         "either add or multiply"),
        (lambda: minigrad.ones(3, 4).scatter(0, minigrad.tensor(SCATTER_INDEX)), TypeError, "exactly one of src"),
        (lambda: minigrad.ones(3, 4).scatter(0, minigrad.tensor(SCATTER_INDEX), 1.0, value=2.0), TypeError,
         "exactly one of src"),
        (lambda: minigrad.zeros(2, size=(2,)), TypeError, "multiple values for argument 'size'"),
        (lambda: minigrad.randn(2, 3, size=(2, 3)), TypeError, "multiple values for argument 'size'"),
        (lambda: minigrad.ones(size=(2, -1)), ValueError, "negative dimension"),
        # no size at all: PyTorch's TypeError (a 0-d tensor is zeros(()))
        (lambda: minigrad.zeros(), TypeError, 'missing 1 required positional arguments: "size"'),
        (lambda: minigrad.rand(), TypeError, 'rand\\(\\) missing'),
        (lambda: minigrad.nn.functional.binary_cross_entropy(minigrad.full((3,), 0.5, dtype=minigrad.float64),
                                                             minigrad.ones(3)), RuntimeError,
         "Found dtype float32 but expected float64"),
    ],
)
def test_scatter_and_creation_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


# --- Bilinear, RReLU, BatchSampler --------------------------------------------------------------

X1 = rng.standard_normal((2, 3, 4))
X2 = rng.standard_normal((2, 3, 5))
BILINEAR_W = rng.standard_normal((6, 4, 5))
BILINEAR_B = rng.standard_normal(6)


def _bilinear(lib, bias):
    tensors = [lib.tensor(a, requires_grad=True) for a in (X1, X2, BILINEAR_W, BILINEAR_B)]
    out = lib.nn.functional.bilinear(*tensors[:3], tensors[3] if bias else None)
    (out * lib.tensor(np.random.default_rng(1).standard_normal(tuple(out.shape)))).sum().backward()
    return {"out": out, **{f"grad{i}": t.grad for i, t in enumerate(tensors[: 4 if bias else 3])}}


@pytest.mark.parametrize("bias", [True, False])
def test_bilinear_matches_torch(bias):
    want = torch_reference(f"bilinear/{bias}", lambda torch: _bilinear(torch, bias))
    got = _bilinear(minigrad, bias)
    for name in want:
        assert_matches(as_array(got[name]), want[name], f"bilinear {name}")


def test_bilinear_gradients_by_finite_differences():
    arrays = [X1[:1].copy(), X2[:1].copy(), BILINEAR_W[:2].copy(), BILINEAR_B[:2].copy()]

    def loss() -> float:
        return float(F.bilinear(*(minigrad.tensor(a) for a in arrays)).square().sum())

    tensors = [minigrad.tensor(a, requires_grad=True) for a in arrays]
    F.bilinear(*tensors).square().sum().backward()
    for name, t, a in zip(("input1", "input2", "weight", "bias"), tensors, arrays, strict=True):
        assert_grad_close(t.grad.numpy(), numerical_grad(loss, a), name=name)


def test_bilinear_module_matches_torch_layout_and_init():
    minigrad.manual_seed(0)
    layer = nn.Bilinear(4, 5, 6)
    state = layer.state_dict()
    assert list(state) == ["weight", "bias"] and state["weight"].shape == (6, 4, 5) and state["bias"].shape == (6,)
    bound = 1 / np.sqrt(4)
    for value in state.values():
        assert np.all(np.abs(value.numpy()) <= bound) and value.numpy().std() > bound / 4
    assert repr(layer) == "Bilinear(in1_features=4, in2_features=5, out_features=6, bias=True)"
    layer.double()  # the float64 inputs need float64 weights, as in PyTorch (no mixed-dtype products)
    layer.load_state_dict({"weight": minigrad.tensor(BILINEAR_W), "bias": minigrad.tensor(BILINEAR_B)})
    out = layer(minigrad.tensor(X1), minigrad.tensor(X2))
    want = torch_reference("bilinear/True", lambda torch: _bilinear(torch, True))["out"]
    np.testing.assert_allclose(out.detach().numpy(), want, rtol=1e-6, atol=1e-6)
    assert nn.Bilinear(2, 3, 4, bias=False).bias is None
    with pytest.raises(ValueError, match=r"in1_features must be > 0, but got \(in1_features=0\)"):
        nn.Bilinear(0, 3, 4)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((X1, X2[0]), "input dimensions do not match: got 3 and 2"),
        ((X1, X2[:1]), "input batch dimensions do not match: got 2 and 1"),
        ((X1[..., :3], X2), "input1 size does not match weight size: got 3 but expected 4"),
        ((X1, X2[..., :4]), "input2 size does not match weight size: got 4 but expected 5"),
    ],
)
def test_bilinear_bad_input(args, match):
    with pytest.raises(RuntimeError, match=match):
        F.bilinear(*(minigrad.tensor(a) for a in args), minigrad.tensor(BILINEAR_W))


def test_bilinear_bad_weight_and_bias():
    x1, x2, w = minigrad.tensor(X1), minigrad.tensor(X2), minigrad.tensor(BILINEAR_W)
    with pytest.raises(RuntimeError, match="bias size does not match weight size"):
        F.bilinear(x1, x2, w, minigrad.tensor(BILINEAR_B[:5]))
    with pytest.raises(RuntimeError, match="weight must be 3-D"):
        F.bilinear(x1, x2, w[0])
    with pytest.raises(TypeError, match="floating-point"):
        F.bilinear(x1, x2.long(), w)


RRELU_X = np.concatenate([rng.standard_normal(2000), [0.0, -0.0]])


def _rrelu_eval(lib):
    x = lib.tensor(RRELU_X, requires_grad=True)
    out = lib.nn.functional.rrelu(x, 0.1, 0.3, training=False)
    out.sum().backward()
    return {"out": out, "grad": x.grad}


def test_rrelu_eval_matches_torch_exactly():
    want = torch_reference("rrelu/eval", _rrelu_eval)
    got = _rrelu_eval(minigrad)
    for name in want:
        assert_matches(as_array(got[name]), want[name], f"rrelu eval {name}")
    layer = nn.RReLU(0.1, 0.3).eval()
    np.testing.assert_array_equal(layer(minigrad.tensor(RRELU_X)).numpy(), want["out"])


def test_rrelu_training_draws_slopes_in_bounds_and_is_their_gradient():
    minigrad.manual_seed(0)
    x = minigrad.tensor(RRELU_X, requires_grad=True)
    out = F.rrelu(x, 0.1, 0.3, training=True)
    out.sum().backward()
    y, g = out.detach().numpy(), x.grad.numpy()
    positive = RRELU_X > 0
    np.testing.assert_array_equal(y[positive], RRELU_X[positive])
    np.testing.assert_array_equal(g[positive], 1.0)
    slopes = g[~positive]  # x <= 0 (zeros included): the gradient is the drawn slope, as PyTorch's
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3
    np.testing.assert_allclose(y[~positive], RRELU_X[~positive] * slopes, rtol=1e-15)
    assert abs(slopes.mean() - 0.2) < 0.01 and abs(slopes.std() - 0.2 / np.sqrt(12)) < 0.01  # U(0.1, 0.3)
    assert len(np.unique(slopes)) > 0.99 * slopes.size  # one slope per element
    minigrad.manual_seed(0)
    np.testing.assert_array_equal(F.rrelu(minigrad.tensor(RRELU_X), 0.1, 0.3, training=True).numpy(), y)


def test_rrelu_module_inplace_and_errors():
    layer = nn.RReLU()
    assert repr(layer) == "RReLU(lower=0.125, upper=0.3333333333333333)"
    assert repr(nn.RReLU(0.1, 0.2, inplace=True)) == "RReLU(lower=0.1, upper=0.2, inplace=True)"
    x = minigrad.tensor([-1.0, 2.0])
    assert minigrad.nn.functional.rrelu_(x) is x and x.tolist()[1] == 2.0 and -1 / 3 <= x.tolist()[0] <= -1 / 8
    layer.train()
    assert np.all(layer(minigrad.tensor(RRELU_X)).numpy()[RRELU_X > 0] > 0)
    with pytest.raises(RuntimeError, match="Lower bound should be less than or equal to the upper bound"):
        F.rrelu(minigrad.tensor(RRELU_X), 0.5, 0.2, training=True)
    with pytest.raises(TypeError, match="floating-point"):
        F.rrelu(minigrad.tensor([1, 2]), training=True)


@pytest.mark.parametrize(("n", "batch_size", "drop_last"), [(10, 3, False), (10, 3, True), (9, 3, True), (2, 5, False)])
def test_batch_sampler_matches_torch(n, batch_size, drop_last):
    def batches(sampler_cls):
        sampler = sampler_cls(SequentialSampler(range(n)) if sampler_cls is BatchSampler else range(n), batch_size,
                              drop_last)
        return list(sampler), len(sampler)

    def compute(torch):
        got, length = batches(torch.utils.data.BatchSampler)
        return {"flat": np.array(sum(got, []), np.int64), "sizes": np.array([len(b) for b in got]),
                "len": np.array(length)}

    want = torch_reference(f"batch_sampler/{n}/{batch_size}/{drop_last}", compute)
    got, length = batches(BatchSampler)
    assert all(isinstance(b, list) for b in got)
    np.testing.assert_array_equal(np.array(sum(got, []), np.int64), want["flat"])
    np.testing.assert_array_equal([len(b) for b in got], want["sizes"])
    assert length == int(want["len"])


@pytest.mark.parametrize(("args", "match"), [((range(3), 0, False), "batch_size should be a positive integer"),
                                             ((range(3), True, False), "batch_size should be a positive integer"),
                                             ((range(3), 2, 1), "drop_last should be a boolean value")])
def test_batch_sampler_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        BatchSampler(*args)


# --- embedding ------------------------------------------------------------------------------------

EMB_WEIGHT = (rng.standard_normal((6, 4)) * 2).astype(np.float32)
EMB_INDEX = np.array([[0, 2, 2, 5], [1, 2, 0, 0]])
EMBEDDING_CASES = {
    "plain": {},
    "padding_idx": {"padding_idx": 2},
    "negative padding_idx": {"padding_idx": -1},
    "max_norm": {"max_norm": 1.5},
    "max_norm, norm_type 1, padding, freq": {"max_norm": 1.0, "norm_type": 1.0, "padding_idx": 0,
                                              "scale_grad_by_freq": True},
    "scale_grad_by_freq": {"scale_grad_by_freq": True},
}


def _embedding(lib, options):
    weight = lib.tensor(EMB_WEIGHT, requires_grad=True)
    out = lib.nn.functional.embedding(lib.tensor(EMB_INDEX), weight, **options)
    (out * lib.tensor(np.random.default_rng(1).standard_normal(tuple(out.shape)), dtype=out.dtype)).sum().backward()
    return {"out": out, "weight": weight, "grad": weight.grad}


@pytest.mark.parametrize("case", sorted(EMBEDDING_CASES))
def test_embedding_full_signature_matches_torch(case):
    want = torch_reference(f"embedding/{case}", lambda torch: _embedding(torch, EMBEDDING_CASES[case]))
    got = _embedding(minigrad, EMBEDDING_CASES[case])
    for name in want:
        assert_matches(as_array(got[name]), want[name], f"embedding {case} {name}")


def test_embedding_module_max_norm_renormalises_looked_up_rows_in_place():
    minigrad.manual_seed(0)
    layer = nn.Embedding(6, 4, max_norm=1.0)
    with minigrad.no_grad():
        layer.weight.mul_(3.0)
    before = layer.weight.detach().numpy().copy()
    version = layer.weight._version
    out = layer(minigrad.tensor([1, 3, 1]))
    after = layer.weight.detach().numpy()
    norms = np.linalg.norm(after, axis=1)
    np.testing.assert_allclose(norms[[1, 3]], 1.0, rtol=1e-6)
    np.testing.assert_array_equal(after[[0, 2, 4, 5]], before[[0, 2, 4, 5]])  # rows not looked up: unchanged
    np.testing.assert_array_equal(out.detach().numpy(), after[[1, 3, 1]])
    assert layer.weight._version > version and layer.weight.requires_grad and layer.weight.grad_fn is None
    out.sum().backward()
    assert layer.weight.grad.numpy()[1].tolist() == [2.0] * 4
    assert repr(nn.Embedding(5, 2, padding_idx=1, max_norm=2.0, norm_type=1.0, scale_grad_by_freq=True)) == (
        "Embedding(5, 2, padding_idx=1, max_norm=2.0, norm_type=1.0, scale_grad_by_freq=True)")


def test_embedding_module_padding_row_keeps_its_values_without_gradient():
    layer = nn.Embedding.from_pretrained(minigrad.tensor(EMB_WEIGHT), freeze=False, padding_idx=2)
    out = layer(minigrad.tensor(EMB_INDEX))
    np.testing.assert_array_equal(out.detach().numpy(), EMB_WEIGHT[EMB_INDEX])  # as PyTorch: not zeroed
    out.sum().backward()
    assert np.all(layer.weight.grad.numpy()[2] == 0) and np.all(layer.weight.grad.numpy()[0] == 3)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"padding_idx": 6}, AssertionError, "Padding_idx must be within num_embeddings"),
        ({"padding_idx": -7}, AssertionError, "Padding_idx must be within num_embeddings"),
        ({"sparse": True}, NotImplementedError, "sparse"),
    ],
)
def test_embedding_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        F.embedding(minigrad.tensor(EMB_INDEX), minigrad.tensor(EMB_WEIGHT), **kwargs)


# --- backward(inputs=), bicubic interpolate ---------------------------------------------------


def _backward_inputs(lib):
    a = lib.tensor(np.array([1.0, 2.0]), requires_grad=True)
    b = lib.tensor(np.array([3.0, 4.0]), requires_grad=True)
    h = a * b
    h.retain_grad()
    (h * h).sum().backward(inputs=[a])
    results = {"a": a.grad, "h": h.grad, "b_untouched": np.array(b.grad is None)}
    h2 = a * b
    (h2 * h2).sum().backward(inputs=h2)  # a non-leaf input gets its gradient in .grad
    results["h2"] = h2.grad
    lib.autograd.backward([(a * b).sum(), (b * b).sum()], inputs=[b])
    results["b"] = b.grad
    return results


def test_backward_inputs_accumulates_into_those_tensors_only():
    want = torch_reference("backward/inputs", _backward_inputs)
    got = _backward_inputs(minigrad)
    for name in want:
        assert_matches(as_array(got[name]), want[name], f"backward(inputs=) {name}")


def test_backward_inputs_skips_other_leaves_hooks_and_rejects_bad_inputs():
    a, b = minigrad.ones(2, requires_grad=True), minigrad.ones(2, requires_grad=True)
    seen = []
    b.register_hook(lambda g: seen.append("b"))
    a.register_hook(lambda g: seen.append("a"))
    (a * b).sum().backward(inputs=[a])
    assert seen == ["a"] and b.grad is None
    with pytest.raises(RuntimeError, match="cannot be empty"):
        (a * b).sum().backward(inputs=[])
    with pytest.raises(RuntimeError, match="must require grad"):
        (a * b).sum().backward(inputs=[minigrad.ones(2)])


BICUBIC_IN = rng.standard_normal((2, 3, 5, 4))
BICUBIC_CASES = {"size up": {"size": (7, 9)}, "size down": {"size": (3, 2)}, "scale 2.5": {"scale_factor": 2.5},
                 "scale 0.6": {"scale_factor": 0.6}}


def _bicubic(lib, options, align_corners, dtype):
    x = lib.tensor(BICUBIC_IN.astype(dtype), requires_grad=True)
    out = lib.nn.functional.interpolate(x, mode="bicubic", align_corners=align_corners, **options)
    (out * lib.tensor(np.random.default_rng(1).standard_normal(tuple(out.shape)).astype(dtype))).sum().backward()
    return {"out": out, "grad": x.grad}


@pytest.mark.parametrize("case", sorted(BICUBIC_CASES))
@pytest.mark.parametrize("align_corners", [False, True])
def test_interpolate_bicubic_matches_torch(case, align_corners):
    key = f"bicubic/{case}/{align_corners}"
    want = torch_reference(key, lambda torch: _bicubic(torch, BICUBIC_CASES[case], align_corners, "float64"))
    got = _bicubic(minigrad, BICUBIC_CASES[case], align_corners, "float64")
    for name in want:
        assert_matches(as_array(got[name]), want[name], f"{key} {name}")
    want32 = torch_reference(f"{key}/float32", lambda torch: _bicubic(torch, BICUBIC_CASES[case], align_corners,
                                                                      "float32"))
    got32 = _bicubic(minigrad, BICUBIC_CASES[case], align_corners, "float32")
    for name in want32:  # PyTorch's float32 kernel is itself 2.6e-6 from float64 here
        np.testing.assert_allclose(as_array(got32[name]), want32[name], rtol=1e-5, atol=1e-5)
        assert as_array(got32[name]).dtype == np.float32


def test_interpolate_bicubic_gradient_by_finite_differences():
    x = BICUBIC_IN[:1, :1].copy()
    weights = minigrad.tensor(np.random.default_rng(4).standard_normal((1, 1, 7, 6)))

    def loss() -> float:
        return float((F.interpolate(minigrad.tensor(x), size=(7, 6), mode="bicubic") * weights).sum())

    t = minigrad.tensor(x, requires_grad=True)
    (F.interpolate(t, size=(7, 6), mode="bicubic") * weights).sum().backward()
    assert_grad_close(t.grad.numpy(), numerical_grad(loss, x))
