"""Course programs ported with `import minigrad as torch`, round 12: each program runs on both
libraries (`program(lib)` with lib minigrad or torch) and its results are compared with PyTorch's
(live, or recorded in tests/fixtures/torch_reference/test_porting_round12.npz). Programs: a
character-level bidirectional LSTM name classifier over unsorted packed sequences
(pack_padded_sequence(enforce_sorted=False), pad_packed_sequence's IndexSelectBackward0); a small
vision transformer (Conv2d, F.unfold and Tensor.unfold patch embeddings, class token, positions,
nn.MultiheadAttention blocks, attention maps and rollout, AdamW); a U-Net (ceil-mode pooling,
ConvTranspose2d, F.pad and F.interpolate to the skip's size, torch.cat, BCEWithLogits(pos_weight) +
Dice); knowledge distillation (KLDivLoss batchmean with log_target True and False, temperature);
a training recipe (label smoothing, mixup, clip_grad_norm_ and the inf-norm of a NaN gradient,
OneCycleLR, AdamW with no-decay parameter groups, soft-target cross-entropy); a data pipeline
(Dataset, random_split, padding collate_fn, WeightedRandomSampler, a model/optimizer/scheduler
checkpoint resumed to the uninterrupted run); building models (register_buffer, apply(init_fn),
nn.init, requires_grad_(False) freezing, named_* filtering, repr); tensor idioms (einsum,
gather/scatter with int64 and int32 indices, masked_fill, topk, argsort, unique, bincount, cumsum,
where, repeat_interleave, meshgrid, nonzero(as_tuple), reprs); and hostile inputs: PyTorch's
exception classes for wrong shapes, dtypes and arguments of all of these (einsum's included),
empty tensors and NaN through them, and what minigrad
refuses where PyTorch silently reads past its buffers."""

import math
import os
import tempfile

import numpy as np
import pytest
from parity import check_program, set_params
from test_porting_round8 import caught_as
from torch_reference import TorchReference

torch_reference = TorchReference(__name__)


def check(key, program, rtol=1e-9):
    """program(minigrad)'s results against program(torch)'s (parity.check_program)."""
    check_program(torch_reference, key, program, rtol)


def _names(*tensors):
    """The grad_fn names of tensors, as an array."""
    return np.array([t.grad_fn.name() for t in tensors])


# ------------------------------------------------------------------- LSTM name classifier
NAMES = ["anna", "bo", "clementine", "dmitri", "eve", "fu", "gregor", "hiroshi", "ines", "jo"]
ORIGINS = [0, 1, 2, 3, 0, 1, 3, 2, 0, 1]


def _name_classifier_program(lib):
    """A character-level bidirectional LSTM over names of uneven length, packed unsorted
    (enforce_sorted=False), classified from the final hidden states; a few SGD steps."""
    nn = lib.nn
    rnn_utils = nn.utils.rnn
    letters = sorted(set("".join(NAMES)))

    class NameClassifier(nn.Module):
        def __init__(self, vocab, classes, hidden=7):
            super().__init__()
            self.embed = nn.Embedding(vocab + 1, 5, padding_idx=0)
            self.lstm = nn.LSTM(5, hidden, num_layers=2, batch_first=True, bidirectional=True, dropout=0.0)
            self.fc = nn.Linear(2 * hidden, classes)

        def forward(self, x, lengths):
            packed = rnn_utils.pack_padded_sequence(self.embed(x), lengths, batch_first=True, enforce_sorted=False)
            output, (h_n, c_n) = self.lstm(packed)
            padded, out_lengths = rnn_utils.pad_packed_sequence(output, batch_first=True, padding_value=-1.0)
            return self.fc(lib.cat([h_n[-2], h_n[-1]], dim=1)), padded, out_lengths, c_n

    model = set_params(NameClassifier(len(letters), 4).double(), lib, 21, 0.3)
    optimizer = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sequences = [lib.tensor([letters.index(c) + 1 for c in name]) for name in NAMES]
    x = rnn_utils.pad_sequence(sequences, batch_first=True)
    lengths = lib.tensor([len(name) for name in NAMES])
    y = lib.tensor(ORIGINS)
    out = {}
    for step in range(3):
        optimizer.zero_grad()
        logits, padded, out_lengths, c_n = model(x, lengths)
        loss = nn.functional.cross_entropy(logits, y)
        loss.backward()
        optimizer.step()
        out[f"loss{step}"] = loss.detach()
    out.update(padded=padded, out_lengths=out_lengths, c_n=c_n, x=x, lstm_grad=model.lstm.weight_hh_l1_reverse.grad,
               embed_grad=model.embed.weight.grad, names=_names(loss, logits, padded, c_n))
    packed = rnn_utils.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out.update(batch_sizes=packed.batch_sizes, sorted_indices=packed.sorted_indices,
               unsorted_indices=packed.unsorted_indices, data=packed.data)
    with lib.no_grad():
        out["predicted"] = model(x[:3], lengths[:3])[0].argmax(1)
    return out


def test_lstm_name_classifier_as_torch():
    check("name_classifier", _name_classifier_program)


def _packing_mistakes(lib):
    """Mistakes around packed sequences and recurrent layers: name -> (PyTorch's class, the mistake)."""
    nn, rnn_utils = lib.nn, lib.nn.utils.rnn
    x = lib.zeros(3, 4, 2)
    return {
        "unsorted": (RuntimeError, lambda: rnn_utils.pack_padded_sequence(x, [2, 4, 3], batch_first=True)),
        "zero_length": (RuntimeError, lambda: rnn_utils.pack_padded_sequence(
            x, [4, 0, 3], batch_first=True, enforce_sorted=False)),
        "count": (RuntimeError, lambda: rnn_utils.pack_padded_sequence(x, [4, 3], batch_first=True)),
        "lengths_2d": (RuntimeError, lambda: rnn_utils.pack_padded_sequence(x, lib.tensor([[4, 4, 3]]), True)),
        "lstm_input_size": (RuntimeError, lambda: nn.LSTM(3, 4)(x)),
        "lstm_hidden_shape": (RuntimeError, lambda: nn.LSTM(2, 4)(x, (lib.zeros(1, 3, 4), lib.zeros(1, 4, 4)))),
        "gru_hidden_layers": (RuntimeError, lambda: nn.GRU(2, 5)(x, lib.zeros(2, 4, 5))),
        "cell_hidden_batch": (RuntimeError, lambda: nn.GRUCell(2, 5)(x[0], lib.zeros(2, 5))),
        "cell_input_size": (RuntimeError, lambda: nn.LSTMCell(3, 5)(x[0])),
        "lstm_4d": (ValueError, lambda: nn.LSTM(2, 4)(x[None])),
        "cell_3d": (ValueError, lambda: nn.LSTMCell(2, 4)(x)),
        "pad_sequence_dims": (RuntimeError, lambda: rnn_utils.pad_sequence([lib.zeros(2, 3), lib.zeros(2, 4)])),
    }


