"""Course programs ported with `import minigrad as torch`, round 3: each program runs on both
libraries from the same numpy weights and data (`program(lib)` with lib minigrad or torch) and its
losses, outputs and gradients are compared with PyTorch's (live, or recorded in
tests/fixtures/torch_reference/test_porting_round3.npz). Programs: custom autograd.Function
(PyTorch's static forward(ctx)/backward(ctx)), a DCGAN step with two optimizers, a VAE, a GRU
character model with hidden-state detaching, attention over a GRU encoder with masked_fill, a
fine-tuning loop with frozen layers, parameter groups and schedulers, a checkpoint of lists and
tuples resumed from a .pt file, classification metrics, a DataLoader with batch_size=None, and
torch.tensor's dtype for numpy float64 scalars. Bad input raises clear errors."""

import os
import tempfile

import numpy as np
import pytest
from parity import check_program, set_params
from torch_reference import TorchReference

import minigrad

torch_reference = TorchReference(__name__)


def check(key, program, rtol=1e-9):
    """program(minigrad)'s results against program(torch)'s (parity.check_program)."""
    check_program(torch_reference, key, program, rtol)


# ------------------------------------------------------------------- custom autograd.Function
def _functions(lib):
    """The custom Functions of PyTorch's tutorials and of common course code, for lib."""

    class LegendreP3(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return 0.5 * (5 * x**3 - 3 * x)

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return grad_output * 1.5 * (5 * x**2 - 1)

    class MyReLU(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.clamp(min=0)

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            grad = grad_output.clone()
            grad[x < 0] = 0
            return grad

    class GradReverse(lib.autograd.Function):  # domain adaptation: a non-tensor argument
        @staticmethod
        def forward(ctx, x, alpha):
            ctx.alpha = alpha
            return x.view_as(x)

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output.neg() * ctx.alpha, None

    class STERound(lib.autograd.Function):  # straight-through estimator
        @staticmethod
        def forward(ctx, x):
            return lib.round(x)

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output

    class Exp(lib.autograd.Function):  # saves its output
        @staticmethod
        def forward(ctx, x):
            result = x.exp()
            ctx.save_for_backward(result)
            return result

        @staticmethod
        def backward(ctx, grad_output):
            (result,) = ctx.saved_tensors
            return grad_output * result

    class ScaledProductAndSum(lib.autograd.Function):  # two outputs, needs_input_grad
        @staticmethod
        def forward(ctx, a, b, k):
            ctx.k = k
            ctx.save_for_backward(a, b)
            return a * b * k, a + b

        @staticmethod
        def backward(ctx, g_product, g_sum):
            a, b = ctx.saved_tensors
            ga = g_product * b * ctx.k + g_sum if ctx.needs_input_grad[0] else None
            gb = g_product * a * ctx.k + g_sum if ctx.needs_input_grad[1] else None
            return ga, gb, None

    class MaxWithIndex(lib.autograd.Function):  # an integer output marked non-differentiable
        @staticmethod
        def forward(ctx, x):
            index = x.argmax()
            ctx.mark_non_differentiable(index)
            ctx.save_for_backward(index)
            ctx.size = x.numel()
            return x.max(), index

        @staticmethod
        def backward(ctx, grad_max, grad_index):
            (index,) = ctx.saved_tensors
            grad = lib.zeros(ctx.size, dtype=grad_max.dtype)
            grad[index] = grad_max
            return grad

    return LegendreP3, MyReLU, GradReverse, STERound, Exp, ScaledProductAndSum, MaxWithIndex


def _custom_function_program(lib):
    LegendreP3, MyReLU, GradReverse, STERound, Exp, ScaledProductAndSum, MaxWithIndex = _functions(lib)
    rng = np.random.default_rng(6)
    out = {}
    # PyTorch's "defining new autograd functions" tutorial: fit sin(x) with a + b * P3(c + d * x)
    x = lib.linspace(-np.pi, np.pi, 50, dtype=lib.float64)
    y = lib.sin(x)
    a, b, c, d = (lib.full((), v, dtype=lib.float64, requires_grad=True) for v in (0.0, -1.0, 0.0, 0.3))
    for t in range(5):
        loss = (a + b * LegendreP3.apply(c + d * x) - y).pow(2).sum()
        loss.backward()
        with lib.no_grad():
            for p in (a, b, c, d):
                p -= 5e-4 * p.grad
                p.grad = None
        out[f"legendre/loss{t}"] = loss.detach()
    out["legendre/abcd"] = lib.stack([a, b, c, d]).detach()

    def grads_of(fn, *arrays):
        tensors = [lib.tensor(v, requires_grad=True) for v in arrays]
        result = fn(*tensors)
        (result * lib.arange(1.0, result.numel() + 1, dtype=lib.float64).reshape(result.shape)).sum().backward()
        return [result, *(t.grad for t in tensors)]

    x = rng.standard_normal((3, 4))
    out["relu"], out["relu/grad"] = grads_of(MyReLU.apply, x)
    out["reverse"], out["reverse/grad"] = grads_of(lambda t: GradReverse.apply(t, 0.5) ** 2, x)
    out["ste"], out["ste/grad"] = grads_of(STERound.apply, 3 * x)
    out["exp"], out["exp/grad"] = grads_of(lambda t: Exp.apply(t) * Exp.apply(t), x)
    out["relu_in_model"], out["relu_in_model/grad"] = grads_of(lambda t: MyReLU.apply(t @ t.T - 1).sum(1), x)
    # both outputs used, then only one, then one input without grad
    pa, pb = (lib.tensor(rng.standard_normal(3), requires_grad=True) for _ in range(2))
    product, total = ScaledProductAndSum.apply(pa, pb, 3.0)
    (product.sum() + (total * 2).sum()).backward()
    out["two_outputs/a"], out["two_outputs/b"] = pa.grad, pb.grad
    pa.grad = None
    ScaledProductAndSum.apply(pa, pb.detach(), 3.0)[1].sum().backward()
    out["one_output/a"] = pa.grad
    values = lib.tensor(rng.standard_normal(5), requires_grad=True)
    top, index = MaxWithIndex.apply(values)
    (top * 3).backward()
    out["max"], out["max/index"], out["max/grad"] = top, index, values.grad
    out["flags"] = np.array([index.requires_grad, top.requires_grad, top.is_leaf, values.is_leaf])
    with lib.no_grad():
        out["no_grad_flags"] = np.array([MyReLU.apply(values).requires_grad])
    out["grad_fn_name"] = np.array(type(MyReLU.apply(values).grad_fn).__name__)
    return out


def test_custom_function_programs_as_torch():
    check("custom_function", _custom_function_program)


def test_custom_function_gradcheck_hooks_and_grad():
    LegendreP3, MyReLU, _, _, Exp, _, _ = _functions(minigrad)
    assert minigrad.autograd.gradcheck(LegendreP3.apply, [minigrad.tensor([0.3, -0.7], dtype=minigrad.float64,
                                                                          requires_grad=True)])
    x = minigrad.tensor([1.0, -2.0, 3.0], dtype=minigrad.float64, requires_grad=True)
    y = Exp.apply(x)
    y.retain_grad()
    y.register_hook(lambda g: g * 10)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 10 * np.exp([1.0, -2.0, 3.0]))
    np.testing.assert_allclose(y.grad.numpy(), [10.0, 10.0, 10.0])
    (g,) = minigrad.autograd.grad(MyReLU.apply(x).sum(), x)
    assert g.tolist() == [1.0, 0.0, 1.0]
    # an argument returned as it is stays a leaf; the output is a new tensor on the tape
    Identity = type("Identity", (minigrad.autograd.Function,), {
        "forward": staticmethod(lambda ctx, t: t), "backward": staticmethod(lambda ctx, g: g * 2)})
    z = Identity.apply(x)
    assert z is not x and x.is_leaf and x.grad_fn is None and type(z.grad_fn).__name__ == "IdentityBackward"
    x.grad = None
    z.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0, 2.0]


