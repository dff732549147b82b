"""minigrad.onnx.export: every model and the supported layers, checked by onnx's checker and run
in ONNX Runtime against minigrad's own outputs (float32, 1e-5), at a batch size other than the
example's (the batch axis is dynamic by default)."""

import subprocess
import sys

import numpy as np
import pytest
from train_utils import same_minigrad_env

import minigrad
import minigrad.nn.functional as F
from minigrad import nn
from minigrad.models import MODELS, build_model

onnx = pytest.importorskip("onnx", reason="minigrad.onnx tests need the onnx package (pip install 'minigrad[onnx]')")
ort = pytest.importorskip("onnxruntime", reason="minigrad.onnx tests need onnxruntime (pip install 'minigrad[onnx]')")

from minigrad.onnx import UnsupportedOperatorError, export  # noqa: E402


def _randomise_batch_norm(model: nn.Module, seed: int = 0) -> None:
    """Running statistics and affine parameters away from their defaults, so eval-mode batch
    norm really transforms its input."""
    rng = np.random.default_rng(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d):
            n = m.num_features
            with minigrad.no_grad():
                m.running_mean.copy_(minigrad.tensor(rng.normal(0, 0.5, n).astype(np.float32)))
                m.running_var.copy_(minigrad.tensor(rng.uniform(0.5, 2, n).astype(np.float32)))
                if m.weight is not None:
                    m.weight.copy_(minigrad.tensor(rng.uniform(0.5, 1.5, n).astype(np.float32)))
                    m.bias.copy_(minigrad.tensor(rng.normal(0, 0.2, n).astype(np.float32)))


def export_and_compare(model, shape, tmp_path, batch=3, atol=1e-5, **kwargs) -> float:
    """Export model on an example of shape (batch 2), check the file, run it in ONNX Runtime on a
    batch of another size and compare with minigrad; returns the largest absolute difference."""
    minigrad.manual_seed(0)
    path = tmp_path / "model.onnx"
    export(model, minigrad.randn(2, *shape), path, **kwargs)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    x = minigrad.randn(batch, *shape)
    model.eval()
    with minigrad.no_grad():
        expected = model(x).numpy()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"input": x.numpy()})
    assert got.shape == expected.shape and got.dtype == expected.dtype
    diff = float(np.abs(got - expected).max())
    assert diff <= atol, f"max abs difference {diff}"
    return diff


@pytest.mark.parametrize("name", list(MODELS))
def test_every_model(name, tmp_path):
    minigrad.manual_seed(1)
    model = build_model(name)
    _randomise_batch_norm(model)
    export_and_compare(model, (1, 28, 28), tmp_path, batch=5)


