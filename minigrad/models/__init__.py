"""Models for MNIST-like images, a registry by name, and loading a saved model file.

from minigrad.models import LeNet5, build_model, load_model
model = build_model("lenet5")                 # the name the CLI's --model takes
model = load_model("runs/x/best.safetensors")  # eval mode; model.info has the normalisation
logits = model(model.info.prepare(uint8_images))
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from minigrad.models.cnn import CifarCNN, MnistCNN
from minigrad.models.lenet import LeNet5
from minigrad.models.mlp import MLP, SoftmaxRegression
from minigrad.nn import Module
from minigrad.serialization import load, load_metadata, save
from minigrad.tensor import Tensor

__all__ = [
    "LeNet5",
    "MnistCNN",
    "CifarCNN",
    "MLP",
    "SoftmaxRegression",
    "MODELS",
    "ModelInfo",
    "build_model",
    "save_model",
    "load_model",
    "predict",
]

# name -> constructor taking num_classes; the names --model accepts.
MODELS: dict[str, Callable[..., Module]] = {
    "lenet5": LeNet5,
    "mnist-cnn": MnistCNN,
    "mlp": MLP,
    "softmax-regression": SoftmaxRegression,
}


def build_model(name: str, num_classes: int = 10) -> Module:
    """A freshly initialised model from MODELS (weights from minigrad's seeded generator)."""
    try:
        factory = MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODELS)}") from None
    return factory(num_classes=num_classes)


@dataclass
class ModelInfo:
    """What a model file records beside its weights (safetensors header metadata).

    ``mean``/``std`` are the input normalisation applied to images scaled to
    [0, 1]; ``prepare`` applies it to raw uint8 images.
    """

    model: str
    dataset: str
    mean: float
    std: float
    classes: list[str] = field(default_factory=list)
    image_shape: tuple[int, int] = (28, 28)

    def to_metadata(self) -> dict[str, str]:
        return {key: json.dumps(value) for key, value in asdict(self).items()}

    @classmethod
    def from_metadata(cls, metadata: dict[str, str], path: str = "") -> ModelInfo:
        try:
            values = {key: json.loads(metadata[key]) for key in ("model", "dataset", "mean", "std", "classes")}
            values["image_shape"] = tuple(json.loads(metadata.get("image_shape", "[28, 28]")))
        except (KeyError, ValueError) as exc:
            raise ValueError(f"{path}: not a minigrad model file (metadata entry missing or bad: {exc})") from exc
        return cls(**values)

    def prepare(self, images: np.ndarray) -> np.ndarray:
        """uint8 images (N, H, W) or floats in [0, 1] (N, 1, H, W) -> normalised float32 (N, 1, H, W)."""
        images = np.asarray(images)
        if images.ndim == 3:
            images = images[:, None]
        if images.ndim != 4 or images.shape[1] != 1 or tuple(images.shape[2:]) != tuple(self.image_shape):
            raise ValueError(
                f"expected images of shape (N, {self.image_shape[0]}, {self.image_shape[1]}) "
                f"for this model, got {images.shape}"
            )
        x = images.astype(np.float32) / np.float32(255) if images.dtype == np.uint8 else images.astype(np.float32)
        return (x - np.float32(self.mean)) / np.float32(self.std)


def save_model(model: Module, path: str | os.PathLike, info: ModelInfo) -> None:
    """Write the model's weights and its ModelInfo to one safetensors file (atomically)."""
    save(model.state_dict(), path, metadata=info.to_metadata())


def load_model(path: str | os.PathLike) -> Module:
    """The model saved at path, in eval mode, with its ModelInfo as ``model.info``."""
    path = os.fspath(path)
    info = ModelInfo.from_metadata(load_metadata(path), path)
    model = build_model(info.model, num_classes=len(info.classes))
    model.load_state_dict(load(path))
    model.eval()
    model.info = info
    return model


def predict(model: Module, images: np.ndarray) -> Tensor:
    """Logits of a loaded model for raw uint8 images (N, H, W), normalised as at training."""
    from minigrad.autograd import no_grad

    with no_grad():
        return model(Tensor._wrap(model.info.prepare(images)))