def _function(backward, forward=lambda ctx, x, *args: x * 1):
    return type("Bad", (minigrad.autograd.Function,), {"forward": staticmethod(forward),
                                                       "backward": staticmethod(backward)})


@pytest.mark.parametrize(("fn", "args", "error", "match"), [
    (_function(lambda ctx, g: g), (2.0,), RuntimeError, r"BadBackward returned an incorrect number of gradients "
                                                        r"\(expected 2, got 1\)"),
    (_function(lambda ctx, g: (g, g)), (), RuntimeError, r"incorrect number of gradients \(expected 1, got 2\)"),
    (_function(lambda ctx, g: (g, g), lambda ctx, x, k: x * k), (2.0,), RuntimeError,
     "gradient different than None at position 2, but the corresponding forward input was not a Tensor"),
    (_function(lambda ctx, g: g[:1]), (), RuntimeError, r"invalid gradient at index 0 - got \[1\] but expected "
                                                        r"shape \[3\]"),
    (_function(lambda ctx, g: 3.0), (), RuntimeError, "returned a float at index 0; expected a Tensor or None"),
])
def test_custom_function_bad_backward(fn, args, error, match):
    x = minigrad.ones(3, requires_grad=True)
    with pytest.raises(error, match=match):
        fn.apply(x, *args).sum().backward()


