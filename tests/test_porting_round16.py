"""Course programs ported with `import minigrad as torch`, round 16: each program runs on both
libraries (`program(lib)` with lib minigrad or torch) and its results are compared with PyTorch's
(live, or recorded in tests/fixtures/torch_reference/test_porting_round16.npz). Programs: seq2seq
with Bahdanau attention and teacher forcing (bidirectional GRU encoder, bmm, masked softmax,
CrossEntropyLoss(ignore_index), clip_grad_norm_) and Luong scores; a BERT-style masked-LM step
(TransformerEncoder with src_key_padding_mask, tied embeddings, label smoothing, AdamW groups
without decay for biases and norms, a linear warmup by LambdaLR); a ResNet with nn.init
(kaiming_normal_ fan_out, zeroed last BN gammas), SGD nesterov, CosineAnnealingLR, eval under
no_grad/inference_mode and a checkpoint through save/load; GCN and GraphSAGE layers
(scatter_add_, index_add_, index_reduce_, scatter_reduce); a RealNVP flow; Gaussian-process
regression (cdist, cholesky, cholesky_solve, solve_triangular); PPO with GAE and a clipped ratio;
style transfer (Gram matrices, LBFGS over the input image); a windowed LSTM forecaster
(Tensor.unfold, TensorDataset, Subset, DataLoader); DCGAN and conditional-VAE steps; WGAN-GP's
gradient penalty (autograd.grad with only_inputs); SAC (twin Q targets, Polyak averaging, a
tanh-squashed policy through TransformedDistribution); a spatial transformer (affine_grid,
grid_sample); cells, hooks, SequentialLR, functional_call/vmap per-sample gradients and
checkpointing; optimizer state_dicts through save/load. And what they found: autograd.grad's
only_inputs, is_grads_batched and dict inputs; torch.distributions' transforms and
TransformedDistribution; float() of a tensor that requires grad warning once a process;
cross_entropy's label_smoothing checked at the call as PyTorch's (> 1 a RuntimeError, negative
none)."""

import io
import json
import math
import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import pytest
from parity import check_program, mistakes_program, set_params
from torch_reference import TorchReference
from train_utils import same_minigrad_env

import minigrad

torch_reference = TorchReference(__name__)


def check(key, program, rtol=1e-4):
    """program(minigrad)'s results against program(torch)'s (parity.check_program)."""
    check_program(torch_reference, key, program, rtol)



def _data(lib):
    return __import__(lib.__name__ + ".utils.data", fromlist=["TensorDataset"])


# ------------------------------------------------------------------- seq2seq with attention
def _seq2seq_program(lib):
    """A Bahdanau-attention GRU seq2seq, three Adam steps with teacher forcing on some steps."""
    nn, F = lib.nn, lib.nn.functional
    V, E, H, PAD = 12, 8, 10, 0

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(V, E, padding_idx=PAD)
            self.rnn = nn.GRU(E, H, batch_first=True, bidirectional=True)
            self.fc = nn.Linear(2 * H, H)

        def forward(self, x):
            out, h = self.rnn(self.emb(x))
            return out, lib.tanh(self.fc(lib.cat((h[-2], h[-1]), dim=1)))

    class Bahdanau(nn.Module):
        def __init__(self):
            super().__init__()
            self.W = nn.Linear(3 * H, H)
            self.v = nn.Linear(H, 1, bias=False)

        def forward(self, hidden, enc, mask):
            hid = hidden.unsqueeze(1).repeat(1, enc.shape[1], 1)
            energy = lib.tanh(self.W(lib.cat((hid, enc), dim=2)))
            return F.softmax(self.v(energy).squeeze(2).masked_fill(mask == 0, -1e10), dim=1)

    class Decoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(V, E)
            self.att = Bahdanau()
            self.rnn = nn.GRU(2 * H + E, H)
            self.out = nn.Linear(3 * H + E, V)
            self.drop = nn.Dropout(0.0)

        def forward(self, tok, hidden, enc, mask):
            e = self.drop(self.emb(tok.unsqueeze(0)))
            a = self.att(hidden, enc, mask).unsqueeze(1)
            w = lib.bmm(a, enc).permute(1, 0, 2)
            out, hidden = self.rnn(lib.cat((e, w), dim=2), hidden.unsqueeze(0))
            pred = self.out(lib.cat((out.squeeze(0), w.squeeze(0), e.squeeze(0)), dim=1))
            return pred, hidden.squeeze(0), a.squeeze(1)

    enc, dec = set_params(Encoder(), lib, 1), set_params(Decoder(), lib, 2)
    rng = np.random.default_rng(0)
    src = rng.integers(1, V, (3, 5))
    src[1, 3:] = PAD
    src[2, 4:] = PAD
    trg = rng.integers(1, V, (6, 3))
    trg[4:, 1] = PAD
    src, trg = lib.tensor(src), lib.tensor(trg)
    params = list(enc.parameters()) + list(dec.parameters())
    opt = lib.optim.Adam(params, lr=1e-2)
    crit = nn.CrossEntropyLoss(ignore_index=PAD)
    teacher = [True, False, True, True, False]
    losses, norms = [], []
    for _ in range(3):
        opt.zero_grad()
        enc_out, h = enc(src)
        mask = src != PAD
        outputs = lib.zeros(trg.shape[0], trg.shape[1], V)
        inp, atts = trg[0], []
        for t in range(1, trg.shape[0]):
            o, h, a = dec(inp, h, enc_out, mask)
            outputs[t] = o
            atts.append(a)
            inp = trg[t] if teacher[t - 1] else o.argmax(1)
        loss = crit(outputs[1:].view(-1, V), trg[1:].reshape(-1))
        loss.backward()
        norms.append(nn.utils.clip_grad_norm_(params, 1.0))
        opt.step()
        losses.append(loss.item())
    return {"losses": np.array(losses), "norms": lib.stack(norms), "att": lib.stack(atts), "W": dec.att.W.weight,
            "emb_grad": enc.emb.weight.grad, "grad_fn": np.array(outputs.grad_fn.name()),
            "pad_row": enc.emb.weight[PAD]}


def _luong_program(lib):
    """Luong's general score with a length mask, einsum for the context, and masked token losses."""
    nn, F = lib.nn, lib.nn.functional
    rng = np.random.default_rng(3)
    q = lib.tensor(rng.standard_normal((2, 3, 4)), dtype=lib.float32, requires_grad=True)
    k = lib.tensor(rng.standard_normal((2, 5, 4)), dtype=lib.float32, requires_grad=True)
    Wa = set_params(nn.Linear(4, 4, bias=False), lib, 4)
    mask = lib.arange(5)[None, :] < lib.tensor([5, 3])[:, None]
    scores = lib.bmm(q, Wa(k).transpose(1, 2)).masked_fill(~mask.unsqueeze(1), float("-inf"))
    attn = lib.softmax(scores, dim=-1)
    ctx = attn @ k
    logits = lib.tensor(rng.standard_normal((2, 3, 7)), dtype=lib.float32)
    tgt = lib.tensor([[1, 2, -100], [3, -100, -100]])
    l1 = F.cross_entropy(logits.transpose(1, 2), tgt)
    l2 = F.cross_entropy(logits.reshape(-1, 7), tgt.reshape(-1), reduction="sum") / (tgt != -100).sum()
    (ctx.pow(2).mean() + l1).backward()
    return {"attn": attn, "ctx": ctx, "einsum": lib.einsum("bqk,bkd->bqd", attn, k), "l1": l1, "l2": l2,
            "qg": q.grad, "kg": k.grad, "mask": mask}


def test_seq2seq_attention_as_torch():
    check("seq2seq", _seq2seq_program)
    check("luong", _luong_program, 1e-5)


