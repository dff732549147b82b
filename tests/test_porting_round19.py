"""Course programs ported with `import minigrad as torch`, round 19: each program runs on both
libraries (`program(lib)` with lib minigrad or torch) from the same seeded numpy weights and data,
in float64, and its results are compared with PyTorch's (live, or recorded in
tests/fixtures/torch_reference/test_porting_round19.npz). Programs: FGSM and PGD adversarial
examples; Grad-CAM through forward and full backward hooks; saliency maps and integrated gradients;
message passing with index_add_/scatter_add_/scatter_reduce; a matrix-factorisation recommender with
nn.EmbeddingBag and the BPR loss; a transformer language model with nn.TransformerDecoderLayer
(norm_first, batch_first), tied weights and top-k filtering; beam search; a Gumbel-softmax VAE; a
Bayesian linear layer; CLIP's symmetric contrastive loss; mixup and CutMix; warmup and cosine
schedules with parameter groups; weight EMA (AveragedModel, _foreach_*, lerp_); gradient
checkpointing; a windowed LSTM forecaster with MinMax scaling and MAPE; a custom _LRScheduler
warmup, optimizer step hooks, Module.set_submodule and SWALR. And what they found: torch._foreach_*
(missing); register_forward_hook(always_call=True); nn.EmbeddingBag / F.embedding_bag max_norm;
Optimizer.register_step_pre_hook / register_step_post_hook; lr_scheduler._LRScheduler;
Module.set_submodule; SWALR's state_dict holding _anneal_strategy; PyTorch's UserWarnings for a full
backward hook firing from the outputs, checkpoint / checkpoint_sequential without use_reentrant (and
the reentrant checkpoint of inputs that need no grad), a bool key_padding_mask with a float
attn_mask in MultiheadAttention; checkpoint_sequential's segments split as PyTorch's."""

import math

import numpy as np
import pytest
from parity import check_program, set_params
from torch_reference import TorchReference

torch_reference = TorchReference(__name__)


def check(key, program, rtol=1e-9):
    """program(minigrad)'s results against program(torch)'s (parity.check_program)."""
    check_program(torch_reference, key, program, rtol)


def _t(lib, a, dtype=None):
    return lib.tensor(np.asarray(a), dtype=dtype if dtype is not None else lib.float64)


def _cnn(lib, seed=0):
    nn = lib.nn
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(4 * 4 * 4, 3))
    return set_params(model.double(), lib, seed, 0.3)


# ------------------------------------------------------------------- FGSM and PGD
def _adversarial_program(lib):
    F = lib.nn.functional
    model = _cnn(lib)
    model.eval()
    rng = np.random.default_rng(1)
    images = _t(lib, rng.uniform(0, 1, (4, 1, 8, 8)))
    labels = lib.tensor(rng.integers(0, 3, 4))
    out = {}

    def fgsm(image, epsilon, data_grad):
        sign_data_grad = data_grad.sign()
        perturbed = image + epsilon * sign_data_grad
        return lib.clamp(perturbed, 0, 1)

    data = images.clone()
    data.requires_grad_(True)
    output = model(data)
    loss = F.nll_loss(F.log_softmax(output, dim=1), labels)
    model.zero_grad()
    loss.backward()
    adv = fgsm(data, 0.1, data.grad.data)
    out["fgsm"] = adv
    out["fgsm_pred"] = model(adv).max(1, keepdim=True)[1]
    out["fgsm_grad"] = data.grad

    def pgd(model, x, y, eps=0.08, alpha=0.02, iters=5):
        x_adv = x.clone().detach() + _t(lib, np.random.default_rng(3).uniform(-eps, eps, tuple(x.shape)))
        x_adv = lib.clamp(x_adv, 0.0, 1.0).detach()
        lower, upper = x - eps, x + eps
        losses = []
        for _ in range(iters):
            x_adv.requires_grad_()
            loss = F.cross_entropy(model(x_adv), y)
            grad = lib.autograd.grad(loss, [x_adv])[0]
            x_adv = x_adv.detach() + alpha * grad.sign()
            x_adv = lib.clamp(x_adv, min=lower, max=upper)  # tensor bounds: the L-inf ball
            x_adv = lib.max(lib.min(x_adv, x + eps), x - eps)
            x_adv = x_adv.clamp(0, 1).detach()
            losses.append(loss.item())
        return x_adv, losses

    x_adv, losses = pgd(model, images, labels)
    out["pgd"] = x_adv
    out["pgd_losses"] = np.array(losses)
    out["linf"] = (x_adv - images).abs().max()
    with lib.no_grad():
        out["pgd_acc"] = (model(x_adv).argmax(1) == labels).float().mean()
    out["clamp_t"] = _t(lib, [[0.5, -1.0, 2.0]]).clamp(min=_t(lib, [0.0, 0.0, 0.0]), max=_t(lib, [1.0]))
    out["clamp_min_only"] = lib.clamp(_t(lib, [0.5, -1.0, 2.0]), min=_t(lib, [0.6, -2.0, 0.0]))
    return out


def test_adversarial_program():
    check("adversarial", _adversarial_program)


# ------------------------------------------------------------------- Grad-CAM
def _gradcam_program(lib):
    nn, F = lib.nn, lib.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 5, 3, padding=1),
                                          nn.ReLU())
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(5, 3)

        def forward(self, x):
            return self.fc(self.pool(self.features(x)).flatten(1))

    model = set_params(Net().double(), lib, 0, 0.4)
    model.eval()
    store = {}

    def fwd_hook(module, inp, output):
        store["act"] = output.detach()

    def bwd_hook(module, grad_input, grad_output):
        store["grad"] = grad_output[0].detach()
        store["n_in"] = len(grad_input)

    target_layer = model.features[2]
    h1 = target_layer.register_forward_hook(fwd_hook)
    h2 = target_layer.register_full_backward_hook(bwd_hook)
    x = _t(lib, np.random.default_rng(1).standard_normal((2, 2, 6, 6)))
    logits = model(x)
    cls = logits.argmax(dim=1)
    model.zero_grad()
    score = logits.gather(1, cls.unsqueeze(1)).sum()
    score.backward()
    weights = store["grad"].mean(dim=(2, 3), keepdim=True)
    cam = F.relu((weights * store["act"]).sum(dim=1, keepdim=True))
    cam = F.interpolate(cam, size=(12, 12), mode="bilinear", align_corners=False)
    cam_min = cam.flatten(1).min(1)[0].view(-1, 1, 1, 1)
    cam_max = cam.flatten(1).max(1)[0].view(-1, 1, 1, 1)
    cam = (cam - cam_min) / (cam_max - cam_min + 1e-8)
    h1.remove()
    h2.remove()
    out = {"cam": cam, "weights": weights, "cls": cls, "n_in": np.array(store["n_in"]),
           "hooks_left": np.array([len(target_layer._forward_hooks), len(target_layer._backward_hooks)])}
    out["g_fc"] = model.fc.weight.grad
    # a module whose input needs no grad: the full backward hook still sees grad_output
    seen = []
    first = model.features[0]
    h = first.register_full_backward_hook(lambda m, gi, go: seen.append((gi[0] is None, tuple(go[0].shape))))
    model(x).sum().backward()
    h.remove()
    out["first_hook"] = np.array([seen[0][0], *seen[0][1]])
    out["nearest_cam"] = F.interpolate(store["act"][:, :1], scale_factor=2, mode="nearest")
    return out


@pytest.mark.filterwarnings("ignore:Full backward hook is firing")  # both libraries warn (test_found_warnings)
def test_gradcam_program():
    check("gradcam", _gradcam_program)