def test_custom_function_saved_tensors_are_checked():
    Saves = _function(lambda ctx, g: g * ctx.saved_tensors[0],
                      lambda ctx, x: (ctx.save_for_backward(x), x * 2)[1])
    x = minigrad.ones(3, requires_grad=True)
    y = Saves.apply(x)
    y.sum().backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.sum().backward()
    h = x * 1
    y = Saves.apply(h)
    h.add_(1)
    with pytest.raises(RuntimeError, match="modified by an in-place operation.*saved by BadBackward"):
        y.sum().backward()
    with pytest.raises(TypeError, match="save_for_backward can only save tensors"):
        _function(None, lambda ctx, x: ctx.save_for_backward(x, 3)).apply(x)


# ------------------------------------------------------------------- DCGAN, VAE, char-RNN, attention
def _dcgan_program(lib):
    nn = lib.nn
    nz = 4
    netG = nn.Sequential(nn.ConvTranspose2d(nz, 8, 4, 1, 0, bias=False), nn.BatchNorm2d(8), nn.ReLU(True),
                         nn.ConvTranspose2d(8, 1, 4, 2, 1, bias=False), nn.Tanh()).double()
    netD = nn.Sequential(nn.Conv2d(1, 4, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
                         nn.Conv2d(4, 8, 4, 2, 1, bias=False), nn.BatchNorm2d(8), nn.LeakyReLU(0.2, inplace=True),
                         nn.Conv2d(8, 1, 2, 1, 0, bias=False), nn.Flatten(0)).double()

    def weights_init(m):
        if m.__class__.__name__.find("Conv") != -1:
            nn.init.normal_(m.weight.data, 0.0, 0.02)

    netG.apply(weights_init)
    set_params(netG, lib, 1, 0.1)
    set_params(netD, lib, 2, 0.1)
    criterion = nn.BCEWithLogitsLoss()
    optD = lib.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optG = lib.optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
    rng = np.random.default_rng(0)
    out = {}
    for i in range(3):
        real = lib.tensor(rng.uniform(-1, 1, (5, 1, 8, 8)))
        netD.zero_grad()
        label = lib.full((real.size(0),), 1.0, dtype=lib.double)
        errD_real = criterion(netD(real), label)
        errD_real.backward()
        fake = netG(lib.tensor(rng.standard_normal((5, nz, 1, 1))))
        label.fill_(0.0)
        errD_fake = criterion(netD(fake.detach()), label)
        errD_fake.backward()
        optD.step()
        netG.zero_grad()
        label.fill_(1.0)
        errG = criterion(netD(fake), label)
        errG.backward()
        optG.step()
        out[f"errD{i}"], out[f"errG{i}"] = (errD_real + errD_fake).detach(), errG.detach()
    netG.eval()
    with lib.no_grad():
        out["fake"] = netG(lib.tensor(rng.standard_normal((2, nz, 1, 1))))
    out["running_var"] = netG[1].running_var
    return out


def test_dcgan_program_as_torch():
    check("dcgan", _dcgan_program)


def _vae_program(lib):
    nn, F = lib.nn, lib.nn.functional

    class VAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc21, self.fc22 = nn.Linear(16, 8), nn.Linear(8, 2), nn.Linear(8, 2)
            self.fc3, self.fc4 = nn.Linear(2, 8), nn.Linear(8, 16)

        def forward(self, x, eps):
            h = F.relu(self.fc1(x.view(-1, 16)))
            mu, logvar = self.fc21(h), self.fc22(h)
            z = mu + eps * lib.exp(0.5 * logvar)
            return lib.sigmoid(self.fc4(F.relu(self.fc3(z)))), mu, logvar

    model = VAE().double()
    set_params(model, lib, 3)
    optimizer = lib.optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(1)
    data = lib.from_numpy((rng.uniform(size=(12, 1, 4, 4)) > 0.5).astype(np.float64))
    out = {}
    for i, x in enumerate(data.split(4)):
        optimizer.zero_grad()
        recon, mu, logvar = model(x, lib.from_numpy(rng.standard_normal((x.shape[0], 2))))
        bce = F.binary_cross_entropy(recon, x.view(-1, 16), reduction="sum")
        kld = -0.5 * lib.sum(1 + logvar - mu.pow(2) - logvar.exp())
        (bce + kld).backward()
        optimizer.step()
        out[f"bce{i}"], out[f"kld{i}"] = bce.detach(), kld.detach()
    out["fc1.grad"] = model.fc1.weight.grad
    return out


def test_vae_program_as_torch():
    check("vae", _vae_program)


TEXT = "hello world, a tiny corpus for a character model. hello again!"


def _char_rnn_program(lib):
    nn = lib.nn
    chars = sorted(set(TEXT))
    data = lib.tensor([chars.index(c) for c in TEXT], dtype=lib.long)

    class CharRNN(nn.Module):
        def __init__(self, vocab, hidden=12, layers=2):
            super().__init__()
            self.hidden, self.layers = hidden, layers
            self.embed = nn.Embedding(vocab, 6)
            self.rnn = nn.GRU(6, hidden, layers, batch_first=True)
            self.fc = nn.Linear(hidden, vocab)

        def forward(self, x, h):
            out, h = self.rnn(self.embed(x), h)
            return self.fc(out.contiguous().view(-1, self.hidden)), h

        def init_hidden(self, batch):
            return next(self.parameters()).new_zeros(self.layers, batch, self.hidden)

    model = CharRNN(len(chars)).double()
    set_params(model, lib, 4, 0.3)
    optimizer = lib.optim.RMSprop(model.parameters(), lr=0.01)
    n = (len(data) - 1) // 16 * 16
    inputs, targets = data[:n].view(2, -1), data[1 : n + 1].view(2, -1)
    hidden = model.init_hidden(2)
    out = {}
    for i in range(0, inputs.size(1), 8):
        hidden = hidden.detach()
        model.zero_grad()
        logits, hidden = model(inputs[:, i : i + 8], hidden)
        loss = nn.CrossEntropyLoss()(logits, targets[:, i : i + 8].reshape(-1))
        loss.backward()
        out[f"norm{i}"] = nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5)
        optimizer.step()
        out[f"loss{i}"] = loss.detach()
    with lib.no_grad():
        h, token, greedy = model.init_hidden(1), lib.tensor([[chars.index("h")]]), []
        for _ in range(8):
            logits, h = model(token, h)
            token = logits.argmax(dim=-1, keepdim=True)
            greedy.append(token.item())
    out["greedy"] = np.array(greedy)
    return out