# ------------------------------------------------------------------- BERT-style masked LM
def _bert_program(lib):
    """Masked-LM steps: pre-norm TransformerEncoder with a padding mask, a tied output head,
    label smoothing, AdamW with no-decay groups and a linear warmup/decay by LambdaLR."""
    nn = lib.nn
    V, D, L, B = 16, 8, 6, 3

    class MLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = nn.Embedding(V, D)
            self.pos = nn.Parameter(lib.zeros(1, L, D))
            layer = nn.TransformerEncoderLayer(D, 2, dim_feedforward=16, dropout=0.0, batch_first=True,
                                               activation="gelu", norm_first=True)
            self.enc = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(D)
            self.head = nn.Linear(D, V)
            self.head.weight = self.tok.weight

        def forward(self, ids, pad):
            return self.head(self.norm(self.enc(self.tok(ids) + self.pos, src_key_padding_mask=pad)))

    m = set_params(MLM(), lib, 5)
    no_decay = ("bias", "norm.weight", "norm1.weight", "norm2.weight")
    named = list(m.named_parameters())
    groups = [{"params": [p for n, p in named if not any(nd in n for nd in no_decay)], "weight_decay": 0.01},
              {"params": [p for n, p in named if any(nd in n for nd in no_decay)], "weight_decay": 0.0}]
    opt = lib.optim.AdamW(groups, lr=1e-2, betas=(0.9, 0.98), eps=1e-6)
    warm, total = 2, 6

    def lr_lambda(step):
        if step < warm:
            return float(step) / float(max(1, warm))
        return max(0.0, float(total - step) / float(max(1, total - warm)))

    sched = lib.optim.lr_scheduler.LambdaLR(opt, lr_lambda)
    rng = np.random.default_rng(1)
    ids = rng.integers(4, V, (B, L))
    ids[1, 4:] = 0
    ids[2, 5:] = 0
    ids = lib.tensor(ids)
    pad = ids == 0
    labels = ids.clone()
    masked = lib.tensor(rng.random((B, L)) < 0.4) & ~pad
    labels[~masked] = -100
    inp = ids.masked_fill(masked, 3)
    crit = nn.CrossEntropyLoss(label_smoothing=0.1)
    losses, lrs = [], []
    for _ in range(4):
        loss = crit(m(inp, pad).view(-1, V), labels.view(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
        lrs.append(sched.get_last_lr()[0])
    m.eval()
    with lib.no_grad():
        pred = m(inp, pad).argmax(-1)
    return {"losses": np.array(losses), "lrs": np.array(lrs), "names": np.array([n for n, _ in named]),
            "keys": np.array(list(m.state_dict())), "tied": np.array(m.head.weight is m.tok.weight),
            "tok": m.tok.weight, "pred": pred, "n_params": np.array(sum(p.numel() for p in m.parameters())),
            "group_sizes": np.array([len(g["params"]) for g in opt.param_groups])}


def test_bert_masked_lm_as_torch():
    check("bert", _bert_program)


# ------------------------------------------------------------------- ResNet
def _resnet_program(lib):
    """BasicBlocks with nn.init, SGD nesterov + cosine annealing, evaluation and a checkpoint."""
    nn, F = lib.nn, lib.nn.functional

    class Block(nn.Module):
        def __init__(self, cin, cout, stride=1):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.shortcut = nn.Sequential()
            if stride != 1 or cin != cout:
                self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)), inplace=True)))
            out += self.shortcut(x)
            return F.relu(out)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4),
                                      nn.ReLU(inplace=True))
            self.layer = nn.Sequential(Block(4, 4), Block(4, 8, 2))
            self.pool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(8, 3)
            for mod in self.modules():
                if isinstance(mod, nn.Conv2d):
                    nn.init.kaiming_normal_(mod.weight, mode="fan_out", nonlinearity="relu")
                elif isinstance(mod, (nn.BatchNorm2d, nn.GroupNorm)):
                    nn.init.constant_(mod.weight, 1)
                    nn.init.constant_(mod.bias, 0)
            for mod in self.modules():
                if isinstance(mod, Block):
                    nn.init.zeros_(mod.bn2.weight)

        def forward(self, x):
            return self.fc(lib.flatten(self.pool(self.layer(self.stem(x))), 1))

    net = Net()
    zero_gammas = np.array([b.bn2.weight.detach().abs().sum().item() for b in net.layer])
    std = net.stem[0].weight.detach().std().item()  # sqrt(2 / (4 * 9)), drawn
    set_params(net, lib, 7, 0.3)
    make_opt = lambda params: lib.optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)  # noqa: E731
    opt = make_opt(net.parameters())
    sched = lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4, eta_min=1e-3)
    rng = np.random.default_rng(2)
    x = lib.tensor(rng.standard_normal((4, 3, 8, 8)), dtype=lib.float32)
    y = lib.tensor([0, 1, 2, 1])
    losses, lrs = [], []
    net.train()
    for _ in range(3):
        opt.zero_grad()
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
        lrs.append(opt.param_groups[0]["lr"])
    net.eval()
    with lib.no_grad():
        ev = net(x)
    with lib.inference_mode():
        ev2 = net(x)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "ck.pt")
        lib.save({"model": net.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(), "epoch": 3}, path)
        ck = lib.load(path, weights_only=True)
    net2 = Net()
    res = net2.load_state_dict(ck["model"])
    net2.eval()
    opt2 = make_opt(net2.parameters())
    opt2.load_state_dict(ck["opt"])
    with lib.no_grad():
        ev3 = net2(x)
    return {"zero_gammas": zero_gammas, "std_ok": np.array(0.2 < std < 0.6), "losses": np.array(losses),
            "lrs": np.array(lrs), "ev": ev, "ev2": ev2, "correct": np.array((ev.argmax(1) == y).sum().item()),
            "ev3": ev3, "res": np.array(str(res)), "keys": np.array(list(ck["model"])),
            "nbt": ck["model"]["stem.1.num_batches_tracked"], "rv": net.layer[1].bn2.running_var,
            "mom": opt2.state_dict()["state"][0]["momentum_buffer"], "sched": np.array(sorted(ck["sched"])),
            "requires_grad": np.array([ev.requires_grad, ev2.requires_grad]), "epoch": np.array(ck["epoch"])}


def test_resnet_training_and_checkpoint_as_torch():
    check("resnet", _resnet_program)


# ------------------------------------------------------------------- graph networks
def _gnn_program(lib):
    """GCN normalisation by scatter_add_ degrees, messages summed by index_add_ (and by scatter_add
    over an expanded index), a GraphSAGE mean by index_reduce_ and a max by scatter_reduce."""
    nn, F = lib.nn, lib.nn.functional
    rng = np.random.default_rng(4)
    N, Fd, H, C = 6, 5, 4, 3
    x = lib.tensor(rng.standard_normal((N, Fd)), dtype=lib.float32)
    edge_index = lib.tensor([[0, 1, 1, 2, 3, 4, 5, 0], [1, 0, 2, 1, 4, 3, 0, 5]])
    y = lib.tensor([0, 1, 2, 0, 1, 2])
    train_mask = lib.tensor([True, True, False, True, False, True])

    class GCN(nn.Module):
        def __init__(self, i, o):
            super().__init__()
            self.lin = nn.Linear(i, o, bias=False)
            self.bias = nn.Parameter(lib.empty(o))
            nn.init.zeros_(self.bias)

        def forward(self, x, ei):
            n = x.size(0)
            ei = lib.cat([ei, lib.arange(n, device=x.device).unsqueeze(0).repeat(2, 1)], dim=1)
            row, col = ei
            deg = lib.zeros(n, dtype=x.dtype).scatter_add_(0, col, lib.ones(col.size(0), dtype=x.dtype))
            dinv = deg.pow(-0.5)
            dinv[dinv == float("inf")] = 0
            h = self.lin(x)
            msg = (dinv[row] * dinv[col]).view(-1, 1) * h[row]
            out = lib.zeros_like(h).index_add_(0, col, msg)
            out2 = lib.zeros(n, h.size(1)).scatter_add(0, col.unsqueeze(-1).expand_as(msg), msg)
            return out + self.bias, out2

    class SAGE(nn.Module):
        def __init__(self, i, o):
            super().__init__()
            self.lin = nn.Linear(2 * i, o)

        def forward(self, x, ei):
            src, dst = ei
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # PyTorch's index_reduce is "in beta"
                agg = lib.zeros(x.size(0), x.size(1)).index_reduce_(0, dst, x[src], "mean", include_self=False)
            mx = x.new_zeros(x.shape).scatter_reduce(0, dst.view(-1, 1).expand(-1, x.size(1)), x[src],
                                                     reduce="amax", include_self=False)
            return self.lin(lib.cat([x, agg], 1)), mx

    g1, g2 = set_params(GCN(Fd, H), lib, 8), set_params(SAGE(H, C), lib, 9)
    opt = lib.optim.Adam(list(g1.parameters()) + list(g2.parameters()), lr=0.01, weight_decay=5e-4)
    losses = []
    for _ in range(3):
        opt.zero_grad()
        h, h2 = g1(x, edge_index)
        out, mx = g2(F.dropout(F.relu(h), p=0.0, training=True), edge_index)
        loss = F.nll_loss(F.log_softmax(out, dim=1)[train_mask], y[train_mask])
        loss.backward()
        opt.step()
        losses.append(loss.item())
    acc = (out.argmax(1)[~train_mask] == y[~train_mask]).float().mean()
    return {"losses": np.array(losses), "h2": h2, "mx": mx, "out": out, "acc": acc, "W": g1.lin.weight,
            "Wg": g2.lin.weight.grad}