# ------------------------------------------------------------------- saliency and integrated gradients
def _saliency_program(lib):
    nn = lib.nn
    model = set_params(nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3)).double(), lib, 0, 0.5)
    model.eval()
    rng = np.random.default_rng(1)
    x = _t(lib, rng.standard_normal((2, 6)))
    out = {}
    xs = x.clone().requires_grad_()
    scores = model(xs)
    top, idx = scores.max(dim=1)
    top.backward(lib.ones_like(top))
    out["saliency"] = xs.grad.abs()
    out["saliency_idx"] = idx

    baseline = lib.zeros_like(x[0])
    steps = 16
    alphas = lib.linspace(0, 1, steps + 1, dtype=lib.float64)
    out["alphas"] = alphas
    ig = []
    for i in range(x.shape[0]):
        path = baseline + alphas.view(-1, 1) * (x[i] - baseline)
        path.requires_grad_(True)
        logits = model(path)[:, int(idx[i])]
        grads = lib.autograd.grad(logits, path, grad_outputs=lib.ones_like(logits))[0]
        avg = (grads[:-1] + grads[1:]).mean(dim=0) / 2.0  # trapezoid
        ig.append((x[i] - baseline) * avg)
    ig = lib.stack(ig)
    out["ig"] = ig
    with lib.no_grad():
        gap = model(x).gather(1, idx.view(-1, 1)).squeeze(1) - model(baseline.unsqueeze(0))[0, idx]
    out["completeness"] = ig.sum(1) - gap
    # smoothgrad with explicit noise
    noise = _t(lib, np.random.default_rng(2).standard_normal((5, 6)) * 0.1)
    noisy = (x[0:1] + noise).requires_grad_()
    g = lib.autograd.grad(model(noisy)[:, 0].sum(), noisy)[0]
    out["smoothgrad"] = g.mean(0)
    out["linspace_f32"] = lib.linspace(-1, 1, 5)
    out["linspace_1"] = lib.linspace(2.0, 3.0, 1, dtype=lib.float64)
    return out


def test_saliency_program():
    check("saliency", _saliency_program)


# ------------------------------------------------------------------- message passing
def _gnn_program(lib):
    nn, F = lib.nn, lib.nn.functional
    edge_index = lib.tensor([[0, 1, 1, 2, 3, 4, 4, 0], [1, 0, 2, 1, 4, 3, 0, 4]])
    num_nodes = 6  # node 5 is isolated
    rng = np.random.default_rng(0)
    x = _t(lib, rng.standard_normal((num_nodes, 4)))

    class SAGE(nn.Module):
        def __init__(self, din, dout, aggr):
            super().__init__()
            self.lin_l = nn.Linear(din, dout)
            self.lin_r = nn.Linear(din, dout, bias=False)
            self.aggr = aggr

        def forward(self, x, edge_index):
            src, dst = edge_index
            msg = x[src]
            idx = dst.view(-1, 1).expand_as(msg)
            out = lib.zeros(x.shape[0], x.shape[1], dtype=x.dtype)
            if self.aggr == "sum":
                out = out.index_add_(0, dst, msg)
            elif self.aggr == "scatter_add":
                out = out.scatter_add(0, idx, msg)
            else:
                out = out.scatter_reduce(0, idx, msg, reduce=self.aggr, include_self=False)
            return self.lin_l(out) + self.lin_r(x)

    out = {}
    for aggr in ("sum", "scatter_add", "mean", "amax", "amin", "prod"):
        conv = set_params(SAGE(4, 3, aggr).double(), lib, 1)
        y = conv(x, edge_index)
        loss = F.relu(y).pow(2).sum()
        loss.backward()
        out["y_" + aggr] = y
        out["g_" + aggr] = conv.lin_l.weight.grad
    # degree normalisation (GCN)
    deg = lib.zeros(num_nodes, dtype=lib.float64).scatter_add_(0, edge_index[1], lib.ones(8, dtype=lib.float64))
    out["deg"] = deg
    dinv = deg.pow(-0.5)
    dinv = dinv.masked_fill(dinv == float("inf"), 0)
    norm = dinv[edge_index[0]] * dinv[edge_index[1]]
    out["norm"] = norm
    xr = x.clone().requires_grad_()
    agg = lib.zeros_like(xr).index_add(0, edge_index[1], xr[edge_index[0]] * norm.view(-1, 1))
    agg.sum().backward()
    out["gcn_agg"] = agg
    out["gcn_grad"] = xr.grad
    # scatter_reduce with include_self=True on a non-zero self, and the mean over a 1-D index
    base = _t(lib, np.arange(6.0))
    vals = _t(lib, [1.0, 2.0, 3.0, 4.0])
    ind = lib.tensor([0, 0, 2, 5])
    for red in ("sum", "mean", "amax", "amin", "prod"):
        out["sr_self_" + red] = base.scatter_reduce(0, ind, vals, reduce=red)
        out["sr_noself_" + red] = base.scatter_reduce(0, ind, vals, reduce=red, include_self=False)
    # graph readout: mean pooling per graph by index_add
    batch = lib.tensor([0, 0, 0, 1, 1, 1])
    counts = lib.bincount(batch).to(lib.float64).unsqueeze(1)
    pooled = lib.zeros(2, 4, dtype=lib.float64).index_add_(0, batch, x) / counts
    out["pooled"] = pooled
    return out


def test_gnn_program():
    check("gnn", _gnn_program)


# ------------------------------------------------------------------- EmbeddingBag recommender, BPR
def _recsys_program(lib):
    nn, F = lib.nn, lib.nn.functional

    class MF(nn.Module):
        def __init__(self, n_users, n_items, n_tags, dim):
            super().__init__()
            self.user = nn.Embedding(n_users, dim)
            self.item = nn.Embedding(n_items, dim)
            self.tags = nn.EmbeddingBag(n_tags, dim, mode="mean")
            self.tags_w = nn.EmbeddingBag(n_tags, dim, mode="sum")
            self.item_bias = nn.Embedding(n_items, 1)

        def item_vec(self, items, tag_ids, offsets, weights):
            return (self.item(items) + self.tags(tag_ids, offsets)
                    + self.tags_w(tag_ids, offsets, per_sample_weights=weights))

        def forward(self, users, items, tag_ids, offsets, weights):
            u = self.user(users)
            v = self.item_vec(items, tag_ids, offsets, weights)
            return (u * v).sum(1) + self.item_bias(items).squeeze(1)

    model = set_params(MF(5, 7, 9, 4).double(), lib, 0, 0.3)
    rng = np.random.default_rng(1)
    users = lib.tensor(rng.integers(0, 5, 4))
    pos = lib.tensor(rng.integers(0, 7, 4))
    neg = lib.tensor(rng.integers(0, 7, 4))
    tag_ids = lib.tensor([1, 2, 4, 5, 4, 3, 2, 8, 0])
    offsets = lib.tensor([0, 2, 5, 5])  # the third bag is empty
    weights = _t(lib, rng.uniform(0.5, 1.5, 9))
    opt = lib.optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(3):
        x_pos = model(users, pos, tag_ids, offsets, weights)
        x_neg = model(users, neg, tag_ids, offsets, weights)
        loss = -F.logsigmoid(x_pos - x_neg).mean() + 1e-3 * model.user.weight.norm(2).pow(2)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    out = {"losses": np.array(losses), "g_tags": model.tags.weight.grad, "g_tags_w": model.tags_w.weight.grad,
           "user_w": model.user.weight}
    # the 2-D input form, max mode, padding_idx, include_last_offset
    bag = set_params(nn.EmbeddingBag(6, 3, mode="max").double(), lib, 2)
    inp2d = lib.tensor([[1, 2, 4], [4, 3, 0]])
    out["max2d"] = bag(inp2d)
    bag_pad = set_params(nn.EmbeddingBag(6, 3, mode="mean", padding_idx=0).double(), lib, 3)
    y = bag_pad(lib.tensor([[1, 0, 2], [0, 0, 3]]))
    y.sum().backward()
    out["pad_mean"] = y
    out["pad_grad"] = bag_pad.weight.grad
    bag_last = set_params(nn.EmbeddingBag(6, 3, mode="sum", include_last_offset=True).double(), lib, 4)
    out["last"] = bag_last(lib.tensor([1, 2, 3, 4, 5]), lib.tensor([0, 2, 5]))
    out["F_bag"] = F.embedding_bag(lib.tensor([1, 2, 3, 4]), bag.weight, lib.tensor([0, 1]), mode="mean")
    pre = nn.EmbeddingBag.from_pretrained(_t(lib, np.arange(12.0).reshape(4, 3)), mode="sum")
    out["pre"] = pre(lib.tensor([[0, 3], [1, 1]]))
    out["pre_grad"] = np.array(pre.weight.requires_grad)
    # recommendation: top-k unseen items for user 0
    with lib.no_grad():
        all_items = lib.arange(7)
        v = model.item(all_items)
        scores = model.user(lib.tensor([0])) @ v.T
        scores[0, pos[:1]] = float("-inf")
        out["topk"] = lib.topk(scores, 3, dim=1).indices
    return out


