"""Course programs ported with `import minigrad as torch`, round 18: each program runs on both
libraries (`program(lib)` with lib minigrad or torch) from the same seeded numpy weights and data,
in float64, and its results are compared with PyTorch's (live, or recorded in
tests/fixtures/torch_reference/test_porting_round18.npz). Programs: the pruning tutorial
(nn.utils.prune: random/l1 unstructured, ln_structured through a PruningContainer, training through
the weight_orig/weight_mask reparametrisation, global_unstructured, a custom BasePruningMethod,
deepcopy, load_state_dict and remove); knowledge distillation (KLDivLoss batchmean and log_target
with temperature); SimCLR's NT-Xent; word2vec skip-gram with negative sampling; a U-Net with
ConvTranspose2d or bilinear upsampling and a Dice term; CNN+LSTM captioning with
pack_padded_sequence(enforce_sorted=False); char-RNN training and temperature sampling; a focal
loss; gradient accumulation with OneCycleLR and clip_grad_norm_(error_if_nonfinite); early stopping
with deepcopied state dicts and a checkpoint through save/load; a straight-through estimator as an
autograd.Function; a spectral-norm GAN discriminator with the hinge loss; a siamese network
(contrastive, CosineEmbedding and triplet losses); a Conv1d audio classifier with reflect padding;
a tabular model with embeddings, random_split and DataLoader generators. And what they found:
nn.utils.prune (missing); module._forward_pre_hooks holding (hook, with_kwargs) pairs instead of
the hooks (the tutorial's ``hook._tensor_name``); interpolate's antialias; ctx.mark_dirty;
load_state_dict(assign=True); F.kl_div's UserWarning for reduction "mean"; the old weight_norm's
FutureWarning; nearest interpolation of uint8 images and masks."""

import copy
import io

import numpy as np
import pytest
from parity import check_program, mistakes_program, set_params
from torch_reference import TorchReference

import minigrad

torch_reference = TorchReference(__name__)


def check(key, program, rtol=1e-9):
    """program(minigrad)'s results against program(torch)'s (parity.check_program)."""
    check_program(torch_reference, key, program, rtol)


def _t(lib, a, dtype=None):
    return lib.tensor(np.asarray(a), dtype=dtype if dtype is not None else lib.float64)


def _data(lib):
    return __import__(lib.__name__ + ".utils.data", fromlist=["TensorDataset"])


def _prune(lib):
    return __import__(lib.__name__ + ".nn.utils.prune", fromlist=["l1_unstructured"])


# ------------------------------------------------------------------- pruning (the PyTorch tutorial)
def _prune_program(lib):
    nn, F = lib.nn, lib.nn.functional
    prune = _prune(lib)

    class LeNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 4, 3)
            self.conv2 = nn.Conv2d(4, 6, 3)
            self.fc1 = nn.Linear(6 * 2 * 2, 10)
            self.fc2 = nn.Linear(10, 3)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), 2)
            x = F.relu(self.conv2(x))
            x = x.view(-1, int(x.nelement() / x.shape[0]))
            return self.fc2(F.relu(self.fc1(x)))

    out = {}
    model = set_params(LeNet().double(), lib, 0, 0.3)
    x = _t(lib, np.random.default_rng(1).standard_normal((2, 1, 10, 10)))
    module = model.conv1
    prune.random_unstructured(module, name="weight", amount=0.3)
    out["rand_names"] = np.array([n for n, _ in module.named_parameters()] + [n for n, _ in module.named_buffers()])
    out["rand_zeros"] = np.array(int((module.weight == 0).sum()))
    out["rand_mask_dtype"] = np.array(str(module.weight_mask.dtype).split(".")[-1])
    out["weight_is_param"] = np.array([isinstance(module.weight, nn.Parameter), module.weight.requires_grad,
                                       module.weight_mask.requires_grad, len(module._forward_pre_hooks)])
    prune.remove(module, "weight")
    out["after_remove"] = np.array([n for n, _ in module.named_parameters()] + [n for n, _ in module.named_buffers()])
    out["removed_zeros"] = np.array(int((module.weight == 0).sum()))
    with lib.no_grad():  # deterministic values again for the magnitude pruning
        module.weight.copy_(_t(lib, np.random.default_rng(2).standard_normal((4, 1, 3, 3))))

    prune.l1_unstructured(module, name="bias", amount=3)
    prune.l1_unstructured(module, name="weight", amount=0.25)
    prune.ln_structured(module, name="weight", amount=0.5, n=2, dim=0)
    for hook in module._forward_pre_hooks.values():
        if hook._tensor_name == "weight":
            break
    out["history"] = np.array([type(h).__name__ for h in hook])
    out["hook_type"] = np.array(type(hook).__name__)
    out["w1"] = module.weight
    out["b1"] = module.bias
    out["mask1"] = module.weight_mask
    out["sd_keys"] = np.array(list(model.state_dict().keys()))
    out["is_pruned"] = np.array([prune.is_pruned(model), prune.is_pruned(model.fc2)])

    # the pruned weights stay zero through training: the gradient reaches weight_orig masked
    opt = lib.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(2):
        opt.zero_grad()
        loss = model(x).pow(2).mean()
        loss.backward()
        opt.step()
    out["loss"] = loss
    out["g_orig"] = module.weight_orig.grad
    out["w_after"] = model(x)  # the hook recomputes weight from the stepped weight_orig
    out["w_after_w"] = module.weight

    # global magnitude pruning over several layers
    params = ((model.conv2, "weight"), (model.fc1, "weight"), (model.fc2, "weight"))
    prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=0.4)
    sparsity = [100.0 * float(lib.sum(m.weight == 0)) / float(m.weight.nelement()) for m, _ in params]
    out["sparsity"] = np.array(sparsity)
    total = sum(float(lib.sum(m.weight == 0)) for m, _ in params)
    out["global_total"] = np.array(total)
    out["global_hook"] = np.array(type(list(model.fc1._forward_pre_hooks.values())[0]).__name__)
    out["y_global"] = model(x)

    # a custom method, as the tutorial's FooBarPruningMethod
    class FooBarPruningMethod(prune.BasePruningMethod):
        PRUNING_TYPE = "unstructured"

        def compute_mask(self, t, default_mask):
            mask = default_mask.clone()
            mask.view(-1)[::2] = 0
            return mask

    def foobar_unstructured(module, name):
        FooBarPruningMethod.apply(module, name)
        return module

    foobar_unstructured(model.fc2, name="bias")
    out["foobar_mask"] = model.fc2.bias_mask
    # deepcopy and load_state_dict of a pruned model (after a forward without grad: a weight computed
    # with grad is no graph leaf, which deepcopy refuses, in PyTorch as here)
    with lib.no_grad():
        model(x)
    clone = copy.deepcopy(model)
    out["clone_y"] = clone(x)
    fresh = LeNet().double()
    for m, name in ((fresh.conv1, "weight"), (fresh.conv1, "bias"), (fresh.conv2, "weight"), (fresh.fc1, "weight"),
                    (fresh.fc2, "weight"), (fresh.fc2, "bias")):
        prune.identity(m, name)
    fresh.load_state_dict(model.state_dict())
    out["fresh_y"] = fresh(x)
    # remove everywhere: plain parameters holding the pruned values
    for m, name in ((model.conv1, "weight"), (model.conv1, "bias"), (model.conv2, "weight"), (model.fc1, "weight"),
                    (model.fc2, "weight"), (model.fc2, "bias")):
        prune.remove(m, name)
    out["final_keys"] = np.array(list(model.state_dict().keys()))
    out["final_fc1"] = model.fc1.weight
    out["final_pruned"] = np.array(prune.is_pruned(model))
    out["prune_fn"] = prune.L1Unstructured(amount=2).prune(_t(lib, [[0.5, -0.1], [2.0, 0.05]]))
    # importance scores and a count amount
    lin = set_params(nn.Linear(3, 2).double(), lib, 5)
    prune.l1_unstructured(lin, "weight", amount=2, importance_scores=_t(lib, [[1, 2, 3], [6, 5, 4]]))
    out["imp_mask"] = lin.weight_mask
    prune.ln_structured(lin, "weight", amount=1, n=1, dim=1)
    out["ln1_mask"] = lin.weight_mask
    prune.random_structured(lin, "weight", amount=1, dim=0)
    out["rs_rows"] = np.array(int((lin.weight_mask.sum(1) == 0).sum()))
    return out