def test_graph_message_passing_as_torch():
    check("gnn", _gnn_program)


# ------------------------------------------------------------------- RealNVP
def _realnvp_program(lib):
    """Affine coupling layers with masks as buffers, log-dets, a MultivariateNormal prior, the
    inverse pass, clip_grad_value_, Independent(Normal) and logdet/slogdet."""
    nn, D = lib.nn, lib.distributions

    class Coupling(nn.Module):
        def __init__(self, d, mask):
            super().__init__()
            self.register_buffer("mask", mask)
            self.s = nn.Sequential(nn.Linear(d, 8), nn.Tanh(), nn.Linear(8, d), nn.Tanh())
            self.t = nn.Sequential(nn.Linear(d, 8), nn.ReLU(), nn.Linear(8, d))
            self.scale = nn.Parameter(lib.ones(1, d))

        def forward(self, x):
            xm = x * self.mask
            ls = self.scale * self.s(xm) * (1 - self.mask)
            z = xm + (1 - self.mask) * (x * lib.exp(ls) + self.t(xm) * (1 - self.mask))
            return z, ls.sum(dim=1)

        def inverse(self, z):
            zm = z * self.mask
            ls = self.scale * self.s(zm) * (1 - self.mask)
            return zm + (1 - self.mask) * ((z - self.t(zm) * (1 - self.mask)) * lib.exp(-ls))

    class Flow(nn.Module):
        def __init__(self):
            super().__init__()
            masks = [lib.tensor([1.0, 0.0]), lib.tensor([0.0, 1.0])] * 2
            self.layers = nn.ModuleList([Coupling(2, m) for m in masks])
            self.prior = D.MultivariateNormal(lib.zeros(2), lib.eye(2))

        def forward(self, x):
            ld = x.new_zeros(x.shape[0])
            for layer in self.layers:
                x, d = layer(x)
                ld = ld + d
            return x, ld

        def log_prob(self, x):
            z, ld = self(x)
            return self.prior.log_prob(z) + ld

    f = set_params(Flow(), lib, 10)
    rng = np.random.default_rng(5)
    th = rng.uniform(0, 2 * np.pi, 16)
    data = lib.tensor(np.stack([np.cos(th), np.sin(th)], 1) + 0.1 * rng.standard_normal((16, 2)), dtype=lib.float32)
    opt = lib.optim.Adam(f.parameters(), lr=1e-3)
    losses = []
    for _ in range(3):
        loss = -f.log_prob(data).mean()
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_value_(f.parameters(), 0.5)
        opt.step()
        losses.append(loss.item())
    with lib.no_grad():
        z, _ = f(data)
        x = z
        for layer in reversed(f.layers):
            x = layer.inverse(x)
    ind = D.Independent(D.Normal(lib.zeros(2), lib.ones(2)), 1)
    ldj = lib.logdet(lib.eye(2) * 2.0) + lib.slogdet(lib.tensor([[2.0, 1.0], [1.0, 3.0]]))[1]
    return {"losses": np.array(losses), "recon_err": (x - data).abs().max(), "z": z, "lp": ind.log_prob(z),
            "ldj": ldj, "shapes": np.array(list(ind.batch_shape) + list(ind.event_shape)),
            "buffers": np.array(list(dict(f.named_buffers())))}


def test_realnvp_flow_as_torch():
    check("realnvp", _realnvp_program)


# ------------------------------------------------------------------- Gaussian process
def _gp_program(lib):
    """GP regression in float64: an RBF kernel by cdist, the marginal likelihood through cholesky
    and cholesky_solve (Adam on log hyperparameters), the predictive mean and variance,
    cholesky_ex, kernel ridge by linalg.solve and MultivariateNormal(scale_tril)."""
    rng = np.random.default_rng(6)
    X = lib.tensor(rng.uniform(-3, 3, (10, 1)))
    y = lib.sin(X).squeeze(-1) + 0.1 * lib.tensor(rng.standard_normal(10))
    Xs = lib.linspace(-3, 3, 7, dtype=lib.float64).unsqueeze(-1)
    log_ls, log_sf, log_sn = (lib.tensor(v, dtype=lib.float64, requires_grad=True) for v in (0.0, 0.0, -2.0))

    def k(a, b):
        return log_sf.exp() ** 2 * lib.exp(-0.5 * lib.cdist(a / log_ls.exp(), b / log_ls.exp()) ** 2)

    eye = lib.eye(10, dtype=lib.float64)
    opt = lib.optim.Adam([log_ls, log_sf, log_sn], lr=0.05)
    nlls = []
    for _ in range(3):
        opt.zero_grad()
        L = lib.linalg.cholesky(k(X, X) + (log_sn.exp() ** 2 + 1e-6) * eye)
        alpha = lib.cholesky_solve(y.unsqueeze(-1), L)
        nll = 0.5 * (y.unsqueeze(0) @ alpha).squeeze() + L.diagonal().log().sum() + 5 * math.log(2 * math.pi)
        nll.backward()
        opt.step()
        nlls.append(nll.item())
    with lib.no_grad():
        K = k(X, X) + log_sn.exp() ** 2 * eye
        L = lib.linalg.cholesky(K)
        Ks = k(Xs, X)
        mean = Ks @ lib.cholesky_solve(y.unsqueeze(-1), L)
        v = lib.linalg.solve_triangular(L, Ks.T, upper=False)
        var = k(Xs, Xs).diag() - (v**2).sum(0)
        _, info = lib.linalg.cholesky_ex(K)
        krr = lib.linalg.solve(k(X, X) + 0.1 * eye, y)
        lp = lib.distributions.MultivariateNormal(lib.zeros(10, dtype=lib.float64), scale_tril=L).log_prob(y)
    return {"nlls": np.array(nlls), "mean": mean, "var": var, "info": info, "krr": krr, "lp": lp,
            "grads": lib.stack([log_ls.grad, log_sf.grad, log_sn.grad]), "cd1": lib.cdist(X[:3], Xs[:2], p=1),
            "cdinf": lib.cdist(X[:3].float(), Xs[:2].float(), p=float("inf"))}


def test_gaussian_process_as_torch():
    check("gp", _gp_program, 1e-7)