def test_char_rnn_program_as_torch():
    check("char_rnn", _char_rnn_program)


def _attention_program(lib):
    nn, F = lib.nn, lib.nn.functional
    pad = 0

    class Seq2SeqAttention(nn.Module):
        def __init__(self, vocab=10, hidden=6):
            super().__init__()
            self.embed = nn.Embedding(vocab, 5, padding_idx=pad)
            self.encoder = nn.GRU(5, hidden, batch_first=True)
            self.decoder = nn.GRUCell(5 + hidden, hidden)
            self.out = nn.Linear(2 * hidden, vocab)

        def forward(self, src, trg):
            enc, h = self.encoder(self.embed(src))
            h = h.squeeze(0)
            mask = (src != pad).unsqueeze(1)
            logits = []
            for t in range(trg.size(1) - 1):
                scores = lib.bmm(h.unsqueeze(1), enc.transpose(1, 2)).masked_fill(mask == 0, -1e10)
                attn = F.softmax(scores, dim=-1)
                context = lib.bmm(attn, enc).squeeze(1)
                h = self.decoder(lib.cat([self.embed(trg[:, t]), context], dim=1), h)
                logits.append(self.out(lib.cat([h, context], dim=1)))
            return lib.stack(logits, dim=1)

    model = Seq2SeqAttention().double()
    set_params(model, lib, 5, 0.3)
    optimizer = lib.optim.Adam(model.parameters(), lr=0.01)
    rng = np.random.default_rng(2)
    out = {}
    for it in range(3):
        src = rng.integers(1, 10, (3, 5))
        src[0, 3:] = src[2, 4:] = pad
        trg = rng.integers(1, 10, (3, 4))
        trg[1, 2:] = pad
        src, trg = lib.tensor(src), lib.tensor(trg)
        logits = model(src, trg)
        loss = F.cross_entropy(logits.reshape(-1, 10), trg[:, 1:].reshape(-1), ignore_index=pad)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        out[f"loss{it}"] = loss.detach()
    out["attn_grad"] = model.decoder.weight_ih.grad
    return out