def test_prune_program():
    check("prune", _prune_program)


def _prune_mistakes(lib):
    prune = _prune(lib)
    nn = lib.nn
    return {
        "amount_type": (TypeError, lambda: prune.l1_unstructured(nn.Linear(2, 2), "weight", amount="1")),
        "amount_range": (ValueError, lambda: prune.l1_unstructured(nn.Linear(2, 2), "weight", amount=1.5)),
        "amount_negative": (ValueError, lambda: prune.random_unstructured(nn.Linear(2, 2), "weight", amount=-1)),
        "amount_too_many": (ValueError, lambda: prune.l1_unstructured(nn.Linear(2, 2), "weight", amount=5)),
        "structured_1d": (ValueError, lambda: prune.ln_structured(nn.Linear(2, 2), "bias", amount=1, n=2, dim=0)),
        "structured_dim": (IndexError, lambda: prune.ln_structured(nn.Linear(2, 2), "weight", amount=1, n=2, dim=2)),
        "remove_unpruned": (ValueError, lambda: prune.remove(nn.Linear(2, 2), "weight")),
        "no_such_param": (AttributeError, lambda: prune.l1_unstructured(nn.Linear(2, 2), "nope", amount=1)),
        "global_structured": (
            TypeError,
            lambda: prune.global_unstructured([(nn.Linear(2, 2), "weight")], prune.LnStructured, amount=1, n=2, dim=0),
        ),
        "global_scores_type": (
            TypeError,
            lambda: prune.global_unstructured([(nn.Linear(2, 2), "weight")], prune.L1Unstructured,
                                              importance_scores=[1], amount=1),
        ),
    }


def test_prune_mistakes():
    check("prune_mistakes", mistakes_program(_prune_mistakes))


def test_prune_failure_restores_the_parameter():
    """A compute_mask that raises leaves the module as it was (weight a parameter, no _orig)."""
    prune = minigrad.nn.utils.prune
    lin = minigrad.nn.Linear(2, 2)
    with pytest.raises(ValueError):
        prune.l1_unstructured(lin, "weight", amount=5)
    assert [n for n, _ in lin.named_parameters()] == ["bias", "weight"]
    assert not lin._forward_pre_hooks and not list(lin.named_buffers())


