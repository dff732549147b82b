"""Course programs ported with `import minigrad as torch`, round 17: each program runs on both
libraries (`program(lib)` with lib minigrad or torch) from the same seeded numpy weights and data
and its results are compared with PyTorch's (live, or recorded in
tests/fixtures/torch_reference/test_porting_round17.npz). Programs: a DDPM training step and
sampling loop (sinusoidal time embeddings, a small UNet with GroupNorm/SiLU/ConvTranspose2d and a
skip cat, noise-schedule buffers gathered by timestep, randn_like); a GPT-style decoder (causal mask
buffer, a KV cache by torch.cat, tied embeddings, top-k/top-p filtering by topk/sort/cumsum/scatter,
temperature, multinomial, greedy generation); MAML (torch.func.functional_call with a create_graph
inner loop, torch.func.grad's first-order form); a neural ODE by explicit RK4; a mixture density
network (log-sum-exp of Gaussian log-probs, Normal/Categorical); Double DQN with a target network
(deepcopy, load_state_dict, soft updates by mul_/add_/lerp_, SmoothL1Loss, gather, argmax); a
tabular model (categorical embeddings, BCEWithLogitsLoss(pos_weight), class weights, ROC/AUC by
sort/cumsum/trapezoid); CS231n's batchnorm from scratch against nn.BatchNorm1d with a numeric
gradient check, inverted dropout's properties; a character CNN (Conv1d, AdaptiveMaxPool1d); a
triplet network (TripletMarginLoss with swap, cosine retrieval by topk); model surgery (replacing,
deleting, inserting and appending layers of a Sequential, freezing, filtered optimizers,
register_buffer, apply(init_fn), parameter counts); gradient accumulation with clip_grad_norm_'s
total norm, get_total_norm; torch.utils.data (random_split by fractions, Subset, ConcatDataset,
WeightedRandomSampler, a padding collate_fn, pack_padded_sequence); functional_call with buffers,
parameters_to_vector/vector_to_parameters, clip_grads_with_norm_, EMA. And what they found:
torch.func.functional_call taking a name that is no parameter or buffer as an attribute for the
call (strict: PyTorch's "Unexpected key(s)" RuntimeError); vector_to_parameters assigning .data as
PyTorch's (sharing vec's memory, no version bump, so a saved graph still runs backward; TypeError
for a non-tensor); BCEWithLogitsLoss's pos_weight that does not broadcast to the input (PyTorch's
RuntimeError, not numpy's ValueError or a silently larger loss); WeightedRandomSampler without
replacement of more samples than weights (RuntimeError) and ConcatDataset([]) (AssertionError)."""

import copy
import math
from collections import OrderedDict

import numpy as np
import pytest
from parity import check_program, mistakes_program, set_params
from torch_reference import TorchReference

import minigrad

torch_reference = TorchReference(__name__)


def check(key, program, rtol=1e-5):
    """program(minigrad)'s results against program(torch)'s (parity.check_program)."""
    check_program(torch_reference, key, program, rtol)