# ------------------------------------------------------------------- PPO
def _ppo_program(lib):
    """GAE over a rollout with a done flag, normalised advantages, two epochs of minibatch PPO
    updates (clipped ratio, value and entropy terms, clip_grad_norm_, approx-KL, clip fraction)."""
    nn, F, D = lib.nn, lib.nn.functional, lib.distributions

    class AC(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(4, 8), nn.Tanh())
            self.pi = nn.Linear(8, 3)
            self.v = nn.Linear(8, 1)

        def forward(self, x):
            h = self.body(x)
            return D.Categorical(logits=self.pi(h)), self.v(h).squeeze(-1)

    ac = set_params(AC(), lib, 11)
    rng = np.random.default_rng(7)
    obs = lib.tensor(rng.standard_normal((8, 4)), dtype=lib.float32)
    rewards = lib.tensor(rng.standard_normal(8), dtype=lib.float32)
    dones = lib.tensor([0, 0, 0, 1, 0, 0, 0, 0], dtype=lib.float32)
    actions = lib.tensor([0, 2, 1, 1, 0, 2, 2, 1])
    with lib.no_grad():
        dist, values = ac(obs)
        old_logp = dist.log_prob(actions)
    adv, last = lib.zeros_like(rewards), 0.0
    for t in reversed(range(8)):
        next_value = values[t + 1] if t < 7 else lib.tensor(0.0)
        delta = rewards[t] + 0.99 * next_value * (1 - dones[t]) - values[t]
        last = delta + 0.99 * 0.95 * (1 - dones[t]) * last
        adv[t] = last
    returns = adv + values
    adv = (adv - adv.mean()) / (adv.std() + 1e-8)
    opt = lib.optim.Adam(ac.parameters(), lr=3e-4, eps=1e-5)
    stats = []
    for _ in range(2):
        for idx in (lib.tensor([0, 2, 4, 6]), lib.tensor([1, 3, 5, 7])):
            dist, v = ac(obs[idx])
            logp = dist.log_prob(actions[idx])
            ratio = (logp - old_logp[idx]).exp()
            surrogate = lib.min(ratio * adv[idx], lib.clamp(ratio, 0.8, 1.2) * adv[idx])
            entropy = dist.entropy().mean()
            loss = -surrogate.mean() + 0.5 * F.mse_loss(v, returns[idx]) - 0.01 * entropy
            opt.zero_grad()
            loss.backward()
            norm = nn.utils.clip_grad_norm_(ac.parameters(), 0.5)
            opt.step()
            kl = ((ratio - 1) - (logp - old_logp[idx])).mean()
            clipfrac = ((ratio - 1.0).abs() > 0.2).float().mean()
            stats.append([loss.item(), entropy.item(), kl.item(), clipfrac.item(), norm.item()])
    d = D.Categorical(probs=lib.tensor([[0.2, 0.3, 0.5]]))
    return {"stats": np.array(stats), "adv": adv, "returns": returns, "probs": d.probs, "logits": d.logits,
            "entropy": d.entropy(), "kl": D.kl_divergence(d, D.Categorical(logits=lib.zeros(1, 3))),
            "w": ac.pi.weight, "repr": np.array(repr(d).replace(lib.__name__, "lib"))}


def test_ppo_update_as_torch():
    check("ppo", _ppo_program, 1e-5)


# ------------------------------------------------------------------- style transfer
def _style_program(lib):
    """Gram-matrix style and content losses from a frozen conv net, LBFGS over the input image
    (clamped in the closure), with total variation."""
    nn, F = lib.nn, lib.nn.functional
    feat = set_params(nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                    nn.Conv2d(4, 6, 3, padding=1), nn.ReLU()), lib, 12)
    for p in feat.parameters():
        p.requires_grad_(False)
    feat.eval()
    rng = np.random.default_rng(8)
    content = lib.tensor(rng.random((1, 3, 8, 8)), dtype=lib.float32)
    style = lib.tensor(rng.random((1, 3, 8, 8)), dtype=lib.float32)
    mean = lib.tensor([0.485, 0.456, 0.406]).view(-1, 1, 1)
    std = lib.tensor([0.229, 0.224, 0.225]).view(-1, 1, 1)

    def gram(x):
        b, c, h, w = x.size()
        f = x.view(b * c, h * w)
        return lib.mm(f, f.t()).div(b * c * h * w)

    def feats(x):
        x, out = (x - mean) / std, []
        for i, layer in enumerate(feat):
            x = layer(x)
            if i in (1, 4):
                out.append(x)
        return out

    target_content = [f.detach() for f in feats(content)]
    target_style = [gram(f).detach() for f in feats(style)]
    img = content.clone().requires_grad_(True)
    opt = lib.optim.LBFGS([img], lr=0.5, max_iter=4, history_size=5)
    history = []

    def closure():
        with lib.no_grad():
            img.clamp_(0, 1)
        opt.zero_grad()
        fs = feats(img)
        style_loss = sum(F.mse_loss(gram(f), g) for f, g in zip(fs, target_style, strict=True))
        tv = (img[..., 1:, :] - img[..., :-1, :]).abs().mean() + (img[..., :, 1:] - img[..., :, :-1]).abs().mean()
        loss = 1e4 * style_loss + F.mse_loss(fs[1], target_content[1]) + 0.1 * tv
        loss.backward()
        history.append(loss.item())
        return loss

    returned = [opt.step(closure).item() for _ in range(2)]
    with lib.no_grad():
        img.clamp_(0, 1)
    state = opt.state_dict()["state"][0]
    return {"history": np.array(history), "returned": np.array(returned), "img": img,
            "evals": np.array([state["func_evals"], state["n_iter"]]), "keys": np.array(sorted(state)),
            "frozen": np.array([feat[0].weight.grad is None, img.is_leaf])}


def test_style_transfer_lbfgs_as_torch():
    check("style", _style_program, 1e-3)