# ------------------------------------------------------------------- knowledge distillation
def _distill_program(lib):
    nn, F = lib.nn, lib.nn.functional
    teacher = set_params(nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 5)).double(), lib, 0, 0.5)
    student = set_params(nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 5)).double(), lib, 1, 0.5)
    rng = np.random.default_rng(2)
    x = _t(lib, rng.standard_normal((8, 6)))
    y = lib.tensor(rng.integers(0, 5, 8))
    T, alpha = 4.0, 0.7
    kl = nn.KLDivLoss(reduction="batchmean")
    kl_log = nn.KLDivLoss(reduction="batchmean", log_target=True)
    ce = nn.CrossEntropyLoss()
    opt = lib.optim.Adam(student.parameters(), lr=1e-2)
    teacher.eval()
    out = {"losses": [], "soft": [], "soft_log": []}
    for _ in range(3):
        with lib.no_grad():
            t_logits = teacher(x)
        s_logits = student(x)
        soft = kl(F.log_softmax(s_logits / T, dim=1), F.softmax(t_logits / T, dim=1)) * (T * T)
        soft_log = kl_log(F.log_softmax(s_logits / T, dim=-1), F.log_softmax(t_logits / T, dim=-1)) * T**2
        loss = alpha * soft + (1 - alpha) * ce(s_logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        out["losses"].append(loss.item())
        out["soft"].append(soft.item())
        out["soft_log"].append(soft_log.item())
    out = {k: np.array(v) for k, v in out.items()}
    out["g"] = student[0].weight.grad
    out["w"] = student[2].weight
    p = F.log_softmax(_t(lib, [[0.1, 0.2, 0.7]]), 1)
    q = _t(lib, [[0.3, 0.3, 0.4]])
    for red in ("none", "sum", "mean", "batchmean"):
        out["kl_" + red] = F.kl_div(p, q, reduction=red)
    out["kl_logt"] = F.kl_div(p, q.log(), reduction="sum", log_target=True)
    out["kl_zero_target"] = F.kl_div(p, _t(lib, [[0.0, 0.5, 0.5]]), reduction="sum")
    xr = _t(lib, [[0.1, 0.2, 0.7]]).requires_grad_()
    F.kl_div(F.log_softmax(xr, 1), _t(lib, [[0.0, 0.5, 0.5]]), reduction="batchmean").backward()
    out["kl_zero_grad"] = xr.grad
    return out


def test_distillation_program():
    check("distill", _distill_program)


# ------------------------------------------------------------------- SimCLR NT-Xent
def _simclr_program(lib):
    nn, F = lib.nn, lib.nn.functional
    enc = set_params(nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 4)).double(), lib, 3)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((6, 5))
    v1 = _t(lib, x + 0.1 * rng.standard_normal((6, 5)))
    v2 = _t(lib, x + 0.1 * rng.standard_normal((6, 5)))
    tau = 0.5

    def nt_xent(z1, z2):
        N = z1.shape[0]
        z = F.normalize(lib.cat([z1, z2], dim=0), dim=1)
        sim = z @ z.T / tau
        mask = lib.eye(2 * N, dtype=lib.bool)
        sim = sim.masked_fill(mask, float("-inf"))
        targets = lib.cat([lib.arange(N, 2 * N), lib.arange(0, N)])
        return F.cross_entropy(sim, targets), sim

    def nt_xent_cos(z1, z2):
        z = lib.cat([z1, z2])
        sim = F.cosine_similarity(z.unsqueeze(1), z.unsqueeze(0), dim=-1) / tau
        sim.fill_diagonal_(-9e15)
        N = z1.shape[0]
        labels = (lib.arange(2 * N) + N) % (2 * N)
        return F.cross_entropy(sim, labels)

    opt = lib.optim.SGD(enc.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    losses = []
    for _ in range(3):
        loss, sim = nt_xent(enc(v1), enc(v2))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    with lib.no_grad():
        l2 = nt_xent_cos(enc(v1), enc(v2))
        _, s = nt_xent(enc(v1), enc(v2))
        top1 = (s.argmax(1) == lib.cat([lib.arange(6, 12), lib.arange(0, 6)])).float().mean()
    return {
        "losses": np.array(losses),
        "sim": sim,
        "l2": l2,
        "top1": top1,
        "g": enc[0].weight.grad,
        "rm": enc[1].running_var,
        "norm_eps": F.normalize(_t(lib, [[0.0, 0.0], [3.0, 4.0]]), p=2, dim=1),
        "norm_p1": F.normalize(_t(lib, [[1.0, -3.0], [3.0, 4.0]]), p=1, dim=0),
    }


def test_simclr_program():
    check("simclr", _simclr_program)


# ------------------------------------------------------------------- word2vec skip-gram
def _skipgram_program(lib):
    nn, F = lib.nn, lib.nn.functional
    V, D, K = 12, 6, 3

    class SkipGram(nn.Module):
        def __init__(self):
            super().__init__()
            self.in_embed = nn.Embedding(V, D, sparse=False)
            self.out_embed = nn.Embedding(V, D)

        def forward(self, center, context, negatives):
            c = self.in_embed(center).unsqueeze(2)  # (B, D, 1)
            pos = self.out_embed(context).unsqueeze(1)  # (B, 1, D)
            neg = self.out_embed(negatives)  # (B, K, D)
            pos_loss = F.logsigmoid(lib.bmm(pos, c).squeeze())
            neg_loss = F.logsigmoid(-lib.bmm(neg, c).squeeze(2)).sum(1)
            return -(pos_loss + neg_loss).mean()

    model = set_params(SkipGram().double(), lib, 5, 0.3)
    rng = np.random.default_rng(6)
    center = lib.tensor(rng.integers(0, V, 7))
    context = lib.tensor(rng.integers(0, V, 7))
    negs = lib.tensor(rng.integers(0, V, (7, K)))
    counts = _t(lib, rng.integers(1, 20, V))
    noise = counts**0.75 / (counts**0.75).sum()
    drawn = lib.multinomial(noise, 7 * K, replacement=True).view(7, K)
    opt = lib.optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(3):
        opt.zero_grad()
        loss = model(center, context, negs)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    emb = model.in_embed.weight.detach()
    sims = F.cosine_similarity(emb[center[:2]].unsqueeze(1), emb.unsqueeze(0), dim=2)
    top = sims.topk(3, dim=1)
    return {
        "losses": np.array(losses),
        "noise": noise,
        "drawn": np.array([list(drawn.shape), [int(drawn.min() >= 0), int(drawn.max() < V)]]),
        "drawn_dtype": np.array(str(drawn.dtype).split(".")[-1]),
        "g_in": model.in_embed.weight.grad,
        "g_out": model.out_embed.weight.grad,
        "top_vals": top.values,
        "top_idx": top.indices,
        "logsig": F.logsigmoid(_t(lib, [-800.0, -5.0, 0.0, 5.0, 800.0])),
    }


def test_skipgram_program():
    check("skipgram", _skipgram_program)


# ------------------------------------------------------------------- U-Net with a Dice term
def _unet_program(lib):
    nn, F = lib.nn, lib.nn.functional

    def double_conv(cin, cout):
        return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                             nn.ReLU(inplace=True), nn.Conv2d(cout, cout, 3, padding=1, bias=False),
                             nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

    class UNet(nn.Module):
        def __init__(self, bilinear):
            super().__init__()
            self.bilinear = bilinear
            self.inc = double_conv(1, 4)
            self.down = nn.Sequential(nn.MaxPool2d(2), double_conv(4, 8))
            self.up_t = nn.ConvTranspose2d(8, 4, kernel_size=2, stride=2)
            self.conv = double_conv(8, 4)
            self.outc = nn.Conv2d(4, 1, kernel_size=1)

        def forward(self, x):
            x1 = self.inc(x)
            x2 = self.down(x1)
            if self.bilinear:
                u = F.interpolate(x2, scale_factor=2, mode="bilinear", align_corners=True)[:, :4]
            else:
                u = self.up_t(x2)
            diffY, diffX = x1.size()[2] - u.size()[2], x1.size()[3] - u.size()[3]
            u = F.pad(u, [diffX // 2, diffX - diffX // 2, diffY // 2, diffY - diffY // 2])
            return self.outc(self.conv(lib.cat([x1, u], dim=1)))

    def dice_loss(logits, target, eps=1e-6):
        p = lib.sigmoid(logits)
        inter = (p * target).sum(dim=(2, 3))
        union = p.sum(dim=(2, 3)) + target.sum(dim=(2, 3))
        return 1 - ((2 * inter + eps) / (union + eps)).mean()

    rng = np.random.default_rng(7)
    x = _t(lib, rng.standard_normal((2, 1, 9, 9)))
    mask = _t(lib, (rng.random((2, 1, 9, 9)) > 0.6).astype(float))
    out = {}
    for bilinear in (False, True):
        model = set_params(UNet(bilinear).double(), lib, 8, 0.3)
        bce = nn.BCEWithLogitsLoss()
        opt = lib.optim.Adam(model.parameters(), lr=1e-3)
        losses = []
        for _ in range(2):
            logits = model(x)
            loss = bce(logits, mask) + dice_loss(logits, mask)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        model.eval()
        with lib.no_grad():
            pred = (lib.sigmoid(model(x)) > 0.5).float()
        tag = "bil" if bilinear else "tc"
        out[tag + "_losses"] = np.array(losses)
        out[tag + "_g"] = model.inc[0].weight.grad
        out[tag + "_gt"] = model.up_t.weight.grad if not bilinear else model.conv[0].weight.grad
        out[tag + "_iou"] = ((pred * mask).sum() / ((pred + mask) > 0).float().sum().clamp(min=1))
    small = _t(lib, np.arange(12.0).reshape(1, 1, 3, 4))
    for ac in (True, False):
        out[f"bil_{ac}"] = F.interpolate(small, size=(5, 7), mode="bilinear", align_corners=ac)
        out[f"bil_sf_{ac}"] = F.interpolate(small, scale_factor=1.5, mode="bilinear", align_corners=ac)
    out["up_near"] = nn.Upsample(scale_factor=2, mode="nearest")(small)
    out["up_bil"] = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)(small)
    out["bil_aa"] = F.interpolate(small, size=(2, 2), mode="bilinear", antialias=True)
    return out


def test_unet_program():
    check("unet", _unet_program)


# ------------------------------------------------------------------- image captioning
def _caption_program(lib):
    nn = lib.nn
    rnn_utils = lib.nn.utils.rnn
    V, E, H, PAD = 10, 6, 8, 0

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.cnn = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d((1, 1)))
            self.fc = nn.Linear(4, E)
            self.bn = nn.BatchNorm1d(E, momentum=0.01)

        def forward(self, images):
            with lib.no_grad():
                f = self.cnn(images)
            return self.bn(self.fc(f.reshape(f.size(0), -1)))

    class Decoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(V, E, padding_idx=PAD)
            self.lstm = nn.LSTM(E, H, num_layers=1, batch_first=True)
            self.linear = nn.Linear(H, V)

        def forward(self, features, captions, lengths):
            emb = self.embed(captions)
            emb = lib.cat((features.unsqueeze(1), emb), 1)
            packed = rnn_utils.pack_padded_sequence(emb, lengths, batch_first=True, enforce_sorted=False)
            hiddens, _ = self.lstm(packed)
            return self.linear(hiddens[0]), packed

        def sample(self, features, max_len=5):
            ids, states = [], None
            inputs = features.unsqueeze(1)
            for _ in range(max_len):
                h, states = self.lstm(inputs, states)
                pred = self.linear(h.squeeze(1)).argmax(1)
                ids.append(pred)
                inputs = self.embed(pred).unsqueeze(1)
            return lib.stack(ids, 1)

    enc = set_params(Encoder().double(), lib, 9)
    dec = set_params(Decoder().double(), lib, 10, 0.3)
    rng = np.random.default_rng(11)
    images = _t(lib, rng.standard_normal((4, 3, 5, 5)))
    lens = [3, 5, 2, 4]
    caps = np.zeros((4, 5), dtype=np.int64)
    for i, n in enumerate(lens):
        caps[i, :n] = rng.integers(1, V, n)
    captions = lib.tensor(caps)
    lengths = [n + 1 for n in lens]  # the image feature is the first step
    full = lib.cat([captions, lib.zeros(4, 1, dtype=lib.long)], 1)
    targets_padded = full.clone()
    params = list(dec.parameters()) + list(enc.fc.parameters()) + list(enc.bn.parameters())
    opt = lib.optim.Adam(params, lr=1e-3)
    crit = nn.CrossEntropyLoss()
    losses = []
    for _ in range(2):
        feats = enc(images)
        logits, packed = dec(feats, captions, lengths)
        # the targets are the captions shifted: packed the same way
        targets = rnn_utils.pack_padded_sequence(targets_padded, lengths, batch_first=True, enforce_sorted=False)[0]
        loss = crit(logits, targets)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    out_padded, out_lens = rnn_utils.pad_packed_sequence(dec.lstm(packed)[0], batch_first=True, padding_value=-1.0)
    enc.eval()
    dec.eval()
    with lib.no_grad():
        sampled = dec.sample(enc(images))
    return {
        "losses": np.array(losses),
        "bs": packed.batch_sizes,
        "si": packed.sorted_indices,
        "ui": packed.unsorted_indices,
        "targets": targets,
        "padded": out_padded,
        "out_lens": out_lens,
        "sampled": sampled,
        "g_emb": dec.embed.weight.grad,
        "g_ih": dec.lstm.weight_ih_l0.grad,
        "g_fc": enc.fc.weight.grad,
        "cnn_grad_none": np.array(enc.cnn[0].weight.grad is None),
        "bn_rm": enc.bn.running_mean,
    }


def test_caption_program():
    check("caption", _caption_program)


# ------------------------------------------------------------------- char-RNN with sampling
def _charrnn_program(lib):
    nn, F = lib.nn, lib.nn.functional
    text = "hello world, hello there"
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    data = lib.tensor([stoi[c] for c in text], dtype=lib.long)
    V, H = len(chars), 10

    class CharRNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(V, 8)
            self.rnn = nn.GRU(8, H, num_layers=2, batch_first=True, dropout=0.0)
            self.fc = nn.Linear(H, V)

        def forward(self, x, h=None):
            out, h = self.rnn(self.emb(x), h)
            return self.fc(out), h

        def init_hidden(self, batch):
            return lib.zeros(2, batch, H, dtype=lib.float64)

    model = set_params(CharRNN().double(), lib, 12, 0.3)
    opt = lib.optim.RMSprop(model.parameters(), lr=0.01, alpha=0.9)
    seq, B = 5, 2
    h = model.init_hidden(B)
    losses = []
    n = (len(data) - 1) // (B * seq) * B * seq
    xs = data[:n].view(B, -1)
    ys = data[1 : n + 1].view(B, -1)
    for i in range(0, xs.size(1), seq):
        h = h.detach()
        logits, h = model(xs[:, i : i + seq], h)
        loss = F.cross_entropy(logits.reshape(-1, V), ys[:, i : i + seq].reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        losses.append(loss.item())
    # sampling with temperature: the distribution is compared; the draws only by support
    model.eval()
    with lib.no_grad():
        x = lib.tensor([[stoi["h"]]])
        hs = None
        probs_seen, drawn = [], []
        for temp in (0.5, 1.0, 2.0):
            logits, hs = model(x, hs)
            probs = F.softmax(logits[:, -1] / temp, dim=-1)
            probs_seen.append(probs)
            nxt = lib.multinomial(probs, num_samples=1)
            drawn.append(int(nxt.item()))
            x = lib.tensor([[stoi["l"]]])
        probs_all = lib.cat(probs_seen)
        dist = lib.distributions.Categorical(logits=logits[:, -1] / 0.8)
        s = dist.sample((4,))
    return {
        "losses": np.array(losses),
        "probs": probs_all,
        "drawn_ok": np.array([0 <= d < V for d in drawn]),
        "cat_probs": dist.probs,
        "cat_entropy": dist.entropy(),
        "cat_lp": dist.log_prob(lib.tensor([1])),
        "cat_sample": np.array(list(s.shape) + [int(s.min() >= 0), int(s.max() < V)]),
        "g": model.rnn.weight_hh_l1.grad,
        "h_shape": np.array(h.shape),
        "h_grad_fn": np.array(h.requires_grad),
    }


def test_charrnn_program():
    check("charrnn", _charrnn_program)


# ------------------------------------------------------------------- focal loss
def _focal_program(lib):
    nn, F = lib.nn, lib.nn.functional

    class FocalLoss(nn.Module):
        def __init__(self, alpha=None, gamma=2.0, reduction="mean", ignore_index=-100):
            super().__init__()
            self.register_buffer("alpha", alpha)
            self.gamma, self.reduction, self.ignore_index = gamma, reduction, ignore_index

        def forward(self, logits, target):
            keep = target != self.ignore_index
            logits, target = logits[keep], target[keep]
            log_p = F.log_softmax(logits, dim=-1)
            log_pt = log_p.gather(1, target.unsqueeze(1)).squeeze(1)
            pt = log_pt.exp()
            ce = F.nll_loss(log_p, target, weight=self.alpha, reduction="none")
            loss = (1 - pt) ** self.gamma * ce
            if self.reduction == "mean":
                return loss.mean()
            return loss.sum() if self.reduction == "sum" else loss

    model = set_params(nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3)).double(), lib, 13, 0.5)
    rng = np.random.default_rng(14)
    x = _t(lib, rng.standard_normal((10, 4)))
    y = lib.tensor(rng.integers(0, 3, 10))
    y[3] = -100
    alpha = _t(lib, [0.25, 0.5, 0.25])
    crit = FocalLoss(alpha=alpha, gamma=2.0)
    opt = lib.optim.SGD(model.parameters(), lr=0.5)
    losses = []
    for _ in range(3):
        loss = crit(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    logits = model(x)
    return {
        "losses": np.array(losses),
        "none": FocalLoss(alpha, 0.0, "none")(logits, y),
        "gamma0_is_ce": FocalLoss(None, 0.0)(logits, y) - F.cross_entropy(logits, y),
        "weighted_ce": F.cross_entropy(logits, y, weight=alpha),
        "weighted_ce_ls": F.cross_entropy(logits, y, weight=alpha, label_smoothing=0.1),
        "g": model[0].weight.grad,
        "buffers": np.array([n for n, _ in crit.named_buffers()]),
        "none_buffer": np.array([n for n, _ in FocalLoss(None).named_buffers()] + ["-"]),
        "sd": np.array(list(FocalLoss(None).state_dict()) + ["-"]),
    }


def test_focal_program():
    check("focal", _focal_program)


# ------------------------------------------------------------------- accumulation with OneCycleLR
def _onecycle_program(lib):
    nn, F = lib.nn, lib.nn.functional
    model = set_params(nn.Sequential(nn.Linear(3, 6), nn.GELU(), nn.Dropout(0.0), nn.Linear(6, 1)).double(), lib, 15)
    rng = np.random.default_rng(16)
    X = _t(lib, rng.standard_normal((12, 3)))
    Y = _t(lib, rng.standard_normal((12, 1)))
    accum, epochs, per_epoch = 2, 3, 6
    opt = lib.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.01)
    sched = lib.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.05, epochs=epochs, steps_per_epoch=per_epoch // accum,
                                              pct_start=0.3, anneal_strategy="cos", div_factor=10.0,
                                              final_div_factor=100.0)
    lrs, moms, norms, losses = [], [], [], []
    opt.zero_grad(set_to_none=True)
    none_after_zero = model[0].weight.grad is None
    for _ in range(epochs):
        for i in range(per_epoch):
            xb, yb = X[2 * i : 2 * i + 2], Y[2 * i : 2 * i + 2]
            loss = F.mse_loss(model(xb), yb) / accum
            loss.backward()
            losses.append(loss.item())
            if (i + 1) % accum == 0:
                norms.append(float(nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5, error_if_nonfinite=True)))
                opt.step()
                sched.step()
                opt.zero_grad(set_to_none=True)
                lrs.append(sched.get_last_lr()[0])
                moms.append(opt.param_groups[0]["betas"][0])
    sgd = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    s2 = lib.optim.lr_scheduler.OneCycleLR(sgd, max_lr=[0.2], total_steps=6, anneal_strategy="linear",
                                           three_phase=True)
    lr2, mom2 = [], []
    for _ in range(5):
        sgd.step()
        s2.step()
        lr2.append(s2.get_last_lr()[0])
        mom2.append(sgd.param_groups[0]["momentum"])
    sd = sched.state_dict()
    return {
        "losses": np.array(losses),
        "lrs": np.array(lrs),
        "moms": np.array(moms),
        "norms": np.array(norms),
        "lr2": np.array(lr2),
        "mom2": np.array(mom2),
        "none_after_zero": np.array([none_after_zero, model[0].weight.grad is None]),
        "w": model[0].weight,
        "initial_lr": np.array([opt.param_groups[0]["initial_lr"], opt.param_groups[0]["max_lr"],
                                opt.param_groups[0]["min_lr"]]),
        "sd_step": np.array([sd["last_epoch"], sd["total_steps"], sd["_step_count"]]),
    }


