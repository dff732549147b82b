"""The Oxford VGG CNN practical with minigrad: building blocks, derivative checks, two tiny CNNs.

    python examples/vgg_practical.py                    # every part, a few minutes on a laptop CPU
    python examples/vgg_practical.py blocks gradcheck   # only some parts
    python examples/vgg_practical.py chars --char-epochs 2 --char-samples 500   # a quick look

Parts (run in this order when several are named):
  blocks     a bank of random filters convolved over a synthetic image (shapes with stride and
             padding), a hand-made Laplacian, ReLU gating, max pooling, local response normalisation
  gradcheck  every block's derivatives against numerical ones (float64), with the errors printed
  blobs      a one-filter CNN learns to respond at the centres of small blobs and not elsewhere
  chars      a character CNN learns a..z rendered from matplotlib's fonts, without and with jitter
             (neighbouring characters, random shifts), then reads a long image of text fully
             convolutionally (needs matplotlib; skipped with a message without it)

The practical's photographs and font data set are not available, so the images are generated.
PNGs of the feature maps, the blob detector and the decoded text go to --out when matplotlib is
installed.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

import minigrad
import minigrad.nn.functional as F
from minigrad import nn, optim
from minigrad.autograd import gradcheck
from minigrad.cli.plots import can_plot
from minigrad.data import transforms as T

PARTS = ("blocks", "gradcheck", "blobs", "chars")


def show_maps(maps: np.ndarray, path: Path, title: str) -> None:
    """Feature maps (C, H, W) side by side in one PNG (nothing when matplotlib is missing)."""
    if not can_plot():
        return
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2 * len(maps), 2.2))
    for ax, m in zip(fig.subplots(1, len(maps), squeeze=False)[0], maps, strict=True):
        ax.imshow(m, cmap="gray")
        ax.axis("off")
    fig.suptitle(title)
    fig.savefig(path, dpi=80)
    print(f"  wrote {path}")


# --- part 1: building blocks ---------------------------------------------------------------------


def synthetic_image(h: int = 96, w: int = 128, seed: int = 0) -> np.ndarray:
    """An RGB image (1, 3, h, w) in (0, 1]: a colour gradient with discs and a bar, strictly positive."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / np.array([h, w])[:, None, None]
    image = np.stack([0.3 + 0.4 * xx, 0.3 + 0.4 * yy, 0.5 - 0.2 * xx * yy])
    for _ in range(6):
        cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(6, 18)
        disc = (np.mgrid[0:h, 0:w][0] - cy) ** 2 + (np.mgrid[0:h, 0:w][1] - cx) ** 2 < r * r
        image[:, disc] = rng.uniform(0.05, 1.0, size=(3, 1))
    image[:, h // 2 - 3 : h // 2 + 3, w // 8 : w // 2] = 0.95
    return image[None].astype(np.float32)


def part_blocks(out: Path) -> None:
    """Convolution with a filter bank, stride and padding, a designed filter, ReLU, pooling, LRN."""
    print("== part 1: CNN building blocks ==")
    minigrad.manual_seed(0)
    x = minigrad.from_numpy(synthetic_image())
    print(f"image x: {tuple(x.shape)} (batch, channels, height, width)")
    w = minigrad.randn(10, 3, 5, 5)  # a bank of 10 random 5x5x3 filters
    y = F.conv2d(x, w)
    print(f"conv with 10 filters 5x5x3: y {tuple(y.shape)}  (each side shrinks by 5 - 1 = 4)")
    print(f"  stride 16: {tuple(F.conv2d(x, w, stride=16).shape)}, padding 4: {tuple(F.conv2d(x, w, padding=4).shape)}")
    show_maps(y[0].numpy()[:5], out / "vgg_filter_bank.png", "random filters: responses")

    laplacian = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float32)
    y_lap = F.conv2d(x, minigrad.from_numpy(np.tile(laplacian, (1, 3, 1, 1))))
    print(f"Laplacian filter: output {tuple(y_lap.shape)}, mean |response| {y_lap.abs().mean().item():.4f}, "
          f"largest {y_lap.abs().max().item():.3f} (edges respond, flat regions give 0)")

    edge = np.tile(np.array([[1, 0, -1]], dtype=np.float32), (3, 1, 1))
    w_edge = minigrad.from_numpy(np.stack([edge, -edge]))  # a horizontal derivative and its negation
    y_edge = F.conv2d(x, w_edge)
    z = F.relu(y_edge)
    print(f"ReLU gating of [1 0 -1] and its negation: {100 * (y_edge.numpy() < 0).mean():.1f}% of the "
          f"responses are negative and become 0, {100 * (z.numpy() > 0).mean():.1f}% stay (edges of one polarity each)")
    show_maps(np.concatenate([y_edge[0].numpy(), z[0].numpy()]), out / "vgg_relu.png", "edge filters, then ReLU")

    pooled = F.max_pool2d(x, 15, stride=1)
    print(f"max pooling 15x15 (stride 1): {tuple(pooled.shape)}; bright regions grow, dark ones shrink")
    print(f"  max pooling 2x2 (stride 2): {tuple(F.max_pool2d(x, 2).shape)}")

    # MatConvNet's normalisation y = x / (kappa + alpha * sum_group x^2)^beta with a group of 5
    # channels, kappa 0, alpha 1, beta 1/2 divides each pixel's colour vector by its norm.
    # PyTorch's local_response_norm divides alpha by the group size, hence alpha = 5.
    y_nrm = F.local_response_norm(x, size=5, alpha=5.0, beta=0.5, k=0.0)
    norms = np.sqrt((y_nrm.numpy() ** 2).sum(axis=1))
    print(f"local response normalisation (size 5, k 0, alpha 5, beta 0.5): per-pixel channel norms "
          f"from {norms.min():.6f} to {norms.max():.6f} (all 1: plain L2 normalisation)")