# ------------------------------------------------------------------- time series
def _lstm_forecast_program(lib):
    """Sliding windows by Tensor.unfold, a TensorDataset split by Subset, DataLoader batches, a
    2-layer LSTM with RMSprop, L1Loss and StepLR, batched evaluation and an autoregressive rollout."""
    nn, data = lib.nn, _data(lib)
    t = np.linspace(0, 6 * np.pi, 40)
    series = lib.tensor(np.sin(t) + 0.1 * np.cos(3 * t), dtype=lib.float32)
    W = 6
    windows = series.unfold(0, W + 1, 1)
    X, Y = windows[:, :W].unsqueeze(-1), windows[:, W:]
    mu, sd = X.mean(), X.std()
    X, Y = (X - mu) / sd, (Y - mu) / sd
    ds = data.TensorDataset(X, Y)
    n_train = int(0.8 * len(ds))
    train, test = data.Subset(ds, range(n_train)), data.Subset(ds, range(n_train, len(ds)))
    loader = data.DataLoader(train, batch_size=8, shuffle=False, drop_last=True)

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(1, 6, num_layers=2, batch_first=True)
            self.fc = nn.Linear(6, 1)

        def forward(self, x, hc=None):
            out, (h, c) = self.lstm(x, hc)
            return self.fc(out[:, -1, :]), (h, c)

    m = set_params(M(), lib, 13)
    opt = lib.optim.RMSprop(m.parameters(), lr=1e-3, alpha=0.9)
    crit = nn.L1Loss()
    sched = lib.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    losses = []
    for _ in range(2):
        m.train()
        for xb, yb in loader:
            loss = crit(m(xb)[0], yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        sched.step()
    m.eval()
    with lib.no_grad():
        preds = lib.cat([m(xb)[0] for xb, _ in data.DataLoader(test, batch_size=4)])
        cur, forecast = X[-1:].clone(), []
        for _ in range(5):
            p, _ = m(cur)
            forecast.append(p.item())
            cur = lib.cat([cur[:, 1:], p.unsqueeze(-1)], 1)
    xb0, yb0 = next(iter(loader))
    return {"losses": np.array(losses), "preds": preds, "forecast": np.array(forecast),
            "sizes": np.array([len(ds), len(train), len(test), len(loader)]),
            "shapes": np.array([list(xb0.shape), [*yb0.shape, 0]]), "lr": np.array(sched.get_last_lr()),
            "w": m.lstm.weight_hh_l1, "item": np.array(type(ds[0]).__name__), "y0": ds[0][1]}


def test_lstm_forecaster_as_torch():
    check("lstm_forecast", _lstm_forecast_program, 1e-5)


# ------------------------------------------------------------------- GANs and VAEs
def _dcgan_program(lib):
    """DCGAN: weights_init by class name, ConvTranspose2d/BatchNorm/LeakyReLU, BCEWithLogits with
    smoothed labels refilled by fill_, detach for D's step, zero_grad(set_to_none), a uint8 grid."""
    nn = lib.nn

    def weights_init(m):
        name = m.__class__.__name__
        if name.find("Conv") != -1:
            nn.init.normal_(m.weight.data, 0.0, 0.02)
        elif name.find("BatchNorm") != -1:
            nn.init.normal_(m.weight.data, 1.0, 0.02)
            nn.init.constant_(m.bias.data, 0)

    G = nn.Sequential(nn.ConvTranspose2d(4, 8, 4, 1, 0, bias=False), nn.BatchNorm2d(8), nn.ReLU(True),
                      nn.ConvTranspose2d(8, 4, 4, 2, 1, bias=False), nn.BatchNorm2d(4), nn.ReLU(True),
                      nn.ConvTranspose2d(4, 1, 4, 2, 1, bias=False), nn.Tanh())
    Dn = nn.Sequential(nn.Conv2d(1, 4, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
                       nn.Conv2d(4, 8, 4, 2, 1, bias=False), nn.BatchNorm2d(8), nn.LeakyReLU(0.2, inplace=True),
                       nn.Conv2d(8, 1, 4, 1, 0, bias=False), nn.Flatten(0))
    G.apply(weights_init)
    Dn.apply(weights_init)
    set_params(G, lib, 14)
    set_params(Dn, lib, 15)
    optD = lib.optim.Adam(Dn.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optG = lib.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    crit = nn.BCEWithLogitsLoss()
    rng = np.random.default_rng(9)
    real = lib.tensor(rng.uniform(-1, 1, (4, 1, 16, 16)), dtype=lib.float32)
    noise = lib.tensor(rng.standard_normal((4, 4, 1, 1)), dtype=lib.float32)
    log = []
    for _ in range(2):
        Dn.zero_grad()
        label = lib.full((4,), 0.9, dtype=lib.float)
        err_real = crit(Dn(real), label)
        err_real.backward()
        d_x = lib.sigmoid(Dn(real)).mean().item()
        fake = G(noise)
        label.fill_(0.0)
        err_fake = crit(Dn(fake.detach()), label)
        err_fake.backward()
        optD.step()
        G.zero_grad(set_to_none=True)
        label.fill_(1.0)
        err_g = crit(Dn(fake), label)
        err_g.backward()
        optG.step()
        log.append([err_real.item(), err_fake.item(), err_g.item(), d_x])
    G.eval()
    with lib.no_grad():
        s = G(noise[:2]).view(2, 16, 16)
    lo, hi = s.amin(dim=(1, 2), keepdim=True), s.amax(dim=(1, 2), keepdim=True)
    return {"log": np.array(log), "s": s, "img": ((s - lo) / (hi - lo) * 255).to(lib.uint8), "g0": G[0].weight,
            "rv": G[1].running_var, "nbt": G[1].num_batches_tracked, "Dgrad": Dn[0].weight.grad,
            "vector": nn.utils.parameters_to_vector(Dn.parameters())}


def _cvae_program(lib):
    """A conditional conv VAE: one_hot labels, Unflatten, binary_cross_entropy(sum), the analytic KL
    against kl_divergence of two Normals, and rsample's shape."""
    nn, F, D = lib.nn, lib.nn.functional, lib.distributions

    class VAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Sequential(nn.Conv2d(1, 4, 3, 2, 1), nn.ELU(), nn.Flatten(), nn.Linear(64, 16), nn.SiLU())
            self.mu, self.logvar = nn.Linear(19, 2), nn.Linear(19, 2)
            self.dec = nn.Sequential(nn.Linear(5, 64), nn.Unflatten(1, (4, 4, 4)), nn.ConvTranspose2d(4, 1, 4, 2, 1),
                                     nn.Sigmoid())

        def forward(self, x, y, eps):
            c = F.one_hot(y, 3).float()
            h = lib.cat([self.enc(x), c], 1)
            mu, logvar = self.mu(h), self.logvar(h)
            return self.dec(lib.cat([mu + eps * lib.exp(0.5 * logvar), c], 1)), mu, logvar

    m = set_params(VAE(), lib, 16)
    rng = np.random.default_rng(10)
    x = lib.tensor(rng.random((4, 1, 8, 8)), dtype=lib.float32)
    y = lib.tensor([0, 2, 1, 2])
    eps = lib.tensor(rng.standard_normal((4, 2)), dtype=lib.float32)
    opt = lib.optim.Adam(m.parameters(), lr=1e-3)
    out = []
    for beta in (0.5, 1.0):
        recon, mu, logvar = m(x, y, eps)
        bce = F.binary_cross_entropy(recon, x, reduction="sum")
        kld = -0.5 * lib.sum(1 + logvar - mu.pow(2) - logvar.exp())
        q = D.Normal(mu, lib.exp(0.5 * logvar))
        kl2 = D.kl_divergence(q, D.Normal(lib.zeros_like(mu), lib.ones_like(mu))).sum()
        loss = (bce + beta * kld) / x.size(0)
        opt.zero_grad()
        loss.backward()
        opt.step()
        out.append([bce.item(), kld.item(), kl2.item(), loss.item()])
    rs = q.rsample((3,))
    return {"out": np.array(out), "recon": recon, "rs_shape": np.array(rs.shape), "rs_grad": np.array(rs.requires_grad),
            "w": m.mu.weight, "unflatten": np.array(repr(m.dec[1]))}


def _wgan_gp_program(lib):
    """WGAN-GP: the gradient penalty by autograd.grad(..., create_graph=True, only_inputs=True) on
    interpolates, InstanceNorm2d(affine) in the critic, weight clipping by p.data.clamp_."""
    nn = lib.nn
    C = set_params(nn.Sequential(nn.Conv2d(1, 4, 3, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(4, 4, 3, 2, 1),
                                 nn.InstanceNorm2d(4, affine=True), nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(16, 1)),
                   lib, 17)
    G = set_params(nn.Sequential(nn.Linear(3, 64), nn.ReLU(), nn.Unflatten(1, (1, 8, 8)), nn.Tanh()), lib, 18)
    optC = lib.optim.RMSprop(C.parameters(), lr=5e-4)
    optG = lib.optim.Adam(G.parameters(), lr=1e-3, betas=(0.0, 0.9))
    rng = np.random.default_rng(11)
    real = lib.tensor(rng.uniform(-1, 1, (4, 1, 8, 8)), dtype=lib.float32)
    z = lib.tensor(rng.standard_normal((4, 3)), dtype=lib.float32)
    alpha = lib.tensor(rng.random((4, 1, 1, 1)), dtype=lib.float32)
    log = []
    for _ in range(2):
        fake = G(z).detach()
        interp = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        out = C(interp)
        g = lib.autograd.grad(outputs=out, inputs=interp, grad_outputs=lib.ones_like(out), create_graph=True,
                              retain_graph=True, only_inputs=True)[0]
        gp = ((g.view(g.size(0), -1).norm(2, dim=1) - 1) ** 2).mean()
        loss_c = C(fake).mean() - C(real).mean() + 10 * gp
        optC.zero_grad()
        loss_c.backward()
        optC.step()
        for p in C.parameters():
            p.data.clamp_(-0.5, 0.5)
        loss_g = -C(G(z)).mean()
        optG.zero_grad()
        loss_g.backward()
        optG.step()
        log.append([gp.item(), loss_c.item(), loss_g.item()])
    return {"log": np.array(log), "c0": C[0].weight, "g": G[0].weight, "norm_w": C[3].weight}


def test_gan_and_vae_steps_as_torch():
    check("dcgan", _dcgan_program)
    check("cvae", _cvae_program)
    check("wgan_gp", _wgan_gp_program)


# ------------------------------------------------------------------- SAC
def _sac_program(lib):
    """SAC updates: twin Q targets from deepcopied frozen networks, a tanh-squashed Gaussian
    policy's log-probability, a learned temperature, Polyak averaging (data.mul_/add_ and
    mul_().add_(alpha=)), and the same policy as TransformedDistribution(TanhTransform)."""
    import copy

    nn, F, D = lib.nn, lib.nn.functional, lib.distributions

    class Actor(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(3, 8), nn.ReLU())
            self.mu, self.log_std = nn.Linear(8, 2), nn.Linear(8, 2)

        def forward(self, o, eps):
            h = self.net(o)
            mu, std = self.mu(h), lib.clamp(self.log_std(h), -5, 2).exp()
            u = mu + std * eps
            logp = D.Normal(mu, std).log_prob(u).sum(-1) - (2 * (math.log(2) - u - F.softplus(-2 * u))).sum(-1)
            squashed = D.TransformedDistribution(D.Independent(D.Normal(mu, std), 1), [D.TanhTransform(cache_size=1)])
            a = squashed.transforms[0](u)
            return a, logp, squashed.log_prob(a)

    class Q(nn.Module):
        def __init__(self):
            super().__init__()
            self.n = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 1))

        def forward(self, o, a):
            return self.n(lib.cat([o, a], -1)).squeeze(-1)

    actor, q1, q2 = set_params(Actor(), lib, 19), set_params(Q(), lib, 20), set_params(Q(), lib, 21)
    q1t, q2t = copy.deepcopy(q1), copy.deepcopy(q2)
    for p in list(q1t.parameters()) + list(q2t.parameters()):
        p.requires_grad = False
    log_alpha = lib.zeros(1, requires_grad=True)
    qopt = lib.optim.Adam(list(q1.parameters()) + list(q2.parameters()), lr=1e-3)
    aopt = lib.optim.Adam(actor.parameters(), lr=1e-3)
    alopt = lib.optim.Adam([log_alpha], lr=1e-3)
    rng = np.random.default_rng(12)
    t = lambda *shape: lib.tensor(rng.standard_normal(shape), dtype=lib.float32)  # noqa: E731
    o, a, r, o2, eps = t(6, 3), lib.tensor(rng.uniform(-1, 1, (6, 2)), dtype=lib.float32), t(6), t(6, 3), t(6, 2)
    d = lib.tensor([0, 0, 1, 0, 0, 0], dtype=lib.float32)
    log, lps = [], []
    for _ in range(2):
        with lib.no_grad():
            a2, lp2, _ = actor(o2, eps)
            y = r + 0.99 * (1 - d) * (lib.min(q1t(o2, a2), q2t(o2, a2)) - log_alpha.exp() * lp2)
        q_loss = F.mse_loss(q1(o, a), y) + F.mse_loss(q2(o, a), y)
        qopt.zero_grad()
        q_loss.backward()
        qopt.step()
        for p in q1.parameters():
            p.requires_grad_(False)
        an, lp, lp_dist = actor(o, eps)
        lps.append(lp_dist)
        a_loss = (log_alpha.exp().detach() * lp - lib.minimum(q1(o, an), q2(o, an))).mean()
        aopt.zero_grad()
        a_loss.backward()
        aopt.step()
        for p in q1.parameters():
            p.requires_grad_(True)
        alpha_loss = -(log_alpha * (lp - 2.0).detach()).mean()
        alopt.zero_grad()
        alpha_loss.backward()
        alopt.step()
        with lib.no_grad():
            for p, pt in zip(q1.parameters(), q1t.parameters(), strict=True):
                pt.data.mul_(0.995)
                pt.data.add_(0.005 * p.data)
            for p, pt in zip(q2.parameters(), q2t.parameters(), strict=True):
                pt.mul_(0.995).add_(p, alpha=0.005)
        log.append([q_loss.item(), a_loss.item(), alpha_loss.item(), log_alpha.item()])
    return {"log": np.array(log), "q1t": q1t.n[0].weight, "q2t": q2t.n[2].bias, "mu": actor.mu.weight,
            "q1_grad": q1.n[2].weight.grad, "lp_dist": lib.stack(lps)}


def test_sac_update_as_torch():
    check("sac", _sac_program)


# ------------------------------------------------------------------- spatial transformer
def _stn_program(lib):
    """A spatial transformer: a localisation net starting at the identity, affine_grid and
    grid_sample (bilinear/zeros, nearest/border with align_corners, reflection), gradients."""
    nn, F = lib.nn, lib.nn.functional
    loc = set_params(nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(2, stride=2), nn.ReLU(True), nn.Flatten(),
                                   nn.Linear(18, 6)), lib, 22, 0.05)
    loc[-1].weight.data.zero_()
    loc[-1].bias.data.copy_(lib.tensor([1, 0, 0, 0, 1, 0], dtype=lib.float))
    rng = np.random.default_rng(13)
    x = lib.tensor(rng.random((2, 1, 8, 8)), dtype=lib.float32, requires_grad=True)
    theta = loc(x).view(-1, 2, 3) + lib.tensor([[[0.0, 0.1, 0.05], [-0.1, 0.0, 0.02]]])
    grid = F.affine_grid(theta, x.size(), align_corners=False)
    out = F.grid_sample(x, grid, align_corners=False)
    nearest = F.grid_sample(x, grid, mode="nearest", padding_mode="border", align_corners=True)
    reflect = F.grid_sample(x, grid * 1.3, mode="bilinear", padding_mode="reflection", align_corners=False)
    (out.pow(2).sum() + reflect.sum()).backward()
    return {"grid": grid, "out": out, "nearest": nearest, "reflect": reflect, "xg": x.grad, "bg": loc[-1].bias.grad}


def test_spatial_transformer_as_torch():
    check("stn", _stn_program, 1e-5)


# ------------------------------------------------------------------- tutorial odds and ends
def _odds_program(lib):
    """pad_sequence (left padding, padding_value), GRUCell/LSTMCell loops (and an unbatched
    LSTMCell), a forward hook for features, ModuleDict, add_param_group, LinearLR then
    ExponentialLR by SequentialLR, functional_call, per-sample gradients by vmap(grad) and
    utils.checkpoint(use_reentrant=False)."""
    nn, F = lib.nn, lib.nn.functional
    rnn_utils = nn.utils.rnn
    seqs = [lib.tensor([1, 2, 3]), lib.tensor([4]), lib.tensor([5, 6])]
    left = rnn_utils.pad_sequence(seqs, batch_first=True, padding_value=0, padding_side="left")
    right = rnn_utils.pad_sequence(seqs, padding_value=-1)
    cell, lcell = set_params(nn.GRUCell(3, 4), lib, 30), set_params(nn.LSTMCell(3, 4), lib, 31)
    rng = np.random.default_rng(20)
    xs = lib.tensor(rng.standard_normal((5, 2, 3)), dtype=lib.float32)
    h, hc = lib.zeros(2, 4), None
    for t in range(5):
        h = cell(xs[t], h)
        hc = lcell(xs[t], hc)
    unbatched = lcell(xs[0][0])
    feats = {}
    net = set_params(nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)), lib, 32)
    handle = net[1].register_forward_hook(lambda m, i, o: feats.__setitem__("relu", o.detach()))
    out = net(xs[0])
    handle.remove()
    net(xs[1])
    md = nn.ModuleDict({"a": nn.Linear(2, 2), "b": nn.ReLU()})
    opt = lib.optim.SGD(net[0].parameters(), lr=0.1)
    opt.add_param_group({"params": net[2].parameters(), "lr": 0.01})
    warm = lib.optim.lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=2)
    decay = lib.optim.lr_scheduler.ExponentialLR(opt, gamma=0.9)
    seq = lib.optim.lr_scheduler.SequentialLR(opt, [warm, decay], milestones=[2])
    lrs = []
    for _ in range(4):
        opt.zero_grad()
        net(xs[0]).sum().backward()
        opt.step()
        seq.step()
        lrs.append(seq.get_last_lr())
    params = {k: v.detach() for k, v in net.named_parameters()}

    def loss_fn(p, x, y):
        return F.mse_loss(lib.func.functional_call(net, p, (x.unsqueeze(0),)), y.unsqueeze(0))

    ys = lib.tensor(rng.standard_normal((2, 2)), dtype=lib.float32)
    per_sample = lib.func.vmap(lib.func.grad(loss_fn), in_dims=(None, 0, 0))(params, xs[3], ys)
    checkpoint = __import__(lib.__name__ + ".utils.checkpoint", fromlist=["checkpoint"]).checkpoint
    xin = xs[4].clone().requires_grad_(True)
    checkpoint(net, xin, use_reentrant=False).sum().backward()
    return {"left": left, "right": right, "h": h, "hc": lib.stack(hc), "unbatched": lib.stack(unbatched),
            "relu": feats["relu"], "out": out, "md": np.array(list(md.keys())), "lrs": np.array(lrs),
            "functional_call": lib.func.functional_call(net, params, (xs[2],)), "ps_w": per_sample["0.weight"],
            "ps_b": per_sample["2.bias"], "xg": xin.grad, "group_keys": np.array(sorted(opt.param_groups[1]))}