def test_onecycle_accumulation_program():
    check("onecycle", _onecycle_program)


def _nonfinite_clip(lib):
    p = lib.nn.Parameter(lib.ones(2, dtype=lib.float64))
    p.grad = lib.tensor([float("inf"), 1.0], dtype=lib.float64)
    return lib.nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)


def _schedule_mistakes(lib):
    opt = lib.optim.SGD([lib.nn.Parameter(lib.ones(1))], lr=0.1)
    return {
        "nonfinite_clip": (RuntimeError, lambda: _nonfinite_clip(lib)),
        "onecycle_no_steps": (ValueError, lambda: lib.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1)),
        "onecycle_bad_pct": (
            ValueError, lambda: lib.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=5, pct_start=1.5)),
        "onecycle_bad_anneal": (
            ValueError,
            lambda: lib.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=5, anneal_strategy="exp")),
        "onecycle_past_end": (ValueError, lambda: _past_end(lib)),
    }


def _past_end(lib):
    opt = lib.optim.SGD([lib.nn.Parameter(lib.ones(1))], lr=0.1)
    s = lib.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=2)
    for _ in range(3):
        opt.step()
        s.step()


def test_schedule_mistakes():
    check("schedule_mistakes", mistakes_program(_schedule_mistakes))


# ------------------------------------------------------------------- early stopping and checkpoints
def _early_stop_program(lib):
    nn, F = lib.nn, lib.nn.functional
    model = set_params(nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1)).double(), lib, 17, 0.5)
    rng = np.random.default_rng(18)
    Xtr, Xva = _t(lib, rng.standard_normal((16, 2))), _t(lib, rng.standard_normal((8, 2)))
    ytr = (Xtr[:, :1] * 2 - Xtr[:, 1:]) + _t(lib, 0.5 * rng.standard_normal((16, 1)))
    yva = Xva[:, :1] * 2 - Xva[:, 1:]
    opt = lib.optim.Adam(model.parameters(), lr=0.3)
    sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=1)
    best, best_state, best_epoch, patience, bad = float("inf"), None, -1, 2, 0
    history = []
    for epoch in range(12):
        model.train()
        opt.zero_grad()
        F.mse_loss(model(Xtr), ytr).backward()
        opt.step()
        model.eval()
        with lib.no_grad():
            val = F.mse_loss(model(Xva), yva).item()
        sched.step(val)
        history.append(val)
        if val < best - 1e-4:
            best, best_epoch, bad = val, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
            best_opt = copy.deepcopy(opt.state_dict())
        else:
            bad += 1
            if bad >= patience:
                break
    last_w = model[0].weight.detach().clone()
    model.load_state_dict(best_state)
    with lib.no_grad():
        best_again = F.mse_loss(model(Xva), yva).item()
    buf = io.BytesIO()
    lib.save({"epoch": best_epoch, "model_state_dict": best_state, "optimizer_state_dict": best_opt,
              "loss": best, "history": history}, buf)
    buf.seek(0)
    ckpt = lib.load(buf, weights_only=False)
    model2 = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1)).double()
    opt2 = lib.optim.Adam(model2.parameters(), lr=0.3)
    model2.load_state_dict(ckpt["model_state_dict"])
    opt2.load_state_dict(ckpt["optimizer_state_dict"])
    # read before stepping: PyTorch's loaded optimizer shares these tensors with the dict it loaded
    # (its step() then changes the checkpoint); minigrad's keeps a private copy (tests/test_optim.py)
    opt_step = float(ckpt["optimizer_state_dict"]["state"][0]["step"])
    opt2.zero_grad()
    F.mse_loss(model2(Xtr), ytr).backward()
    opt2.step()
    buf2 = io.BytesIO()
    lib.save(model2.state_dict(), buf2)
    buf2.seek(0)
    sd = lib.load(buf2, weights_only=True)
    return {
        "history": np.array(history),
        "best": np.array([best, best_again, ckpt["loss"], ckpt["epoch"]]),
        "n_epochs": np.array(len(ckpt["history"])),
        "last_w": last_w,
        "restored_w": model[0].weight,
        "resumed_w": model2[0].weight,
        "opt_keys": np.array(sorted(ckpt["optimizer_state_dict"]["state"][0].keys())),
        "opt_step": np.array(opt_step),
        "pg_lr": np.array([g["lr"] for g in opt2.param_groups]),
        "sd_keys": np.array(list(sd)),
        "independent": np.array(best_state["0.weight"].data_ptr() != model[0].weight.data_ptr()),
    }