def test_attention_program_as_torch():
    check("attention", _attention_program)


# ------------------------------------------------------------------- fine-tuning, checkpoints, metrics
def _finetune_program(lib):
    nn, F = lib.nn, lib.nn.functional
    model = nn.Sequential()
    model.add_module("features", nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                                               nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten()))
    model.add_module("classifier", nn.Linear(4, 3))
    model.double()
    set_params(model, lib, 6)
    for p in model.parameters():
        p.requires_grad = False
    model.classifier = nn.Linear(model.classifier.in_features, 5).double()
    set_params(model.classifier, lib, 7)
    rng = np.random.default_rng(3)
    x, y = lib.tensor(rng.standard_normal((8, 1, 6, 6))), lib.tensor(rng.integers(0, 5, 8))
    out = {"trainable": np.array(sum(p.numel() for p in model.parameters() if p.requires_grad))}
    opt = lib.optim.SGD(filter(lambda p: p.requires_grad, model.parameters()), lr=0.1, momentum=0.9)
    step = lib.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.1)
    losses, lrs = [], []
    for _ in range(4):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y, label_smoothing=0.1)
        loss.backward()
        opt.step()
        step.step()
        losses.append(loss.item())
        lrs.append(step.get_last_lr()[0])
    out["frozen_grad_is_none"] = np.array(model.features[0].weight.grad is None)
    model.features.requires_grad_(True)
    opt = lib.optim.AdamW([{"params": model.features.parameters(), "lr": 1e-3, "weight_decay": 0.0},
                           {"params": model.classifier.parameters()}], lr=1e-2, weight_decay=0.05)
    plateau = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=1)
    for epoch in range(5):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        plateau.step(2.0 if epoch == 0 else 1.0)
        losses.append(loss.item())
        lrs.extend(g["lr"] for g in opt.param_groups)
    for g in opt.param_groups:
        g["lr"] *= 0.1
    lrs.extend(g["lr"] for g in opt.param_groups)
    sgd = lib.optim.SGD(model.parameters(), lr=0.1)
    warmup = lib.optim.lr_scheduler.LinearLR(sgd, start_factor=0.1, total_iters=3)
    cosine = lib.optim.lr_scheduler.CosineAnnealingLR(sgd, T_max=4, eta_min=1e-4)
    sequential = lib.optim.lr_scheduler.SequentialLR(sgd, schedulers=[warmup, cosine], milestones=[3])
    for _ in range(7):
        sgd.step()
        sequential.step()
        lrs.append(sequential.get_last_lr()[0])
    out["losses"], out["lrs"] = np.array(losses), np.array(lrs)
    return out


def test_finetune_program_as_torch():
    check("finetune", _finetune_program)


def _checkpoint_program(lib):
    """Train, save a tuple (epoch, states, a list of tensors) and a lone tensor to .pt files,
    resume a new model from them and train on; the resumed losses equal the uninterrupted ones."""
    nn, F = lib.nn, lib.nn.functional

    def make():
        model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)).double()
        set_params(model, lib, 8)
        opt = lib.optim.Adam(model.parameters(), lr=0.05)
        return model, opt, lib.optim.lr_scheduler.ExponentialLR(opt, gamma=0.9)

    def train(model, opt, sched, steps, seed):
        rng, losses = np.random.default_rng(seed), []
        for _ in range(steps):
            x, y = lib.tensor(rng.standard_normal((4, 3))), lib.tensor(rng.integers(0, 2, 4))
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
        return losses

    model, opt, sched = make()
    first = train(model, opt, sched, 3, 0)
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "checkpoint.pt")
        lib.save((3, model.state_dict(), opt.state_dict(), sched.state_dict(), [lib.tensor(first)]), path)
        lib.save(model[0].weight, os.path.join(directory, "embedding.pt"))
        continued = train(model, opt, sched, 3, 1)
        epoch, model_state, opt_state, sched_state, history = lib.load(path)
        weight = lib.load(os.path.join(directory, "embedding.pt"))
    model2, opt2, sched2 = make()
    model2.load_state_dict(model_state)
    opt2.load_state_dict(opt_state)
    sched2.load_state_dict(sched_state)
    resumed = train(model2, opt2, sched2, 3, 1)
    return {"epoch": np.array(epoch), "history": history[0], "weight": weight, "first": np.array(first),
            "continued": np.array(continued), "resumed": np.array(resumed), "lr": np.array(sched2.get_last_lr())}