CASES = {
    "conv-padding-stride-bias": nn.Sequential(nn.Conv2d(4, 8, 3, stride=2, padding=1), nn.ReLU()),
    "conv-groups-dilation-no-bias": nn.Sequential(
        nn.Conv2d(4, 8, (3, 5), stride=(1, 2), padding=(2, 1), dilation=(2, 1), groups=2, bias=False),
        nn.Conv2d(8, 8, 3, groups=8),  # depthwise
        nn.LeakyReLU(0.2),
    ),
    "max-pool-ceil-padding-dilation": nn.Sequential(
        nn.MaxPool2d(3, stride=2, ceil_mode=True),
        nn.MaxPool2d(2, stride=2, padding=1, ceil_mode=True),
        nn.MaxPool2d(2, stride=1, dilation=2),
    ),
    "avg-pool-ceil-padding": nn.Sequential(
        nn.AvgPool2d(3, stride=2, ceil_mode=True),
        nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
        nn.AvgPool2d(2, padding=1),
    ),
    "batch-norm-2d-eval-sigmoid-tanh": nn.Sequential(
        nn.Conv2d(4, 6, 1), nn.BatchNorm2d(6), nn.Sigmoid(), nn.BatchNorm2d(6, affine=False), nn.Tanh()
    ),
    "lrn-odd-and-even-size": nn.Sequential(
        nn.LocalResponseNorm(5, alpha=0.5, k=2.0), nn.LocalResponseNorm(4, beta=0.5)
    ),
    "flatten-linear-batch-norm-1d-softmax": nn.Sequential(
        nn.Flatten(), nn.Linear(4 * 10 * 13, 16), nn.BatchNorm1d(16), nn.Dropout(0.5), nn.Identity(), nn.Softmax(dim=1)
    ),
    "conv-transpose-stride-output-padding-groups": nn.Sequential(
        nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
        nn.ConvTranspose2d(6, 4, (3, 2), groups=2, bias=False, dilation=2),
    ),
    "conv-same-uneven-constant-pad-crop": nn.Sequential(  # F.pad's constant mode as an ONNX Pad
        nn.Conv2d(4, 5, (2, 4), padding="same"), nn.ConstantPad2d((1, 2, 0, 3), 1.5), nn.ZeroPad2d((1, -1, 2, 0))
    ),
    "inplace-relu-log-softmax-over-channels": nn.Sequential(
        nn.Conv2d(4, 5, 3), nn.ReLU(inplace=True), nn.LogSoftmax(dim=1)
    ),
    "mobilenet-activations": nn.Sequential(  # hard* as Clip / HardSigmoid
        nn.Conv2d(4, 6, 1), nn.ReLU6(), nn.Conv2d(6, 6, 3, groups=6), nn.Hardswish(), nn.Hardtanh(-0.5, 0.5),
        nn.Hardsigmoid()
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_sequential_layers(case, tmp_path):
    model = CASES[case]
    _randomise_batch_norm(model)
    export_and_compare(model, (4, 10, 13), tmp_path)


class MathFunctions(nn.Module):
    """Every math function (ONNX has no expm1, log1p, log2 or log10: composed), and sign."""

    def forward(self, x):
        y, p = x.tanh() * 0.9, x * x + 0.5
        parts = [y.sin(), y.cos(), y.tan(), y.asin(), y.acos(), y.atan(), y.sinh(), y.cosh(), y.expm1(), y.log1p(),
                 p.log2(), minigrad.log10(p), x.sign(), minigrad.sign(x * 0), x.erf()]
        return minigrad.cat(parts, 1)


def test_math_functions(tmp_path):
    export_and_compare(MathFunctions(), (2, 3), tmp_path)


class Custom(nn.Module):
    """A hand-written forward: arithmetic with constants, in-place +=, permute, cat, mean, matmul."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3, padding=1)
        self.proj = nn.Linear(5, 4)

    def forward(self, x):
        y = F.relu_max_pool2d(self.conv(x), 2)  # (N, 3, 4, 5)
        y = y * 0.5 + 1.0
        y += y.mean(1, keepdim=True)
        z = self.proj(y)  # Linear on a rank-4 input: MatMul + Add
        z = minigrad.cat([z, z.permute(0, 1, 3, 2) @ z], 2)  # (N, 3, 8, 4)
        z = F.softmax(z.flatten(1), dim=-1).sqrt() - z.sum((2, 3)).reshape(-1, 3).sum(1, keepdim=True) / 100
        return z[:, 1:-3:2] + z[..., -1:] * z.max(1, keepdim=True).values - z[:, 5, None].squeeze(1).max()


@pytest.mark.parametrize("opset", [13, 17, 18, 21])  # ReduceMean takes its axes as an input from 18
def test_custom_forward(tmp_path, opset):
    export_and_compare(Custom(), (2, 8, 10), tmp_path, atol=2e-5, opset_version=opset)


class Attention(nn.Module):
    """scaled_dot_product_attention over (N, 4, 6) inputs: its q k^T carries the scale as the
    GEMM's alpha, exported as MatMul then Mul."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(6, 18)

    def forward(self, x: minigrad.Tensor) -> minigrad.Tensor:
        q, k, v = self.proj(x).chunk(3, -1)
        return F.scaled_dot_product_attention(q, k, v)


def test_scaled_attention_scores(tmp_path):
    export_and_compare(Attention(), (4, 6), tmp_path)


def test_static_batch_names_and_initializers(tmp_path):
    """dynamic_axes={} fixes the example's shapes; parameters are initializers named by their
    state_dict keys; the model's training mode is restored; several outputs."""

    class TwoHeads(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(nn.Linear(6, 5), nn.BatchNorm1d(5))
            self.head = nn.Linear(5, 2)

        def forward(self, x):
            h = self.body(x)
            return self.head(h), h

    model = TwoHeads()
    path = tmp_path / "m.onnx"
    proto = export(model, minigrad.randn(3, 6), path, input_names=["x"], output_names=["logits", "hidden"],
                   dynamic_axes={}, opset_version=13)
    assert model.training
    graph = onnx.load(str(path)).graph
    assert proto.graph == graph and proto.opset_import[0].version == 13
    assert [i.name for i in graph.input] == ["x"] and [o.name for o in graph.output] == ["logits", "hidden"]
    dims = [d.dim_value for d in graph.input[0].type.tensor_type.shape.dim]
    assert dims == [3, 6]
    assert {i.name for i in graph.initializer} == {
        "body.0.weight", "body.0.bias", "body.1.weight", "body.1.bias", "body.1.running_mean",
        "body.1.running_var", "head.weight", "head.bias",
    }
    x = minigrad.randn(3, 6)
    model.eval()
    with minigrad.no_grad():
        logits, hidden = model(x)
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x.numpy()})
    np.testing.assert_allclose(got[0], logits.numpy(), atol=1e-5)
    np.testing.assert_allclose(got[1], hidden.numpy(), atol=1e-5)


def test_dynamic_batch_by_default(tmp_path):
    path = tmp_path / "m.onnx"
    export(nn.Sequential(nn.Flatten(), nn.Linear(12, 3)), minigrad.randn(2, 3, 4), path)
    graph = onnx.load(str(path)).graph
    for value in (graph.input[0], graph.output[0]):
        assert value.type.tensor_type.shape.dim[0].dim_param == "batch"


def test_identity_model_and_float64(tmp_path):
    export_and_compare(nn.Identity(), (3,), tmp_path)
    path = tmp_path / "f64.onnx"
    model = nn.Linear(3, 2, dtype=minigrad.float64)
    x = minigrad.randn(4, 3, dtype=minigrad.float64)
    export(model, x, path)
    (got,) = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"input": x.numpy()})
    with minigrad.no_grad():
        np.testing.assert_allclose(got, model(x).numpy(), rtol=1e-12)