def test_early_stopping_program():
    check("early_stop", _early_stop_program)


# ------------------------------------------------------------------- straight-through estimator
def _ste_program(lib):
    nn, F = lib.nn, lib.nn.functional
    seen = {}

    class BinarizeSTE(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, threshold):
            ctx.save_for_backward(x)
            ctx.threshold = threshold
            return (x > threshold).to(x.dtype) * 2 - 1

        @staticmethod
        def backward(ctx, grad_out):
            (x,) = ctx.saved_tensors
            seen["needs"] = tuple(ctx.needs_input_grad)
            return grad_out * (x.abs() <= 1).to(grad_out.dtype), None

    class RoundWithIndex(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            idx = x.argmax(dim=1)
            ctx.mark_non_differentiable(idx)
            return x.round(), idx

        @staticmethod
        def backward(ctx, g, g_idx):
            seen["g_idx_none"] = g_idx is None
            return g

    class BinaryNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(4, 6)
            self.fc2 = nn.Linear(6, 2)

        def forward(self, x):
            h = BinarizeSTE.apply(self.fc1(x), 0.0)
            r, idx = RoundWithIndex.apply(self.fc2(h) * 3)
            return r + 0.1 * self.fc2(h), idx

    model = set_params(BinaryNet().double(), lib, 19, 0.5)
    rng = np.random.default_rng(20)
    x = _t(lib, rng.standard_normal((5, 4)))
    y = lib.tensor(rng.integers(0, 2, 5))
    opt = lib.optim.SGD(model.parameters(), lr=0.1)
    losses = []
    for _ in range(2):
        out, idx = model(x)
        loss = F.cross_entropy(out, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    xs = _t(lib, [-2.0, -0.5, 0.0, 0.5, 2.0]).requires_grad_()
    b = BinarizeSTE.apply(xs, 0.0)
    b.sum().backward()
    return {
        "losses": np.array(losses),
        "g1": model.fc1.weight.grad,
        "g2": model.fc2.weight.grad,
        "idx": idx,
        "idx_rg": np.array([idx.requires_grad, out.requires_grad]),
        "needs": np.array(seen["needs"]),
        "g_idx_none": np.array(seen["g_idx_none"]),
        "b": b,
        "xs_grad": xs.grad,
        "grad_fn": np.array(type(b.grad_fn).__name__.replace("Backward", "")),
    }


def test_ste_program():
    check("ste", _ste_program)


# ------------------------------------------------------------------- spectral-norm GAN with hinge loss
def _sngan_program(lib):
    nn, F = lib.nn, lib.nn.functional
    SN = nn.utils.spectral_norm
    PSN = nn.utils.parametrizations.spectral_norm

    D = nn.Sequential(SN(nn.Conv2d(1, 4, 3, stride=2, padding=1)), nn.LeakyReLU(0.2),
                      SN(nn.Conv2d(4, 8, 3, stride=2, padding=1)), nn.LeakyReLU(0.2), nn.Flatten(),
                      SN(nn.Linear(8 * 2 * 2, 1))).double()
    D2 = nn.Sequential(PSN(nn.Linear(6, 8)), nn.LeakyReLU(0.2), PSN(nn.Linear(8, 1))).double()
    G = set_params(nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Linear(16, 64), nn.Tanh()).double(), lib, 21)
    rng = np.random.default_rng(22)
    with lib.no_grad():  # the power iteration's random starting vectors, and the weights, from numpy
        for m in (D[0], D[2], D[5]):
            m.weight_orig.copy_(_t(lib, rng.standard_normal(tuple(m.weight_orig.shape)) * 0.3))
            m.bias.copy_(_t(lib, rng.standard_normal(tuple(m.bias.shape)) * 0.1))
            m.weight_u.copy_(F.normalize(_t(lib, rng.standard_normal(tuple(m.weight_u.shape))), dim=0))
            m.weight_v.copy_(F.normalize(_t(lib, rng.standard_normal(tuple(m.weight_v.shape))), dim=0))
        for m in (D2[0], D2[2]):
            m.parametrizations.weight.original.copy_(_t(lib, rng.standard_normal(tuple(m.weight.shape)) * 0.3))
            m.bias.copy_(_t(lib, rng.standard_normal(tuple(m.bias.shape)) * 0.1))
            sn = m.parametrizations.weight[0]
            sn._u.copy_(F.normalize(_t(lib, rng.standard_normal(tuple(sn._u.shape))), dim=0))
            sn._v.copy_(F.normalize(_t(lib, rng.standard_normal(tuple(sn._v.shape))), dim=0))
    real = _t(lib, rng.standard_normal((4, 1, 8, 8)))
    z = _t(lib, rng.standard_normal((4, 3)))
    optD = lib.optim.Adam(D.parameters(), lr=2e-4, betas=(0.0, 0.9))
    optG = lib.optim.Adam(G.parameters(), lr=2e-4, betas=(0.0, 0.9))
    d_losses, g_losses = [], []
    for _ in range(2):
        fake = G(z).view(-1, 1, 8, 8)
        d_loss = F.relu(1.0 - D(real)).mean() + F.relu(1.0 + D(fake.detach())).mean()
        optD.zero_grad()
        d_loss.backward()
        optD.step()
        g_loss = -D(fake).mean()
        optG.zero_grad()
        g_loss.backward()
        optG.step()
        d_losses.append(d_loss.item())
        g_losses.append(g_loss.item())
    feats = _t(lib, rng.standard_normal((3, 6)))
    d2 = D2(feats)
    d2.sum().backward()
    sigma = lib.linalg.matrix_norm(D[5].weight.detach(), ord=2)
    D.eval()
    with lib.no_grad():
        d_eval = D(real)
    return {
        "d_losses": np.array(d_losses),
        "g_losses": np.array(g_losses),
        "g_orig": D[0].weight_orig.grad,
        "u": D[2].weight_u,
        "v": D[5].weight_v,
        "sigma": sigma,
        "d_eval": d_eval,
        "sd_keys": np.array(list(D.state_dict())),
        "d2": d2,
        "d2_g": D2[0].parametrizations.weight.original.grad,
        "d2_keys": np.array(list(D2.state_dict())),
        "g_grad": G[0].weight.grad,
    }


def test_sngan_program():
    check("sngan", _sngan_program, 1e-8)


# ------------------------------------------------------------------- siamese network
def _siamese_program(lib):
    nn, F = lib.nn, lib.nn.functional

    class Siamese(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(5, 8), nn.PReLU(), nn.Linear(8, 4))

        def forward_once(self, x):
            return self.net(x)

        def forward(self, a, b):
            return self.forward_once(a), self.forward_once(b)

    class ContrastiveLoss(nn.Module):
        def __init__(self, margin=2.0):
            super().__init__()
            self.margin = margin

        def forward(self, o1, o2, label):
            d = F.pairwise_distance(o1, o2, keepdim=True)
            return lib.mean((1 - label) * lib.pow(d, 2) + label * lib.pow(lib.clamp(self.margin - d, min=0.0), 2))

    model = set_params(Siamese().double(), lib, 23, 0.4)
    rng = np.random.default_rng(24)
    a, b, c = (_t(lib, rng.standard_normal((6, 5))) for _ in range(3))
    label = _t(lib, rng.integers(0, 2, (6, 1)).astype(float))
    y = lib.tensor([1, -1, 1, 1, -1, -1])
    cos_loss = nn.CosineEmbeddingLoss(margin=0.2)
    trip = nn.TripletMarginLoss(margin=1.0, p=2)
    trip_fn = nn.TripletMarginWithDistanceLoss(distance_function=lambda x, y: 1.0 - F.cosine_similarity(x, y),
                                               margin=0.5)
    opt = lib.optim.Adam(model.parameters(), lr=5e-3)
    out = {"contrastive": [], "cos": [], "trip": [], "tripfn": []}
    for _ in range(2):
        o1, o2 = model(a, b)
        o3 = model.forward_once(c)
        l1 = ContrastiveLoss()(o1, o2, label)
        l2 = cos_loss(o1, o2, y)
        l3 = trip(o1, o2, o3)
        l4 = trip_fn(o1, o2, o3)
        loss = l1 + l2 + l3 + l4
        opt.zero_grad()
        loss.backward()
        opt.step()
        for k, v in zip(out, (l1, l2, l3, l4), strict=True):
            out[k].append(v.item())
    out = {k: np.array(v) for k, v in out.items()}
    o1, o2 = model(a, b)
    out["pd"] = F.pairwise_distance(o1, o2)
    out["pd_p1"] = F.pairwise_distance(o1, o2, p=1.0, eps=0.0)
    out["pd_same"] = F.pairwise_distance(o1, o1)
    out["pd_1d"] = F.pairwise_distance(o1[0], o2[0])
    out["pd_mod"] = nn.PairwiseDistance(p=3.0, keepdim=True)(o1, o2)
    out["cos_none"] = nn.CosineEmbeddingLoss(reduction="none")(o1, o2, y)
    out["trip_none"] = nn.TripletMarginLoss(reduction="none", swap=True)(o1, o2, o1.flip(0))
    out["prelu_g"] = model.net[1].weight.grad
    out["g"] = model.net[0].weight.grad
    out["cos_sim_eps"] = F.cosine_similarity(_t(lib, [[0.0, 0.0]]), _t(lib, [[1.0, 0.0]]))
    return out


def test_siamese_program():
    check("siamese", _siamese_program)


# ------------------------------------------------------------------- 1-D conv audio classifier
def _audio_program(lib):
    nn, F = lib.nn, lib.nn.functional

    class AudioNet(nn.Module):
        def __init__(self, n_classes=3):
            super().__init__()
            self.conv1 = nn.Conv1d(1, 4, kernel_size=9, stride=2, padding=0)
            self.bn1 = nn.BatchNorm1d(4)
            self.conv2 = nn.Conv1d(4, 8, kernel_size=3, padding="same", dilation=2, padding_mode="reflect")
            self.bn2 = nn.BatchNorm1d(8)
            self.pool = nn.MaxPool1d(2)
            self.gap = nn.AdaptiveAvgPool1d(1)
            self.fc = nn.Linear(8, n_classes)

        def forward(self, x):
            x = F.pad(x, (4, 4), mode="reflect")
            x = self.pool(F.relu(self.bn1(self.conv1(x))))
            x = F.relu(self.bn2(self.conv2(x)))
            return self.fc(self.gap(x).squeeze(-1))

    model = set_params(AudioNet().double(), lib, 25, 0.3)
    t = np.linspace(0, 1, 64)
    rng = np.random.default_rng(26)
    wav = np.stack([np.sin(2 * np.pi * f * t) for f in (3, 7, 11, 5)])[:, None] + 0.1 * rng.standard_normal((4, 1, 64))
    x = _t(lib, wav)
    y = lib.tensor([0, 1, 2, 0])
    opt = lib.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    sched = lib.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    losses = []
    for _ in range(3):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    model.eval()
    with lib.no_grad():
        probs = F.softmax(model(x), dim=1)
    s = _t(lib, np.arange(10.0).reshape(1, 2, 5))
    return {
        "losses": np.array(losses),
        "probs": probs,
        "g1": model.conv1.weight.grad,
        "g2": model.conv2.weight.grad,
        "rv": model.bn2.running_var,
        "nbt": model.bn1.num_batches_tracked,
        "reflect": F.pad(s, (3, 2), mode="reflect"),
        "replicate": F.pad(s, (2, 1), mode="replicate"),
        "circular": F.pad(s, (2, 3), mode="circular"),
        "const": F.pad(s, (1, 1), value=-1.0),
        "reflect_mod": nn.ReflectionPad1d((2, 0))(s),
        "amp": nn.AdaptiveMaxPool1d(3)(s),
        "aap": nn.AdaptiveAvgPool1d(3)(s),
        "avgpool": nn.AvgPool1d(3, stride=2, padding=1, count_include_pad=False)(s),
        "lr": np.array(sched.get_last_lr()),
    }


def test_audio_program():
    check("audio", _audio_program)


# ------------------------------------------------------------------- tabular regression with embeddings
def _tab_program(lib):
    nn, F = lib.nn, lib.nn.functional
    data = _data(lib)
    rng = np.random.default_rng(27)
    n = 20
    cat = np.stack([rng.integers(0, 4, n), rng.integers(0, 3, n)], 1)
    cont = rng.standard_normal((n, 2))
    target = (cat[:, 0] * 0.5 - cat[:, 1] + cont[:, 0] + 0.1 * rng.standard_normal(n))[:, None]
    ds = data.TensorDataset(lib.tensor(cat), _t(lib, cont), _t(lib, target))

    class TabNet(nn.Module):
        def __init__(self, cards=(4, 3), dims=(3, 2), n_cont=2):
            super().__init__()
            self.embs = nn.ModuleList([nn.Embedding(c, d) for c, d in zip(cards, dims, strict=True)])
            self.emb_drop = nn.Dropout(0.0)
            self.bn_cont = nn.BatchNorm1d(n_cont)
            self.layers = nn.Sequential(nn.Linear(sum(dims) + n_cont, 8), nn.ReLU(), nn.BatchNorm1d(8), nn.Linear(8, 1))

        def forward(self, x_cat, x_cont):
            x = lib.cat([e(x_cat[:, i]) for i, e in enumerate(self.embs)], 1)
            x = lib.cat([self.emb_drop(x), self.bn_cont(x_cont)], 1)
            return self.layers(x)

    g = lib.Generator().manual_seed(0)
    train_ds, val_ds = data.random_split(ds, [16, 4], generator=g)
    tr2, va2, te2 = data.random_split(ds, [0.6, 0.2, 0.2], generator=lib.Generator().manual_seed(1))
    idx = sorted(train_ds.indices) + sorted(val_ds.indices)
    shuffled = data.DataLoader(train_ds, batch_size=4, shuffle=True, generator=lib.Generator().manual_seed(0))
    seen = sorted(int(i) for xb, _, _ in shuffled for i in (xb[:, 0] * 0 + 1))  # a count of rows, order-free
    model = set_params(TabNet().double(), lib, 28, 0.3)
    opt = lib.optim.Adam(model.parameters(), lr=1e-2)
    # fixed (unshuffled) batches of the first 16 rows so both libraries see the same order
    loader = data.DataLoader(data.Subset(ds, list(range(16))), batch_size=4, shuffle=False, drop_last=True)
    losses = []
    for _ in range(2):
        model.train()
        for xc, xn, yb in loader:
            loss = F.smooth_l1_loss(model(xc, xn), yb, beta=0.5)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
    model.eval()
    with lib.no_grad():
        xc, xn, yb = ds[16:]
        val = F.smooth_l1_loss(model(xc, xn), yb).item()
        huber = F.huber_loss(model(xc, xn), yb, delta=0.5).item()
    return {
        "losses": np.array(losses),
        "val": np.array([val, huber]),
        "split_sizes": np.array([len(train_ds), len(val_ds), len(tr2), len(va2), len(te2)]),
        "split_cover": np.array(idx == sorted(idx) or sorted(idx) == list(range(n))),
        "split_disjoint": np.array(len(set(train_ds.indices) | set(val_ds.indices)) == n),
        "seen": np.array(seen),
        "n_batches": np.array([len(shuffled), len(loader)]),
        "g_emb": model.embs[0].weight.grad,
        "bn": model.bn_cont.running_mean,
        "item": ds[3][1],
        "item_dtypes": np.array([str(t.dtype).split(".")[-1] for t in ds[3]]),
        "sl1": F.smooth_l1_loss(_t(lib, [0.0, 0.2, 3.0]), _t(lib, [0.0, 0.0, 0.0]), reduction="none", beta=0.0),
    }


def test_tabular_program():
    check("tabular", _tab_program)


# ------------------------------------------------------------------- what the programs found
def _dirty_fn(lib):
    class ScaleInplace(lib.autograd.Function):
        """An in-place op as a custom Function (ctx.mark_dirty), as in the extending-autograd docs."""

        @staticmethod
        def forward(ctx, x, k):
            ctx.k = k
            x.mul_(k)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g * ctx.k, None

    class Forgot(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.mul_(2)
            ctx.mark_dirty(x)
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return g * 2

    return ScaleInplace, Forgot


def _mark_dirty_program(lib):
    ScaleInplace, _ = _dirty_fn(lib)
    a = _t(lib, [1.0, -2.0, 3.0]).requires_grad_()
    c = a.clone()
    v0 = c._version
    b = ScaleInplace.apply(c, 3.0)
    same = b is c
    loss = (b * b).sum()
    loss.backward()
    plain = _t(lib, [1.0, 2.0])
    p = ScaleInplace.apply(plain, 2.0)
    return {
        "same": np.array([same, p is plain, p.requires_grad, c.requires_grad, c.is_leaf]),
        "b": b,
        "bumped": np.array(c._version > v0),
        "a_grad": a.grad,
        "grad_fn": np.array(type(c.grad_fn).__name__),
        "plain": plain,
    }


def test_mark_dirty_program():
    check("mark_dirty", _mark_dirty_program)


def _found_mistakes(lib):
    ScaleInplace, Forgot = _dirty_fn(lib)
    return {
        "dirty_leaf": (RuntimeError, lambda: ScaleInplace.apply(lib.ones(2, requires_grad=True), 2.0)),
        "dirty_not_returned": (RuntimeError, lambda: Forgot.apply(lib.ones(2, requires_grad=True).clone())),
        "antialias_nearest": (
            ValueError, lambda: lib.nn.functional.interpolate(lib.ones(1, 1, 4, 4), size=2, antialias=True)),
        "antialias_3d": (
            ValueError,
            lambda: lib.nn.functional.interpolate(lib.ones(1, 1, 4), size=2, mode="linear", antialias=True)),
    }


def test_found_mistakes():
    check("found_mistakes", mistakes_program(_found_mistakes))


def _kl_warning_program(lib):
    """KLDivLoss's default reduction "mean" warns (once per call) that "batchmean" is the
    definition's; batchmean, sum and the op torch.kl_div do not."""
    import warnings

    F = lib.nn.functional
    x = F.log_softmax(_t(lib, [[0.1, 0.2, 0.7], [1.0, 0.0, -1.0]]), 1)
    y = _t(lib, [[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]])
    counts, values = [], []
    for call in (lambda: lib.nn.KLDivLoss()(x, y), lambda: F.kl_div(x, y), lambda: F.kl_div(x, y, reduction="mean"),
                 lambda: F.kl_div(x, y, reduction="batchmean"), lambda: lib.nn.KLDivLoss(reduction="sum")(x, y),
                 lambda: lib.kl_div(x, y, 1), lambda: lib.kl_div(x, y)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            values.append(call())
        counts.append(sum("batchmean" in str(w.message) and w.category is UserWarning for w in caught))
    return {"counts": np.array(counts), "mean": values[0], "batchmean": values[3], "op_none": values[6]}


def test_kl_div_mean_warns_as_torch():
    check("kl_warning", _kl_warning_program)


def _antialias_program(lib):
    """F.interpolate(antialias=True) (torchvision's Resize on tensors): downscaling averages under
    a widened triangle (bilinear) or Keys cubic (bicubic) filter; upscaling renormalises at the
    borders. Values and gradients."""
    F = lib.nn.functional
    rng = np.random.default_rng(30)
    out = {}
    x = _t(lib, rng.standard_normal((2, 3, 11, 9))).requires_grad_()
    total = 0
    for mode in ("bilinear", "bicubic"):
        for ac in (False, True):
            for name, kw in (("size", {"size": (4, 5)}), ("sf", {"scale_factor": 0.45}), ("up", {"size": (13, 17)}),
                             ("mixed", {"scale_factor": (0.3, 1.6)}), ("rsf", {"scale_factor": 0.4,
                                                                               "recompute_scale_factor": True})):
                y = F.interpolate(x, mode=mode, align_corners=ac, antialias=True, **kw)
                out[f"{mode}_{ac}_{name}"] = y
                total = total + (y * y).mean()
    total.backward()
    out["grad"] = x.grad
    out["same_size"] = F.interpolate(x.detach(), size=(11, 9), mode="bilinear", antialias=True) - x.detach()
    return out


def test_antialias_program():
    check("antialias", _antialias_program)


def _antialias_f32_program(lib):
    x = lib.tensor(np.random.default_rng(31).standard_normal((1, 2, 11, 9)), dtype=lib.float32)
    F = lib.nn.functional
    return {mode: F.interpolate(x, size=(5, 3), mode=mode, antialias=True) for mode in ("bilinear", "bicubic")}


def test_antialias_float32():
    """float32: the weights are float64 here, the input's dtype in ATen (rounding only)."""
    check("antialias_f32", _antialias_f32_program, 1e-5)


def _assign_program(lib):
    """load_state_dict(assign=True): the module takes the state dict's tensors (their dtype kept,
    parameters wrapped as Parameters with the module's requires_grad; buffers the very tensors)."""
    nn = lib.nn
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3), nn.Linear(3, 1))
    model[0].bias.requires_grad_(False)
    src = set_params(nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3), nn.Linear(3, 1)).double(), lib, 32)
    sd = src.state_dict()
    result = model.load_state_dict(sd, assign=True)
    x = _t(lib, [[1.0, 2.0], [0.5, -1.0]])
    y = model(x)
    y.sum().backward()
    frozen = nn.Linear(2, 3)
    kept = frozen.load_state_dict(src[0].state_dict())  # assign=False: copied into float32
    return {
        "result": np.array(repr(result)),
        "dtypes": np.array([str(t.dtype).split(".")[-1] for t in model.state_dict().values()]),
        "types": np.array([type(p).__name__ for p in model.parameters()]),
        "rg": np.array([p.requires_grad for p in model.parameters()]),
        "buffer_is": np.array(model[1].running_mean is sd["1.running_mean"]),
        "shares": np.array(model[0].weight.data_ptr() == sd["0.weight"].data_ptr()),
        "y": y,
        "g": model[0].weight.grad,
        "names": np.array([n for n, _ in model.named_parameters()]),
        "copied": frozen.weight,
        "kept": np.array(repr(kept)),
    }