def test_checkpoint_of_tuples_and_tensors_as_torch():
    check("checkpoint", _checkpoint_program)
    result = _checkpoint_program(minigrad)
    np.testing.assert_allclose(result["resumed"], result["continued"], rtol=1e-12)


def test_save_refuses_what_it_cannot_store(tmp_path):
    for bad, kind in (({1, 2}, "set"), (3, "int"), (minigrad.nn.Linear(2, 2), r"Linear \(save a module's state_dict")):
        with pytest.raises(TypeError, match=f"expected a tensor, or a dict, list or tuple of them, got {kind}"):
            minigrad.save(bad, tmp_path / "bad.pt")
    assert not os.listdir(tmp_path)
    minigrad.save([minigrad.ones(2), ("a", None)], tmp_path / "list.safetensors")
    loaded = minigrad.load(tmp_path / "list.safetensors")
    assert isinstance(loaded, list) and loaded[0].tolist() == [1.0, 1.0] and loaded[1] == ("a", None)


def _accuracy(lib, output, target, topk=(1,)):
    """The ImageNet example's top-k accuracy."""
    with lib.no_grad():
        _, pred = output.topk(max(topk), 1, True, True)
        correct = pred.t().eq(target.view(1, -1).expand_as(pred.t()))
        return [correct[:k].reshape(-1).float().sum(0, keepdim=True).mul_(100.0 / target.size(0)) for k in topk]


def _metrics_program(lib):
    rng = np.random.default_rng(5)
    classes = 4
    confusion = lib.zeros(classes, classes, dtype=lib.int64)
    accumulated = lib.zeros(classes, classes)
    preds, targets, correct, top = [], [], 0, []
    for _ in range(3):
        logits = lib.tensor(rng.standard_normal((10, classes)), dtype=lib.float32)
        target = lib.tensor(rng.integers(0, classes, 10))
        _, predicted = lib.max(logits.data, 1)
        correct += (predicted == target).sum().item()
        top.extend(a.item() for a in _accuracy(lib, logits, target, topk=(1, 3)))
        for t, p in zip(target.view(-1), predicted.view(-1), strict=True):
            confusion[t.long(), p.long()] += 1
        accumulated.index_put_((target, predicted), lib.ones(10), accumulate=True)
        preds.append(predicted)
        targets.append(target)
    preds, targets = lib.cat(preds), lib.cat(targets)
    cm = lib.bincount(targets * classes + preds, minlength=classes**2).reshape(classes, classes)
    precision = cm.diag().float() / cm.sum(0).clamp(min=1)
    recall = cm.diag() / cm.sum(dim=1).float().clamp_min(1e-8)
    return {"confusion": confusion, "accumulated": accumulated, "cm": cm, "correct": np.array(correct),
            "top": np.array(top), "f1": 2 * precision * recall / (precision + recall + 1e-8),
            "accuracy": (preds == targets).float().mean()}


def test_metrics_program_as_torch():
    check("metrics", _metrics_program, rtol=1e-6)