def _packing_errors_program(lib):
    mistakes = _packing_mistakes(lib)
    rnn_utils = lib.nn.utils.rnn
    x = lib.arange(24.0).reshape(3, 4, 2)
    # float lengths (a mean, a division) are truncated as by as_tensor(lengths, dtype=int64)
    packed = rnn_utils.pack_padded_sequence(x, [4.0, 3.9, 2.5], batch_first=True)
    return {"caught": caught_as(mistakes), "names": np.array(list(mistakes)), "float_lengths": packed.batch_sizes,
            "float_lengths_data": packed.data}


def test_packing_errors_as_torch():
    """PyTorch's exception classes for bad lengths and recurrent layers' input and state shapes."""
    check("packing_errors", _packing_errors_program)


def test_refuses_what_torch_lets_through():
    """PyTorch packs a length beyond the padded input, runs an LSTM on packed data of the wrong
    input size (reading past its buffers), and samples zero-weight items without replacement,
    without a word; minigrad refuses all three."""
    import minigrad

    rnn_utils = minigrad.nn.utils.rnn
    with pytest.raises(RuntimeError, match="exceeds the 4 steps"):
        rnn_utils.pack_padded_sequence(minigrad.zeros(3, 4, 2), [5, 4, 3], batch_first=True)
    with pytest.raises(RuntimeError, match="Expected 3, got 2"):
        minigrad.nn.LSTM(3, 4)(rnn_utils.pack_padded_sequence(minigrad.zeros(3, 4, 2), [3] * 4))
    # PyTorch draws the zero-weight index once the others are used up
    with pytest.raises(ValueError, match="without replacement from 2 non-zero weights"):
        minigrad.utils.data.WeightedRandomSampler([1.0, 0.0, 1.0], 3, replacement=False)


# ------------------------------------------------------------------- a small vision transformer
def _vit(lib, image=8, patch=4, dim=12, heads=3, classes=5):
    nn = lib.nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim, eps=1e-6)
            self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
            self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(approximate="tanh"), nn.Linear(2 * dim, dim))

        def forward(self, x, key_padding_mask=None):
            h = self.norm1(x)
            attended, weights = self.attn(h, h, h, key_padding_mask=key_padding_mask)
            x = x + attended
            return x + self.mlp(self.norm2(x)), weights

    class ViT(nn.Module):
        def __init__(self):
            super().__init__()
            self.patch_embed = nn.Conv2d(3, dim, kernel_size=patch, stride=patch)
            self.cls_token = nn.Parameter(lib.zeros(1, 1, dim))
            self.pos_embed = nn.Parameter(lib.zeros(1, 1 + (image // patch) ** 2, dim))
            self.blocks = nn.ModuleList([Block() for _ in range(2)])
            self.norm = nn.LayerNorm(dim)
            self.head = nn.Linear(dim, classes)

        def forward(self, x):
            x = self.patch_embed(x).flatten(2).transpose(1, 2)  # (B, patches, dim)
            x = lib.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
            maps = []
            for block in self.blocks:
                x, weights = block(x)
                maps.append(weights)
            return self.head(self.norm(x)[:, 0]), maps

    return ViT()


def _vit_program(lib):
    """Patch embedding by a strided Conv2d (and the same by F.unfold + a matmul, and by
    Tensor.unfold), a class token, learned positions, pre-norm blocks of nn.MultiheadAttention;
    AdamW steps, attention maps, attention rollout."""
    F = lib.nn.functional
    model = set_params(_vit(lib).double(), lib, 22, 0.3)
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "token" not in n and "pos" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "token" not in n and "pos" not in n)]
    optimizer = lib.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}],
                                lr=1e-2)
    rng = np.random.default_rng(23)
    images = lib.tensor(rng.standard_normal((4, 3, 8, 8)))
    labels = lib.tensor([0, 3, 4, 1])
    out = {}
    for step in range(2):
        logits, maps = model(images)
        loss = F.cross_entropy(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        out[f"loss{step}"] = loss.detach()
    out.update(cls_grad=model.cls_token.grad, pos_grad=model.pos_embed.grad, maps=lib.stack(maps).detach(),
               in_proj_grad=model.blocks[0].attn.in_proj_weight.grad, names=_names(loss, logits, maps[0]))
    embed = model.patch_embed
    with lib.no_grad():
        columns = F.unfold(images, kernel_size=4, stride=4)  # (B, 3 * 4 * 4, patches)
        out["unfold_embed"] = embed.weight.flatten(1) @ columns + embed.bias[:, None]
        patches = images.unfold(2, 4, 4).unfold(3, 4, 4)  # (B, 3, 2, 2, 4, 4)
        patches = patches.permute(0, 2, 3, 1, 4, 5).reshape(4, 4, -1)
        out["tensor_unfold_embed"] = patches @ embed.weight.flatten(1).T + embed.bias
        out["conv_embed"] = embed(images).flatten(2)
        # attention rollout: the maps with the residual, renormalised, multiplied through the blocks
        eye = lib.eye(maps[0].shape[-1], dtype=lib.float64)
        rollout = eye.expand(4, -1, -1)
        for weights in model(images)[1]:
            a = weights + eye
            rollout = (a / a.sum(dim=-1, keepdim=True)) @ rollout
        out["rollout"] = rollout[:, 0, 1:]
    block = model.blocks[0]
    h = block.norm1(model.pos_embed.expand(2, -1, -1)).detach()
    mask = lib.tensor([[False] * 4 + [True], [False] * 5])
    out["per_head"] = block.attn(h, h, h, key_padding_mask=mask, average_attn_weights=False)[1]
    out["no_weights"] = np.array(block.attn(h, h, h, need_weights=False)[1] is None)
    out["repr"] = np.array(repr(model))
    out["parameter_count"] = np.array(sum(p.numel() for p in model.parameters() if p.requires_grad))
    return out


def test_vision_transformer_as_torch():
    check("vit", _vit_program)


# ------------------------------------------------------------------- a small U-Net
def _unet(lib):
    nn, F = lib.nn, lib.nn.functional

    def double_conv(cin, cout):
        return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                             nn.ReLU(inplace=True), nn.Conv2d(cout, cout, 3, padding="same", bias=False),
                             nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

    class UNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.inc, self.down = double_conv(1, 4), nn.Sequential(nn.MaxPool2d(2), double_conv(4, 8))
            self.bottom = nn.Sequential(nn.MaxPool2d(2, ceil_mode=True), double_conv(8, 8))
            self.up1 = nn.ConvTranspose2d(8, 8, kernel_size=2, stride=2)
            self.conv1 = double_conv(16, 4)
            self.conv2 = double_conv(8, 4)
            self.outc = nn.Conv2d(4, 1, kernel_size=1)

        def forward(self, x):
            x1 = self.inc(x)
            x2 = self.down(x1)
            x3 = self.bottom(x2)
            up = self.up1(x3)
            # odd sizes: pad the upsampled map to the skip connection's size, as the U-Net tutorials do
            dy, dx = x2.size(2) - up.size(2), x2.size(3) - up.size(3)
            up = F.pad(up, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2])
            y = self.conv1(lib.cat([x2, up], dim=1))
            y = F.interpolate(y, size=x1.shape[-2:], mode="bilinear", align_corners=True)
            y = self.conv2(lib.cat([x1, y], dim=1))
            return self.outc(y)

    return UNet()