def test_load_state_dict_assign_as_torch():
    check("assign", _assign_program, 1e-6)


def _uint8_resize_program(lib):
    """Segmentation masks and uint8 images resized by nearest (torchvision's InterpolationMode.NEAREST)."""
    F = lib.nn.functional
    img = lib.tensor(np.random.default_rng(33).integers(0, 256, (2, 3, 5, 7)).astype(np.uint8))
    mask = lib.tensor(np.random.default_rng(34).integers(0, 4, (1, 1, 6, 6)).astype(np.uint8))
    return {
        "up": F.interpolate(img, scale_factor=2, mode="nearest"),
        "down": F.interpolate(img, size=(3, 4), mode="nearest-exact"),
        "mask": F.interpolate(mask, size=(4, 9)),
        "mod": lib.nn.Upsample(scale_factor=1.5)(mask),
        "1d": F.interpolate(img[:, :, 0], size=4),
    }


def test_uint8_nearest_resize_as_torch():
    check("uint8_resize", _uint8_resize_program)


def _weight_norm_warning_program(lib):
    import warnings

    nn = lib.nn
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = nn.utils.weight_norm(set_params(nn.Linear(3, 2).double(), lib, 35))
    with warnings.catch_warnings(record=True) as caught_new:
        warnings.simplefilter("always")
        nn.utils.parametrizations.weight_norm(nn.Linear(3, 2))
    return {
        "old": np.array([(w.category.__name__, str(w.message)) for w in caught]),
        "new": np.array(len(caught_new)),
        "y": m(_t(lib, [[1.0, 2.0, 3.0]])),
        "keys": np.array(list(m.state_dict())),
    }