# ------------------------------------------------------------------- data pipeline, dtypes, legacy names
def _unbatched_loader_program(lib):
    data = lib.utils.data
    rng = np.random.default_rng(8)
    features = lib.tensor(rng.standard_normal((6, 3)))
    dataset = data.TensorDataset(features, lib.arange(6))
    loader = data.DataLoader(dataset, batch_size=None)
    samples = list(loader)
    pairs = list(data.DataLoader([(np.full(2, i, dtype=np.float32), i) for i in range(3)], batch_size=None,
                                 collate_fn=lambda sample: (lib.tensor(sample[0]) * 2, sample[1] + 1)))

    class Stream(data.IterableDataset):
        def __iter__(self):
            info = data.get_worker_info()
            yield from (lib.tensor([i, i * 10]) for i in range(0 if info is None else info.id, 4))

    return {"len": np.array([len(loader), len(samples)]), "x": lib.stack([x for x, _ in samples]),
            "y": lib.stack([y for _, y in samples]), "pairs": lib.stack([x for x, _ in pairs]),
            "pair_labels": np.array([label for _, label in pairs]), "stream": lib.stack(list(
                data.DataLoader(Stream(), batch_size=None)))}


def test_dataloader_without_batching_as_torch():
    check("unbatched_loader", _unbatched_loader_program)
    loader = minigrad.utils.data.DataLoader(minigrad.utils.data.TensorDataset(minigrad.arange(5)), batch_size=None,
                                            shuffle=True, generator=minigrad.Generator().manual_seed(0))
    assert loader.batch_size is None and sorted(x.item() for (x,) in loader) == [0, 1, 2, 3, 4]
    for options, match in (({"drop_last": True}, "mutually exclusive with drop_last"),
                           ({"transform": lambda images, rng: images}, "transform= works on batches")):
        with pytest.raises(ValueError, match=match):
            minigrad.utils.data.DataLoader(range(3), batch_size=None, **options)
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1 or None, got 0"):
        minigrad.utils.data.DataLoader(range(3), batch_size=0)


def _tensor_dtype_program(lib):
    values = np.array([0.1, 0.2, 0.7])
    made = [lib.tensor(values.mean()), lib.tensor([values.mean(), values.std()]), lib.tensor([values[0], 2.0]),
            lib.tensor([[np.float64(1.0)], [2.0]]), lib.tensor([np.float32(1.0), 2.0]), lib.tensor([1.0, 2.0]),
            lib.tensor([lib.tensor(1.5, dtype=lib.float64)]), lib.as_tensor(np.float64(2.5)),
            lib.full((2,), np.float64(1.5)), lib.tensor([np.int32(1), np.int32(2)]), lib.tensor([np.int32(1), 2])]
    return {f"t{i}": t for i, t in enumerate(made)}


def test_tensor_keeps_numpy_float64_as_torch():
    check("tensor_dtype", _tensor_dtype_program)


def _legacy_program(lib):
    Variable = lib.autograd.Variable
    data = lib.ones(2)
    leaf = Variable(data, requires_grad=True)
    (leaf * 3).sum().backward()
    w = lib.ones(2, requires_grad=True)
    flags = [leaf.requires_grad, leaf.is_leaf, isinstance(data, Variable), Variable(w).requires_grad,
             Variable(w * 2).grad_fn is None, Variable(w) is w]
    data.add_(1)  # shares memory with the Variable
    with lib.autograd.set_detect_anomaly(True):
        flags.append(lib.is_anomaly_enabled())
    flags.append(lib.is_anomaly_enabled())
    lib.autograd.set_detect_anomaly(True)
    flags.append(lib.is_anomaly_enabled())
    lib.autograd.set_detect_anomaly(False)
    flags.append(lib.is_anomaly_enabled())
    return {"flags": np.array(flags), "grad": leaf.grad, "shared": leaf.detach()}


def test_variable_and_set_detect_anomaly_as_torch():
    check("legacy", _legacy_program)
    with pytest.raises(TypeError, match="Variable data has to be a tensor, but got int"):
        minigrad.autograd.Variable(3)
    with minigrad.autograd.set_detect_anomaly(True), pytest.raises(RuntimeError, match="anomaly"):
        minigrad.log(minigrad.tensor([-1.0]))
    assert not minigrad.is_anomaly_enabled()


def test_masked_fill_names_itself_when_the_mask_does_not_broadcast():
    with pytest.raises(ValueError, match=r"masked_fill: shapes \(3, 2\) and \(2, 3\) cannot be broadcast"):
        minigrad.ones(2, 3).masked_fill(minigrad.ones(3, 2).bool(), 0.0)
    with pytest.raises(ValueError, match=r"masked_fill: mask shape \(2, 3\) does not broadcast to input shape"):
        minigrad.ones(3).masked_fill_(minigrad.ones(2, 3).bool(), 0.0)