def test_recsys_program():
    check("recsys", _recsys_program)


# ------------------------------------------------------------------- decoder-only transformer LM
def _decoder_lm_program(lib):
    nn, F = lib.nn, lib.nn.functional
    V, D, T = 11, 8, 6

    class LM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(V, D)
            self.pos = nn.Parameter(lib.zeros(1, 16, D))
            layer = nn.TransformerDecoderLayer(D, nhead=2, dim_feedforward=16, dropout=0.0, batch_first=True,
                                               norm_first=True)
            self.blocks = nn.TransformerDecoder(layer, num_layers=2)
            self.ln_f = nn.LayerNorm(D)
            self.lm_head = nn.Linear(D, V, bias=False)
            self.lm_head.weight = self.embedding.weight

        def forward(self, idx, memory):
            t = idx.shape[1]
            h = self.embedding(idx) + self.pos[:, :t]
            mask = nn.Transformer.generate_square_subsequent_mask(t, dtype=h.dtype)
            h = self.blocks(h, memory, tgt_mask=mask, tgt_is_causal=True)
            return self.lm_head(self.ln_f(h))

    model = set_params(LM().double(), lib, 0, 0.3)
    out = {"n_params": np.array(sum(p.numel() for p in model.parameters())),
           "tied": np.array(model.lm_head.weight is model.embedding.weight)}
    rng = np.random.default_rng(1)
    data = lib.tensor(rng.integers(0, V, (3, T + 1)))
    memory = _t(lib, rng.standard_normal((3, 4, D)))
    x, y = data[:, :-1], data[:, 1:]
    opt = lib.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)
    crit = nn.CrossEntropyLoss(label_smoothing=0.1)
    losses = []
    for _ in range(2):
        logits = model(x, memory)
        loss = crit(logits.reshape(-1, V), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    out["losses"] = np.array(losses)
    out["g_emb"] = model.embedding.weight.grad
    out["mask"] = nn.Transformer.generate_square_subsequent_mask(4)
    model.eval()
    with lib.no_grad():
        idx = data[:1, :2]
        for _ in range(4):  # greedy
            logits = model(idx, memory[:1])[:, -1, :]
            idx = lib.cat([idx, logits.argmax(-1, keepdim=True)], dim=1)
        out["greedy"] = idx
        logits = model(data[:, :3], memory)[:, -1, :] / 0.8
        v, ix = lib.topk(logits, 3)
        filtered = lib.full_like(logits, float("-inf")).scatter(1, ix, v)
        out["filtered"] = filtered
        out["probs"] = F.softmax(filtered, dim=-1)
        logits2 = logits.clone()
        logits2[logits2 < v[:, [-1]]] = -float("Inf")
        out["filtered2"] = logits2
        sample = lib.multinomial(F.softmax(filtered, dim=-1), num_samples=1)
        out["sample_in_topk"] = (ix == sample).any(1)
    return out


def test_decoder_lm_program():
    check("decoder_lm", _decoder_lm_program)


# ------------------------------------------------------------------- beam search
def _beam_program(lib):
    nn, F = lib.nn, lib.nn.functional
    V, H, beam, eos, max_len = 7, 5, 3, 0, 5

    class Dec(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(V, H)
            self.cell = nn.GRUCell(H, H)
            self.out = nn.Linear(H, V)

        def forward(self, tok, h):
            h = self.cell(self.emb(tok), h)
            return F.log_softmax(self.out(h), dim=-1), h

    dec = set_params(Dec().double(), lib, 0, 0.8)
    h0 = _t(lib, np.random.default_rng(1).standard_normal((1, H)))
    with lib.no_grad():
        tokens = lib.full((beam, 1), 1, dtype=lib.long)
        scores = lib.tensor([0.0] + [float("-inf")] * (beam - 1), dtype=lib.float64)
        h = h0.expand(beam, H).contiguous()
        finished = lib.zeros(beam, dtype=lib.bool)
        history = []
        for _ in range(max_len):
            logp, h = dec(tokens[:, -1], h)
            # a finished beam only extends with eos at no cost
            eos_row = lib.full((V,), float("-inf"), dtype=lib.float64)
            eos_row[eos] = 0.0
            logp = lib.where(finished.unsqueeze(1), eos_row.unsqueeze(0), logp)
            cand = (scores.unsqueeze(1) + logp).view(-1)
            top_scores, top_idx = cand.topk(beam)
            beam_idx = lib.div(top_idx, V, rounding_mode="floor")
            tok_idx = top_idx % V
            tokens = lib.cat([tokens.index_select(0, beam_idx), tok_idx.unsqueeze(1)], dim=1)
            h = h[beam_idx]
            finished = finished.gather(0, beam_idx) | (tok_idx == eos)
            scores = top_scores
            history.append(beam_idx)
            if bool(finished.all()):
                break
        lengths = lib.where(tokens == eos, lib.arange(tokens.shape[1]).expand_as(tokens), tokens.shape[1])
        lengths = lengths.min(1).values + 1
        normed = scores / lengths.to(lib.float64) ** 0.7
        best = normed.argmax()
    return {"tokens": tokens, "scores": scores, "finished": finished, "history": lib.stack(history),
            "lengths": lengths, "normed": normed, "best": best, "best_seq": tokens[best]}


def test_beam_search_program():
    check("beam", _beam_program)


# ------------------------------------------------------------------- Gumbel-softmax VAE
def _gumbel_program(lib):
    nn, F = lib.nn, lib.nn.functional
    N, K = 2, 4  # latent variables, categories

    class VAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Sequential(nn.Linear(6, 12), nn.ReLU(), nn.Linear(12, N * K))
            self.dec = nn.Sequential(nn.Linear(N * K, 12), nn.ReLU(), nn.Linear(12, 6))

        def forward(self, x, gumbels, tau, hard):
            logits = self.enc(x).view(-1, N, K)
            # F.gumbel_softmax with the noise made explicit (torch's stream cannot be matched)
            y_soft = ((logits + gumbels) / tau).softmax(-1)
            if hard:
                index = y_soft.max(-1, keepdim=True)[1]
                y_hard = lib.zeros_like(logits).scatter_(-1, index, 1.0)
                z = y_hard - y_soft.detach() + y_soft
            else:
                z = y_soft
            recon = self.dec(z.view(-1, N * K))
            return recon, logits

    model = set_params(VAE().double(), lib, 0, 0.4)
    rng = np.random.default_rng(1)
    x = _t(lib, (rng.uniform(size=(5, 6)) > 0.5).astype(float))
    opt = lib.optim.Adam(model.parameters(), lr=1e-2)
    out = {"losses": [], "taus": []}
    tau0, anneal, tau = 1.0, 3e-1, 1.0
    for step in range(4):
        u = rng.uniform(1e-10, 1.0, (5, N, K))
        gumbels = _t(lib, -np.log(-np.log(u)))
        recon, logits = model(x, gumbels, tau, hard=step % 2 == 1)
        q = F.softmax(logits, dim=-1)
        log_ratio = lib.log(q * K + 1e-20)
        kld = lib.sum(q * log_ratio, dim=-1).mean()
        bce = F.binary_cross_entropy_with_logits(recon, x, reduction="sum") / x.shape[0]
        loss = bce + kld
        opt.zero_grad()
        loss.backward()
        opt.step()
        out["losses"].append(loss.item())
        tau = max(0.5, tau0 * math.exp(-anneal * (step + 1)))
        out["taus"].append(tau)
    out = {k: np.array(v) for k, v in out.items()}
    out["g_enc"] = model.enc[0].weight.grad
    # F.gumbel_softmax itself: properties only
    logits = _t(lib, rng.standard_normal((3, 5))).requires_grad_()
    hard = F.gumbel_softmax(logits, tau=0.5, hard=True)
    soft = F.gumbel_softmax(logits, tau=0.5, hard=False, dim=-1)
    out["hard_props"] = np.array([tuple(hard.shape) == (3, 5), bool(((hard == 0) | (hard == 1)).all()),
                                  bool((hard.sum(-1) == 1).all()), hard.requires_grad,
                                  bool(((soft.sum(-1) - 1).abs() < 1e-12).all()), bool((soft > 0).all())])
    (hard * _t(lib, np.arange(5.0))).sum().backward()
    out["hard_grad_finite"] = np.array(bool(lib.isfinite(logits.grad).all()))
    out["hard_grad_rowsum"] = logits.grad.sum(-1)  # a softmax's gradient sums to zero over the row
    return out


def test_gumbel_vae_program():
    check("gumbel", _gumbel_program, rtol=1e-8)  # the row sums are zeros up to rounding


# ------------------------------------------------------------------- Bayesian linear layer
def _bayes_program(lib):
    nn, F = lib.nn, lib.nn.functional
    D = lib.distributions

    class BayesLinear(nn.Module):
        def __init__(self, din, dout, prior_sigma=1.0):
            super().__init__()
            self.w_mu = nn.Parameter(lib.zeros(dout, din))
            self.w_rho = nn.Parameter(lib.full((dout, din), -3.0))
            self.b_mu = nn.Parameter(lib.zeros(dout))
            self.b_rho = nn.Parameter(lib.full((dout,), -3.0))
            self.prior = D.Normal(0.0, prior_sigma)

        def forward(self, x, eps_w, eps_b):
            w_sigma = F.softplus(self.w_rho)
            b_sigma = F.softplus(self.b_rho)
            w = self.w_mu + w_sigma * eps_w
            b = self.b_mu + b_sigma * eps_b
            self.kl = (D.kl_divergence(D.Normal(self.w_mu, w_sigma), self.prior).sum()
                       + D.kl_divergence(D.Normal(self.b_mu, b_sigma), self.prior).sum())
            return F.linear(x, w, b)

    layer = BayesLinear(3, 2).double()
    with lib.no_grad():
        layer.w_mu.copy_(_t(lib, np.random.default_rng(0).standard_normal((2, 3)) * 0.3))
    rng = np.random.default_rng(1)
    x = _t(lib, rng.standard_normal((6, 3)))
    y = _t(lib, rng.standard_normal((6, 2)))
    opt = lib.optim.Adam(layer.parameters(), lr=1e-2)
    out = {"losses": [], "kls": []}
    for _ in range(3):
        eps_w = _t(lib, rng.standard_normal((2, 3)))
        eps_b = _t(lib, rng.standard_normal(2))
        pred = layer(x, eps_w, eps_b)
        nll = F.mse_loss(pred, y, reduction="sum")
        loss = nll + layer.kl / 6
        opt.zero_grad()
        loss.backward()
        opt.step()
        out["losses"].append(loss.item())
        out["kls"].append(layer.kl.item())
    out = {k: np.array(v) for k, v in out.items()}
    out["g_rho"] = layer.w_rho.grad
    out["g_mu"] = layer.w_mu.grad
    # the closed form against the log-prob estimate with the same eps
    q = D.Normal(layer.w_mu, F.softplus(layer.w_rho))
    w = q.mean + q.stddev * eps_w
    out["mc_kl_terms"] = q.log_prob(w) - layer.prior.log_prob(w)
    out["softplus_beta"] = F.softplus(_t(lib, [-30.0, 0.0, 5.0, 30.0]), beta=2.0, threshold=10.0)
    return out


def test_bayes_linear_program():
    check("bayes", _bayes_program)


# ------------------------------------------------------------------- CLIP contrastive loss
def _clip_program(lib):
    nn, F = lib.nn, lib.nn.functional

    class CLIP(nn.Module):
        def __init__(self):
            super().__init__()
            self.image_proj = nn.Linear(6, 4, bias=False)
            self.text_proj = nn.Linear(5, 4, bias=False)
            self.logit_scale = nn.Parameter(lib.ones([]) * np.log(1 / 0.07))

        def forward(self, img, txt):
            image_features = F.normalize(self.image_proj(img), dim=-1)
            text_features = self.text_proj(txt)
            text_features = text_features / text_features.norm(dim=1, keepdim=True)
            logit_scale = self.logit_scale.exp()
            logits_per_image = logit_scale * image_features @ text_features.t()
            return logits_per_image, logits_per_image.t()

    model = CLIP().double()
    set_params(model.image_proj, lib, 0, 0.5)
    set_params(model.text_proj, lib, 1, 0.5)
    rng = np.random.default_rng(2)
    img = _t(lib, rng.standard_normal((4, 6)))
    txt = _t(lib, rng.standard_normal((4, 5)))
    opt = lib.optim.AdamW(model.parameters(), lr=0.1, betas=(0.9, 0.98), eps=1e-6, weight_decay=0.2)
    out = {"losses": [], "scales": []}
    for _ in range(3):
        lpi, lpt = model(img, txt)
        labels = lib.arange(len(lpi), device=lpi.device)
        loss = (F.cross_entropy(lpi, labels) + F.cross_entropy(lpt, labels)) / 2
        opt.zero_grad()
        loss.backward()
        opt.step()
        with lib.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        out["losses"].append(loss.item())
        out["scales"].append(model.logit_scale.item())
    out = {k: np.array(v) for k, v in out.items()}
    out["scale_shape"] = np.array(tuple(model.logit_scale.shape), dtype=np.int64)
    out["scale_dtype"] = np.array(str(model.logit_scale.dtype).split(".")[-1])
    out["g_scale"] = model.logit_scale.grad
    out["g_img"] = model.image_proj.weight.grad
    with lib.no_grad():
        lpi, _ = model(img, txt)
        out["zero_shot"] = lpi.softmax(dim=-1)
        out["acc"] = (lpi.argmax(-1) == lib.arange(4)).double().mean()
    # a float32 scalar parameter with the numpy float64 scale, as the original code
    s32 = nn.Parameter(lib.ones([]) * np.log(1 / 0.07))
    out["s32_dtype"] = np.array(str(s32.dtype).split(".")[-1])
    out["s32"] = s32.detach()
    return out


def test_clip_program():
    check("clip", _clip_program)


# ------------------------------------------------------------------- mixup and CutMix
def _mixup_program(lib):
    nn, F = lib.nn, lib.nn.functional
    D = lib.distributions
    model = _cnn(lib, 2)
    rng = np.random.default_rng(0)
    x = _t(lib, rng.standard_normal((4, 1, 8, 8)))
    y = lib.tensor(rng.integers(0, 3, 4))
    out = {}
    beta = D.Beta(lib.tensor([0.4]), lib.tensor([0.4]))
    s = beta.sample()
    out["beta_shapes"] = np.array([tuple(s.shape) == (1,), tuple(beta.sample((3,)).shape) == (3, 1),
                                   bool(((s >= 0) & (s <= 1)).all())])
    scalar_beta = D.Beta(lib.tensor(1.0), lib.tensor(1.0))
    out["scalar_beta_shape"] = np.array(len(scalar_beta.sample().shape))
    perm = lib.randperm(4)
    out["perm_sorted"] = perm.sort().values
    # fixed values from here on
    perm = lib.tensor([2, 0, 3, 1])
    lam = 0.7
    mixed_x = lam * x + (1 - lam) * x[perm, :]
    y_a, y_b = y, y[perm]
    pred = model(mixed_x)
    crit = nn.CrossEntropyLoss()
    loss = lam * crit(pred, y_a) + (1 - lam) * crit(pred, y_b)
    loss.backward()
    out["mixup_loss"] = loss
    out["mixup_grad"] = model[0].weight.grad
    # soft targets form
    onehot = F.one_hot(y, 3).double()
    soft = lam * onehot + (1 - lam) * onehot[perm]
    out["soft_loss"] = F.cross_entropy(pred, soft)

    def rand_bbox(size, lam, cx, cy):
        W, H = size[2], size[3]
        cut_rat = np.sqrt(1.0 - lam)
        cut_w, cut_h = int(W * cut_rat), int(H * cut_rat)
        bbx1 = np.clip(cx - cut_w // 2, 0, W)
        bby1 = np.clip(cy - cut_h // 2, 0, H)
        bbx2 = np.clip(cx + cut_w // 2, 0, W)
        bby2 = np.clip(cy + cut_h // 2, 0, H)
        return bbx1, bby1, bbx2, bby2

    model.zero_grad()
    lam = 0.6
    bbx1, bby1, bbx2, bby2 = rand_bbox(x.size(), lam, 3, 5)
    xc = x.clone()
    xc[:, :, bbx1:bbx2, bby1:bby2] = x[perm, :, bbx1:bbx2, bby1:bby2]
    lam = 1 - ((bbx2 - bbx1) * (bby2 - bby1) / (x.size()[-1] * x.size()[-2]))
    pred = model(xc)
    loss = crit(pred, y) * lam + crit(pred, y[perm]) * (1.0 - lam)
    loss.backward()
    out["cutmix_x"] = xc
    out["cutmix_lam"] = np.array(lam)
    out["cutmix_loss"] = loss
    out["cutmix_grad"] = model[4].weight.grad
    # in-place mixing of a batch that requires grad through a leaf copy
    xb = x.clone().requires_grad_()
    xm = xb.clone()
    xm[:2, :, :4] = xb.flip(0)[:2, :, :4]
    xm.mul_(2).sum().backward()
    out["inplace_grad"] = xb.grad
    return out


def test_mixup_cutmix_program():
    check("mixup", _mixup_program)


# ------------------------------------------------------------------- warmup + cosine, parameter groups
def _schedule_program(lib):
    nn = lib.nn
    sched = lib.optim.lr_scheduler
    model = set_params(nn.Sequential(nn.Linear(4, 6), nn.LayerNorm(6), nn.ReLU(), nn.Linear(6, 2)).double(), lib, 0)
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.ndim < 2 or "norm" in name or name.endswith(".bias") else decay).append(p)
    groups = [{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0, "lr": 5e-3}]
    opt = lib.optim.AdamW(groups, lr=1e-2, betas=(0.9, 0.95))
    out = {"n_groups": np.array([len(g["params"]) for g in opt.param_groups])}
    warmup, total = 3, 10

    def lr_lambda(step):
        if step < warmup:
            return float(step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    s = sched.LambdaLR(opt, lr_lambda)
    rng = np.random.default_rng(1)
    x = _t(lib, rng.standard_normal((8, 4)))
    y = _t(lib, rng.standard_normal((8, 2)))
    lrs, losses = [], []
    for _ in range(total):
        loss = nn.functional.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        s.step()
        lrs.append([g["lr"] for g in opt.param_groups])
        losses.append(loss.item())
    out["lambda_lrs"] = np.array(lrs)
    out["losses"] = np.array(losses)
    out["w"] = model[3].weight
    out["last_lr"] = np.array(s.get_last_lr())
    # SequentialLR: LinearLR warmup then CosineAnnealingLR
    opt2 = lib.optim.SGD(set_params(nn.Linear(2, 2).double(), lib, 3).parameters(), lr=0.1, momentum=0.9)
    s2 = sched.SequentialLR(opt2, [sched.LinearLR(opt2, start_factor=0.1, total_iters=3),
                                   sched.CosineAnnealingLR(opt2, T_max=5, eta_min=1e-4)], milestones=[3])
    seq = []
    for _ in range(9):
        opt2.step()
        s2.step()
        seq.append(opt2.param_groups[0]["lr"])
    out["sequential"] = np.array(seq)
    # ChainedScheduler: exponential decay and a constant factor
    opt3 = lib.optim.SGD(set_params(nn.Linear(2, 2).double(), lib, 4).parameters(), lr=1.0)
    s3 = sched.ChainedScheduler([sched.ConstantLR(opt3, factor=0.5, total_iters=2),
                                 sched.ExponentialLR(opt3, gamma=0.9)])
    ch = []
    for _ in range(5):
        opt3.step()
        s3.step()
        ch.append(opt3.param_groups[0]["lr"])
    out["chained"] = np.array(ch)
    # an LR range test: exponentially increasing lr, smoothed loss, stop on divergence
    model4 = set_params(nn.Linear(4, 2).double(), lib, 5)
    opt4 = lib.optim.SGD(model4.parameters(), lr=1e-4)
    s4 = sched.ExponentialLR(opt4, gamma=10 ** (4 / 12))
    avg, best, found = 0.0, float("inf"), []
    for i in range(12):
        loss = nn.functional.mse_loss(model4(x), y)
        avg = 0.98 * avg + 0.02 * loss.item()
        smoothed = avg / (1 - 0.98 ** (i + 1))
        found.append([s4.get_last_lr()[0], smoothed])
        if smoothed > 4 * best:
            break
        best = min(best, smoothed)
        opt4.zero_grad()
        loss.backward()
        opt4.step()
        s4.step()
    out["range_test"] = np.array(found)
    return out


def test_schedule_program():
    check("schedule", _schedule_program)


# ------------------------------------------------------------------- EMA of weights
def _ema_program(lib):
    nn, F = lib.nn, lib.nn.functional
    swa = __import__(lib.__name__ + ".optim.swa_utils", fromlist=["AveragedModel"])
    model = set_params(nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 2)).double(),
                       lib, 0, 0.5)
    decay = 0.9
    ema_fn = lambda averaged, current, num_averaged: decay * averaged + (1 - decay) * current  # noqa: E731
    ema = swa.AveragedModel(model, avg_fn=ema_fn)
    ema_multi = swa.AveragedModel(model, multi_avg_fn=swa.get_ema_multi_avg_fn(decay), use_buffers=True)
    manual = [p.detach().clone() for p in model.parameters()]
    manual_lerp = [p.detach().clone() for p in model.parameters()]
    rng = np.random.default_rng(1)
    x = _t(lib, rng.standard_normal((8, 3)))
    y = _t(lib, rng.standard_normal((8, 2)))
    opt = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(4):
        loss = F.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        ema.update_parameters(model)
        ema_multi.update_parameters(model)
        with lib.no_grad():
            params = [p.detach() for p in model.parameters()]
            lib._foreach_mul_(manual, decay)
            lib._foreach_add_(manual, params, alpha=1 - decay)
            for e, p in zip(manual_lerp, params, strict=True):
                e.lerp_(p, 1 - decay)
    out = {"n_averaged": ema.n_averaged, "ema_w": ema.module[0].weight, "multi_w": ema_multi.module[3].weight,
           "multi_rm": ema_multi.module[1].running_mean, "ema_rm": ema.module[1].running_mean}
    for i, (a, b) in enumerate(zip(manual, manual_lerp, strict=True)):
        out[f"manual{i}"] = a
        out[f"lerp{i}"] = b
    # update_bn recomputes the running statistics over a loader
    loader = [x[:4], x[4:]]
    swa.update_bn(loader, ema)
    out["bn_mean"] = ema.module[1].running_mean
    out["bn_var"] = ema.module[1].running_var
    out["bn_momentum"] = np.array(str(ema.module[1].momentum))
    with lib.no_grad():
        out["ema_pred"] = ema(x)
    # _foreach_ variants
    a = [_t(lib, [1.0, 2.0]), _t(lib, [3.0])]
    b = [_t(lib, [0.5, 0.5]), _t(lib, [2.0])]
    out["fe_add"] = lib.cat(lib._foreach_add(a, b, alpha=2))
    out["fe_mul_list"] = lib.cat(lib._foreach_mul(a, b))
    out["fe_mul_scalar"] = lib.cat(lib._foreach_mul(a, 3.0))
    out["fe_add_scalar"] = lib.cat(lib._foreach_add(a, 1.5))
    out["fe_sub"] = lib.cat(lib._foreach_sub(a, b))
    out["fe_div"] = lib.cat(lib._foreach_div(a, b))
    out["fe_sqrt"] = lib.cat(lib._foreach_sqrt(b))
    out["fe_norm"] = lib.stack(lib._foreach_norm(a))
    c = [t.clone() for t in a]
    lib._foreach_lerp_(c, b, 0.25)
    out["fe_lerp"] = lib.cat(c)
    d = [t.clone() for t in a]
    lib._foreach_addcmul_(d, a, b, value=0.5)
    out["fe_addcmul"] = lib.cat(d)
    e = [t.clone() for t in a]
    lib._foreach_zero_(e)
    out["fe_zero"] = lib.cat(e)
    f = [t.clone() for t in a]
    lib._foreach_copy_(f, b)
    out["fe_copy"] = lib.cat(f)
    return out


def test_ema_program():
    check("ema", _ema_program)


# ------------------------------------------------------------------- gradient checkpointing
def _checkpoint_program(lib):
    nn, F = lib.nn, lib.nn.functional
    cp = __import__(lib.__name__ + ".utils.checkpoint", fromlist=["checkpoint"])

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(6, 12)
            self.fc2 = nn.Linear(12, 6)
            self.norm = nn.LayerNorm(6)

        def forward(self, x):
            return x + self.fc2(F.gelu(self.fc1(self.norm(x))))

    class Net(nn.Module):
        def __init__(self, use_cp):
            super().__init__()
            self.blocks = nn.ModuleList([Block() for _ in range(3)])
            self.head = nn.Linear(6, 2)
            self.use_cp = use_cp

        def forward(self, x):
            for blk in self.blocks:
                x = cp.checkpoint(blk, x, use_reentrant=False) if self.use_cp else blk(x)
            return self.head(x)

    rng = np.random.default_rng(1)
    x = _t(lib, rng.standard_normal((4, 6)))
    y = _t(lib, rng.standard_normal((4, 2)))
    out = {}
    for use_cp in (False, True):
        net = set_params(Net(use_cp).double(), lib, 0, 0.4)
        opt = lib.optim.Adam(net.parameters(), lr=1e-2)
        losses = []
        for _ in range(2):
            loss = F.mse_loss(net(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        out[f"losses_{use_cp}"] = np.array(losses)
        out[f"g_{use_cp}"] = net.blocks[0].fc1.weight.grad
    # checkpoint_sequential over a Sequential, input that requires grad
    seq = set_params(nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 2)).double(),
                     lib, 2)
    xi = x.clone().requires_grad_()
    yo = cp.checkpoint_sequential(seq, 2, xi, use_reentrant=False)
    yo.pow(2).sum().backward()
    out["seq_y"] = yo
    out["seq_gx"] = xi.grad
    out["seq_gw"] = seq[2].weight.grad
    # a function with several inputs and a keyword argument
    w = _t(lib, rng.standard_normal((6, 3))).requires_grad_()

    def fn(a, b, scale=1.0):
        return (a @ b).tanh() * scale

    z = cp.checkpoint(fn, x, w, scale=2.0, use_reentrant=False)
    z.sum().backward()
    out["fn_z"] = z
    out["fn_gw"] = w.grad
    return out


def test_checkpoint_program():
    check("checkpoint", _checkpoint_program)


# ------------------------------------------------------------------- LSTM forecaster
def _forecast_program(lib):
    nn = lib.nn
    t = np.arange(40, dtype=np.float64)
    series = 10 + np.sin(t / 3) * 3 + t * 0.1
    train = _t(lib, series[:30])
    lo, hi = train.min(), train.max()
    scaled = (_t(lib, series) - lo) / (hi - lo)
    window = 5
    windows = scaled.unfold(0, window + 1, 1)  # (n, window + 1)
    X, Y = windows[:, :-1].unsqueeze(-1), windows[:, -1:]
    n_train = 30 - window

    class Forecaster(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(1, 6, num_layers=2, batch_first=True, dropout=0.0)
            self.fc = nn.Linear(6, 1)

        def forward(self, x):
            out, (h, c) = self.lstm(x)
            return self.fc(out[:, -1, :])

    model = set_params(Forecaster().double(), lib, 0, 0.3)
    opt = lib.optim.Adam(model.parameters(), lr=1e-2)
    crit = nn.MSELoss()
    losses = []
    for _ in range(3):
        for i in range(0, n_train, 10):
            xb, yb = X[i:i + 10], Y[i:i + 10]
            loss = crit(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            losses.append(loss.item())
    out = {"windows_shape": np.array(tuple(windows.shape)), "losses": np.array(losses),
           "g_ih": model.lstm.weight_ih_l0.grad}
    model.eval()
    with lib.no_grad():
        pred = model(X[n_train:]) * (hi - lo) + lo
        true = Y[n_train:] * (hi - lo) + lo
        out["pred"] = pred
        out["mape"] = lib.mean(lib.abs((true - pred) / true)) * 100
        # autoregressive roll-out without teacher forcing
        ctx = X[n_train:n_train + 1].clone()
        rolled = []
        for _ in range(4):
            nxt = model(ctx)
            rolled.append(nxt)
            ctx = lib.cat([ctx[:, 1:], nxt.unsqueeze(1)], dim=1)
        out["rollout"] = lib.cat(rolled, 1) * (hi - lo) + lo
    out["unfold_step"] = _t(lib, np.arange(10.0)).unfold(0, 4, 3)
    out["unfold_2d"] = _t(lib, np.arange(12.0).reshape(3, 4)).unfold(1, 2, 2)
    return out


def test_forecast_program():
    check("forecast", _forecast_program)


# ------------------------------------------------------------------- what the programs found
def _warnings_of(fn):
    """The categories and first words of the warnings fn() gives (each call, filters "always")."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn()
    return np.array([f"{w.category.__name__}: {str(w.message)[:40]}" for w in caught] or [""])


def _found_warnings_program(lib):
    """PyTorch's UserWarnings: a full backward hook that fires from the outputs (no input requires
    grad); checkpoint and checkpoint_sequential without an explicit use_reentrant (none with it);
    MultiheadAttention given a bool key_padding_mask with a float attn_mask (also from
    TransformerDecoderLayer's self-attention)."""
    nn = lib.nn
    cp = __import__(lib.__name__ + ".utils.checkpoint", fromlist=["checkpoint"])
    out = {}
    lin = set_params(nn.Linear(2, 2).double(), lib, 0)
    lin.register_full_backward_hook(lambda m, gi, go: None)
    out["bhook_no_input_grad"] = _warnings_of(lambda: lin(_t(lib, [[1.0, 2.0]])).sum().backward())
    out["bhook_input_grad"] = _warnings_of(lambda: lin(_t(lib, [[1.0, 2.0]]).requires_grad_()).sum().backward())
    x = _t(lib, [1.0, 2.0]).requires_grad_()
    out["cp_implicit"] = _warnings_of(lambda: cp.checkpoint(lambda a: a * 2, x))
    out["cp_explicit"] = _warnings_of(lambda: cp.checkpoint(lambda a: a * 2, x, use_reentrant=False))
    out["cp_no_grad_input"] = _warnings_of(lambda: cp.checkpoint(lambda a: a * 2, x.detach()))
    seq = nn.Sequential(nn.Linear(2, 2), nn.ReLU()).double()
    out["cps_implicit"] = _warnings_of(lambda: cp.checkpoint_sequential(seq, 2, x.view(1, 2)))
    out["cps_explicit"] = _warnings_of(lambda: cp.checkpoint_sequential(seq, 2, x.view(1, 2), use_reentrant=False))
    mha = nn.MultiheadAttention(4, 2, batch_first=True).double()
    q = _t(lib, np.random.default_rng(1).standard_normal((2, 3, 4)))
    pad = lib.tensor([[False, False, True], [False, False, False]])
    causal = nn.Transformer.generate_square_subsequent_mask(3, dtype=lib.float64)
    out["mha_mixed"] = _warnings_of(lambda: mha(q, q, q, key_padding_mask=pad, attn_mask=causal))
    out["mha_same"] = _warnings_of(lambda: mha(q, q, q, key_padding_mask=pad, attn_mask=causal.isinf()))
    dec = nn.TransformerDecoder(nn.TransformerDecoderLayer(4, 2, 8, dropout=0.0, batch_first=True), 2).double()
    out["decoder_mixed"] = _warnings_of(lambda: dec(q, q[:, :2], tgt_mask=causal, tgt_key_padding_mask=pad))
    return out


def test_found_warnings():
    check("found_warnings", _found_warnings_program)


def _always_call_program(lib):
    """register_forward_hook(always_call=True): the hook also runs, with output None, when forward
    raises (the error still propagates); the other hooks do not; a hook that already ran is not run
    again; the handle removes it."""
    nn = lib.nn
    lin = nn.Linear(2, 2).double()
    seen = []
    lin.register_forward_hook(lambda m, args, output: seen.append(("always", output is None)), always_call=True)
    lin.register_forward_hook(lambda m, args, output: seen.append(("plain", output is None)))
    lin.register_forward_hook(lambda m, args, kwargs, output: seen.append(("kw", output is None)), with_kwargs=True,
                              always_call=True)
    lin(_t(lib, [[1.0, 2.0]]))
    caught = False
    try:
        lin(_t(lib, [[1.0, 2.0, 3.0]]))
    except RuntimeError:
        caught = True
    out = {"seen": np.array([f"{a}:{b}" for a, b in seen]), "caught": np.array(caught)}

    class Boom(nn.Module):
        def forward(self, x):
            return x * 2

    boom = Boom()
    calls = []

    def raising_hook(m, args, output):
        calls.append("raising")
        raise ValueError("in the hook")

    boom.register_forward_hook(raising_hook, always_call=True)
    handle = boom.register_forward_hook(lambda m, a, o: calls.append("after"), always_call=True)
    try:
        boom(_t(lib, [1.0]))
    except ValueError:
        calls.append("ValueError")
    handle.remove()
    try:
        boom(_t(lib, [1.0]))
    except ValueError:
        calls.append("ValueError")
    out["calls"] = np.array(calls)
    return out


def test_forward_hook_always_call():
    check("always_call", _always_call_program)


def _embedding_bag_max_norm_program(lib):
    """nn.EmbeddingBag(max_norm=...) and F.embedding_bag(max_norm=...): the looked-up rows are
    renormalised in place before the bags are formed (and trained through), as PyTorch's."""
    nn, F = lib.nn, lib.nn.functional
    out = {}
    bag = set_params(nn.EmbeddingBag(6, 3, max_norm=1.0, mode="sum").double(), lib, 0, 1.0)
    out["repr"] = np.array(repr(bag))
    y = bag(lib.tensor([[1, 2], [3, 4]]))
    y.pow(2).sum().backward()
    out["y"] = y
    out["w"] = bag.weight
    out["g"] = bag.weight.grad
    bag1 = set_params(nn.EmbeddingBag(6, 3, max_norm=0.5, norm_type=1.0, mode="mean", padding_idx=0).double(), lib,
                      1, 1.0)
    out["repr1"] = np.array(repr(bag1))
    out["y1"] = bag1(lib.tensor([0, 2, 5, 5]), lib.tensor([0, 3]))
    out["w1"] = bag1.weight
    w = _t(lib, np.random.default_rng(2).standard_normal((5, 2)) * 2)
    out["F"] = F.embedding_bag(lib.tensor([1, 3, 4]), w, lib.tensor([0, 1]), max_norm=1.5, mode="max")
    out["F_w"] = w
    return out


def test_embedding_bag_max_norm():
    check("ebag_max_norm", _embedding_bag_max_norm_program)


def _foreach_errors(lib):
    a = [_t(lib, [1.0, 2.0]), _t(lib, [3.0])]
    return {
        "lengths": (RuntimeError, lambda: lib._foreach_add(a, [_t(lib, [1.0, 2.0])])),
        "empty": (RuntimeError, lambda: lib._foreach_mul([], 2.0)),
        "scalar_list": (RuntimeError, lambda: lib._foreach_add(a, [1.0])),
        "alpha_scalar": (TypeError, lambda: lib._foreach_add(a, 1.0, alpha=2)),
        "shapes": (RuntimeError, lambda: lib._foreach_add(a, [_t(lib, [1.0, 2.0, 3.0]), _t(lib, [1.0])])),
    }


def _foreach_program(lib):
    """torch._foreach_*: in-place forms return the list they were given, out-of-place ones a tuple;
    scalar lists, a tensor operand, alpha, pow with a scalar base; and PyTorch's errors."""
    from parity import caught_report

    a = [_t(lib, [1.0, 2.0]), _t(lib, [3.0])]
    b = [_t(lib, [0.5, 0.5]), _t(lib, [2.0])]
    out = {}
    c = [t.clone() for t in a]
    r = lib._foreach_mul_(c, 2.0)
    out["inplace_returns_list"] = np.array([r is c, type(lib._foreach_mul(a, 2.0)).__name__ == "tuple"])
    out["scalar_list"] = lib.cat(lib._foreach_add(a, [1.0, 2.0]))
    out["tensor_operand"] = lib.cat(lib._foreach_mul(a, _t(lib, 3.0)))
    out["sub_alpha"] = lib.cat(lib._foreach_sub(a, b, alpha=0.5))
    out["pow_scalar_base"] = lib.cat(lib._foreach_pow(2.0, a))
    out["pow_list"] = lib.cat(lib._foreach_pow(a, b))
    out["maximum"] = lib.cat(lib._foreach_maximum(a, b))
    out["clamp_min"] = lib.cat(lib._foreach_clamp_min(a, 1.5))
    out["exp"] = lib.cat(lib._foreach_exp(b))
    d = [t.clone() for t in a]
    lib._foreach_addcdiv_(d, a, b, value=-0.5)
    out["addcdiv_"] = lib.cat(d)
    e = [t.clone() for t in a]
    lib._foreach_lerp_(e, b, [0.1, 0.9])
    out["lerp_list"] = lib.cat(e)
    out["norm1"] = lib.stack(lib._foreach_norm(a, 1))
    out["norm_inf"] = lib.stack(lib._foreach_norm(a, float("inf")))
    # gradients flow through the out-of-place forms
    p = [_t(lib, [1.0, 2.0]).requires_grad_(), _t(lib, [3.0]).requires_grad_()]
    sum(t.sum() for t in lib._foreach_mul(lib._foreach_add(p, b), p)).backward()
    out["grad0"] = p[0].grad
    out["grad1"] = p[1].grad
    out.update({"err_" + k: v for k, v in caught_report(_foreach_errors(lib)).items()})
    return out


def test_foreach_program():
    check("foreach", _foreach_program)


def _training_utilities_program(lib):
    """Older course code's custom warmup scheduler subclassing lr_scheduler._LRScheduler;
    optimizer.register_step_pre_hook / register_step_post_hook (logging the update size, replacing
    step's arguments, removal); Module.set_submodule for model surgery (and its errors); SWA with
    SWALR (its state_dict keys hold the anneal strategy's name, as PyTorch's)."""
    nn, F = lib.nn, lib.nn.functional
    sched = lib.optim.lr_scheduler
    swa = __import__(lib.__name__ + ".optim.swa_utils", fromlist=["SWALR"])

    class WarmupInverseSqrt(sched._LRScheduler):
        def __init__(self, optimizer, warmup, last_epoch=-1):
            self.warmup = warmup
            super().__init__(optimizer, last_epoch)

        def get_lr(self):
            step = max(self.last_epoch, 1)
            factor = min(step / self.warmup, (self.warmup / step) ** 0.5)
            return [base * factor for base in self.base_lrs]

    model = set_params(nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).double(), lib, 0)
    opt = lib.optim.SGD(model.parameters(), lr=0.2, momentum=0.9)
    s = WarmupInverseSqrt(opt, 3)
    log = []
    before = {}

    def pre(optimizer, args, kwargs):
        before["w"] = optimizer.param_groups[0]["params"][0].detach().clone()

    def post(optimizer, args, kwargs):
        log.append((optimizer.param_groups[0]["params"][0] - before["w"]).norm().item())

    h_pre = opt.register_step_pre_hook(pre)
    h_post = opt.register_step_post_hook(post)
    rng = np.random.default_rng(1)
    x = _t(lib, rng.standard_normal((6, 3)))
    y = _t(lib, rng.standard_normal((6, 2)))
    lrs = [opt.param_groups[0]["lr"]]
    for i in range(6):
        loss = F.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        s.step()
        lrs.append(opt.param_groups[0]["lr"])
        if i == 3:
            h_pre.remove()
            h_post.remove()
    out = {"lrs": np.array(lrs), "update_norms": np.array(log), "w": model[2].weight,
           "sched_keys": np.array(sorted(s.state_dict().keys())),
           "is_subclass": np.array(issubclass(sched._LRScheduler, sched.LRScheduler))}

    # a pre-hook that replaces step's arguments: a closure
    calls = []
    opt2 = lib.optim.SGD(model.parameters(), lr=0.01)

    def closure():
        calls.append("closure")
        return F.mse_loss(model(x), y)

    opt2.register_step_pre_hook(lambda o, args, kwargs: ((o, closure), {}))  # args start with the optimizer
    seen_args = []
    opt2.register_step_post_hook(lambda o, args, kwargs: seen_args.append((len(args), args[0] is o)))
    out["closure_loss"] = opt2.step()
    out["closure_calls"] = np.array(calls)
    out["post_args"] = np.array(seen_args)

    # model surgery
    net = set_params(nn.Sequential(nn.Sequential(nn.Linear(3, 4), nn.ReLU()), nn.Linear(4, 2)).double(), lib, 2)
    net.set_submodule("0.1", nn.Tanh())
    net.set_submodule("1", set_params(nn.Linear(4, 2).double(), lib, 3))
    out["surgery_repr"] = np.array(repr(net))
    out["surgery_y"] = net(x)
    net.set_submodule("0.extra", nn.Identity())
    out["surgery_names"] = np.array([n for n, _ in net.named_modules()])
    from parity import caught_report

    out.update({"err_" + k: v for k, v in caught_report({
        "empty": (ValueError, lambda: net.set_submodule("", nn.ReLU())),
        "not_module": (ValueError, lambda: net.set_submodule("1", 3)),
        "strict": (AttributeError, lambda: net.set_submodule("0.nope", nn.ReLU(), strict=True)),
        "no_parent": (AttributeError, lambda: net.set_submodule("5.x", nn.ReLU())),
        "replaces_param": (AttributeError, lambda: net.set_submodule("1.weight", nn.ReLU())),
    }).items()})

    # SWA with SWALR
    swa_model = swa.AveragedModel(model)
    opt3 = lib.optim.SGD(model.parameters(), lr=0.5)
    swa_sched = swa.SWALR(opt3, swa_lr=0.05, anneal_epochs=3, anneal_strategy="linear")
    swa_lrs = []
    for _ in range(5):
        loss = F.mse_loss(model(x), y)
        opt3.zero_grad()
        loss.backward()
        opt3.step()
        swa_model.update_parameters(model)
        swa_sched.step()
        swa_lrs.append(opt3.param_groups[0]["lr"])
    out["swa_lrs"] = np.array(swa_lrs)
    out["swa_w"] = swa_model.module[0].weight
    out["swalr_keys"] = np.array(sorted(swa_sched.state_dict().keys()))
    out["swalr_strategy"] = np.array(swa_sched.state_dict()["_anneal_strategy"])
    restored = swa.SWALR(lib.optim.SGD(model.parameters(), lr=0.5), swa_lr=0.05, anneal_epochs=3)
    restored.load_state_dict(swa_sched.state_dict())
    out["restored_strategy"] = np.array(restored.state_dict()["_anneal_strategy"])
    return out


def test_training_utilities_program():
    check("training_utilities", _training_utilities_program)