def _optimizer_state_program(lib):
    """Optimizer state_dicts (keys, param ids) after a step, through save/load to a BytesIO and
    load_state_dict; load_state_dict(strict=False)'s missing keys."""
    nn = lib.nn
    m = set_params(nn.Sequential(nn.Linear(2, 3), nn.LayerNorm(3), nn.Linear(3, 1)), lib, 40)
    x = lib.ones(4, 2)
    out = {}
    makers = {"sgd": lambda p: lib.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4),
              "adamw": lambda p: lib.optim.AdamW(p, lr=1e-3, amsgrad=True),
              "rmsprop": lambda p: lib.optim.RMSprop(p, lr=1e-3, centered=True, momentum=0.5),
              "lbfgs": lambda p: lib.optim.LBFGS(p, lr=1, line_search_fn="strong_wolfe")}
    for name, make in makers.items():
        opt = make(m.parameters())

        def closure(opt=opt):
            opt.zero_grad()
            loss = m(x).pow(2).sum()
            loss.backward()
            return loss

        opt.step(closure)
        state = opt.state_dict()
        buf = io.BytesIO()
        lib.save(state, buf)
        buf.seek(0)
        again = make(m.parameters())
        again.load_state_dict(lib.load(buf, map_location="cpu"))
        out.update({f"{name}/groups": np.array(sorted(state["param_groups"][0])),
                    f"{name}/state": np.array(sorted(state["state"][0])),
                    f"{name}/params": np.array(state["param_groups"][0]["params"]),
                    f"{name}/reloaded": np.array(sorted(again.state_dict()["state"][0])), f"{name}/w": m[0].weight})
    r = nn.Sequential(nn.Linear(2, 3), nn.LayerNorm(3), nn.Linear(3, 1), nn.Linear(1, 1)).load_state_dict(
        m.state_dict(), strict=False)
    out.update({"missing": np.array(r.missing_keys), "unexpected": np.array(len(r.unexpected_keys)),
                "repr": np.array(repr(r))})
    return out