# --- errors ----------------------------------------------------------------------------------


class AlwaysDropout(nn.Module):
    def forward(self, x):
        return F.dropout(x, 0.5, training=True)  # a dropout that ignores eval mode


class FancyIndexing(nn.Module):
    def forward(self, x):
        return x[:, [0, 2]]


def test_unsupported_op_is_named(tmp_path):
    with pytest.raises(UnsupportedOperatorError, match=r"op DropoutOp \(in AlwaysDropout.forward\).*supported: "):
        export(AlwaysDropout(), minigrad.randn(2, 4), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()
    with pytest.raises(UnsupportedOperatorError, match=r"indexing with .* is not exported \(only ints, slices"):
        export(FancyIndexing(), minigrad.randn(2, 4), tmp_path / "m.onnx")


def test_batch_statistics_at_inference_are_refused(tmp_path):
    model = nn.Sequential(nn.BatchNorm1d(3, track_running_stats=False))
    with pytest.raises(UnsupportedOperatorError, match="track_running_stats=False"):
        export(model, minigrad.randn(4, 3), tmp_path / "m.onnx")


class Predicts(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 4)

    def forward(self, x):
        return self.fc(x).argmax(1)  # not an op on the tape: its values would be baked in


def test_batch_sized_constants_are_refused_with_a_dynamic_batch(tmp_path):
    with pytest.raises(UnsupportedOperatorError, match=r"shape \(2,\) that the traced ops did not make"):
        export(Predicts(), minigrad.randn(2, 3), tmp_path / "m.onnx")
    export(Predicts(), minigrad.randn(2, 3), tmp_path / "m.onnx", dynamic_axes={})  # the user's choice


class Assigns(nn.Module):
    def forward(self, x):
        y = x * 2
        y[:, 0] = 0.0
        return y + 1


def test_assignment_in_forward_is_refused(tmp_path):
    with pytest.raises(UnsupportedOperatorError, match="changed in place"):
        export(Assigns(), minigrad.randn(2, 3), tmp_path / "m.onnx")


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"opset_version": 12}, ValueError, r"opset_version must lie in \[13, "),
        ({"dynamic_axes": {"input": {1: "width"}}}, ValueError, "only axis 0 .* can be dynamic"),
        ({"dynamic_axes": {"nope": [0]}}, ValueError, "'nope', not an input or output"),
        ({"input_names": ["a", "b"]}, ValueError, "input_names needs 1 distinct names"),
        ({"input_names": ["y"], "output_names": ["y"]}, ValueError, "names overlap"),
    ],
)
def test_bad_arguments(kwargs, error, match, tmp_path):
    with pytest.raises(error, match=match):
        export(nn.Linear(3, 2), minigrad.randn(2, 3), tmp_path / "m.onnx", **kwargs)


def test_bad_model_or_input(tmp_path):
    with pytest.raises(TypeError, match="model must be a minigrad.nn.Module"):
        export(lambda x: x, minigrad.randn(2, 3), tmp_path / "m.onnx")
    with pytest.raises(TypeError, match="args must be a Tensor or a tuple of Tensors"):
        export(nn.Linear(3, 2), np.zeros((2, 3), np.float32), tmp_path / "m.onnx")


def test_missing_onnx_package_is_a_clear_import_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r'pip install "minigrad\[onnx\]"'):
        export(nn.Linear(3, 2), minigrad.randn(2, 3), tmp_path / "m.onnx")


def test_importing_minigrad_does_not_import_onnx(tmp_path):
    code = "import sys, minigrad, minigrad.onnx, minigrad.models; print('onnx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=same_minigrad_env(), cwd=tmp_path).stdout
    assert out.strip() == "False"