def test_old_weight_norm_warns_as_torch():
    check("weight_norm_warning", _weight_norm_warning_program)


def test_forward_hooks_stored_as_torch():
    """module._forward_pre_hooks / _forward_hooks hold the hooks themselves, as PyTorch's (the
    pruning tutorial reads hook._tensor_name from them); with_kwargs hooks are remembered by id."""
    m = minigrad.nn.Linear(2, 2)
    calls = []

    def pre(mod, args):
        calls.append("pre")

    def pre_kw(mod, args, kwargs):
        calls.append("pre_kw")
        return (args[0] * 2,), kwargs

    def post_kw(mod, args, kwargs, out):
        calls.append("post_kw")
        return out * 0

    h1 = m.register_forward_pre_hook(pre)
    h2 = m.register_forward_pre_hook(pre_kw, with_kwargs=True)
    h3 = m.register_forward_hook(post_kw, with_kwargs=True, prepend=True)
    assert list(m._forward_pre_hooks.values()) == [pre, pre_kw]
    assert list(m._forward_hooks.values()) == [post_kw]
    assert (m(minigrad.ones(1, 2)) == 0).all() and calls == ["pre", "pre_kw", "post_kw"]
    h2.remove()
    h3.remove()
    assert not m._forward_pre_hooks_with_kwargs and not m._forward_hooks_with_kwargs
    h1.remove()
    assert not m._forward_pre_hooks and not m._forward_hooks
    old = copy.deepcopy(minigrad.nn.Linear(2, 2))  # a module without the with_kwargs registries still runs
    del old.__dict__["_forward_pre_hooks_with_kwargs"], old.__dict__["_forward_hooks_with_kwargs"]
    old.register_forward_pre_hook(pre)
    old.register_forward_hook(lambda mod, args, out: None)
    old(minigrad.ones(1, 2))