# --- part 2: derivative checks -------------------------------------------------------------------


def directional_check(fn, inputs: list[minigrad.Tensor], eta: float = 1e-6, seed: int = 0) -> tuple[float, float]:
    """The practical's check: for a random projection p of the output and random directions e of
    the inputs, compare <d(p.f)/dinputs, e> from backward with (p.f(x + eta e) - p.f(x - eta e)) / 2 eta.
    Returns (analytic, numeric)."""
    rng = np.random.default_rng(seed)
    with minigrad.no_grad():
        p = minigrad.from_numpy(rng.standard_normal(fn(*inputs).shape))
    for t in inputs:
        t.grad = None
    (fn(*inputs) * p).sum().backward()
    directions = [rng.standard_normal(t.shape) for t in inputs]
    analytic = sum(float((t.grad.numpy() * e).sum()) for t, e in zip(inputs, directions, strict=True))

    def objective(sign: float) -> float:
        moved = [t.detach().numpy() + sign * eta * e for t, e in zip(inputs, directions, strict=True)]
        return float((fn(*map(minigrad.from_numpy, moved)) * p).sum().item())

    with minigrad.no_grad():
        numeric = (objective(1.0) - objective(-1.0)) / (2 * eta)
    return analytic, numeric


def part_gradcheck() -> bool:
    """Each block's gradient against finite differences; returns whether all agree."""
    print("== part 2: derivatives against numerical gradients (float64) ==")
    rng = np.random.default_rng(0)

    def leaf(*shape: int) -> minigrad.Tensor:
        return minigrad.from_numpy(rng.standard_normal(shape)).requires_grad_()

    x, w, b = leaf(2, 3, 7, 7), leaf(4, 3, 3, 3), leaf(4)
    blocks = {
        "conv2d (x, w, b)": (lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1), [x, w, b]),
        "relu": (F.relu, [leaf(2, 3, 5, 5)]),
        "max_pool2d 3x3/2": (lambda x: F.max_pool2d(x, 3, stride=2), [leaf(2, 3, 7, 7)]),
        "local_response_norm": (lambda x: F.local_response_norm(x, size=3, alpha=1.0, beta=0.75, k=2.0),
                                [leaf(2, 5, 4, 4)]),
        "conv-relu-pool-loss": (lambda x, w: F.max_pool2d(F.relu(F.conv2d(x, w, padding=1)), 2).pow(2).mean(),
                                [leaf(1, 3, 6, 6), leaf(2, 3, 3, 3)]),
    }
    all_ok = True
    for name, (fn, inputs) in blocks.items():
        ok = gradcheck(fn, inputs, eps=1e-6, atol=1e-6, rtol=1e-4, raise_exception=False)
        analytic, numeric = directional_check(fn, inputs)
        rel = abs(analytic - numeric) / max(abs(numeric), 1e-12)
        print(f"  {name:<22} gradcheck {'passed' if ok else 'FAILED'}; directional derivative: analytic "
              f"{analytic:+.8f} numeric {numeric:+.8f}, relative error {rel:.1e}")
        all_ok &= ok and rel < 1e-5
    print(f"all derivative checks {'passed' if all_ok else 'did NOT pass'}")
    return all_ok


# --- part 3: a tiny CNN that detects blobs -------------------------------------------------------