def test_tutorial_odds_and_ends_as_torch():
    check("odds", _odds_program, 1e-5)
    check("optimizer_state", _optimizer_state_program, 1e-5)


# ------------------------------------------------------------------- fixes: autograd.grad's parameters
def _autograd_grad_program(lib):
    """autograd.grad with PyTorch's parameters: only_inputs (True silently, False with a
    FutureWarning), positional (outputs, inputs, grad_outputs, retain_graph, create_graph,
    only_inputs, allow_unused), is_grads_batched (a Jacobian's rows; with create_graph,
    differentiable again), a dict of inputs giving a dict back."""
    x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w = lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (g_true,) = lib.autograd.grad((x**2).sum(), x, only_inputs=True)
        (g_false,) = lib.autograd.grad((x**2).sum(), x, only_inputs=False)
    futures = [str(c.message) for c in caught if issubclass(c.category, FutureWarning)]
    positional = lib.autograd.grad((x * w).sum(), [x, w], None, None, False, True, True)
    y = x**3 * w
    (jac,) = lib.autograd.grad(y, x, lib.eye(3), is_grads_batched=True)
    y = x**3 * w
    jac_x, jac_w = lib.autograd.grad(y, (x, w), lib.eye(3)[:2], retain_graph=True, create_graph=True,
                                     is_grads_batched=True)
    (second,) = lib.autograd.grad(jac_x.sum(), x)
    named = lib.autograd.grad((x * w).pow(2).sum(), {"x": x, "w": w})
    unused = lib.autograd.grad((x * 2).sum(), [x, w], allow_unused=True, materialize_grads=True)
    return {"g_true": g_true, "g_false": g_false, "futures": np.array(len(futures)),
            "future_text": np.array(["only_inputs argument is deprecated" in m for m in futures]),
            "positional": lib.stack(positional), "jac": jac, "jac_x": jac_x, "jac_w": jac_w, "second": second,
            "jac_grad_fn": np.array(jac_x.requires_grad), "named_keys": np.array(list(named)),
            "named": lib.stack(list(named.values())), "unused": lib.stack(unused)}


def _autograd_grad_mistakes(lib):
    x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    return {
        "batched_shape": (RuntimeError, lambda: lib.autograd.grad(x * 2, x, lib.ones(2, 2), is_grads_batched=True)),
        "batched_scalar": (RuntimeError, lambda: lib.autograd.grad(x * 2, x, lib.ones(3), is_grads_batched=True)),
        "materialize_not_unused": (ValueError, lambda: lib.autograd.grad((x * 2).sum(), x, allow_unused=False,
                                                                         materialize_grads=True)),
        "no_grad_input": (RuntimeError, lambda: lib.autograd.grad((x * 2).sum(), lib.ones(3))),
    }


def test_autograd_grad_parameters_as_torch():
    check("autograd_grad", _autograd_grad_program, 1e-6)
    check("autograd_grad_mistakes", mistakes_program(_autograd_grad_mistakes))
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="is_grads_batched"):
        minigrad.autograd.grad(x * 2, x, None, is_grads_batched=True)
    (empty,) = minigrad.autograd.grad(x * 2, x, minigrad.ones(0, 2), is_grads_batched=True)
    assert empty.shape == (0, 2)