def _dice_loss(lib, logits, target, eps=1.0):
    probs = lib.sigmoid(logits)
    intersection = (probs * target).sum(dim=(2, 3))
    union = probs.sum(dim=(2, 3)) + target.sum(dim=(2, 3))
    return 1 - ((2 * intersection + eps) / (union + eps)).mean()


def _unet_program(lib):
    """A U-Net on 10x10 masks (odd sizes after pooling: ceil_mode, F.pad to the skip's size),
    ConvTranspose2d and F.interpolate upsampling, torch.cat skips; BCEWithLogits (pos_weight) +
    Dice loss, SGD with Nesterov momentum; eval mode; other interpolation modes."""
    F = lib.nn.functional
    model = set_params(_unet(lib).double(), lib, 24, 0.3)
    optimizer = lib.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4)
    rng = np.random.default_rng(25)
    images = lib.tensor(rng.standard_normal((3, 1, 10, 10)))
    masks = lib.tensor((rng.uniform(size=(3, 1, 10, 10)) > 0.7).astype(np.float64))
    bce = lib.nn.BCEWithLogitsLoss(pos_weight=lib.tensor([2.0], dtype=lib.float64))
    out = {}
    for step in range(2):
        logits = model(images)
        loss = bce(logits, masks) + _dice_loss(lib, logits, masks)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        out[f"loss{step}"] = loss.detach()
    out.update(up_grad=model.up1.weight.grad, inc_grad=model.inc[0].weight.grad, names=_names(loss, logits),
               running_mean=model.conv1[1].running_mean, batches=model.conv1[1].num_batches_tracked)
    model.eval()
    with lib.no_grad():
        prediction = (lib.sigmoid(model(images)) > 0.5).float()
    out["iou"] = (prediction * masks).sum() / ((prediction + masks) > 0).sum()
    small = lib.tensor(rng.standard_normal((2, 3, 5, 7)), requires_grad=True)
    sizes = {"nearest": {"scale_factor": 2}, "bilinear": {"size": (9, 4), "align_corners": False},
             "bicubic": {"scale_factor": 1.5, "align_corners": True}, "area": {"size": (3, 3)},
             "nearest-exact": {"size": (8, 11)}}
    total = 0
    for mode, kwargs in sizes.items():
        up = F.interpolate(small, mode=mode, **kwargs)
        out[f"interpolate_{mode}"] = up
        total = total + (up * up).sum()
    total.backward()
    out["interpolate_grad"] = small.grad
    out["upsample_module"] = lib.nn.Upsample(scale_factor=2, mode="bilinear")(small.detach())
    return out


def test_unet_as_torch():
    check("unet", _unet_program)


# ------------------------------------------------------------------- knowledge distillation
def _distillation_program(lib):
    """A student MLP distilled from a frozen teacher CNN in eval mode: soft targets at temperature T
    through nn.KLDivLoss (batchmean; log_target=True and False) scaled by T^2, mixed with the hard
    cross-entropy; the F.kl_div forms and reductions against the closed form."""
    nn, F = lib.nn, lib.nn.functional
    teacher = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                            nn.Dropout(0.5), nn.Linear(4, 6)).double()
    student = nn.Sequential(nn.Flatten(), nn.Linear(36, 10), nn.ReLU(), nn.Linear(10, 6)).double()
    set_params(teacher, lib, 26, 0.4)
    set_params(student, lib, 27, 0.2)
    teacher.eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    optimizer = lib.optim.Adam(student.parameters(), lr=1e-2)
    kl_log, kl_prob = nn.KLDivLoss(reduction="batchmean", log_target=True), nn.KLDivLoss(reduction="batchmean")
    rng = np.random.default_rng(28)
    T, alpha = 3.0, 0.7
    out = {}
    for step in range(3):
        x = lib.tensor(rng.standard_normal((5, 1, 6, 6)))
        y = lib.tensor(rng.integers(0, 6, 5))
        with lib.no_grad():
            teacher_logits = teacher(x)
        student_logits = student(x)
        soft_log = kl_log(F.log_softmax(student_logits / T, dim=1), F.log_softmax(teacher_logits / T, dim=1))
        soft_prob = kl_prob(F.log_softmax(student_logits / T, dim=1), F.softmax(teacher_logits / T, dim=1))
        loss = alpha * T * T * soft_log + (1 - alpha) * F.cross_entropy(student_logits, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        out[f"loss{step}"], out[f"soft_gap{step}"] = loss.detach(), (soft_log - soft_prob).detach()
    out.update(student_grad=student[1].weight.grad, teacher_grad=np.array(teacher[0].weight.grad is None),
               names=_names(loss, soft_log, soft_prob))
    inp = lib.tensor(rng.standard_normal((3, 4)), requires_grad=True).log_softmax(-1)
    target = lib.tensor(rng.uniform(size=(3, 4)))
    target[0, 1] = 0.0  # a zero target contributes 0 (xlogy), not nan
    for reduction in ("none", "sum", "mean", "batchmean"):
        out[f"kl_{reduction}"] = F.kl_div(inp, target, reduction=reduction)
        out[f"kl_log_{reduction}"] = F.kl_div(inp, target.log(), reduction=reduction, log_target=True)
    out["kl_grad"] = lib.autograd.grad(out["kl_batchmean"] + out["kl_log_sum"], inp)[0]
    return out


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides")  # PyTorch's warning, as minigrad's
def test_knowledge_distillation_as_torch():
    check("distillation", _distillation_program)


# ------------------------------------------------------------------- a modern training recipe
def _recipe_model(lib):
    nn = lib.nn
    return nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6), nn.SiLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 8, 3, padding=1, bias=False), nn.GroupNorm(2, 8), nn.ReLU(),
                         nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Dropout(0.0), nn.Linear(8, 4)).double()