def blob_image(size: int, n_blobs: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """An image of bright Gaussian blobs, half small (sigma 1.5) and half large (sigma 4), and a
    boolean map that is True at the centres of the small ones."""
    yy, xx = np.mgrid[0:size, 0:size]
    image = np.zeros((size, size))
    centres = np.zeros((size, size), dtype=bool)
    for k in range(n_blobs):
        sigma = 1.5 if k % 2 == 0 else 4.0
        cy, cx = rng.integers(6, size - 6, size=2)
        image += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * sigma**2))
        if sigma < 2:
            centres[cy, cx] = True
    return image + 0.05 * rng.standard_normal(image.shape), centres


def gaussian_kernel(sigma: float, radius: int) -> np.ndarray:
    """A normalised 2-D Gaussian filter of shape (1, 1, 2r+1, 2r+1)."""
    g = np.exp(-(np.arange(-radius, radius + 1) ** 2) / (2 * sigma**2))
    k = np.outer(g, g)
    return (k / k.sum())[None, None].astype(np.float32)


def part_blobs(iterations: int, out: Path) -> None:
    """Learn a 3x3 filter (and bias) whose response is >= 1 at small-blob centres and <= 0 elsewhere."""
    print("== part 3: a tiny CNN that detects small blobs ==")
    rng = np.random.default_rng(0)
    image, centres = blob_image(128, 40, rng)
    # Preprocessing as in the practical: smooth, then subtract the median so that a flat image gives 0.
    with minigrad.no_grad():
        smooth = F.conv2d(minigrad.from_numpy(image[None, None].astype(np.float32)),
                          minigrad.from_numpy(gaussian_kernel(1.0, 3)), padding=3).numpy()
    x = minigrad.from_numpy(smooth - np.median(smooth))
    # Positives: the small-blob centres. Negatives: everything further than 2 pixels from them.
    near = F.max_pool2d(minigrad.from_numpy(centres[None, None].astype(np.float32)), 5, stride=1, padding=2)
    pos = minigrad.from_numpy(centres[None, None].astype(np.float32))
    neg = 1.0 - near
    n_pos, n_neg = pos.sum().item(), neg.sum().item()

    minigrad.manual_seed(0)
    detector = nn.Conv2d(1, 1, 3, padding=1)
    # SGD with momentum; weight decay plays the practical's shrinkage term on the filter.
    optimizer = optim.SGD(detector.parameters(), lr=1.0, momentum=0.9, weight_decay=1e-4)
    for it in range(1, iterations + 1):
        y = detector(x)
        # hinge losses: positives want y >= 1, negatives y <= 0; each set weighted equally
        loss = (F.relu(1.0 - y) * pos).sum() / n_pos + (F.relu(y) * neg).sum() / n_neg
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if it == 1 or it % max(1, iterations // 5) == 0:
            print(f"  iteration {it}: loss {loss.item():.4f}")
    with minigrad.no_grad():
        y = detector(x).numpy()[0, 0]
    hits = y > 0.5
    recall = hits[centres].mean()
    false_pos = hits[neg.numpy()[0, 0] > 0].mean()
    print(f"  learned filter:\n{np.array2string(detector.weight.detach().numpy()[0, 0], precision=3)}"
          f"\n  bias {detector.bias.item():.3f}")
    print(f"  response > 0.5 at {100 * recall:.1f}% of the {int(n_pos)} small-blob centres and at "
          f"{100 * false_pos:.2f}% of the {int(n_neg)} background pixels")
    show_maps(np.stack([image, smooth[0, 0], y, centres.astype(float)]), out / "vgg_blobs.png",
              "image, smoothed, detector response, small-blob centres")


# --- part 4: a character CNN trained with jitter --------------------------------------------------

LETTERS = "abcdefghijklmnopqrstuvwxyz"
FONT_FILES = [
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf",
    "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf", "DejaVuSansMono-Oblique.ttf",
    "DejaVuSansMono-BoldOblique.ttf", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf",
    "DejaVuSerif-BoldItalic.ttf", "STIXGeneral.ttf", "STIXGeneralBol.ttf", "STIXGeneralItalic.ttf",
    "STIXGeneralBolIta.ttf", "cmr10.ttf", "cmss10.ttf", "cmtt10.ttf", "cmb10.ttf", "cmti10.ttf",
]
HELD_OUT_FONT = "DejaVuSans.ttf"  # the font of the long text; never seen in training
PATCH = 32
BASELINE = 23  # row of the text baseline in a 32-pixel-high patch


def render_glyphs(font_file: str, size: float = 20.0) -> list[np.ndarray]:
    """The letters a..z of one of matplotlib's bundled fonts as float images of height PATCH in
    [0, 1], each as wide as its ink, sitting on the baseline row BASELINE."""
    import matplotlib
    from matplotlib.ft2font import FT2Font

    font = FT2Font(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / font_file))
    glyphs = []
    for ch in LETTERS:
        font.set_size(size, 72)
        font.set_text(ch)
        font.draw_glyphs_to_bitmap(antialiased=True)
        bitmap = np.asarray(font.get_image(), dtype=np.float32) / 255
        cols = np.flatnonzero(bitmap.max(axis=0) > 0.1)
        bitmap = bitmap[:, cols.min() : cols.max() + 1] if cols.size else bitmap
        top = BASELINE - (bitmap.shape[0] - font.get_descent() // 64)  # glyph rows above the baseline
        glyph = np.zeros((PATCH, bitmap.shape[1]), dtype=np.float32)
        rows = np.arange(bitmap.shape[0]) + top
        keep = (rows >= 0) & (rows < PATCH)
        glyph[rows[keep]] = bitmap[keep]
        glyphs.append(glyph)
    return glyphs


def paste(canvas: np.ndarray, glyph: np.ndarray, left: int) -> None:
    """Draw glyph onto canvas (H, W) with its left edge at column left (clipped, ink kept as max)."""
    lo, hi = max(left, 0), min(left + glyph.shape[1], canvas.shape[1])
    if lo < hi:
        canvas[:, lo:hi] = np.maximum(canvas[:, lo:hi], glyph[:, lo - left : hi - left])


GAP = 2  # pixels between neighbouring letters, in the training patches and the long text


def make_patches(fonts: list[list[np.ndarray]], n: int, jitter: bool, rng: np.random.Generator):
    """n patches (n, 1, 32, 32) with a letter centred in each and its labels; with jitter, random
    neighbours to the left and right and a random shift of up to 3 pixels."""
    images = np.zeros((n, 1, PATCH, PATCH), dtype=np.float32)
    labels = rng.integers(0, len(LETTERS), n)
    for i, label in enumerate(labels):
        glyphs = fonts[rng.integers(len(fonts))]
        g = glyphs[label]
        left = (PATCH - g.shape[1]) // 2
        paste(images[i, 0], g, left)
        if jitter:
            if rng.random() < 0.75:
                neighbour = glyphs[rng.integers(len(LETTERS))]
                paste(images[i, 0], neighbour, left - GAP - neighbour.shape[1])
            if rng.random() < 0.75:
                paste(images[i, 0], glyphs[rng.integers(len(LETTERS))], left + g.shape[1] + GAP)
    if jitter:
        images = T.RandomShift(3)(images, rng)
    return images, labels


class CharCNN(nn.Module):
    """A fully convolutional character classifier: a 32x32 patch gives 26 scores at one position,
    a 32 x W image gives them every 4 pixels."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 20, 5), nn.MaxPool2d(2), nn.ReLU(),  # 28 -> 14
            nn.Conv2d(20, 50, 5), nn.MaxPool2d(2), nn.ReLU(),  # 10 -> 5
            nn.Conv2d(50, 200, 4), nn.ReLU(),  # 2
            nn.Conv2d(200, len(LETTERS), 2),  # 1: the scores
        )

    def forward(self, x: minigrad.Tensor) -> minigrad.Tensor:
        return self.net(x)


def train_chars(train_fonts, val_fonts, jitter: bool, epochs: int, samples: int, name: str) -> CharCNN:
    """SGD with momentum on freshly generated patches each epoch; prints train and validation error."""
    minigrad.manual_seed(0)
    rng = np.random.default_rng(1)
    val_x, val_y = make_patches(val_fonts, 1000, jitter, np.random.default_rng(2))
    model = CharCNN()
    optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    for epoch in range(1, epochs + 1):
        xs, ys = make_patches(train_fonts, samples, jitter, rng)
        xs -= 0.5  # centred data train better (part 3's lesson)
        model.train()
        wrong = 0
        for i in tqdm(range(0, samples, 100), desc=f"{name}, epoch {epoch}", leave=False):
            scores = model(minigrad.from_numpy(xs[i : i + 100])).flatten(1)
            labels = minigrad.from_numpy(ys[i : i + 100])
            loss = F.cross_entropy(scores, labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            wrong += (scores.argmax(dim=1) != labels).sum().item()
        model.eval()
        with minigrad.no_grad():
            val_pred = model(minigrad.from_numpy(val_x - 0.5)).flatten(1).argmax(dim=1).numpy()
        print(f"  {name}: epoch {epoch}: train error {100 * wrong / samples:.1f}%, "
              f"validation error (unseen fonts) {100 * (val_pred != val_y).mean():.1f}%")
    return model


def render_text(glyphs: list[np.ndarray], text: str) -> tuple[np.ndarray, list[tuple[str, float]]]:
    """A 32-pixel-high image of text (letters and spaces) and each letter's centre column."""
    margin, space = 16, 8
    width = 2 * margin + sum(space if c == " " else glyphs[LETTERS.index(c)].shape[1] + GAP for c in text)
    canvas = np.zeros((PATCH, width), dtype=np.float32)
    x, centres = margin, []
    for c in text:
        if c == " ":
            x += space
            continue
        g = glyphs[LETTERS.index(c)]
        paste(canvas, g, x)
        centres.append((c, x + g.shape[1] / 2))
        x += g.shape[1] + GAP
    return canvas, centres


def read_text(model: CharCNN, image: np.ndarray, centres: list[tuple[str, float]]) -> tuple[str, str, int]:
    """Run the model over the whole image at once; returns the letter read at every output column,
    the letters read at each true letter's centre, and how many of those are right."""
    model.eval()
    with minigrad.no_grad():
        scores = model(minigrad.from_numpy(image[None, None] - 0.5)).numpy()[0, :, 0]  # (26, columns)
    per_column = "".join(LETTERS[k] for k in scores.argmax(axis=0))
    # output column j sees input columns 4j .. 4j + 31, centred on 4j + 16
    at_letters = "".join(per_column[min(max(round((c - 16) / 4), 0), len(per_column) - 1)] for _, c in centres)
    right = sum(a == t for a, (t, _) in zip(at_letters, centres, strict=True))
    return per_column, at_letters, right


def part_chars(epochs: int, samples: int, text: str, out: Path) -> None:
    """Train the character CNN without and with jitter and read a long line of text with both."""
    print("== part 4: a character CNN, trained with and without jitter ==")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("  matplotlib is not installed: no fonts to render characters from, part 4 skipped")
        return
    fonts = {f: render_glyphs(f) for f in FONT_FILES}
    val_names = [HELD_OUT_FONT, "DejaVuSerif-Italic.ttf", "cmss10.ttf"]
    train_fonts = [g for f, g in fonts.items() if f not in val_names]
    val_fonts = [fonts[f] for f in val_names]
    print(f"  {len(train_fonts)} training fonts, {len(val_fonts)} held-out fonts; {samples} patches per epoch")
    image, centres = render_text(fonts[HELD_OUT_FONT], text)
    print(f"  the text: {text!r} as one {image.shape[0]}x{image.shape[1]} image in a held-out font")
    for jitter in (False, True):
        name = "with jitter" if jitter else "no jitter"
        model = train_chars(train_fonts, val_fonts, jitter, epochs, samples, name)
        per_column, at_letters, right = read_text(model, image, centres)
        print(f"  {name}: every output column: {per_column}")
        print(f"  {name}: at the letters:      {at_letters}  ({right}/{len(centres)} letters right)")
    if can_plot():
        from matplotlib.figure import Figure

        fig = Figure(figsize=(image.shape[1] / 40, 1.2))
        ax = fig.subplots()
        ax.imshow(image, cmap="gray")
        ax.axis("off")
        fig.savefig(out / "vgg_text.png", dpi=80)
        print(f"  wrote {out / 'vgg_text.png'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parts", nargs="*", metavar="PART", help=f"parts to run (default: all): {', '.join(PARTS)}")
    parser.add_argument("--blob-iterations", type=int, default=300)
    parser.add_argument("--char-epochs", type=int, default=6)
    parser.add_argument("--char-samples", type=int, default=5000, help="generated training patches per epoch")
    parser.add_argument("--text", default="the quick brown fox jumps over the lazy dog",
                        help="the long text to read (letters a-z and spaces)")
    parser.add_argument("--out", type=Path, default=Path("."), help="folder for the PNGs")
    args = parser.parse_args()
    if unknown := [p for p in args.parts if p not in PARTS]:
        parser.error(f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    if any(c not in LETTERS + " " for c in args.text):
        parser.error("--text: only the letters a-z and spaces")
    args.out.mkdir(parents=True, exist_ok=True)
    parts = [p for p in PARTS if p in args.parts] or list(PARTS)
    started = time.perf_counter()
    for part in parts:
        if part == "blocks":
            part_blocks(args.out)
        elif part == "gradcheck":
            part_gradcheck()
        elif part == "blobs":
            part_blobs(args.blob_iterations, args.out)
        else:
            part_chars(args.char_epochs, args.char_samples, args.text, args.out)
    print(f"wall time {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