# ------------------------------------------------------------------- fixes: transforms
def _transforms_program(lib):
    """torch.distributions' transforms and TransformedDistribution: a tanh-squashed Normal scored
    through the cache (cache_size=1) and through atanh, wrapped in Independent; a logistic as
    Uniform through SigmoidTransform().inv and an affine map (log_prob, cdf, icdf); a log-normal
    by ExpTransform against LogNormal; ComposeTransform's values, inverse and log-det; an
    event_dim=1 affine flow; a decreasing affine map's cdf/icdf; Power and Softplus transforms;
    reprs, equality, flags and shapes; gradients to the base's parameters."""
    D = lib.distributions
    mu = lib.tensor([[0.2, -0.4], [1.0, 0.5]], requires_grad=True)
    log_std = lib.tensor([[-0.5, 0.1], [0.3, -1.0]], requires_grad=True)
    squashed = D.TransformedDistribution(D.Normal(mu, log_std.exp()), [D.TanhTransform(cache_size=1)])
    a = squashed.transforms[0](mu.detach() + 0.3)
    lp = squashed.log_prob(a)
    lp_atanh = D.TransformedDistribution(D.Normal(mu, log_std.exp()), D.TanhTransform()).log_prob(a.detach())
    ind = D.Independent(squashed, 1)
    lp_ind = ind.log_prob(a)
    (lp.sum() + lp_ind.sum() + lp_atanh.sum()).backward()
    logistic = D.TransformedDistribution(D.Uniform(lib.tensor([0.0]), lib.tensor([1.0])), [
        D.SigmoidTransform().inv, D.AffineTransform(loc=lib.tensor([1.0]), scale=lib.tensor([2.0]))])
    y = lib.tensor([[0.5], [-1.0], [3.0]])
    log_normal = D.TransformedDistribution(D.Normal(lib.zeros(3), lib.ones(3)), [D.ExpTransform()])
    x = lib.tensor([0.5, 1.0, 2.0])
    compose = D.ComposeTransform([D.AffineTransform(0.0, 2.0), D.SigmoidTransform(), D.AffineTransform(-1.0, 2.0)])
    z = lib.tensor([-0.7, 0.0, 0.3])
    affine = D.AffineTransform(lib.zeros(2), lib.tensor([2.0, 3.0]), event_dim=1)
    flow = D.TransformedDistribution(D.Independent(D.Normal(lib.zeros(2), lib.ones(2)), 1), [affine])
    decreasing = D.TransformedDistribution(D.Normal(lib.tensor(0.0), lib.tensor(1.0)), [D.AffineTransform(1.0, -2.0)])
    power, softplus = D.PowerTransform(lib.tensor(2.0)), D.SoftplusTransform()
    tanh = D.TanhTransform()
    return {
        "lp": lp, "lp_atanh": lp_atanh, "lp_ind": lp_ind, "mu_grad": mu.grad, "log_std_grad": log_std.grad,
        "shapes": np.array([len(squashed.batch_shape), len(squashed.event_shape), len(ind.batch_shape),
                            len(ind.event_shape), len(flow.batch_shape), len(flow.event_shape)]),
        "logistic_lp": logistic.log_prob(y), "logistic_cdf": logistic.cdf(y),
        "logistic_icdf": logistic.icdf(lib.tensor([[0.25], [0.5]])),
        "log_normal_lp": log_normal.log_prob(x), "log_normal_ref": D.LogNormal(lib.zeros(3), lib.ones(3)).log_prob(x),
        "log_normal_cdf": log_normal.cdf(x), "compose": compose(z), "compose_inv": compose.inv(compose(z)),
        "compose_ladj": compose.log_abs_det_jacobian(z, compose(z)), "tanh": tanh(z),
        "tanh_ladj": tanh.log_abs_det_jacobian(z, z.tanh()),
        "flow_lp": flow.log_prob(lib.tensor([[1.0, 2.0], [0.0, -3.0]])),
        "decreasing_cdf": decreasing.cdf(lib.tensor([0.0, 1.0, 2.0])),
        "decreasing_icdf": decreasing.icdf(lib.tensor([0.1, 0.9])), "power": power(x),
        "power_ladj": power.log_abs_det_jacobian(x, power(x)), "power_inv": power.inv(x), "softplus": softplus(z),
        "softplus_inv": softplus.inv(softplus(z)), "softplus_ladj": softplus.log_abs_det_jacobian(z, softplus(z)),
        "reprs": np.array([repr(tanh), repr(D.SigmoidTransform().inv), repr(squashed), str(D.ExpTransform().inv.inv),
                           repr(D.IndependentTransform(D.ExpTransform(), 1))]),
        "flags": np.array([squashed.has_rsample, tanh.bijective, tanh == D.TanhTransform(),
                           tanh.inv.inv == D.TanhTransform(), tanh.inv.inv is tanh, tanh.sign == 1, compose.bijective,
                           compose.event_dim == 0, affine.event_dim == 1, flow.support.event_dim == 1,
                           D.AbsTransform().bijective, D.ExpTransform() != D.SigmoidTransform()]),
        "sample_shape": np.array(squashed.rsample((3,)).shape),
        "in_range": np.array(bool((squashed.sample((5,)).abs() <= 1).all())),
        "rsample_grad": np.array([squashed.rsample().requires_grad, squashed.sample().requires_grad]),
        "transforms_module": np.array([hasattr(D.transforms, n) for n in ("Transform", "TanhTransform",
                                                                          "ComposeTransform", "identity_transform")]),
    }


def _transforms_mistakes(lib):
    D = lib.distributions
    squashed = D.TransformedDistribution(D.Normal(lib.zeros(2), lib.ones(2)), [D.TanhTransform()])
    return {
        "outside_support": (ValueError, lambda: squashed.log_prob(lib.tensor([2.0, 0.0]))),
        "not_a_transform": (ValueError, lambda: D.TransformedDistribution(D.Normal(0.0, 1.0), [1])),
        "not_a_list": (ValueError, lambda: D.TransformedDistribution(D.Normal(0.0, 1.0), 3)),
        "cache_size": (ValueError, lambda: D.TanhTransform(cache_size=2)),
        "event_dim_too_big": (ValueError, lambda: D.TransformedDistribution(
            D.Normal(0.0, 1.0), [D.AffineTransform(0.0, 1.0, event_dim=1)])),
        "no_mean": (NotImplementedError, lambda: squashed.mean),
        "abs_sign": (NotImplementedError, lambda: D.AbsTransform().sign),
    }


def test_transformed_distributions_as_torch():
    check("transforms", _transforms_program, 1e-5)
    check("transforms_mistakes", mistakes_program(_transforms_mistakes))


# ------------------------------------------------------------------- fixes: float() warning
_FLOAT_SCRIPT = """
import importlib, json, sys, warnings
lib = importlib.import_module(sys.argv[1])
x = lib.tensor([2.0, 3.0], requires_grad=True)
leaf = lib.tensor(2.0, requires_grad=True)
def under_no_grad():
    with lib.no_grad():
        return float(leaf), float(x[0])
cases = {
    "int": lambda: int(x[0]), "item": lambda: x[0].item(), "detached": lambda: float(x[0].detach()),
    "no_grad": under_no_grad, "float": lambda: float(x[0]), "again": lambda: float(x[1]),
    "leaf_after": lambda: float(leaf), "complex_after": lambda: complex(x[0]),
}
counts = {}
for name, fn in cases.items():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn()
    counts[name] = [sum("requires_grad=True to a scalar" in str(w.message) and issubclass(w.category, UserWarning)
                        for w in caught), sorted({w.filename for w in caught})]
print(json.dumps(counts))
"""


def _float_warning_program(lib):
    """In a fresh process: float() of a tensor that requires grad (grad mode on) warns once a
    process, at the user's line; int(), item(), detached tensors and no_grad do not."""
    run = subprocess.run([sys.executable, "-c", _FLOAT_SCRIPT, lib.__name__], capture_output=True, text=True,
                         check=True, cwd=tempfile.gettempdir(), env=same_minigrad_env())
    counts = json.loads(run.stdout)
    return {"counts": np.array([c for c, _ in counts.values()]),
            "files": np.array([",".join(f) for _, f in counts.values()]), "cases": np.array(list(counts))}


def test_float_of_requires_grad_warns_once_as_torch():
    check("float_warning", _float_warning_program)


# ------------------------------------------------------------------- fixes: label smoothing
def _label_smoothing_program(lib):
    """cross_entropy's label_smoothing as PyTorch checks it: at the call (CrossEntropyLoss takes any
    value when built), above 1 a RuntimeError, 1 allowed, negative or NaN no smoothing; class
    indices and probability targets."""
    F = lib.nn.functional
    x = lib.tensor([[1.0, 2.0, 0.5], [0.1, -1.0, 2.0]], requires_grad=True)
    idx, probs = lib.tensor([0, 2]), lib.tensor([[0.7, 0.2, 0.1], [0.0, 0.0, 1.0]])
    out = {}
    for name, v in (("neg", -0.1), ("neg_inf", -math.inf), ("nan", math.nan), ("zero", 0.0), ("one", 1.0),
                    ("some", 0.25)):
        for target_name, target in (("idx", idx), ("probs", probs)):
            loss = F.cross_entropy(x, target, label_smoothing=v)
            (g,) = lib.autograd.grad(loss, x)
            out[f"{name}/{target_name}"] = loss
            out[f"{name}/{target_name}/grad"] = g
    module = lib.nn.CrossEntropyLoss(label_smoothing=1.5)  # built without complaint
    out["module_value"] = np.array(module.label_smoothing)
    out["module_neg"] = lib.nn.CrossEntropyLoss(label_smoothing=-0.5)(x, idx)
    return out


def _label_smoothing_mistakes(lib):
    F, x, idx = lib.nn.functional, lib.zeros(2, 3), lib.tensor([0, 1])
    return {
        "module": (RuntimeError, lambda: lib.nn.CrossEntropyLoss(label_smoothing=1.5)(x, idx)),
        "functional": (RuntimeError, lambda: F.cross_entropy(x, idx, label_smoothing=1.01)),
        "probs": (RuntimeError, lambda: F.cross_entropy(x, x.softmax(1), label_smoothing=2.0)),
        "inf": (RuntimeError, lambda: F.cross_entropy(x, idx, label_smoothing=math.inf)),
    }


def test_label_smoothing_checked_as_torch():
    check("label_smoothing", _label_smoothing_program, 1e-6)
    check("label_smoothing_mistakes", mistakes_program(_label_smoothing_mistakes))
    with pytest.raises(ValueError, match=r"^label_smoothing must be between 0.0 and 1.0. Got: 1.5$"):
        minigrad.nn.functional.cross_entropy(minigrad.zeros(2, 3), minigrad.tensor([0, 1]), label_smoothing=1.5)