def _param_groups(model, weight_decay):
    """No weight decay for biases and normalisation weights (the usual timm/nanoGPT split)."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.ndim <= 1 or name.endswith(".bias") else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def _recipe_program(lib):
    """Label smoothing, mixup (a fixed lambda and permutation), gradient clipping, OneCycleLR per
    step, AdamW with parameter groups excluding biases and norms from weight decay; also
    CrossEntropyLoss with soft (probability) targets, class weights and ignore_index."""
    nn, F = lib.nn, lib.nn.functional
    model = set_params(_recipe_model(lib), lib, 29, 0.3)
    optimizer = lib.optim.AdamW(_param_groups(model, 0.1), lr=3e-3, betas=(0.9, 0.95), eps=1e-8)
    steps = 4
    scheduler = lib.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-2, total_steps=2 * steps, pct_start=0.3)
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    rng = np.random.default_rng(30)
    out = {"groups": np.array([len(g["params"]) for g in optimizer.param_groups])}
    for step in range(steps):
        x = lib.tensor(rng.standard_normal((6, 3, 6, 6)))
        y = lib.tensor(rng.integers(0, 4, 6))
        lam, perm = float(rng.beta(0.4, 0.4)), lib.tensor(rng.permutation(6))
        mixed = lam * x + (1 - lam) * x[perm]
        logits = model(mixed)
        loss = lam * criterion(logits, y) + (1 - lam) * criterion(logits, y[perm])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        out[f"norm{step}"] = nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5)
        optimizer.step()
        scheduler.step()
        out[f"loss{step}"], out[f"lr{step}"] = loss.detach(), np.array(scheduler.get_last_lr())
        out[f"betas{step}"] = np.array([g["betas"][0] for g in optimizer.param_groups])
    out.update(weights=nn.utils.parameters_to_vector(model.parameters()).detach(), names=_names(loss, logits))
    logits = lib.tensor(rng.standard_normal((5, 4)), requires_grad=True)
    soft = F.softmax(lib.tensor(rng.standard_normal((5, 4))), dim=1)
    target = lib.tensor([0, 3, -100, 2, 1])
    weight = lib.tensor([1.0, 2.0, 0.5, 1.5], dtype=lib.float64)
    losses = {"soft": F.cross_entropy(logits, soft), "soft_smooth": F.cross_entropy(logits, soft, label_smoothing=0.2),
              "weighted_smooth": F.cross_entropy(logits, target, weight=weight, label_smoothing=0.3),
              "ignored_none": F.cross_entropy(logits, target, reduction="none", label_smoothing=0.1),
              "weighted_soft": F.cross_entropy(logits, soft, weight=weight, reduction="sum")}
    out.update(losses)
    out["ce_grad"] = lib.autograd.grad(sum(loss.sum() for loss in losses.values()), logits)[0]
    out["clip_value"] = _clip_value(lib, rng)
    return out


def _clip_value(lib, rng):
    """clip_grad_value_ and clip_grad_norm_ with the inf norm, on two tensors with gradients."""
    a = lib.tensor(rng.standard_normal(5), requires_grad=True)
    b = lib.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    ((a * 3).sum() + (b**3).sum()).backward()
    lib.nn.utils.clip_grad_value_([a, b], clip_value=0.8)
    norm = lib.nn.utils.clip_grad_norm_([a, b], max_norm=0.5, norm_type=float("inf"))
    b.grad[1, 1] = float("nan")  # a diverged gradient: the max and min norms are NaN, whatever the other norms
    nan_norms = [lib.nn.utils.get_total_norm([a.grad, b.grad], order) for order in ("inf", -math.inf)]
    return lib.cat([a.grad, b.grad.flatten(), norm.reshape(1), lib.stack(nan_norms)])


def test_training_recipe_as_torch():
    check("recipe", _recipe_program)


# ------------------------------------------------------------------- data pipeline and resuming
def _pipeline_dataset(lib):
    class Sentences(lib.utils.data.Dataset):
        """Token sequences of uneven length with a label and a dict of metadata."""

        def __init__(self, n=14):
            rng = np.random.default_rng(31)
            self.items = [rng.integers(1, 9, rng.integers(2, 6)) for _ in range(n)]
            self.labels = [int(k % 3 == 0) for k in range(n)]  # imbalanced: 5 of 14 positive

        def __len__(self):
            return len(self.items)

        def __getitem__(self, i):
            return lib.tensor(self.items[i]), self.labels[i], {"index": i, "length": len(self.items[i])}

    return Sentences()


def _pad_collate(lib):
    def collate(batch):
        tokens, labels, meta = zip(*batch, strict=True)
        lengths = lib.tensor([len(t) for t in tokens])
        return lib.nn.utils.rnn.pad_sequence(tokens, batch_first=True), lib.tensor(labels), lengths, meta
    return collate


def _pipeline_model(lib):
    nn = lib.nn

    class BagClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.EmbeddingBag(9, 4, mode="mean", padding_idx=0)
            self.fc = nn.Linear(4, 2)

        def forward(self, tokens):
            return self.fc(self.embed(tokens))

    return set_params(BagClassifier().double(), lib, 32, 0.5)


def _train(lib, model, optimizer, scheduler, batches):
    losses = []
    for tokens, labels, _, _ in batches:
        loss = lib.nn.functional.cross_entropy(model(tokens), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    return losses


def _pipeline_program(lib):
    """A Dataset of (tokens, label, metadata dict), random_split (counts and fractions), a DataLoader
    with a padding collate_fn, class-balancing WeightedRandomSampler weights (zero weights never
    drawn), a checkpoint of model, optimizer, scheduler and epoch through torch.save/torch.load, and
    a resumed run equal to the uninterrupted one."""
    data = lib.utils.data
    dataset = _pipeline_dataset(lib)
    generator = lib.Generator().manual_seed(0)
    parts = data.random_split(dataset, [10, 4], generator=generator)
    fractions = data.random_split(dataset, [0.5, 0.3, 0.2], generator=generator)
    out = {"split_sizes": np.array([len(p) for p in parts + fractions]),
           "split_cover": np.array(sorted(parts[0].indices + parts[1].indices)),
           "split_types": np.array([type(p.indices).__name__ for p in parts])}
    labels = lib.tensor(dataset.labels)
    class_weights = 1.0 / lib.bincount(labels).double()
    sample_weights = class_weights[labels]
    sample_weights[3] = 0.0  # an item excluded from sampling
    out["sample_weights"] = sample_weights
    sampler = data.WeightedRandomSampler(sample_weights, num_samples=13, replacement=False)
    drawn = list(sampler)
    out.update(drawn=np.array(sorted(drawn)), sampler_len=np.array(len(sampler)),
               drawn_types=np.array(sorted({type(i).__name__ for i in drawn})))
    loader = data.DataLoader(dataset, batch_size=4, collate_fn=_pad_collate(lib))
    batches = list(loader)
    out.update(loader_len=np.array(len(loader)), first_tokens=batches[0][0], first_lengths=batches[0][2],
               meta=np.array([m["length"] for m in batches[-1][3]]))
    default = next(iter(data.DataLoader(data.Subset(dataset, [0, 5, 6]), batch_size=3,
                                        collate_fn=lambda b: data.default_collate([(t[:2], y, m) for t, y, m in b]))))
    out.update(default_tokens=default[0], default_labels=default[1], default_meta=default[2]["length"])

    def fresh():
        model = _pipeline_model(lib)
        optimizer = lib.optim.Adam(model.parameters(), lr=0.05, weight_decay=1e-3, amsgrad=True)
        return model, optimizer, lib.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)

    model, optimizer, scheduler = fresh()
    whole = _train(lib, model, optimizer, scheduler, batches * 2)
    model, optimizer, scheduler = fresh()
    first = _train(lib, model, optimizer, scheduler, batches)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "checkpoint.pt")
        lib.save({"epoch": 1, "model_state_dict": model.state_dict(), "optimizer_state_dict": optimizer.state_dict(),
                  "scheduler_state_dict": scheduler.state_dict(), "loss": first[-1]}, path)
        checkpoint = lib.load(path, map_location="cpu", weights_only=True)
    model, optimizer, scheduler = fresh()
    model.load_state_dict(checkpoint["model_state_dict"])
    optimizer.load_state_dict(checkpoint["optimizer_state_dict"])
    scheduler.load_state_dict(checkpoint["scheduler_state_dict"])
    second = _train(lib, model, optimizer, scheduler, batches)
    out.update(whole=np.array(whole), resumed=np.array(first + second), epoch=np.array(checkpoint["epoch"]),
               weights=model.fc.weight, lr=np.array(scheduler.get_last_lr()),
               state_keys=np.array(sorted(optimizer.state_dict()["state"][0])),
               max_exp_avg_sq=optimizer.state_dict()["state"][0]["max_exp_avg_sq"])
    return out


def test_data_pipeline_and_resume_as_torch():
    check("pipeline", _pipeline_program)


# ------------------------------------------------------------------- building and inspecting models
def _setup_model(lib):
    nn = lib.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(2, 4, 3, bias=False), nn.BatchNorm2d(4), nn.ReLU(inplace=True),
                                          nn.Conv2d(4, 4, 1), nn.PReLU(4))
            self.proj = nn.Linear(4, 3)
            self.heads = nn.ModuleDict({"cls": nn.Linear(3, 2), "reg": nn.Linear(3, 1, bias=False)})
            self.register_buffer("mean", lib.tensor([0.5, -0.5]).view(1, 2, 1, 1))
            self.register_buffer("steps", lib.zeros((), dtype=lib.long), persistent=False)
            self.scale = nn.Parameter(lib.ones(1))

        def forward(self, x):
            self.steps += 1
            h = self.features(x - self.mean).mean(dim=(2, 3))
            h = self.proj(h) * self.scale
            return self.heads["cls"](h), self.heads["reg"](h)

    return Net()


def _init_weights(lib):
    nn = lib.nn

    def init(m):
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.constant_(m.weight, 0.5)
            nn.init.constant_(m.bias, 0.1)
        elif isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight, gain=nn.init.calculate_gain("tanh"))
            if m.bias is not None:
                nn.init.constant_(m.bias, 0.01)
    return init


def _model_setup_program(lib):
    """register_buffer (persistent or not), model.apply(init_fn) with nn.init (statistics of the
    random draws, the constants exactly), named_parameters filtering, freezing by requires_grad_(False),
    an optimizer over the trainable parameters only, state_dict keys, train/eval flags, repr."""
    nn = lib.nn
    lib.manual_seed(0)
    model = _setup_model(lib).double()
    model.apply(_init_weights(lib))
    conv, linear = model.features[0].weight, model.proj.weight
    fan_out_std = math.sqrt(2.0 / (4 * 3 * 3))
    bound = nn.init.calculate_gain("tanh") * math.sqrt(6.0 / (4 + 3))
    out = {"init_stats": np.array([abs(conv.std().item() / fan_out_std - 1) < 0.5, linear.abs().max().item() <= bound]),
           "constants": lib.cat([model.features[1].weight, model.features[1].bias, model.proj.bias]).detach(),
           "gains": np.array([nn.init.calculate_gain(n, p) for n, p in
                              [("relu", None), ("leaky_relu", 0.2), ("selu", None), ("conv2d", None), ("tanh", None)]])}
    set_params(model, lib, 33, 0.4)
    for name, p in model.named_parameters():
        if name.startswith("features.0") or "bn" in name:
            p.requires_grad_(False)
    model.features[1].requires_grad_(False)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    optimizer = lib.optim.SGD((p for p in model.parameters() if p.requires_grad), lr=0.1)
    x = lib.tensor(np.random.default_rng(34).standard_normal((3, 2, 5, 5)))
    cls, reg = model(x)
    loss = nn.functional.cross_entropy(cls, lib.tensor([0, 1, 1])) + reg.pow(2).mean()
    loss.backward()
    optimizer.step()
    model.eval()
    with lib.no_grad():
        evaluated = model(x)[0]
    out.update(trainable=np.array(trainable), frozen_grad=np.array(model.features[0].weight.grad is None),
               cls=cls, evaluated=evaluated, scale_grad=model.scale.grad, prelu_grad=model.features[4].weight.grad,
               steps=model.steps, state_keys=np.array(list(model.state_dict())),
               buffers=np.array([n for n, _ in model.named_buffers()]),
               modules=np.array([n for n, _ in model.named_modules()]),
               children=np.array([type(m).__name__ for m in model.children()]),
               training=np.array([m.training for m in model.modules()]),
               repr=np.array(repr(model)), extra=np.array([m.extra_repr() for m in model.features]),
               counts=np.array([sum(p.numel() for p in model.parameters()),
                                sum(p.numel() for p in model.parameters() if p.requires_grad)]),
               dtypes=np.array(sorted({str(p.dtype).split(".")[-1] for p in model.parameters()})))
    return out


def test_model_setup_and_inspection_as_torch():
    check("model_setup", _model_setup_program)


# ------------------------------------------------------------------- tensor idioms
def _idioms_program(lib):
    """The tensor idioms of course notebooks: einsum (batched attention, bilinear, trace, outer),
    gather/scatter_ (one-hot, picking the chosen action's Q-value), masked_fill, topk and argsort
    (with ties, descending, stable), unique (sorted, inverse, counts, dim), bincount (weights,
    minlength), cumsum, where, repeat_interleave (tensor repeats, output_size), meshgrid, nonzero
    (as_tuple), and the reprs of the results."""
    rng = np.random.default_rng(35)
    q = lib.tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    k = lib.tensor(rng.standard_normal((2, 5, 4)), requires_grad=True)
    w = lib.tensor(rng.standard_normal((4, 6, 4)), requires_grad=True)
    out = {"scores": lib.einsum("bqd,bkd->bqk", q, k), "bilinear": lib.einsum("bqi,ioj,bkj->bqko", q, w, k),
           "trace": lib.einsum("ii", w[:, 0, :]), "outer": lib.einsum("i,j->ij", q[0, 0], k[0, 0]),
           "ellipsis": lib.einsum("...d,...d->...", q, q), "diag": lib.einsum("ii->i", w[:, 1, :])}
    total = sum((v * (i + 1)).sum() for i, v in enumerate(out.values()))
    total.backward()
    out.update(q_grad=q.grad, k_grad=k.grad, w_grad=w.grad)
    q_values = lib.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    actions = lib.tensor([2, 0, 0, 1])
    chosen = q_values.gather(1, actions.unsqueeze(1)).squeeze(1)
    chosen.sum().backward()
    one_hot = lib.zeros(4, 3).scatter_(1, actions.unsqueeze(1), 1.0)
    added = lib.zeros(3, dtype=lib.float64).scatter_add(0, actions, chosen.detach())
    reduced = lib.full((3,), 10.0, dtype=lib.float64).scatter_reduce(0, actions, chosen.detach(), "amax",
                                                                     include_self=False)
    int32 = actions.int().unsqueeze(1)  # PyTorch's gather and scatter take int32 indices too
    out.update(chosen=chosen, q_grad_chosen=q_values.grad, one_hot=one_hot, added=added, reduced=reduced,
               gather_int32=q_values.detach().gather(1, int32), scatter_int32=lib.zeros(4, 3).scatter(1, int32, 2.0))
    scores = lib.tensor([[0.3, 0.9, 0.9, 0.1], [0.5, 0.2, 0.5, 0.5]])
    lengths = lib.tensor([3, 2])
    mask = lib.arange(4)[None, :] >= lengths[:, None]
    out["masked"] = scores.masked_fill(mask, float("-inf")).softmax(-1)
    values, indices = scores.topk(2, dim=1)
    out.update(topk_values=values, topk_indices=indices, topk_smallest=scores.topk(3, largest=False, sorted=True)[0],
               argsort=scores.argsort(dim=1, descending=True, stable=True), argsort_stable=lib.argsort(scores[1],
                                                                                                      stable=True),
               sort=lib.sort(scores, dim=0, descending=True)[1])
    labels = lib.tensor([3, 1, 3, 3, 0, 1, 7])
    uniq, inverse, counts = lib.unique(labels, return_inverse=True, return_counts=True)
    rows = lib.tensor([[1, 2], [0, 0], [1, 2]])
    out.update(unique=uniq, inverse=inverse, counts=counts, unique_dim=lib.unique(rows, dim=0),
               unique_consecutive=lib.unique_consecutive(labels), bincount=lib.bincount(labels, minlength=9),
               bincount_weights=lib.bincount(labels, weights=lib.arange(7) / 4),
               cumsum=lib.cumsum(labels, dim=0), cumsum_float=scores.cumsum(1, dtype=lib.float64),
               where=lib.where(scores > 0.4, scores, lib.zeros(())), where_scalar=lib.where(mask, -1, labels[:4]),
               repeat=lib.repeat_interleave(lib.tensor([[1, 2], [3, 4]]), lib.tensor([1, 2]), dim=0),
               repeat_flat=lib.tensor([1, 2, 3]).repeat_interleave(2), repeat_counts=lib.repeat_interleave(
                   lib.tensor([2, 0, 3]), output_size=5))
    ys, xs = lib.meshgrid(lib.arange(3), lib.arange(4), indexing="ij")
    xy = lib.meshgrid(lib.linspace(0, 1, 2), lib.arange(3.0), indexing="xy")
    nz_rows, nz_cols = lib.nonzero(mask, as_tuple=True)
    out.update(ys=ys, xs=xs, grid=lib.stack(xy, dim=-1), nz_rows=nz_rows, nz_cols=nz_cols, nonzero=mask.nonzero(),
               argwhere=lib.argwhere(scores > 0.4), picked=scores[nz_rows, nz_cols])
    shown = [out[n] for n in ("masked", "topk_indices", "unique", "grid", "bincount_weights", "where_scalar")]
    # the library's name dropped, and the line breaks, which depend on its length ("dtype=minigrad.float64")
    reprs = [" ".join(repr(t).replace(lib.__name__ + ".", "").split())
             for t in shown + [chosen, lib.tensor([], dtype=lib.long), mask, values.T]]
    out["reprs"] = np.array(reprs)
    out["names"] = _names(out["scores"], out["bilinear"], out["trace"], out["diag"], chosen)
    return out


def test_tensor_idioms_as_torch():
    check("idioms", _idioms_program)


# ------------------------------------------------------------------- hostile inputs
def _idiom_mistakes(lib):
    """Mistakes with the idioms above: name -> (PyTorch's exception class, the mistake)."""
    F = lib.nn.functional
    x, idx = lib.zeros(2, 3), lib.tensor([[0], [1]])
    return {
        "gather_rank": (RuntimeError, lambda: x.gather(1, lib.tensor([0, 1]))),
        "gather_float_index": (RuntimeError, lambda: x.gather(1, idx.float())),
        "gather_dim": (IndexError, lambda: x.gather(2, idx)),
        "scatter_float_index": (RuntimeError, lambda: x.scatter_(1, idx.double(), 1.0)),
        "scatter_src_small": (RuntimeError, lambda: x.scatter(1, lib.tensor([[0, 1, 2], [0, 1, 2]]), lib.ones(2, 2))),
        "scatter_dtype": (RuntimeError, lambda: x.scatter(1, idx, lib.ones(2, 1, dtype=lib.float64))),
        "topk_dim": (IndexError, lambda: x.topk(1, dim=2)),
        "argsort_dim": (IndexError, lambda: x.argsort(dim=-3)),
        "unique_dim": (IndexError, lambda: lib.unique(x, dim=2)),
        "bincount_negative": (RuntimeError, lambda: lib.bincount(lib.tensor([1, -1]))),
        "bincount_float": (RuntimeError, lambda: lib.bincount(lib.tensor([1.0, 2.0]))),
        "bincount_2d": (RuntimeError, lambda: lib.bincount(lib.tensor([[1, 2]]))),
        "bincount_weights": (RuntimeError, lambda: lib.bincount(lib.tensor([1, 2]), weights=lib.ones(3))),
        "bincount_minlength": (RuntimeError, lambda: lib.bincount(lib.tensor([1, 2]), minlength=-1)),
        "cumsum_dim": (IndexError, lambda: x.cumsum(2)),
        "where_shapes": (RuntimeError, lambda: lib.where(x > 0, x, lib.zeros(3, 2))),
        "repeat_interleave_sizes": (RuntimeError, lambda: lib.repeat_interleave(x, lib.tensor([1, 2, 3]), dim=0)),
        "repeat_interleave_negative": (RuntimeError, lambda: lib.repeat_interleave(lib.tensor([-1, 2]))),
        "repeat_interleave_float": (RuntimeError, lambda: lib.repeat_interleave(x, lib.tensor([1.0, 2.0]), dim=0)),
        "meshgrid_2d": (RuntimeError, lambda: lib.meshgrid(x, x, indexing="ij")),
        "meshgrid_indexing": (RuntimeError, lambda: lib.meshgrid(x[0], x[0], indexing="yx")),
        "masked_fill_value": (RuntimeError, lambda: x.masked_fill(x > 0, lib.ones(2))),
        "nonzero_as_tuple_kw": (TypeError, lambda: lib.nonzero(x, as_tuple=True, dim=0)),
        "interpolate_both": (ValueError, lambda: F.interpolate(x[None, None], size=4, scale_factor=2)),
        "interpolate_none": (ValueError, lambda: F.interpolate(x[None, None])),
        "interpolate_bilinear_3d": (NotImplementedError, lambda: F.interpolate(x[None], size=4, mode="bilinear")),
        "interpolate_align_nearest": (ValueError, lambda: F.interpolate(x[None, None], size=4, align_corners=True)),
        "interpolate_mode": (NotImplementedError, lambda: F.interpolate(x[None, None], size=4, mode="cubic")),
        "interpolate_size_count": (ValueError, lambda: F.interpolate(x[None, None], size=(4, 4, 4))),
    }


def _model_mistakes(lib):
    """Mistakes in building and training the models above."""
    nn, F, data = lib.nn, lib.nn.functional, lib.utils.data
    module = nn.Linear(2, 2)
    mha = nn.MultiheadAttention(4, 2, batch_first=True)
    seq = lib.zeros(2, 3, 4)

    def register(name, value):
        return lambda: module.register_buffer(name, value)

    return {
        "mha_heads": (AssertionError, lambda: nn.MultiheadAttention(6, 4)),
        "mha_embed": (AssertionError, lambda: mha(lib.zeros(2, 3, 5), lib.zeros(2, 3, 5), lib.zeros(2, 3, 5))),
        "mha_padding_mask": (AssertionError, lambda: mha(seq, seq, seq, key_padding_mask=lib.zeros(2, 4).bool())),
        "mha_attn_mask": (RuntimeError, lambda: mha(seq, seq, seq, attn_mask=lib.zeros(2, 3).bool())),
        "mha_key_value": (AssertionError, lambda: mha(seq, seq, lib.zeros(2, 2, 4))),
        "conv_transpose_output_size": (ValueError, lambda: nn.ConvTranspose2d(1, 1, 2, stride=2)(
            lib.zeros(1, 1, 3, 3), output_size=(9, 9))),
        "kl_div_reduction": (ValueError, lambda: F.kl_div(seq, seq, reduction="batch")),
        "ce_smoothing": (RuntimeError, lambda: F.cross_entropy(seq[0], lib.tensor([0, 1]), label_smoothing=1.5)),
        "ce_soft_shape": (RuntimeError, lambda: F.cross_entropy(seq[0], lib.zeros(3, 3))),
        "ce_soft_int": (RuntimeError, lambda: F.cross_entropy(seq[0], lib.zeros(3, 4, dtype=lib.long))),
        "adamw_lr": (ValueError, lambda: lib.optim.AdamW(module.parameters(), lr=-1.0)),
        "adamw_betas": (ValueError, lambda: lib.optim.AdamW(module.parameters(), betas=(0.9, 1.0))),
        "adamw_decay": (ValueError, lambda: lib.optim.AdamW(module.parameters(), weight_decay=-0.1)),
        "duplicate_groups": (ValueError, lambda: lib.optim.AdamW([{"params": module.parameters()},
                                                                  {"params": [module.weight]}])),
        "init_1d": (ValueError, lambda: nn.init.kaiming_normal_(lib.zeros(3))),
        "xavier_1d": (ValueError, lambda: nn.init.xavier_uniform_(lib.zeros(3))),
        "gain": (ValueError, lambda: nn.init.calculate_gain("swish")),
        "init_mode": (ValueError, lambda: nn.init.kaiming_uniform_(lib.zeros(3, 3), mode="fan")),
        "buffer_dot": (KeyError, register("a.b", lib.zeros(1))),
        "buffer_exists": (KeyError, register("weight", lib.zeros(1))),
        "buffer_not_tensor": (TypeError, register("c", [1.0])),
        "buffer_empty_name": (KeyError, register("", lib.zeros(1))),
        "split_sum": (ValueError, lambda: data.random_split(range(10), [5, 4])),
        "split_fractions": (ValueError, lambda: data.random_split(range(10), [0.5, 0.4])),
        "sampler_negative": (RuntimeError, lambda: list(data.WeightedRandomSampler([1.0, -1.0], 2))),
        "sampler_count": (ValueError, lambda: data.WeightedRandomSampler([1.0, 1.0], 0)),
        "sampler_2d": (ValueError, lambda: data.WeightedRandomSampler([[1.0, 1.0]], 2)),
        "loader_batch_size": (ValueError, lambda: data.DataLoader(range(4), batch_size=0)),
        "loader_shuffle_sampler": (ValueError, lambda: data.DataLoader(range(4), shuffle=True,
                                                                       sampler=data.SequentialSampler(range(4)))),
        "pack_lengths_tensor_2d_float": (RuntimeError, lambda: nn.utils.rnn.pack_padded_sequence(
            seq, lib.tensor([[3.0, 3.0]]), batch_first=True)),
    }


def _mistakes_program(lib):
    mistakes = {**_idiom_mistakes(lib), **_model_mistakes(lib)}
    return {"caught": caught_as(mistakes), "names": np.array(list(mistakes))}


def test_hostile_arguments_raise_as_torch():
    check("mistakes", _mistakes_program)


def _einsum_mistakes_program(lib):
    x = lib.zeros(2, 3)
    mistakes = {"operands": (RuntimeError, lambda: lib.einsum("ij,jk->ik", x)),
                "sizes": (RuntimeError, lambda: lib.einsum("ij,jk->ik", x, x)),
                "output_letter": (RuntimeError, lambda: lib.einsum("ij->k", x)),
                "rank": (RuntimeError, lambda: lib.einsum("ijk->i", x))}
    return {"caught": caught_as(mistakes)}


def test_einsum_mistakes_raise_as_torch():
    check("einsum_mistakes", _einsum_mistakes_program)


def _empty_and_nan_program(lib):
    """Empty tensors and NaN through the idioms and losses above: PyTorch's values (NaN where it
    gives NaN, empty results of the right shape and dtype), no crash."""
    F = lib.nn.functional
    empty = lib.zeros(0, 4)
    labels = lib.zeros(0, dtype=lib.long)
    nan = lib.tensor([[0.5, float("nan"), 0.1, 0.7], [0.2, 0.4, 0.4, float("nan")]])
    logits = lib.tensor([[0.5, float("nan"), 0.1], [0.2, 0.4, 0.3]], requires_grad=True)
    loss = F.cross_entropy(logits, lib.tensor([0, 2]), reduction="none")
    loss.sum().backward()
    mha = set_params(lib.nn.MultiheadAttention(4, 2, batch_first=True), lib, 36)
    seq = lib.tensor(np.random.default_rng(37).standard_normal((2, 3, 4)), dtype=lib.float32)
    all_masked = lib.tensor([[True, True, True], [False, True, True]])
    return {
        "empty_softmax": empty.softmax(-1), "empty_topk": empty.topk(0, dim=1)[0], "empty_argsort": empty.argsort(1),
        "empty_unique": lib.unique(labels), "empty_bincount": lib.bincount(labels, minlength=3),
        "empty_cumsum": empty.cumsum(0), "empty_einsum": lib.einsum("ij,kj->ik", empty, lib.ones(2, 4)),
        "empty_gather": empty.gather(1, lib.zeros(0, 2, dtype=lib.long)), "empty_nonzero": empty.nonzero(),
        "empty_repeat": lib.repeat_interleave(labels), "empty_ce_sum": F.cross_entropy(empty, labels, reduction="sum"),
        "empty_ce_mean": F.cross_entropy(empty, labels), "empty_linear": lib.nn.Linear(4, 2)(empty),
        "empty_mean": empty.mean(), "empty_interpolate": F.interpolate(lib.zeros(0, 1, 2, 2), scale_factor=2),
        "nan_topk": nan.topk(2, dim=1)[1], "nan_argsort": nan.argsort(dim=1), "nan_sort": nan.sort(dim=1)[0],
        "nan_max": nan.max(dim=1)[0], "nan_argmax": nan.argmax(dim=1), "nan_unique": lib.unique(nan[:, 1:3]),
        "nan_where": lib.where(nan > 0.3, nan, -1.0), "nan_masked": nan.masked_fill(nan.isnan(), 0.0),
        "nan_cumsum": nan.cumsum(1), "nan_clamp": nan.clamp(0.2, 0.6), "nan_softmax": nan.softmax(1),
        "nan_ce": loss, "nan_ce_grad": logits.grad,
        "nan_kl": F.kl_div(nan.log(), nan.softmax(1), reduction="batchmean"),
        "all_masked": mha(seq, seq, seq, key_padding_mask=all_masked)[0],
    }


def test_empty_and_nan_inputs_as_torch():
    check("empty_and_nan", _empty_and_nan_program, rtol=1e-6)