def _ddpm_program(lib):
    nn, F = lib.nn, lib.nn.functional

    class TimeEmb(nn.Module):
        def __init__(s, dim):
            super().__init__()
            s.dim = dim

        def forward(s, t):
            half = s.dim // 2
            freqs = lib.exp(-math.log(10000) * lib.arange(half, dtype=lib.float32) / (half - 1))
            args = t[:, None].float() * freqs[None]
            return lib.cat([args.sin(), args.cos()], dim=-1)

    class Block(nn.Module):
        def __init__(s, cin, cout, tdim):
            super().__init__()
            s.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
            s.norm1 = nn.GroupNorm(2, cout)
            s.t = nn.Linear(tdim, cout)
            s.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
            s.norm2 = nn.GroupNorm(2, cout)
            s.act = nn.SiLU()
            s.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

        def forward(s, x, te):
            h = s.act(s.norm1(s.conv1(x)))
            h = h + s.t(te)[:, :, None, None]
            h = s.act(s.norm2(s.conv2(h)))
            return h + s.skip(x)

    class UNet(nn.Module):
        def __init__(s):
            super().__init__()
            s.temb = nn.Sequential(TimeEmb(8), nn.Linear(8, 16), nn.SiLU(), nn.Linear(16, 16))
            s.inc = nn.Conv2d(1, 4, 3, padding=1)
            s.down = Block(4, 8, 16)
            s.pool = nn.AvgPool2d(2)
            s.mid = Block(8, 8, 16)
            s.up = nn.ConvTranspose2d(8, 8, 2, stride=2)
            s.dec = Block(16, 4, 16)
            s.out = nn.Conv2d(4, 1, 1)

        def forward(s, x, t):
            te = s.temb(t)
            h0 = s.inc(x)
            h1 = s.down(h0, te)
            m = s.mid(s.pool(h1), te)
            u = s.up(m)
            return s.out(s.dec(lib.cat([u, h1], dim=1), te))

    T = 20

    class Diffusion(nn.Module):
        def __init__(s):
            super().__init__()
            betas = lib.linspace(1e-4, 0.02, T)
            s.register_buffer("betas", betas)
            alphas = 1.0 - betas
            s.register_buffer("alphas_cumprod", lib.cumprod(alphas, dim=0))
            s.register_buffer("sqrt_ab", s.alphas_cumprod.sqrt())
            s.register_buffer("sqrt_1mab", (1 - s.alphas_cumprod).sqrt())

    model = set_params(UNet(), lib, 0, 0.2)
    diff = Diffusion()
    rng = np.random.default_rng(1)
    x0 = lib.tensor(rng.standard_normal((3, 1, 8, 8)), dtype=lib.float32)
    t = lib.tensor([3, 0, 19])
    noise = lib.tensor(rng.standard_normal((3, 1, 8, 8)), dtype=lib.float32)

    def extract(a, t, shape):
        out = a.gather(-1, t)
        return out.reshape(t.shape[0], *((1,) * (len(shape) - 1)))

    xt = extract(diff.sqrt_ab, t, x0.shape) * x0 + extract(diff.sqrt_1mab, t, x0.shape) * noise
    opt = lib.optim.AdamW(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(2):
        opt.zero_grad()
        loss = F.mse_loss(model(xt, t), noise)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    r = lib.randn_like(x0)
    # sampling loop (deterministic noise)
    x = lib.tensor(rng.standard_normal((2, 1, 8, 8)), dtype=lib.float32)
    zs = rng.standard_normal((T, 2, 1, 8, 8))
    model.eval()
    with lib.no_grad():
        for i in reversed(range(0, T, 5)):
            tt = lib.full((2,), i, dtype=lib.long)
            eps = model(x, tt)
            a = 1 - diff.betas[i]
            ab = diff.alphas_cumprod[i]
            mean = (x - diff.betas[i] / (1 - ab).sqrt() * eps) / a.sqrt()
            x = mean + (diff.betas[i].sqrt() * lib.tensor(zs[i], dtype=lib.float32) if i > 0 else 0)
    sd = model.state_dict()
    return {
        "losses": np.array(losses),
        "xt": xt,
        "sample": x,
        "g": model.inc.weight,
        "rl": np.array([r.shape == x0.shape, r.dtype == x0.dtype]),
        "bufkeys": np.array(list(diff.state_dict())),
        "sdkeys": np.array(list(sd))[:8],
        "nparam": np.array(sum(p.numel() for p in model.parameters())),
        "temb": model.temb[0](t),
        "repr": np.array(repr(model.up) + repr(model.down.norm1) + repr(model.down.act)),
    }


def _gpt_program(lib):
    nn, F = lib.nn, lib.nn.functional
    V, D, H, L = 11, 8, 2, 6

    class Attn(nn.Module):
        def __init__(s):
            super().__init__()
            s.qkv = nn.Linear(D, 3 * D)
            s.proj = nn.Linear(D, D)
            s.register_buffer("mask", lib.tril(lib.ones(L, L)).view(1, 1, L, L), persistent=False)

        def forward(s, x, past=None):
            B, T, C = x.size()
            q, k, v = s.qkv(x).split(D, dim=2)
            q = q.view(B, T, H, C // H).transpose(1, 2)
            k = k.view(B, T, H, C // H).transpose(1, 2)
            v = v.view(B, T, H, C // H).transpose(1, 2)
            if past is not None:
                k = lib.cat([past[0], k], dim=-2)
                v = lib.cat([past[1], v], dim=-2)
            S = k.size(-2)
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            att = att.masked_fill(s.mask[:, :, S - T : S, :S] == 0, float("-inf"))
            att = F.softmax(att, dim=-1)
            y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
            return s.proj(y), (k, v)

    class GPT(nn.Module):
        def __init__(s):
            super().__init__()
            s.wte = nn.Embedding(V, D)
            s.wpe = nn.Embedding(L, D)
            s.ln = nn.LayerNorm(D)
            s.attn = Attn()
            s.ln_f = nn.LayerNorm(D)
            s.head = nn.Linear(D, V, bias=False)
            s.head.weight = s.wte.weight

        def forward(s, idx, past=None, start=0):
            B, T = idx.shape
            pos = lib.arange(start, start + T, dtype=lib.long).unsqueeze(0)
            x = s.wte(idx) + s.wpe(pos)
            a, present = s.attn(s.ln(x), past)
            x = x + a
            return s.head(s.ln_f(x)), present

    model = set_params(GPT(), lib, 3, 0.5)
    idx = lib.tensor([[1, 4, 2], [3, 3, 0]])
    # full forward vs cached
    logits_full, _ = model(idx)
    l1, pres = model(idx[:, :2])
    l2, _ = model(idx[:, 2:], pres, start=2)
    # loss on shifted targets
    targets = lib.tensor([[4, 2, 7], [3, 0, -1]])
    loss = F.cross_entropy(logits_full.view(-1, V), targets.view(-1), ignore_index=-1)
    loss.backward()
    # top-k / top-p filtering
    logits = logits_full[:, -1, :].detach() / 0.8
    v, ix = lib.topk(logits, 3)
    topk_l = logits.clone()
    topk_l[topk_l < v[:, [-1]]] = -float("Inf")
    sorted_logits, sorted_idx = lib.sort(logits, descending=True)
    cum = lib.cumsum(F.softmax(sorted_logits, dim=-1), dim=-1)
    remove = cum > 0.7
    remove[..., 1:] = remove[..., :-1].clone()
    remove[..., 0] = False
    to_remove = remove.scatter(1, sorted_idx, remove)
    topp_l = logits.masked_fill(to_remove, float("-inf"))
    probs = F.softmax(topp_l, dim=-1)
    nxt = lib.multinomial(probs, num_samples=1)
    allowed = (~to_remove).gather(1, nxt)
    greedy = lib.argmax(logits, dim=-1, keepdim=True)
    gen = lib.cat((idx, greedy), dim=1)
    # generation loop greedy with cache
    out = idx
    past = None
    cur = idx
    start = 0
    with lib.no_grad():
        for _ in range(2):
            lg, past = model(cur, past, start)
            start += cur.size(1)
            cur = lg[:, -1:].argmax(-1)
            out = lib.cat([out, cur], 1)
    return {
        "full": logits_full,
        "cached": l2,
        "cached_close": np.array(lib.allclose(l2, logits_full[:, 2:], atol=1e-6)),
        "loss": loss,
        "gw": model.wte.weight.grad,
        "topk": topk_l,
        "topp": topp_l,
        "ix": ix,
        "nshape": np.array(nxt.shape),
        "ndtype": np.array(str(nxt.dtype).split(".")[-1]),
        "allowed": allowed,
        "gen": gen,
        "out": out,
        "kshape": np.array(past[0].shape),
        "nparams": np.array(
            [sum(p.numel() for p in model.parameters()), len(list(model.parameters())), len(model.state_dict())]
        ),
        "sdk": np.array(list(model.state_dict())),
    }


def _maml_program(lib):
    nn, F = lib.nn, lib.nn.functional
    from importlib import import_module

    func = import_module(lib.__name__ + ".func")
    model = set_params(nn.Sequential(nn.Linear(1, 8), nn.Tanh(), nn.Linear(8, 1)), lib, 5, 0.5)
    meta_opt = lib.optim.Adam(model.parameters(), lr=1e-2)
    rng = np.random.default_rng(2)
    losses = []
    for _step in range(2):
        meta_opt.zero_grad()
        total = 0.0
        for task in range(2):
            amp, ph = 1 + task, 0.3 * task
            xs = rng.uniform(-3, 3, (5, 1))
            xq = rng.uniform(-3, 3, (5, 1))
            xs_t = lib.tensor(xs, dtype=lib.float32)
            ys_t = lib.tensor(amp * np.sin(xs + ph), dtype=lib.float32)
            xq_t = lib.tensor(xq, dtype=lib.float32)
            yq_t = lib.tensor(amp * np.sin(xq + ph), dtype=lib.float32)
            params = OrderedDict(model.named_parameters())
            for _ in range(2):
                inner = F.mse_loss(func.functional_call(model, params, (xs_t,)), ys_t)
                grads = lib.autograd.grad(inner, params.values(), create_graph=True)
                params = OrderedDict((n, p - 0.1 * g) for (n, p), g in zip(params.items(), grads, strict=False))
            outer = F.mse_loss(func.functional_call(model, params, xq_t), yq_t)
            total = total + outer
        (total / 2).backward()
        losses.append(total.item())
        meta_opt.step()

    # first-order variant with torch.func.grad
    def loss_fn(p, x, y):
        return F.mse_loss(func.functional_call(model, p, (x,)), y)

    p = {k: v.detach() for k, v in model.named_parameters()}
    g = func.grad(loss_fn)(p, xs_t, ys_t)
    # functional_call with buffers dict tuple and strict
    extra = func.functional_call(model, (dict(model.named_parameters()), {}), (xs_t,))
    return {
        "losses": np.array(losses),
        "w0": model[0].weight,
        "gb": model[2].bias.grad,
        "fo": g["0.weight"],
        "keys": np.array(sorted(g)),
        "extra": extra,
    }


def _node_program(lib):
    nn = lib.nn

    class ODEF(nn.Module):
        def __init__(s):
            super().__init__()
            s.net = nn.Sequential(nn.Linear(3, 16), nn.Softplus(), nn.Linear(16, 2))

        def forward(s, t, y):
            tt = t.expand(y.shape[0], 1)
            return s.net(lib.cat([y, tt], dim=1))

    def rk4(f, y0, ts):
        ys = [y0]
        y = y0
        for t0, t1 in zip(ts[:-1], ts[1:], strict=False):
            h = t1 - t0
            k1 = f(t0, y)
            k2 = f(t0 + h / 2, y + h * k1 / 2)
            k3 = f(t0 + h / 2, y + h * k2 / 2)
            k4 = f(t1, y + h * k3)
            y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            ys.append(y)
        return lib.stack(ys)

    f = set_params(ODEF(), lib, 7, 0.3)
    ts = lib.linspace(0, 1, 5).unsqueeze(-1)
    y0 = lib.tensor([[1.0, 0.0], [0.0, 1.0], [0.5, -0.5]])
    true = lib.stack([y0 * lib.cos(t) for t in ts])
    opt = lib.optim.RMSprop(f.parameters(), lr=1e-2)
    losses = []
    for _ in range(3):
        opt.zero_grad()
        pred = rk4(f, y0, ts)
        loss = (pred - true).abs().mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    gn = nn.utils.clip_grad_norm_(f.parameters(), 0.1)
    return {
        "losses": np.array(losses),
        "pred": pred,
        "w": f.net[0].weight,
        "gn": gn,
        "gnd": np.array(str(gn.dtype).split(".")[-1]),
    }


def _mdn_program(lib):
    nn, F = lib.nn, lib.nn.functional
    K = 3

    class MDN(nn.Module):
        def __init__(s):
            super().__init__()
            s.h = nn.Sequential(nn.Linear(1, 12), nn.Tanh())
            s.pi = nn.Linear(12, K)
            s.mu = nn.Linear(12, K)
            s.sigma = nn.Linear(12, K)

        def forward(s, x):
            h = s.h(x)
            return F.log_softmax(s.pi(h), -1), s.mu(h), F.softplus(s.sigma(h)) + 1e-3

    m = set_params(MDN(), lib, 11, 0.5)
    rng = np.random.default_rng(4)
    x = lib.tensor(rng.uniform(-1, 1, (6, 1)), dtype=lib.float32)
    y = lib.tensor(rng.standard_normal((6, 1)), dtype=lib.float32)
    opt = lib.optim.Adam(m.parameters(), lr=1e-2)
    for _ in range(2):
        opt.zero_grad()
        logpi, mu, sigma = m(x)
        logp = -0.5 * ((y - mu) / sigma) ** 2 - sigma.log() - 0.5 * math.log(2 * math.pi)
        nll = -lib.logsumexp(logpi + logp, dim=-1).mean()
        nll.backward()
        opt.step()
    D = lib.distributions
    comp = D.Normal(mu, sigma)
    lp = comp.log_prob(y)
    nll2 = -lib.logsumexp(logpi + lp, dim=-1).mean()
    cat = D.Categorical(logits=logpi)
    ent = cat.entropy()
    # sampling by gather
    k = lib.tensor([0, 2, 1, 1, 0, 2])
    chosen = mu.gather(1, k.unsqueeze(1)).squeeze(1)
    res = {"nll": nll, "nll2": nll2, "w": m.pi.weight, "ent": ent, "chosen": chosen, "probs": cat.probs}
    return res


def _dqn_program(lib):
    nn, F = lib.nn, lib.nn.functional
    q = set_params(nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2)), lib, 8, 0.4)
    tgt = copy.deepcopy(q)
    tgt.load_state_dict(q.state_dict())
    tgt.eval()
    for p in tgt.parameters():
        p.requires_grad_(False)
    opt = lib.optim.Adam(q.parameters(), lr=1e-3, amsgrad=True)
    crit = nn.SmoothL1Loss()
    rng = np.random.default_rng(5)
    s = lib.tensor(rng.standard_normal((5, 4)), dtype=lib.float32)
    a = lib.tensor(rng.integers(0, 2, (5,)))
    r = lib.tensor(rng.standard_normal(5), dtype=lib.float32)
    s2 = lib.tensor(rng.standard_normal((5, 4)), dtype=lib.float32)
    done = lib.tensor([0, 0, 1, 0, 1], dtype=lib.bool)
    tau, gamma = 0.1, 0.99
    losses = []
    for _ in range(3):
        qsa = q(s).gather(1, a.unsqueeze(1))
        with lib.no_grad():
            best = q(s2).argmax(1, keepdim=True)
            nxt = tgt(s2).gather(1, best).squeeze(1)
            y = r + gamma * nxt * (~done)
        loss = crit(qsa, y.unsqueeze(1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_value_(q.parameters(), 100)
        opt.step()
        losses.append(loss.item())
        with lib.no_grad():
            for tp, p in zip(tgt.parameters(), q.parameters(), strict=False):
                tp.mul_(1 - tau).add_(p, alpha=tau)
        tsd = tgt.state_dict()
        qsd = q.state_dict()
        for k in qsd:
            tsd[k] = qsd[k] * 0.05 + tsd[k] * 0.95
        tgt.load_state_dict(tsd)
        with lib.no_grad():
            for tp, p in zip(tgt.parameters(), q.parameters(), strict=False):
                tp.lerp_(p, 0.5)
    eps_greedy = q(s).max(1).indices
    return {
        "losses": np.array(losses),
        "tw": tgt[0].weight,
        "qw": q[2].bias,
        "act": eps_greedy,
        "rg": np.array([p.requires_grad for p in tgt.parameters()]),
        "tr": np.array(tgt.training),
        "huber": F.huber_loss(qsa, y.unsqueeze(1), delta=0.5),
        "sl1b": F.smooth_l1_loss(qsa, y.unsqueeze(1), beta=0.3, reduction="sum"),
    }


def _tab_program(lib):
    nn, F = lib.nn, lib.nn.functional

    class Tab(nn.Module):
        def __init__(s):
            super().__init__()
            s.embs = nn.ModuleList([nn.Embedding(c, d) for c, d in [(4, 2), (6, 3)]])
            s.emb_drop = nn.Dropout(0.0)
            s.bn = nn.BatchNorm1d(2)
            s.mlp = nn.Sequential(nn.Linear(7, 8), nn.ReLU(), nn.BatchNorm1d(8), nn.Linear(8, 1))

        def forward(s, xc, xn):
            e = lib.cat([emb(xc[:, i]) for i, emb in enumerate(s.embs)], 1)
            return s.mlp(lib.cat([s.emb_drop(e), s.bn(xn)], 1)).squeeze(-1)

    m = set_params(Tab(), lib, 9, 0.4)
    rng = np.random.default_rng(6)
    xc = lib.tensor(np.stack([rng.integers(0, 4, 10), rng.integers(0, 6, 10)], 1))
    xn = lib.tensor(rng.standard_normal((10, 2)), dtype=lib.float32)
    yv = np.array([0, 1, 0, 0, 1, 0, 0, 0, 1, 0], dtype=np.float32)
    y = lib.tensor(yv)
    pw = lib.tensor([(yv == 0).sum() / yv.sum()])
    crit = nn.BCEWithLogitsLoss(pos_weight=pw)
    opt = lib.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    for _ in range(2):
        opt.zero_grad()
        loss = crit(m(xc, xn), y)
        loss.backward()
        opt.step()
    m.eval()
    with lib.no_grad():
        scores = lib.sigmoid(m(xc, xn))
    # class-weighted CE as well
    logits2 = lib.stack([-scores, scores], 1)
    cw = lib.tensor([1.0, 2.3])
    ce = F.cross_entropy(logits2, y.long(), weight=cw)
    wbce = F.binary_cross_entropy(scores, y, weight=lib.where(y > 0, 2.0, 1.0))
    # roc
    order = lib.argsort(scores, descending=True)
    ys = y[order]
    tps = lib.cumsum(ys, 0)
    fps = lib.cumsum(1 - ys, 0)
    tpr = tps / tps[-1]
    fpr = fps / fps[-1]
    tpr = lib.cat([lib.zeros(1), tpr])
    fpr = lib.cat([lib.zeros(1), fpr])
    auc = lib.trapezoid(tpr, fpr)
    auc2 = lib.trapz(tpr, fpr)
    pred = (scores > 0.5).long()
    tp = ((pred == 1) & (y == 1)).sum()
    fp = ((pred == 1) & (y == 0)).sum()
    prec = tp / (tp + fp).clamp(min=1)
    acc = (pred == y.long()).float().mean()
    return {
        "loss": loss,
        "scores": scores,
        "auc": auc,
        "auc2": auc2,
        "ce": ce,
        "wbce": wbce,
        "prec": prec,
        "acc": acc,
        "rm": m.bn.running_mean,
        "nbt": m.mlp[2].num_batches_tracked,
        "emb": m.embs[1].weight,
        "tp": tp,
    }


def _cs_program(lib):
    nn, F = lib.nn, lib.nn.functional
    rng = np.random.default_rng(7)
    x = lib.tensor(rng.standard_normal((6, 4)), dtype=lib.float64, requires_grad=True)
    gamma = lib.ones(4, dtype=lib.float64, requires_grad=True)
    beta = lib.zeros(4, dtype=lib.float64, requires_grad=True)

    def bn(x, g, b, eps=1e-5):
        mu = x.mean(0, keepdim=True)
        var = x.var(0, unbiased=False, keepdim=True)
        return g * (x - mu) / lib.sqrt(var + eps) + b

    out = bn(x, gamma, beta)
    ref = nn.BatchNorm1d(4).double()
    out2 = ref(x)
    w = lib.tensor(rng.standard_normal((6, 4)), dtype=lib.float64)
    (out * w).sum().backward()
    gx = x.grad.clone()
    x.grad = None
    (out2 * w).sum().backward()
    gx2 = x.grad.clone()

    # numeric gradient
    def f():
        return (bn(x, gamma, beta) * w).sum().item()

    num = lib.zeros_like(x)
    h = 1e-6
    with lib.no_grad():
        for i in range(x.shape[0]):
            for j in range(x.shape[1]):
                old = x[i, j].item()
                x[i, j] = old + h
                fp = f()
                x[i, j] = old - h
                fm = f()
                x[i, j] = old
                num[i, j] = (fp - fm) / (2 * h)
    rel = (num - gx).abs().max() / (num.abs() + gx.abs()).clamp(min=1e-8).max()
    # dropout from scratch: inverted dropout properties
    d = nn.Dropout(0.5)
    d.train()
    y = d(lib.ones(1000))
    vals = lib.unique(y)
    d.eval()
    ye = d(lib.ones(5))
    mask = (lib.rand(1000) < 0.5).float() / 0.5
    fd = F.dropout(lib.ones(4), 0.3, training=False)
    return {
        "out": out,
        "out2": out2,
        "gx": gx,
        "gx2": gx2,
        "relok": np.array(rel.item() < 1e-6),
        "vals": vals,
        "ye": ye,
        "fd": fd,
        "mask_vals": lib.unique(mask),
        "rm": ref.running_var,
        "repr": np.array(repr(d) + repr(ref)),
    }


def _charcnn_program(lib):
    nn, F = lib.nn, lib.nn.functional

    class CharCNN(nn.Module):
        def __init__(s):
            super().__init__()
            s.emb = nn.Embedding(20, 6, padding_idx=0)
            s.convs = nn.ModuleList([nn.Conv1d(6, 4, k, padding=k // 2) for k in (2, 3, 5)])
            s.pool = nn.AdaptiveMaxPool1d(1)
            s.fc = nn.Linear(12, 3)
            s.drop = nn.Dropout(0.0)

        def forward(s, x):
            e = s.emb(x).transpose(1, 2)
            hs = [s.pool(F.relu(c(e))).squeeze(-1) for c in s.convs]
            return s.fc(s.drop(lib.cat(hs, 1)))

    m = set_params(CharCNN(), lib, 12, 0.4)
    with lib.no_grad():
        m.emb.weight[0].fill_(0)
    x = lib.tensor([[3, 5, 7, 1, 0, 0, 0], [2, 2, 9, 11, 13, 19, 4]])
    y = lib.tensor([0, 2])
    opt = lib.optim.Adagrad(m.parameters(), lr=0.1)
    for _ in range(2):
        opt.zero_grad()
        out = m(x)
        loss = F.cross_entropy(out, y)
        loss.backward()
        opt.step()
    am, ai = F.adaptive_max_pool1d(m.emb(x).transpose(1, 2), 2, return_indices=True)
    p = nn.AdaptiveMaxPool1d(3, return_indices=True)(m.emb(x).transpose(1, 2))
    return {
        "loss": loss,
        "out": out,
        "g0": m.emb.weight.grad[0],
        "w": m.convs[2].weight,
        "am": am,
        "ai": ai,
        "p1": p[1],
        "r": np.array(repr(m.pool) + repr(m.convs[1])),
    }


def _siam_program(lib):
    nn, F = lib.nn, lib.nn.functional
    net = set_params(nn.Sequential(nn.Linear(5, 8), nn.PReLU(), nn.Linear(8, 4)), lib, 13, 0.4)
    rng = np.random.default_rng(8)
    a, p, n = (lib.tensor(rng.standard_normal((4, 5)), dtype=lib.float32) for _ in range(3))
    crit = nn.TripletMarginLoss(margin=1.0, p=2, swap=True)
    opt = lib.optim.SGD(net.parameters(), lr=0.05)
    for _ in range(2):
        opt.zero_grad()
        ea, ep, en = net(a), net(p), net(n)
        loss = crit(ea, ep, en)
        loss.backward()
        opt.step()
    with lib.no_grad():
        db = F.normalize(net(n), dim=1)
        q = F.normalize(net(a), dim=1)
        sims = q @ db.T
        top = sims.topk(2, dim=1)
        cs = F.cosine_similarity(net(a)[:, None, :], net(n)[None, :, :], dim=-1)
        pd = F.pairwise_distance(net(a), net(p))
        cl = F.cosine_embedding_loss(net(a), net(p), lib.tensor([1, -1, 1, -1]), margin=0.2)
        mr = F.margin_ranking_loss(pd, pd.flip(0), lib.tensor([1.0, -1.0, 1.0, 1.0]))
    return {
        "loss": loss,
        "sims": sims,
        "tv": top.values,
        "ti": top.indices,
        "cs": cs,
        "pd": pd,
        "cl": cl,
        "mr": mr,
        "prelu": net[1].weight,
        "r": np.array(repr(crit) + repr(nn.CosineSimilarity(dim=1)) + repr(nn.PairwiseDistance())),
    }


def _surg_program(lib):
    nn = lib.nn
    m = nn.Sequential(
        nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 10)
    )

    def init_fn(mod):
        if isinstance(mod, (nn.Conv2d, nn.Linear)):
            nn.init.constant_(mod.weight, 0.1)
            if mod.bias is not None:
                nn.init.zeros_(mod.bias)

    m.apply(init_fn)
    m[5] = nn.Linear(4, 3)
    m[5].weight.data.fill_(0.2)
    m[5].bias.data.zero_()
    m.register_buffer("scale", lib.tensor(2.0))
    for n, p in m.named_parameters():
        if not n.startswith("5."):
            p.requires_grad_(False)
    trainable = [p for p in m.parameters() if p.requires_grad]
    opt = lib.optim.SGD(filter(lambda p: p.requires_grad, m.parameters()), lr=0.1)
    rng = np.random.default_rng(9)
    x = lib.tensor(rng.standard_normal((2, 1, 5, 5)), dtype=lib.float32)
    loss = m(x).sum() * m.scale
    loss.backward()
    opt.step()
    counts = {n: p.numel() for n, p in m.named_parameters()}
    total = sum(p.numel() for p in m.parameters())
    tr = sum(p.numel() for p in m.parameters() if p.requires_grad)
    m2 = nn.Sequential(*list(m.children())[:-1])
    feat = m2(x)
    setattr(m, "5", nn.Identity())
    del m[2]
    m.insert(2, nn.GELU())
    m.append(nn.Softmax(dim=1))
    names = [n for n, _ in m.named_modules()]
    nc = [n for n, _ in m.named_children()]
    bn_params = [n for n, p in m.named_parameters() if "1." in n]
    return {
        "loss": loss,
        "w0": m[0].weight,
        "counts": np.array(list(counts.values())),
        "cnames": np.array(list(counts)),
        "tot": np.array([total, tr, len(trainable)]),
        "feat": feat,
        "names": np.array(names),
        "nc": np.array(nc),
        "bnp": np.array(bn_params),
        "sd": np.array(list(m.state_dict())),
        "repr": np.array(repr(m)),
        "grad_none": np.array([p.grad is None for p in m.parameters()]),
        "len": np.array(len(m)),
    }


def _accum_program(lib):
    nn, F = lib.nn, lib.nn.functional
    m = set_params(nn.Sequential(nn.Linear(3, 6), nn.ReLU(), nn.Linear(6, 2)), lib, 14, 0.5)
    opt = lib.optim.SGD(m.parameters(), lr=0.1)
    rng = np.random.default_rng(10)
    X = lib.tensor(rng.standard_normal((8, 3)), dtype=lib.float32)
    Y = lib.tensor(rng.integers(0, 2, 8))
    accum = 4
    norms = []
    opt.zero_grad(set_to_none=True)
    for i, (xb, yb) in enumerate(zip(X.split(2), Y.split(2), strict=False)):
        loss = F.cross_entropy(m(xb), yb) / accum
        loss.backward()
        if (i + 1) % accum == 0:
            tn = nn.utils.clip_grad_norm_(m.parameters(), max_norm=0.5, norm_type=2.0)
            norms.append(tn)
            opt.step()
            opt.zero_grad()
    # full-batch equivalence
    m2 = set_params(nn.Sequential(nn.Linear(3, 6), nn.ReLU(), nn.Linear(6, 2)), lib, 14, 0.5)
    F.cross_entropy(m2(X), Y).backward()
    g_full = m2[0].weight.grad.clone()
    tn_inf = nn.utils.clip_grad_norm_(m2.parameters(), 1.0, norm_type="inf")
    gn = nn.utils.get_total_norm([p.grad for p in m2.parameters()])
    tn_err = nn.utils.clip_grad_norm_([], 1.0)
    return {
        "w": m[0].weight,
        "norms": lib.stack(norms),
        "gfull": g_full,
        "tninf": tn_inf,
        "tn0": tn_err,
        "gn": gn,
        "gnull": np.array([p.grad is None for p in m.parameters()]),
    }


def _data_program(lib):
    from importlib import import_module

    U = import_module(lib.__name__ + ".utils.data")
    rnn = import_module(lib.__name__ + ".nn.utils.rnn")

    class Seqs(U.Dataset):
        def __init__(s, n, off=0):
            s.n = n
            s.off = off

        def __len__(s):
            return s.n

        def __getitem__(s, i):
            return lib.arange(1, 2 + (i + s.off) % 4), (i + s.off) % 2

    ds = Seqs(10)
    g = lib.Generator().manual_seed(0)
    tr, va = U.random_split(ds, [0.7, 0.3], generator=g)
    tr2, va2 = U.random_split(ds, [7, 3])
    cat = U.ConcatDataset([Seqs(3), Seqs(4, 1)])
    sub = U.Subset(cat, [0, 4, 6])

    def collate(batch):
        xs, ys = zip(*batch, strict=False)
        lens = lib.tensor([len(x) for x in xs])
        padded = rnn.pad_sequence(list(xs), batch_first=True, padding_value=0)
        return padded, lens, lib.tensor(ys)

    dl = U.DataLoader(sub, batch_size=3, collate_fn=collate)
    padded, lens, ys = next(iter(dl))
    packed = rnn.pack_padded_sequence(padded.unsqueeze(-1).float(), lens, batch_first=True, enforce_sorted=False)
    w = [0.1, 0.9, 0.5, 0.5]
    ws = U.WeightedRandomSampler(w, num_samples=20, replacement=True)
    drawn = list(ws)
    wsn = U.WeightedRandomSampler(lib.tensor(w, dtype=lib.float64), 3, replacement=False)
    dn = list(wsn)
    dl2 = U.DataLoader(cat, batch_size=2, sampler=U.SequentialSampler(cat), drop_last=True, collate_fn=list)
    bs = U.BatchSampler(U.RandomSampler(range(5)), 2, False)
    padl = rnn.pad_sequence([lib.ones(2), lib.ones(3)], padding_side="left")
    return {
        "lens": np.array(
            [len(tr), len(va), len(tr2), len(va2), len(cat), len(sub), len(dl), len(dl2), len(bs), len(ws)]
        ),
        "cum": np.array(cat.cumulative_sizes),
        "padded": padded,
        "lens_t": lens,
        "ys": ys,
        "bs": packed.batch_sizes,
        "ui": packed.unsorted_indices,
        "si": packed.sorted_indices,
        "sub_item": sub[1][0],
        "dtypes": np.array([str(ys.dtype).split(".")[-1], str(lens.dtype).split(".")[-1]]),
        "drawn_range": np.array([all(0 <= d < 4 for d in drawn), len(drawn), type(drawn[0]).__name__ == "int"]),
        "dn": np.array([len(set(dn)), len(dn)]),
        "sub_type": np.array(type(tr).__name__),
        "padl": padl,
        "tr_idx_type": np.array(type(tr.indices).__name__),
        "ws_repr": np.array([ws.num_samples, ws.replacement]),
        "raw_batch": np.array(type(next(iter(U.DataLoader(cat, batch_size=2, collate_fn=lambda b: b)))).__name__),
    }


def _misc_program(lib):
    nn = lib.nn
    out = {}
    m = set_params(nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3), nn.Linear(3, 1)), lib, 1)
    from importlib import import_module

    func = import_module(lib.__name__ + ".func")
    x = lib.tensor(np.arange(8.0).reshape(4, 2) / 7, dtype=lib.float32)
    params = dict(m.named_parameters())
    bufs = dict(m.named_buffers())
    y = func.functional_call(m, (params, bufs), (x,))
    out["y"] = y
    out["rm_after"] = bufs["1.running_mean"]
    out["rm_mod"] = m[1].running_mean
    out["nbt"] = m[1].num_batches_tracked
    v = nn.utils.parameters_to_vector(m.parameters())
    nn.utils.vector_to_parameters(v * 2, m.parameters())
    out["v"] = v
    out["w"] = m[0].weight
    y.sum().backward()
    tn = nn.utils.clip_grad_norm_(m.parameters(), 1.0, foreach=True)
    out["tn"] = tn
    gs = [p.grad for p in m.parameters()]
    tot = nn.utils.get_total_norm(gs, norm_type=2.0)
    nn.utils.clip_grads_with_norm_(m.parameters(), 0.5, tot)
    out["tot"] = tot
    out["g"] = m[0].weight.grad
    a = lib.zeros(3)
    a.lerp_(lib.ones(3), lib.tensor([0.1, 0.5, 1.0]))
    out["lerp"] = a
    out["lerp2"] = lib.lerp(lib.zeros(2), lib.ones(2), 0.25)
    p = lib.tensor([[0.0, 1.0, 0.0], [0.5, 0.5, 0.0]])
    s = lib.multinomial(p, 2, replacement=True)
    out["ms"] = np.array(s.shape)
    out["m0"] = s[0]
    out["mdt"] = np.array(str(s.dtype).split(".")[-1])
    out["aminmax"] = lib.aminmax(lib.tensor([3.0, -1.0, 2.0])).min
    k = lib.kthvalue(lib.tensor([3.0, -1.0, 2.0]), 2).values
    out["k"] = k
    out["sortstable"] = lib.sort(lib.tensor([1, 1, 0, 1]), stable=True, descending=True).indices
    out["cnt"] = np.array([sum(p.numel() for p in m.parameters() if p.requires_grad)])
    out["sd_meta"] = np.array([str(t.dtype).split(".")[-1] for t in m.state_dict().values()])
    ema = lib.optim.swa_utils.AveragedModel(m, multi_avg_fn=lib.optim.swa_utils.get_ema_multi_avg_fn(0.9))
    ema.update_parameters(m)
    out["ema_n"] = ema.n_averaged
    out["ema_keys"] = np.array(list(ema.state_dict()))
    return out


PROGRAMS = {
    "ddpm": _ddpm_program,
    "gpt": _gpt_program,
    "maml": _maml_program,
    "neural_ode": _node_program,
    "mdn": _mdn_program,
    "dqn": _dqn_program,
    "tabular": _tab_program,
    "cs231n": _cs_program,
    "char_cnn": _charcnn_program,
    "triplet": _siam_program,
    "surgery": _surg_program,
    "accumulation": _accum_program,
    "data": _data_program,
    "func_utils": _misc_program,
}


@pytest.mark.parametrize("key", sorted(PROGRAMS))
def test_course_program_as_torch(key):
    check(key, PROGRAMS[key])


# ------------------------------------------------------------------- what the programs found
def _mistakes(lib):
    """name -> (PyTorch's exception class, the mistake)."""
    import importlib

    data = importlib.import_module(lib.__name__ + ".utils.data")
    func = importlib.import_module(lib.__name__ + ".func")
    nn = lib.nn
    return {
        "sampler_norep_too_many": (
            RuntimeError,
            lambda: list(data.WeightedRandomSampler([1.0, 1.0], 3, replacement=False)),
        ),
        "concat_empty": (AssertionError, lambda: data.ConcatDataset([])),
        "pos_weight_shape": (
            RuntimeError,
            lambda: nn.BCEWithLogitsLoss(pos_weight=lib.ones(3))(lib.ones(2, 2), lib.ones(2, 2)),
        ),
        "pos_weight_bigger": (
            RuntimeError,
            lambda: nn.functional.binary_cross_entropy_with_logits(
                lib.ones(2, 2), lib.ones(2, 2), pos_weight=lib.ones(2, 2, 2)
            ),
        ),
        "functional_call_strict_unexpected": (
            RuntimeError,
            lambda: func.functional_call(nn.Linear(1, 1), {"nope": lib.ones(1)}, (lib.ones(1, 1),), strict=True),
        ),
        "functional_call_no_submodule": (
            AttributeError,
            lambda: func.functional_call(nn.Linear(1, 1), {"foo.bar": lib.ones(1)}, (lib.ones(1, 1),)),
        ),
        "vector_to_parameters_list": (
            TypeError,
            lambda: nn.utils.vector_to_parameters([1.0], [nn.Parameter(lib.ones(1))]),
        ),
    }


def test_mistakes_raise_torch_classes():
    check("mistakes", mistakes_program(_mistakes))


def _functional_call_extra_program(lib):
    """A name that is no parameter or buffer: an attribute of its module for the call only."""
    import importlib

    func = importlib.import_module(lib.__name__ + ".func")

    class Scaled(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = lib.nn.Linear(2, 1)

        def forward(self, x):
            return self.lin(x) * getattr(self, "scale", 1.0) + getattr(self.lin, "shift", 0.0)

    model = set_params(Scaled(), lib, 3)
    x = lib.tensor([[1.0, 2.0]])
    extra = {"scale": lib.tensor(3.0), "lin.shift": lib.tensor(0.5), "lin.weight": lib.ones(1, 2)}
    strict = ""
    try:
        func.functional_call(model, extra, (x,), strict=True)
    except RuntimeError as exc:
        strict = str(exc)
    return {
        "y": func.functional_call(model, extra, (x,)),
        "after": model(x),
        "gone": np.array([hasattr(model, "scale"), hasattr(model.lin, "shift")]),
        "strict": np.array(strict),
    }


def test_functional_call_takes_extra_names_as_torch():
    check("functional_call_extra", _functional_call_extra_program, 1e-6)


def _vector_to_parameters_program(lib):
    """vector_to_parameters after a forward: the graph still runs backward (with the new values, as
    PyTorch's .data assignment), and the parameters share the vector's memory."""
    model = set_params(lib.nn.Linear(2, 2), lib, 4)
    x = lib.tensor([[1.0, -1.0]])
    y = model(x).sum()
    vec = lib.nn.utils.parameters_to_vector(model.parameters()).detach() * 2
    lib.nn.utils.vector_to_parameters(vec, model.parameters())
    y.backward()
    vec.add_(1.0)
    return {
        "w": model.weight,
        "b": model.bias,
        "gw": model.weight.grad,
        "version": np.array(model.weight._version),
        "leaf": np.array(model.weight.is_leaf),
    }


def test_vector_to_parameters_as_torch():
    check("vector_to_parameters", _vector_to_parameters_program, 1e-6)


def test_fixes_keep_minigrad_classes():
    """The fixed raises still satisfy minigrad's older handlers (ValueError)."""
    data = minigrad.utils.data
    with pytest.raises(ValueError, match="empty iterable"):
        data.ConcatDataset([])
    with pytest.raises(ValueError, match="n_sample > prob_dist.size"):
        data.WeightedRandomSampler([1.0, 1.0], 3, replacement=False)
    with pytest.raises(ValueError, match="pos_weight"):
        minigrad.nn.functional.binary_cross_entropy_with_logits(
            minigrad.ones(2, 2), minigrad.ones(2, 2), pos_weight=minigrad.ones(2, 2, 2)
        )
    # a pos_weight that broadcasts to the input's shape still works
    loss = minigrad.nn.BCEWithLogitsLoss(pos_weight=minigrad.ones(1, 2))(minigrad.zeros(3, 2), minigrad.ones(3, 2))
    np.testing.assert_allclose(loss.item(), math.log(2), rtol=1e-6)
