"""Course programs ported with `import minigrad as torch`, round 13: each program runs on both
libraries (`program(lib)` with lib minigrad or torch) and its results are compared with PyTorch's
(live, or recorded in tests/fixtures/torch_reference/test_porting_round13.npz). Programs: d2l's
linear and softmax regression from scratch (synthetic data, a data_iter over a permutation, manual
SGD under no_grad with grad.zero_(), torch.normal(..., requires_grad=True), `y_hat[range(n), y]`);
CS231n's two-layer net with a numeric gradient check by in-place edits, BatchNorm1d and Dropout in
train and eval; REINFORCE with distributions.Categorical (sample, log_prob, entropy), discounted
and normalised returns (flip/cumsum); a DQN update (replay buffer of namedtuples, stack, gather,
max(1)[0], a non-final mask, smooth_l1_loss and HuberLoss, Double DQN, target networks by
load_state_dict, soft updates and copy_, deepcopy); word2vec skip-gram with negative sampling
(Embedding, bmm, logsigmoid, multinomial with replacement, cosine neighbours); a character RNN
(batchify, truncated BPTT with detached hidden states, temperature softmax, greedy decoding,
perplexity); a TransformerEncoder language model (positional encoding buffer,
generate_square_subsequent_mask, src_key_padding_mask, is_causal, a fully padded sequence) and a
seq2seq nn.Transformer; SimCLR's NT-Xent loss three ways (fill_diagonal_, eye masks and roll,
masked_select); classification metrics (argmax/eq accuracy, confusion matrices by bincount,
index_put_ accumulate and a loop, precision/recall/F1, top-k accuracy, histc/histogram, AUC by
ranks); GradScaler on the CPU with inf gradients; early stopping on the validation loss with
deepcopy(state_dict()), ReduceLROnPlateau, SequentialLR, LambdaLR, ChainedScheduler and friends;
reproducible shuffling with Generators; the grad_fn names of in-place writes (CopySlices,
IndexPutBackward0, FillBackward2/3, ZeroBackward0, CopyBackwards); and hostile inputs for all of
these: PyTorch's exception classes for wrong shapes, dtypes, empty tensors, NaN and out-of-range
values."""

import copy
import math
from collections import deque, namedtuple

import numpy as np
import pytest
from parity import check_program, mistakes_program, set_params
from torch_reference import TorchReference

import minigrad

torch_reference = TorchReference(__name__)


def check(key, program, rtol=1e-9):
    """program(minigrad)'s results against program(torch)'s (parity.check_program)."""
    check_program(torch_reference, key, program, rtol)


def _names(*tensors):
    """The grad_fn names of tensors, as an array."""
    return np.array([t.grad_fn.name() for t in tensors])


def _dtype(t):
    """A tensor's dtype without the library's prefix ("int64" for torch.int64)."""
    return np.array(str(t.dtype).split(".")[-1])



# ------------------------------------------------------------------- d2l regression from scratch
def _d2l_program(lib):
    """Linear regression on synthetic data (manual SGD with `param -= lr * param.grad` and
    grad.zero_() under no_grad, a data_iter over a permutation, .data updates) and softmax
    regression from scratch (W = normal(0, 0.01, size=..., requires_grad=True), y_hat[range(n), y])."""
    rng = np.random.default_rng(1)
    true_w, true_b = lib.tensor([2.0, -3.4]), 4.2
    X = lib.tensor(rng.standard_normal((20, 2)), dtype=lib.float32)
    y = lib.matmul(X, true_w) + true_b
    y += lib.tensor(rng.normal(0, 0.01, 20), dtype=lib.float32)
    y = y.reshape((-1, 1))
    noise = lib.normal(0, 0.01, (3, 2))
    out = {"noise_shape": np.array(noise.shape), "noise_dtype": _dtype(noise),
           "normal_tensor_shape": np.array(lib.normal(lib.zeros(3), lib.ones(3)).shape),
           "normal_size_kw": np.array(lib.normal(mean=0.0, std=1.0, size=(2, 5)).shape)}
    w = lib.tensor(rng.normal(0, 0.01, (2, 1)), dtype=lib.float32, requires_grad=True)
    b = lib.zeros(1, requires_grad=True)
    perm = rng.permutation(20)

    def data_iter(batch_size, features, labels):
        for i in range(0, len(features), batch_size):
            batch_indices = lib.tensor(perm[i: min(i + batch_size, len(features))])
            yield features[batch_indices], labels[batch_indices]

    def squared_loss(y_hat, y):
        return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2

    def sgd(params, lr, batch_size):
        with lib.no_grad():
            for param in params:
                param -= lr * param.grad / batch_size
                param.grad.zero_()

    for epoch in range(3):
        for Xb, yb in data_iter(6, X, y):
            squared_loss(lib.matmul(Xb, w) + b, yb).sum().backward()
            sgd([w, b], 0.03, 6)
        with lib.no_grad():
            out[f"epoch{epoch}"] = squared_loss(lib.matmul(X, w) + b, y).mean()
    out.update(w=w, b=b, w_is_leaf=np.array(w.is_leaf), w_grad=w.grad, err=true_w - w.reshape(true_w.shape))
    p = lib.randperm(10)
    out.update(randperm=p.sort()[0], randperm_dtype=_dtype(p))
    w2 = lib.tensor([[1.0], [2.0]], requires_grad=True)
    (X[:3] @ w2).sum().backward()
    w2.data -= 0.1 * w2.grad.data
    w2.grad.data.zero_()
    out.update(w2=w2, w2_grad=w2.grad)
    # softmax regression
    Xc = lib.tensor(rng.standard_normal((8, 6)), dtype=lib.float32)
    yc = lib.tensor(rng.integers(0, 3, 8))
    W = lib.normal(0, 0.01, size=(6, 3), requires_grad=True)
    out["normal_leaf"] = np.array([W.requires_grad, W.is_leaf, W.grad_fn is None])
    with lib.no_grad():
        W.copy_(lib.tensor(rng.normal(0, 0.1, (6, 3))))
    bias = lib.zeros(3, requires_grad=True)

    def net(X):
        X_exp = lib.exp(lib.matmul(X.reshape((-1, W.shape[0])), W) + bias)
        return X_exp / X_exp.sum(1, keepdim=True)

    def cross_entropy(y_hat, y):
        return -lib.log(y_hat[range(len(y_hat)), y])

    def accuracy(y_hat, y):
        if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
            y_hat = y_hat.argmax(axis=1)
        cmp = y_hat.type(y.dtype) == y
        return float(cmp.type(y.dtype).sum())

    for step in range(3):
        loss = cross_entropy(net(Xc), yc)
        loss.mean().backward()
        with lib.no_grad():
            for param in (W, bias):
                param -= 0.5 * param.grad
                param.grad.zero_()
        out[f"softmax_loss{step}"] = loss.detach()
    out.update(acc=np.array(accuracy(net(Xc), yc)), names=_names(loss, net(Xc)), picked=net(Xc)[[0, 1], yc[:2]])
    return out


def test_d2l_regression_from_scratch_as_torch():
    check("d2l", _d2l_program, rtol=1e-6)


# ------------------------------------------------------------------- CS231n two-layer net
def _eval_numerical_gradient(lib, f, x, h=1e-5):
    """CS231n's centred differences, changing x in place (through a flat view) under no_grad."""
    grad = lib.zeros_like(x)
    with lib.no_grad():
        flat = x.view(-1)
        for ix in range(flat.numel()):
            old = flat[ix].item()
            flat[ix] = old + h
            fxph = f().item()
            flat[ix] = old - h
            fxmh = f().item()
            flat[ix] = old
            grad.view(-1)[ix] = (fxph - fxmh) / (2 * h)
    return grad


def _cs231n_program(lib):
    """A two-layer net written with raw tensors (a stable log-softmax, L2 regularisation), its
    gradients checked against numeric ones; the same with nn.BatchNorm1d and nn.Dropout in train
    and eval modes; a BatchNorm layer's input gradient checked numerically."""
    nn, F = lib.nn, lib.nn.functional
    rng = np.random.default_rng(2)
    N, D, H, C = 5, 4, 6, 3
    X = lib.tensor(rng.standard_normal((N, D)))
    y = lib.tensor(rng.integers(0, C, N))
    params = {"W1": lib.tensor(rng.standard_normal((D, H)) * 0.5, requires_grad=True),
              "b1": lib.zeros(H, dtype=lib.float64, requires_grad=True),
              "W2": lib.tensor(rng.standard_normal((H, C)) * 0.5, requires_grad=True),
              "b2": lib.zeros(C, dtype=lib.float64, requires_grad=True)}

    def loss_fn(reg=0.1):
        h = lib.clamp(X @ params["W1"] + params["b1"], min=0)
        scores = h @ params["W2"] + params["b2"]
        shifted = scores - scores.max(dim=1, keepdim=True).values
        log_probs = shifted - shifted.exp().sum(1, keepdim=True).log()
        return -log_probs[lib.arange(N), y].mean() + reg * (params["W1"].pow(2).sum() + (params["W2"] ** 2).sum())

    def rel_error(a, b):
        return ((a - b).abs() / lib.clamp(a.abs() + b.abs(), min=1e-8)).max()

    loss = loss_fn()
    loss.backward()
    out = {"loss": loss.detach()}
    for name, p in params.items():
        numeric = _eval_numerical_gradient(lib, loss_fn, p)
        out.update({f"grad_{name}": p.grad, f"ok_{name}": np.array(bool(rel_error(numeric, p.grad) < 1e-6)),
                    f"version_{name}": np.array(p._version > 0)})
    net = set_params(nn.Sequential(nn.Linear(D, H), nn.BatchNorm1d(H, momentum=0.2), nn.ReLU(), nn.Dropout(p=0.0),
                                   nn.Linear(H, C)).double(), lib, 3, 0.4)
    bn_loss = F.cross_entropy(net(X), y)
    bn_loss.backward()
    out.update(bn_loss=bn_loss.detach(), bn_mean=net[1].running_mean, bn_var=net[1].running_var,
               bn_grad=net[0].weight.grad)
    net.eval()
    out["training_flags"] = np.array([m.training for m in net.modules()])
    with lib.no_grad():
        out["eval_logits"] = net(X)
    drop = nn.Dropout(0.5)
    z = drop(lib.ones(200, 50, dtype=lib.float64))
    out["dropout_values"] = lib.unique(z)
    out["dropout_fraction_ok"] = np.array(abs((z == 0).double().mean().item() - 0.5) < 0.05)
    drop.eval()
    out["dropout_eval"] = drop(lib.ones(3, dtype=lib.float64))
    out["f_dropout_eval"] = F.dropout(lib.ones(4, dtype=lib.float64), 0.5, training=False)
    bn = nn.BatchNorm1d(D).double()
    Xg = X.clone().requires_grad_(True)
    dout = lib.tensor(rng.standard_normal((N, D)))
    (bn(Xg) * dout).sum().backward()
    numeric = _eval_numerical_gradient(lib, lambda: (bn(Xg) * dout).sum(), Xg)
    out.update(bn_x_grad=Xg.grad, bn_numeric_ok=np.array(bool(rel_error(numeric, Xg.grad) < 1e-5)),
               bn_tracked=bn.num_batches_tracked)
    return out


def test_cs231n_two_layer_net_as_torch():
    check("cs231n", _cs231n_program, rtol=1e-7)


# ------------------------------------------------------------------- REINFORCE
def _reinforce_program(lib):
    """REINFORCE on synthetic episodes: a policy MLP, Categorical(probs) (sampled actions' shape
    and dtype; the actions taken from numpy), log_prob and entropy, discounted returns normalised
    by mean and std, an entropy bonus, Adam; the returns vectorised by flip/cumsum; Categorical
    from logits (batch and event shapes, log_prob broadcasting, mode, enumerate_support), from
    unnormalised probabilities, and sampled frequencies."""
    nn, F = lib.nn, lib.nn.functional
    Categorical = lib.distributions.Categorical
    rng = np.random.default_rng(4)
    policy = set_params(nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 2)).double(), lib, 5, 0.5)
    optimizer = lib.optim.Adam(policy.parameters(), lr=1e-2)
    gamma, eps = 0.99, np.finfo(np.float32).eps.item()
    out = {}
    for episode in range(2):
        log_probs, entropies, rewards = [], [], []
        for _ in range(6):
            state = lib.from_numpy(rng.standard_normal(4)).unsqueeze(0)
            m = Categorical(F.softmax(policy(state), dim=1))
            sampled = m.sample()
            out.update(sample_shape=np.array(sampled.shape), sample_dtype=_dtype(sampled))
            action = lib.tensor([int(rng.integers(0, 2))])
            log_probs.append(m.log_prob(action))
            entropies.append(m.entropy())
            rewards.append(float(rng.uniform()))
        R, returns = 0, []
        for r in rewards[::-1]:
            R = r + gamma * R
            returns.insert(0, R)
        returns = lib.tensor(returns)
        returns = (returns - returns.mean()) / (returns.std() + eps)
        loss = lib.cat([-lp * R for lp, R in zip(log_probs, returns, strict=True)]).sum()
        loss = loss - 0.01 * lib.stack(entropies).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        out[f"loss{episode}"], out[f"returns{episode}"] = loss.detach(), returns
    out.update(grad=policy[0].weight.grad, names=_names(loss, log_probs[0], entropies[0]))
    r = lib.tensor(rewards)
    discount = gamma ** lib.arange(len(rewards), dtype=lib.float64)
    out["vector_returns"] = lib.flip(lib.cumsum(lib.flip(r * discount, dims=(0,)), dim=0), dims=(0,)) / discount
    out["reverse_cumsum"] = r.flip(0).cumsum(0).flip(0)
    logits = lib.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    dist = Categorical(logits=logits)
    lp, ent = dist.log_prob(lib.tensor([0, 3, 1])), dist.entropy()
    (lp.sum() + ent.sum()).backward()
    out.update(cat_logits=dist.logits, cat_probs=dist.probs, cat_lp=lp, cat_ent=ent, cat_grad=logits.grad,
               cat_batch=np.array(dist.batch_shape), cat_event=np.array(dist.event_shape),
               cat_lp_broadcast=dist.log_prob(lib.tensor([[0], [1]])), cat_samples=np.array(dist.sample((5,)).shape),
               cat_mode=dist.mode, cat_param_shape=np.array(dist.param_shape), cat_support=dist.enumerate_support())
    unnormalised = Categorical(probs=lib.tensor([2.0, 6.0, 0.0]))
    out.update(unnormalised_probs=unnormalised.probs, unnormalised_entropy=unnormalised.entropy(),
               zero_prob_lp=unnormalised.log_prob(lib.tensor(2)))
    lib.manual_seed(0)
    samples = Categorical(probs=lib.tensor([0.1, 0.6, 0.3])).sample((4000,))
    freq = lib.bincount(samples, minlength=3).double() / 4000
    out["frequencies_ok"] = np.array(bool((freq - lib.tensor([0.1, 0.6, 0.3], dtype=lib.float64)).abs().max() < 0.04))
    return out


def test_reinforce_as_torch():
    check("reinforce", _reinforce_program)


def _categorical_mistakes(lib):
    C = lib.distributions.Categorical
    d = C(probs=lib.tensor([0.2, 0.8]))
    return {
        "negative_probs": (ValueError, lambda: C(probs=lib.tensor([-0.1, 1.1]))),
        "nan_logits": (ValueError, lambda: C(logits=lib.tensor([float("nan"), 0.0]))),
        "both": (ValueError, lambda: C(probs=lib.tensor([0.5, 0.5]), logits=lib.tensor([0.0, 0.0]))),
        "neither": (ValueError, lambda: C()),
        "scalar": (ValueError, lambda: C(probs=lib.tensor(1.0))),
        "value_above": (ValueError, lambda: d.log_prob(lib.tensor(2))),
        "value_float": (ValueError, lambda: d.log_prob(lib.tensor(0.5))),
        "value_negative": (ValueError, lambda: d.log_prob(lib.tensor(-1))),
        "sample_int_shape": (TypeError, lambda: d.sample(3)),
        "empty_probs": (ValueError, lambda: C(probs=lib.zeros(0))),
        "zero_sum": (ValueError, lambda: C(probs=lib.tensor([0.0, 0.0]))),
        "value_shape": (ValueError, lambda: C(probs=lib.ones(3, 4) / 4).log_prob(lib.tensor([0, 1]))),
    }


def test_categorical_mistakes_raise_as_torch():
    check("categorical_mistakes", mistakes_program(_categorical_mistakes))


# ------------------------------------------------------------------- DQN
Transition = namedtuple("Transition", ("state", "action", "next_state", "reward", "done"))


def _q_net(lib):
    nn, F = lib.nn, lib.nn.functional

    class QNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(4, 12), nn.Linear(12, 3)

        def forward(self, x):
            return self.fc2(F.relu(self.fc1(x)))

    return QNet()


def _dqn_program(lib):
    """The PyTorch DQN tutorial's update: a deque replay buffer of namedtuples, epsilon-greedy
    actions by max(1)[1], a batch by stack/cat, a non-final mask, gather, max(1)[0] of a target
    net under no_grad, smooth_l1_loss and HuberLoss, a Double-DQN target, RMSprop with
    clip_grad_value_, soft target updates through state_dict()/load_state_dict() and .data.copy_(),
    a deepcopy'd frozen net; huber/smooth_l1 reductions, beta and delta."""
    nn, F = lib.nn, lib.nn.functional
    rng = np.random.default_rng(6)
    policy_net = set_params(_q_net(lib), lib, 7, 0.4)
    target_net = _q_net(lib)
    out = {"load": np.array(str(target_net.load_state_dict(policy_net.state_dict())))}
    target_net.eval()
    optimizer = lib.optim.RMSprop(policy_net.parameters(), lr=1e-2)
    memory = deque(maxlen=20)
    for i in range(16):
        s = lib.tensor(rng.standard_normal(4), dtype=lib.float32)
        with lib.no_grad():
            greedy = policy_net(s.unsqueeze(0)).max(1)[1].view(1, 1)
        action = greedy if rng.uniform() > 0.3 else lib.tensor([[int(rng.integers(0, 3))]], dtype=lib.long)
        next_state = None if i % 5 == 4 else lib.tensor(rng.standard_normal(4), dtype=lib.float32)
        memory.append(Transition(s, action, next_state, lib.tensor([float(rng.uniform())]), float(next_state is None)))
    out["greedy"] = greedy
    gamma = 0.9
    for step in range(3):
        batch = Transition(*zip(*[memory[i] for i in rng.choice(len(memory), 8, replace=False)], strict=True))
        non_final_mask = lib.tensor(tuple(s is not None for s in batch.next_state), dtype=lib.bool)
        non_final_next_states = lib.cat([s.unsqueeze(0) for s in batch.next_state if s is not None])
        state_batch, action_batch = lib.stack(batch.state), lib.cat(batch.action)
        reward_batch, dones = lib.cat(batch.reward), lib.tensor(batch.done)
        state_action_values = policy_net(state_batch).gather(1, action_batch)
        next_state_values = lib.zeros(8)
        with lib.no_grad():
            next_state_values[non_final_mask] = target_net(non_final_next_states).max(1)[0]
        expected = (next_state_values * gamma) + reward_batch
        loss = F.smooth_l1_loss(state_action_values, expected.unsqueeze(1))
        huber = nn.HuberLoss(delta=0.5)(state_action_values, expected.unsqueeze(1))
        next_actions = policy_net(state_batch).argmax(dim=1, keepdim=True)
        double_q = target_net(state_batch).gather(1, next_actions).squeeze(1).detach()
        td = reward_batch + gamma * double_q * (1 - dones)
        optimizer.zero_grad()
        (loss + 0.5 * huber + 0.1 * F.mse_loss(state_action_values.squeeze(), td)).backward()
        nn.utils.clip_grad_value_(policy_net.parameters(), 100)
        optimizer.step()
        out[f"loss{step}"], out[f"huber{step}"], out[f"td{step}"] = loss.detach(), huber.detach(), td
        target_sd, policy_sd = target_net.state_dict(), policy_net.state_dict()
        for key in policy_sd:
            target_sd[key] = policy_sd[key] * 0.1 + target_sd[key] * 0.9
        target_net.load_state_dict(target_sd)
    for target_param, param in zip(target_net.parameters(), policy_net.parameters(), strict=True):
        target_param.data.copy_(0.5 * param.data + 0.5 * target_param.data)
    out.update(target_w=target_net.fc1.weight, policy_grad=policy_net.fc2.weight.grad, next_values=next_state_values,
               mask=non_final_mask, names=_names(state_action_values, loss, huber),
               target_requires_grad=np.array(target_net.fc1.weight.requires_grad))
    frozen = copy.deepcopy(policy_net)
    with lib.no_grad():
        policy_net.fc1.bias.add_(1.0)
    out["deepcopy_diff"] = (policy_net.fc1.bias - frozen.fc1.bias).detach()
    a = lib.tensor(rng.standard_normal(6) * 2, requires_grad=True)
    b = lib.tensor(rng.standard_normal(6))
    out.update(sl1_beta=F.smooth_l1_loss(a, b, beta=0.5, reduction="sum"),
               huber_none=F.huber_loss(a, b, reduction="none", delta=2.0), sl1_beta0=F.smooth_l1_loss(a, b, beta=0.0))
    out["huber_grad"] = lib.autograd.grad(out["sl1_beta"] + out["huber_none"].sum() + out["sl1_beta0"], a)[0]
    q = lib.tensor(rng.standard_normal((4, 3)))
    values, indices = q.max(1)
    out.update(max_values=values, max_indices=indices, max_indices_dtype=_dtype(indices))
    return out


def test_dqn_update_as_torch():
    check("dqn", _dqn_program, rtol=1e-6)


def _dqn_mistakes(lib):
    F = lib.nn.functional
    q = lib.zeros(4, 3)
    mask = lib.tensor([True] * 3 + [False] * 5)

    def assign(target, index, value):
        return lambda: target.__setitem__(index, value)

    return {
        "gather_index_1d": (RuntimeError, lambda: q.gather(1, lib.tensor([0, 1, 2, 0]))),
        "gather_out_of_range": (RuntimeError, lambda: q.gather(1, lib.tensor([[3], [0], [0], [0]]))),
        "smooth_l1_shapes": (RuntimeError, lambda: F.smooth_l1_loss(q, lib.zeros(2))),
        "smooth_l1_negative_beta": (RuntimeError, lambda: F.smooth_l1_loss(q, q, beta=-1.0)),
        "huber_negative_delta": (RuntimeError, lambda: F.huber_loss(q, q, delta=-1.0)),
        "huber_zero_delta": (RuntimeError, lambda: F.huber_loss(q, q, delta=0.0)),
        "huber_reduction": (ValueError, lambda: F.huber_loss(q, q, reduction="avg")),
        "load_state_missing": (RuntimeError, lambda: lib.nn.Linear(4, 3).load_state_dict({"weight": lib.zeros(3, 4)})),
        "load_state_shape": (RuntimeError, lambda: lib.nn.Linear(4, 3).load_state_dict(
            {"weight": lib.zeros(4, 3), "bias": lib.zeros(3)})),
        "load_state_pairs": (TypeError, lambda: lib.nn.Linear(4, 3).load_state_dict(
            [("weight", lib.zeros(3, 4)), ("bias", lib.zeros(3))])),
        "copy_shape": (RuntimeError, lambda: lib.zeros(3).copy_(lib.zeros(4))),
        "copy_shape_recorded": (RuntimeError, lambda: (lib.zeros(3, requires_grad=True) * 1).copy_(lib.zeros(4))),
        "max_empty_dim": (IndexError, lambda: lib.zeros(0, 3).max(0)),
        "argmax_empty": (IndexError, lambda: lib.zeros(0).argmax()),
        "stack_shapes": (RuntimeError, lambda: lib.stack([lib.zeros(4), lib.zeros(3)])),
        "cat_none": (TypeError, lambda: lib.cat([lib.zeros(1, 4), None])),
        "mask_assign_count": (RuntimeError, assign(lib.zeros(8), mask, lib.zeros(4))),
        "mask_assign_count_recorded": (RuntimeError, assign(lib.zeros(8, requires_grad=True) * 1, mask, lib.zeros(4))),
        "row_assign_shape": (RuntimeError, assign(lib.zeros(2, 3), 0, lib.zeros(2))),
        "element_assign_recorded": (RuntimeError, assign(lib.zeros(3, requires_grad=True) * 1, 0, lib.zeros(2))),
        "index_assign_count": (RuntimeError, assign(lib.zeros(3), lib.tensor([0, 1]), lib.zeros(3))),
        "tensor_of_none": (RuntimeError, lambda: lib.tensor((True, None))),
        "tensor_of_tensors_and_none": (RuntimeError, lambda: lib.tensor([lib.tensor(1.0), None])),
        "tensor_of_dict": (RuntimeError, lambda: lib.tensor({1: 2})),
        "tensor_of_str": (TypeError, lambda: lib.tensor([1, "a"])),
        "tensor_ragged": (ValueError, lambda: lib.tensor([[1, 2], [3]])),
    }


@pytest.mark.filterwarnings("ignore:Using a target size")  # both libraries warn before refusing the shapes
def test_dqn_mistakes_raise_as_torch():
    check("dqn_mistakes", mistakes_program(_dqn_mistakes))


def test_shape_mismatch_messages():
    """A value that does not fit where it is written: PyTorch's RuntimeError with both shapes (not
    numpy's "setting an array element with a sequence"), still a ValueError for older handlers."""
    x = minigrad.zeros(3, requires_grad=True) * 1
    with pytest.raises(RuntimeError, match=r"index_put_: shape mismatch: value tensor of shape \[2\]") as info:
        x[0] = minigrad.zeros(2)
    assert isinstance(info.value, ValueError)
    with pytest.raises(RuntimeError, match=r"copy_: shape mismatch: value tensor of shape \[4\].*into shape \(3,\)"):
        minigrad.zeros(3).copy_(minigrad.zeros(4))
    with pytest.raises(RuntimeError, match="Could not infer dtype of NoneType"):
        minigrad.tensor([1.0, None])


# ------------------------------------------------------------------- word2vec
def _word2vec_program(lib):
    """Skip-gram with negative sampling: a unigram^0.75 noise distribution (bincount), two
    nn.Embedding tables (sparse=False), bmm scores, logsigmoid of positives and negated negatives,
    SGD; negatives drawn by torch.multinomial(replacement=True) (shape, dtype and range; the ones
    trained on come from numpy); nearest words by F.normalize and topk, cosine_similarity;
    multinomial without replacement, per row, zero weights; logsigmoid's extremes and gradient."""
    nn, F = lib.nn, lib.nn.functional
    rng = np.random.default_rng(8)
    corpus = "the quick brown fox jumps over the lazy dog the fox".split()
    vocab = sorted(set(corpus))
    w2i = {w: i for i, w in enumerate(vocab)}
    ids = [w2i[w] for w in corpus]
    pairs = [(ids[i], ids[j]) for i in range(len(ids)) for j in range(max(0, i - 2), min(len(ids), i + 3)) if i != j]
    noise = lib.bincount(lib.tensor(ids), minlength=len(vocab)).double() ** 0.75
    noise = noise / noise.sum()

    class SkipGram(nn.Module):
        def __init__(self, V, D):
            super().__init__()
            self.in_embed = nn.Embedding(V, D, sparse=False)
            self.out_embed = nn.Embedding(V, D)

        def forward(self, center, context, negatives):
            v = self.in_embed(center).unsqueeze(2)  # (B, D, 1)
            u = self.out_embed(context).unsqueeze(1)  # (B, 1, D)
            n = self.out_embed(negatives).neg()  # (B, K, D)
            pos = F.logsigmoid(lib.bmm(u, v).squeeze())
            neg = F.logsigmoid(lib.bmm(n, v).squeeze(2)).sum(1)
            return -(pos + neg).mean()

    model = set_params(SkipGram(len(vocab), 5).double(), lib, 9, 0.3)
    optimizer = lib.optim.SGD(model.parameters(), lr=0.5)
    out = {"noise": noise, "pairs": np.array(len(pairs))}
    for step in range(3):
        chosen = rng.choice(len(pairs), 6, replace=False)
        center = lib.tensor([pairs[i][0] for i in chosen])
        context = lib.tensor([pairs[i][1] for i in chosen])
        negatives = lib.tensor(rng.choice(len(vocab), (6, 3), p=noise.numpy()))
        drawn = lib.multinomial(noise, 6 * 3, replacement=True).view(6, 3)
        out.update(drawn_shape=np.array(drawn.shape), drawn_dtype=_dtype(drawn),
                   drawn_range=np.array(bool((drawn >= 0).all() and (drawn < len(vocab)).all())))
        loss = model(center, context, negatives)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        out[f"loss{step}"] = loss.detach()
    out.update(in_grad=model.in_embed.weight.grad, out_grad=model.out_embed.weight.grad, names=_names(loss))
    with lib.no_grad():
        E = F.normalize(model.in_embed.weight, dim=1)
        sims = E @ E[w2i["fox"]]
        out.update(sims=sims, nearest=sims.topk(3).indices,
                   cos=F.cosine_similarity(model.in_embed.weight[:1], model.in_embed.weight, dim=1))
    lib.manual_seed(0)
    out["distinct"] = lib.multinomial(lib.tensor([0.1, 0.2, 0.3, 0.4]), 4).sort().values
    out["rows"] = lib.multinomial(lib.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]), 3, replacement=True)
    out["zero_weight_last"] = lib.multinomial(lib.tensor([0.0, 5.0, 0.0, 1.0]), 2).sort().values
    out["no_rows"] = lib.multinomial(lib.zeros(0, 3), 2, replacement=True)
    out["no_rows_without"] = lib.multinomial(lib.zeros(0, 3), 2)
    freq = lib.bincount(lib.multinomial(lib.tensor([1.0, 3.0]), 4000, replacement=True), minlength=2).double() / 4000
    out["frequency_ok"] = np.array(bool(abs(freq[1].item() - 0.75) < 0.04))
    out["sparse_flag"] = np.array(nn.Embedding(4, 2, sparse=False).sparse)
    out["logsigmoid"] = F.logsigmoid(lib.tensor([-1000.0, -20.0, 0.0, 20.0, 1000.0], dtype=lib.float64))
    x = lib.tensor([-50.0, 0.0, 50.0], dtype=lib.float64, requires_grad=True)
    F.logsigmoid(x).sum().backward()
    out.update(logsigmoid_grad=x.grad, logsigmoid_module=nn.LogSigmoid()(lib.tensor([1.0, -1.0])))
    return out


def test_word2vec_negative_sampling_as_torch():
    check("word2vec", _word2vec_program)


def _word2vec_mistakes(lib):
    F = lib.nn.functional
    embed = lib.nn.Embedding(5, 3)
    return {
        "multinomial_too_many": (RuntimeError, lambda: lib.multinomial(lib.tensor([0.5, 0.5]), 3)),
        "multinomial_negative": (RuntimeError, lambda: lib.multinomial(lib.tensor([0.5, -0.5]), 1)),
        "multinomial_zero_sum": (RuntimeError, lambda: lib.multinomial(lib.tensor([0.0, 0.0]), 1)),
        "multinomial_nan": (RuntimeError, lambda: lib.multinomial(lib.tensor([float("nan"), 1.0]), 1)),
        "multinomial_inf": (RuntimeError, lambda: lib.multinomial(lib.tensor([float("inf"), 1.0]), 1)),
        "multinomial_3d": (RuntimeError, lambda: lib.multinomial(lib.ones(2, 2, 2), 1)),
        "multinomial_0d": (RuntimeError, lambda: lib.multinomial(lib.tensor(1.0), 1)),
        "multinomial_int": (RuntimeError, lambda: lib.multinomial(lib.tensor([1, 2]), 1)),
        "multinomial_no_categories": (RuntimeError, lambda: lib.multinomial(lib.zeros(0), 1, replacement=True)),
        "multinomial_no_categories_2d": (RuntimeError, lambda: lib.multinomial(lib.zeros(2, 0), 1, replacement=True)),
        "multinomial_zero_samples": (RuntimeError, lambda: lib.multinomial(lib.ones(3), 0)),
        "bernoulli_int": (NotImplementedError, lambda: lib.bernoulli(lib.tensor([1, 0]))),
        "embed_above": (IndexError, lambda: embed(lib.tensor([5]))),
        "embed_negative": (IndexError, lambda: embed(lib.tensor([-1]))),
        "embed_float": (RuntimeError, lambda: embed(lib.tensor([1.0]))),
        "bmm_2d": (RuntimeError, lambda: lib.bmm(lib.zeros(2, 3), lib.zeros(3, 2))),
        "bmm_batch": (RuntimeError, lambda: lib.bmm(lib.zeros(2, 3, 4), lib.zeros(3, 4, 2))),
        "bmm_inner": (RuntimeError, lambda: lib.bmm(lib.zeros(2, 3, 4), lib.zeros(2, 3, 2))),
        "normalize_int": (RuntimeError, lambda: F.normalize(lib.tensor([[1, 2]]))),
        "cosine_shapes": (RuntimeError, lambda: F.cosine_similarity(lib.zeros(2, 3), lib.zeros(2, 4))),
    }


def test_word2vec_mistakes_raise_as_torch():
    check("word2vec_mistakes", mistakes_program(_word2vec_mistakes))


# ------------------------------------------------------------------- character RNN
def _char_rnn_program(lib):
    """A character model (Embedding, 2-layer tanh RNN, Linear) trained on a batchified string
    (narrow + view) by truncated BPTT, the hidden state detached between chunks, gradient
    clipping, Adagrad; greedy decoding and temperature-scaled softmax distributions under
    no_grad; an LSTM's (h, c) handed on with repackage_hidden; perplexity."""
    nn, F = lib.nn, lib.nn.functional
    text = "hello world, hello minigrad. "
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    data = lib.tensor([stoi[c] for c in text], dtype=lib.long)
    V, H = len(chars), 8

    class CharRNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(V, 6)
            self.rnn = nn.RNN(6, H, num_layers=2, nonlinearity="tanh", batch_first=True)
            self.fc = nn.Linear(H, V)

        def forward(self, x, h=None):
            out, h = self.rnn(self.embed(x), h)
            return self.fc(out), h

    model = set_params(CharRNN().double(), lib, 10, 0.3)
    optimizer = lib.optim.Adagrad(model.parameters(), lr=0.1)
    nb = data.size(0) // 2
    source = data.narrow(0, 0, nb * 2).view(2, -1)
    h = None
    out = {"source": source}
    for step, i in enumerate(range(0, source.size(1) - 1, 5)):
        length = min(5, source.size(1) - 1 - i)
        x, y = source[:, i:i + length], source[:, i + 1:i + 1 + length]
        if h is not None:
            h = h.detach()
        logits, h = model(x, h)
        loss = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        optimizer.step()
        out[f"loss{step}"] = loss.detach()
    out.update(h_requires_grad=np.array(h.requires_grad), rnn_grad=model.rnn.weight_hh_l1.grad,
               names=_names(logits, h, loss))
    model.eval()
    with lib.no_grad():
        idx, hidden, greedy, probs = lib.tensor([[stoi["h"]]]), None, [], []
        for _ in range(8):
            logits, hidden = model(idx, hidden)
            probs.extend(F.softmax(logits[:, -1, :] / t, dim=-1) for t in (0.5, 1.0, 2.0))
            idx = logits[:, -1, :].argmax(dim=-1, keepdim=True)
            greedy.append(idx.item())
        out["sample_shape"] = np.array(lib.multinomial(probs[0], num_samples=1).shape)
    entropy = [-(p * p.log()).sum().item() for p in probs[:3]]
    out.update(greedy=np.array(greedy), probs=lib.cat(probs),
               entropy_order=np.array(entropy[0] < entropy[1] < entropy[2]))
    lstm = set_params(nn.LSTM(3, 4, batch_first=True).double(), lib, 11)
    rng = np.random.default_rng(12)

    def repackage_hidden(h):
        return h.detach() if isinstance(h, lib.Tensor) else tuple(repackage_hidden(v) for v in h)

    state = None
    for _ in range(2):
        o, state = lstm(lib.tensor(rng.standard_normal((2, 3, 3))), state)
        o.pow(2).mean().backward()
        state = repackage_hidden(state)
    out.update(lstm_state=lib.stack(state), lstm_grad=lstm.weight_ih_l0.grad,
               repackaged=np.array([type(state).__name__, str(state[0].requires_grad)]))
    with lib.no_grad():
        held = data[:12].unsqueeze(0)
        out["perplexity"] = lib.exp(F.cross_entropy(model(held[:, :-1])[0].squeeze(0), held[0, 1:]))
    return out


def test_char_rnn_as_torch():
    check("char_rnn", _char_rnn_program)


def _char_rnn_mistakes(lib):
    F, nn = lib.nn.functional, lib.nn
    rnn = nn.RNN(3, 4, batch_first=True)
    return {
        "batchify_view": (RuntimeError, lambda: lib.arange(7).view(2, -1)),
        "narrow_past": (RuntimeError, lambda: lib.arange(7).narrow(0, 4, 5)),
        "rnn_nonlinearity": (ValueError, lambda: nn.RNN(3, 4, nonlinearity="sigmoid")),
        "rnn_hidden_shape": (RuntimeError, lambda: rnn(lib.zeros(2, 5, 3), lib.zeros(1, 3, 4))),
        "embed_float": (RuntimeError, lambda: nn.Embedding(4, 3)(lib.zeros(2, 2))),
        "cross_entropy_sequence_layout": (RuntimeError, lambda: F.cross_entropy(
            lib.zeros(2, 5, 4), lib.zeros(2, 5, dtype=lib.long))),
        "cross_entropy_flat_mismatch": (ValueError, lambda: F.cross_entropy(
            lib.zeros(10, 4), lib.zeros(8, dtype=lib.long))),
        "rnn_dropout": (ValueError, lambda: nn.RNN(3, 4, dropout=1.5)),
        "rnn_hidden_size": (ValueError, lambda: nn.RNN(3, 0)),
        "rnn_num_layers": (ValueError, lambda: nn.RNN(3, 4, num_layers=0)),
        "rnn_empty_sequence": (RuntimeError, lambda: rnn(lib.zeros(2, 0, 3))),
        "item_of_many": (RuntimeError, lambda: lib.zeros(2).item()),
    }


def _char_rnn_errors_program(lib):
    out = mistakes_program(_char_rnn_mistakes)(lib)
    F = lib.nn.functional
    out["zero_temperature"] = F.softmax(lib.tensor([[1.0, 2.0]]) / 0.0, dim=-1)
    output, h = lib.nn.RNN(3, 4, batch_first=True)(lib.zeros(0, 5, 3))
    out.update(empty_batch=np.array([output.shape, h.shape]))
    return out


def test_char_rnn_mistakes_raise_as_torch():
    check("char_rnn_mistakes", _char_rnn_errors_program)


def test_rnn_input_dtype_is_torch_value_error():
    for layer in (minigrad.nn.RNN(3, 4), minigrad.nn.LSTM(3, 4), minigrad.nn.GRU(3, 4, batch_first=True)):
        with pytest.raises(ValueError, match=r"RNN input dtype \(float64\) does not match weight dtype \(float32\)"):
            layer(minigrad.zeros(2, 5, 3, dtype=minigrad.float64))


# ------------------------------------------------------------------- Transformer language model
def _transformer_lm(lib, V, D):
    nn = lib.nn

    class PositionalEncoding(nn.Module):
        def __init__(self, d_model, max_len=50):
            super().__init__()
            position = lib.arange(max_len).unsqueeze(1)
            div_term = lib.exp(lib.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
            pe = lib.zeros(max_len, 1, d_model)
            pe[:, 0, 0::2] = lib.sin(position * div_term)
            pe[:, 0, 1::2] = lib.cos(position * div_term)
            self.register_buffer("pe", pe)
            self.dropout = nn.Dropout(0.0)

        def forward(self, x):
            return self.dropout(x + self.pe[: x.size(0)])

    class TransformerModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.pos_encoder = PositionalEncoding(D)
            layer = nn.TransformerEncoderLayer(D, nhead=2, dim_feedforward=16, dropout=0.0)
            self.transformer_encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
            self.embedding = nn.Embedding(V, D)
            self.linear = nn.Linear(D, V)

        def forward(self, src, src_mask=None, src_key_padding_mask=None):
            src = self.pos_encoder(self.embedding(src) * math.sqrt(D))
            return self.linear(self.transformer_encoder(src, src_mask, src_key_padding_mask=src_key_padding_mask))

    return TransformerModel()


def _transformer_program(lib):
    """PyTorch's language-model tutorial (sinusoidal positions in a buffer, TransformerEncoder of
    two layers, generate_square_subsequent_mask) with a src_key_padding_mask and a loss masked to
    the real tokens; one sequence fully padded (PyTorch's layers attend through its safe softmax:
    finite outputs and gradients, not NaN); bool and is_causal masks in eval; the causal mask's
    independence of later tokens; a batch_first norm_first nn.Transformer with every mask."""
    nn, F = lib.nn, lib.nn.functional
    V, D, S, B = 11, 8, 6, 4
    model = set_params(_transformer_lm(lib, V, D).double(), lib, 13, 0.3)
    optimizer = lib.optim.SGD(model.parameters(), lr=0.5)
    scheduler = lib.optim.lr_scheduler.StepLR(optimizer, 1.0, gamma=0.95)
    rng = np.random.default_rng(14)
    data = lib.tensor(rng.integers(0, V, (S + 1, B)))
    mask = nn.Transformer.generate_square_subsequent_mask(S)
    out = {"mask": mask, "mask_dtype": _dtype(mask), "pe": model.pos_encoder.pe[:4, 0],
           "mask_float64": nn.Transformer.generate_square_subsequent_mask(3, dtype=lib.float64)}
    lengths = lib.tensor([S, S - 2, S - 1, 0])  # the last sequence is all padding
    pad = lib.arange(S).unsqueeze(0) >= lengths.unsqueeze(1)  # (B, S), True: padding
    for step in range(2):
        output = model(data[:-1], mask.double(), src_key_padding_mask=pad)
        loss = F.cross_entropy(output.view(-1, V), data[1:].reshape(-1), reduction="none")
        loss = (loss.view(S, B) * (~pad.T)).sum() / (~pad).sum()
        optimizer.zero_grad()
        loss.backward()
        out[f"norm{step}"] = nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        optimizer.step()
        scheduler.step()
        out[f"loss{step}"] = loss.detach()
    out.update(output=output.detach(), grad=model.transformer_encoder.layers[1].self_attn.in_proj_weight.grad,
               embedding_grad=model.embedding.weight.grad, names=_names(output, loss))
    model.eval()
    with lib.no_grad():
        bool_mask = nn.Transformer.generate_square_subsequent_mask(S).isinf()
        out["eval_bool_mask"] = model(data[:-1, :3], bool_mask, src_key_padding_mask=pad[:3])
        encoded = model.pos_encoder(model.embedding(data[:4]))
        causal = nn.Transformer.generate_square_subsequent_mask(4).double()
        out["eval_causal"] = model.transformer_encoder(encoded, mask=causal, is_causal=True)
        changed = data.clone()
        changed[-2] = (changed[-2] + 1) % V
        a, b = model(data[:-1], mask.double()), model(changed[:-1], mask.double())
        out["causal_prefix_same"] = (a[:-2] - b[:-2]).abs().max()
    tf = set_params(nn.Transformer(d_model=D, nhead=2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=12,
                                   dropout=0.0, batch_first=True, norm_first=True).double(), lib, 15, 0.3)
    src = lib.tensor(rng.standard_normal((2, 5, D)))
    tgt = lib.tensor(rng.standard_normal((2, 4, D)), requires_grad=True)
    src_pad = lib.tensor([[False] * 5, [False] * 3 + [True] * 2])
    tgt_pad = lib.tensor([[False] * 4, [False] * 3 + [True]])
    y = tf(src, tgt, tgt_mask=tf.generate_square_subsequent_mask(4, dtype=lib.float64), src_key_padding_mask=src_pad,
           tgt_key_padding_mask=tgt_pad, memory_key_padding_mask=src_pad)
    y.pow(2).sum().backward()
    out.update(tf_out=y, tf_grad=tgt.grad, tf_decoder_grad=tf.decoder.layers[0].multihead_attn.out_proj.weight.grad)
    return out


@pytest.mark.filterwarnings("ignore:Support for mismatched")  # PyTorch's, for a float mask with a bool one
@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")
def test_transformer_language_model_as_torch():
    # float32 positions: numpy's float32 sin is 1 ulp from PyTorch's in places
    check("transformer", _transformer_program, rtol=1e-6)


def _masked_attention_program(lib):
    """Queries that may attend to nothing: nn.MultiheadAttention without weights (what the
    transformer layers call) gives 0 attention there, as PyTorch's scaled_dot_product_attention,
    and NaN with weights; F.scaled_dot_product_attention with an additive -inf mask row keeps the
    gradients of q and k finite."""
    F = lib.nn.functional
    rng = np.random.default_rng(38)
    mha = set_params(lib.nn.MultiheadAttention(4, 2, batch_first=True).double(), lib, 39)
    x = lib.tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    padding = lib.tensor([[True] * 3, [False, False, True]])
    attended, none = mha(x, x, x, key_padding_mask=padding, need_weights=False)
    attended.pow(2).sum().backward()
    out = {"attended": attended, "x_grad": x.grad, "in_proj_grad": mha.in_proj_weight.grad,
           "no_weights": np.array(none is None)}
    causal = lib.ones(3, 3, dtype=lib.bool).tril().logical_not()
    out["attn_mask_all_blocked"] = mha(x, x, x, attn_mask=lib.ones(3, 3, dtype=lib.bool), need_weights=False)[0]
    out["causal"] = mha(x, x, x, attn_mask=causal, need_weights=False)[0]
    with_weights, weights = mha(x, x, x, key_padding_mask=padding)
    out.update(with_weights=with_weights, weights=weights)
    q = lib.tensor(rng.standard_normal((1, 2, 3, 4)), requires_grad=True)
    allowed = lib.tensor([[True, True, False], [False, False, False], [True, False, False]])
    additive = lib.zeros(3, 3, dtype=lib.float64).masked_fill(~allowed, float("-inf"))
    sdpa = F.scaled_dot_product_attention(q, q, q, attn_mask=additive)
    sdpa.sum().backward()
    out.update(sdpa=sdpa, sdpa_grad=q.grad)
    return out


def test_fully_masked_attention_as_torch():
    check("masked_attention", _masked_attention_program)


def _transformer_mistakes(lib):
    nn = lib.nn
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    x = lib.zeros(2, 5, 8)
    transformer = nn.Transformer(8, 2, 1, 1, 16, batch_first=True)
    return {
        "heads": (AssertionError, lambda: nn.TransformerEncoderLayer(8, 3)),
        "activation": (RuntimeError, lambda: nn.TransformerEncoderLayer(8, 2, activation="tanh")),
        "mask_shape": (RuntimeError, lambda: layer(x, src_mask=lib.zeros(4, 4))),
        "padding_shape": (AssertionError, lambda: layer(x, src_key_padding_mask=lib.zeros(2, 4, dtype=lib.bool))),
        "feature_size": (AssertionError, lambda: layer(lib.zeros(2, 5, 6))),
        "square_negative": (RuntimeError, lambda: nn.Transformer.generate_square_subsequent_mask(-1)),
        "transformer_batch": (RuntimeError, lambda: transformer(lib.zeros(2, 5, 8), lib.zeros(3, 4, 8))),
        "transformer_d_model": (RuntimeError, lambda: transformer(lib.zeros(2, 5, 6), lib.zeros(2, 4, 6))),
        "is_causal_without_mask": (RuntimeError, lambda: layer(x, is_causal=True)),
        "input_4d": (AssertionError, lambda: layer(lib.zeros(1, 2, 5, 8))),
    }


def _transformer_errors_program(lib):
    out = mistakes_program(_transformer_mistakes)(lib)
    out["square_zero"] = np.array(lib.nn.Transformer.generate_square_subsequent_mask(0).shape)
    layer = lib.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    out["empty_sequence"] = np.array(layer(lib.zeros(2, 0, 8)).shape)
    return out


def test_transformer_mistakes_raise_as_torch():
    check("transformer_mistakes", _transformer_errors_program)


# ------------------------------------------------------------------- SimCLR
def _simclr_program(lib):
    """SimCLR's NT-Xent loss three ways: a similarity matrix with fill_diagonal_(-inf) and
    cross_entropy to the other view; cosine_similarity by broadcasting, an eye mask and its roll for
    the positives, logsumexp; exp similarities with the diagonal removed by masked_select; an
    encoder with BatchNorm trained by Adam on all three; fill_diagonal_'s forms (tall, wrap, wide,
    cubes, integers, recorded); cosine_similarity and normalize at a zero vector."""
    nn, F = lib.nn, lib.nn.functional
    rng = np.random.default_rng(16)
    encoder = set_params(nn.Sequential(nn.Linear(6, 10), nn.BatchNorm1d(10), nn.ReLU(), nn.Linear(10, 4)).double(),
                         lib, 17, 0.4)
    optimizer = lib.optim.Adam(encoder.parameters(), lr=1e-2)

    def nt_xent(z1, z2, temperature=0.5):
        z = F.normalize(lib.cat([z1, z2], dim=0), dim=1)
        n = z1.shape[0]
        sim = z @ z.T / temperature
        sim.fill_diagonal_(float("-inf"))
        targets = lib.cat([lib.arange(n, 2 * n), lib.arange(0, n)])
        return F.cross_entropy(sim, targets), sim

    def nt_xent_masked(z1, z2, temperature=0.5):
        z = lib.cat([z1, z2], dim=0)
        sim = F.cosine_similarity(z.unsqueeze(1), z.unsqueeze(0), dim=-1)
        self_mask = lib.eye(sim.shape[0], dtype=lib.bool)
        sim = sim.masked_fill(self_mask, -9e15) / temperature
        pos_mask = self_mask.roll(shifts=sim.shape[0] // 2, dims=0)
        return (-sim[pos_mask] + lib.logsumexp(sim, dim=-1)).mean(), pos_mask

    def nt_xent_select(z1, z2, temperature=0.5):
        z = F.normalize(lib.cat([z1, z2]), p=2.0, dim=-1)
        n = z1.size(0)
        sim = lib.exp(lib.mm(z, z.t().contiguous()) / temperature)
        mask = (lib.ones_like(sim) - lib.eye(2 * n, dtype=sim.dtype)).bool()
        sim = sim.masked_select(mask).view(2 * n, -1)
        pos = lib.exp(lib.sum(z[:n] * z[n:], dim=-1) / temperature)
        return (-lib.log(lib.cat([pos, pos], dim=0) / sim.sum(dim=-1))).mean()

    out = {}
    for step in range(3):
        x = lib.tensor(rng.standard_normal((5, 6)))
        z1 = encoder(x + 0.1 * lib.tensor(rng.standard_normal((5, 6))))
        z2 = encoder(x * lib.tensor(rng.uniform(0.8, 1.2, (5, 6))))
        (loss, sim), (loss_masked, pos_mask) = nt_xent(z1, z2), nt_xent_masked(z1, z2)
        loss_select = nt_xent_select(z1, z2)
        optimizer.zero_grad()
        (loss + loss_masked + loss_select).backward()
        optimizer.step()
        out.update({f"loss{step}": loss.detach(), f"masked{step}": loss_masked.detach(),
                    f"select{step}": loss_select.detach()})
    out.update(sim=sim.detach(), pos_mask=pos_mask, grad=encoder[0].weight.grad,
               names=_names(loss, sim, loss_select, loss_masked))
    tall = lib.zeros(7, 3)
    out.update(fill_tall=tall.clone().fill_diagonal_(1.0), fill_tall_wrap=tall.clone().fill_diagonal_(2.0, wrap=True),
               fill_wide=lib.zeros(2, 5).fill_diagonal_(3.0), fill_cube=lib.zeros(3, 3, 3).fill_diagonal_(4.0),
               fill_int=lib.zeros(3, 3, dtype=lib.long).fill_diagonal_(7))
    a = lib.tensor(rng.standard_normal((3, 3)), requires_grad=True)
    b = a * 2
    b.fill_diagonal_(0.0)
    b.sum().backward()
    out.update(fill_grad=a.grad, fill_name=_names(b))
    u = lib.tensor([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]], dtype=lib.float64, requires_grad=True)
    cos = F.cosine_similarity(u, lib.tensor([[1.0, 0.0, 0.0]], dtype=lib.float64))
    cos.sum().backward()
    out.update(cos=cos, cos_grad=u.grad, normalize_zero=F.normalize(lib.zeros(2, 3)),
               normalize_p1=F.normalize(lib.tensor([[1.0, -3.0]]), p=1, dim=1),
               cos_module=nn.CosineSimilarity(dim=0)(lib.tensor([1.0, 1.0]), lib.tensor([2.0, 0.0])),
               pairwise=F.pairwise_distance(lib.tensor([[1.0, 2.0]]), lib.tensor([[4.0, 6.0]])))
    return out


def test_simclr_nt_xent_as_torch():
    check("simclr", _simclr_program)


def _simclr_mistakes(lib):
    F = lib.nn.functional
    return {
        "fill_diagonal_1d": (RuntimeError, lambda: lib.zeros(3).fill_diagonal_(1.0)),
        "fill_diagonal_uneven": (RuntimeError, lambda: lib.zeros(2, 3, 3).fill_diagonal_(1.0)),
        "fill_diagonal_leaf": (RuntimeError, lambda: lib.zeros(3, 3, requires_grad=True).fill_diagonal_(1.0)),
        "normalize_dim": (IndexError, lambda: F.normalize(lib.zeros(2, 3), dim=2)),
        "cosine_dim": (IndexError, lambda: F.cosine_similarity(lib.zeros(2, 3), lib.zeros(2, 3), dim=2)),
        "cosine_int": (RuntimeError, lambda: F.cosine_similarity(lib.zeros(2, 3, dtype=lib.long),
                                                                 lib.zeros(2, 3, dtype=lib.long))),
        "cosine_0d": (IndexError, lambda: F.cosine_similarity(lib.tensor(1.0), lib.tensor(1.0))),
        "masked_select_shape": (RuntimeError, lambda: lib.zeros(3, 3).masked_select(lib.ones(2, 2, dtype=lib.bool))),
        "masked_select_float_mask": (RuntimeError, lambda: lib.zeros(3, 3).masked_select(lib.ones(3, 3))),
        "eye_negative": (RuntimeError, lambda: lib.eye(-1)),
        "roll_shifts_dims": (RuntimeError, lambda: lib.zeros(3, 3).roll(shifts=(1, 2), dims=0)),
        "mm_vector": (RuntimeError, lambda: lib.mm(lib.zeros(3), lib.zeros(3, 2))),
    }


def _simclr_errors_program(lib):
    out = mistakes_program(_simclr_mistakes)(lib)
    F = lib.nn.functional
    out["all_inf_row"] = F.cross_entropy(lib.full((2, 2), float("-inf")), lib.tensor([0, 1]))
    out["logsumexp_int"] = lib.logsumexp(lib.tensor([1, 2]), dim=0)
    return out


def test_simclr_mistakes_raise_as_torch():
    check("simclr_mistakes", _simclr_errors_program, rtol=1e-6)


# ------------------------------------------------------------------- in-place writes' nodes
def _inplace_names_program(lib):
    """The grad_fn of a non-leaf after each kind of in-place write, as PyTorch names it: a write
    through a view (x[0] = v, x[0].fill_(v), x[0, [0, 1]] = v) is CopySlices, tensor indices alone
    IndexPutBackward0, fill_ FillBackward2 (a number) or FillBackward3 (a tensor; x[...] = v),
    zero_ ZeroBackward0, copy_ (and x[:] = a tensor) CopyBackwards."""
    a = lib.ones(3, 3, requires_grad=True)
    writes = {
        "row": lambda b: b.__setitem__(0, 1.0), "index_tensor": lambda b: b.__setitem__((lib.tensor([0, 1]),), 1.0),
        "mask": lambda b: b.__setitem__(b > 0, 1.0), "mask_values": lambda b: b.__setitem__(b > 0, lib.zeros(9)),
        "fill": lambda b: b.fill_(1.0), "fill_tensor": lambda b: b.fill_(lib.tensor(1.0)), "zero": lambda b: b.zero_(),
        "copy": lambda b: b.copy_(lib.ones(3, 3)), "copy_float64": lambda b: b.copy_(lib.ones(3, 3, dtype=lib.float64)),
        "view_fill": lambda b: b[0].fill_(1.0), "column": lambda b: b.__setitem__((slice(None), 1), 3.0),
        "add": lambda b: b.add_(1), "view_add": lambda b: b[0].add_(1),
        "ellipsis_column": lambda b: b.__setitem__((Ellipsis, 1), 3.0),
        "none_row": lambda b: b.__setitem__((None, 1), 3.0), "list": lambda b: b.__setitem__([0, 1], 3.0),
        "row_list": lambda b: b.__setitem__((0, [0, 1]), 3.0), "list_row": lambda b: b.__setitem__(([0, 1], 0), 2.0),
        "all_list": lambda b: b.__setitem__((slice(None), [0, 1]), 2.0), "ellipsis": lambda b: b.__setitem__(..., 3.0),
        "all_vector": lambda b: b.__setitem__(slice(None), lib.ones(3)),
        "all_scalar_tensor": lambda b: b.__setitem__(slice(None), lib.tensor(2.0)),
        "tail": lambda b: b.__setitem__(slice(1, None), 2.0), "new_axis": lambda b: b.__setitem__(None, 2.0),
        "nested": lambda b: b[0].__setitem__(1, 2.0), "transposed": lambda b: b.T.__setitem__(0, 2.0),
        "diagonal": lambda b: b.fill_diagonal_(0.0),
    }
    names, grads = [], []
    for write in writes.values():
        b = a * 2
        write(b)
        names.append(b.grad_fn.name())
        grads.append(lib.autograd.grad(b.sum(), a, allow_unused=True)[0])
    c = lib.ones(3, 3)
    c.copy_(a)
    d = lib.ones(3, 3)
    d[0] = a[0]
    e = lib.ones(3, 3)
    e[[0]] = a[0]
    f = lib.ones(3, 3)
    f.fill_(a[0, 0])
    return {"writes": np.array(list(writes)), "names": np.array(names + list(_names(c, d, e, f))),
            "grads": lib.stack(grads)}


def test_inplace_write_nodes_as_torch():
    check("inplace_names", _inplace_names_program)


# ------------------------------------------------------------------- metrics
def _metrics_program(lib):
    """Evaluation code: argmax/eq accuracy (float().mean(), sum() / len), confusion matrices by
    bincount of label * C + prediction, by index_put_ with accumulate and by a Python loop,
    precision/recall/F1 with their NaNs (nan_to_num, nanmean), the ImageNet example's top-k
    accuracy(), histc (fixed and data ranges, edges, constant data) and histogram, thresholded
    counts, AUC by ranks, per-class means by scatter_add_, argmax ties."""
    rng = np.random.default_rng(18)
    C = 4
    logits = lib.tensor(rng.standard_normal((12, C)))
    labels = lib.tensor(rng.integers(0, C, 12))
    preds = lib.argmax(logits, dim=1)
    out = {"preds": preds, "acc": preds.eq(labels).float().mean(), "correct": (preds == labels).sum(),
           "acc_item": np.array((preds == labels).sum().item() / len(labels)), "eq_dtype": _dtype(preds.eq(labels)),
           "acc_double": (preds == labels).double().mean(), "acc_true_div": (preds == labels).sum() / len(labels)}
    cm = lib.bincount(labels * C + preds, minlength=C * C).reshape(C, C)
    cm_put = lib.zeros(C, C, dtype=lib.long)
    cm_put.index_put_((labels, preds), lib.ones(12, dtype=lib.long), accumulate=True)
    cm_loop = lib.zeros(C, C, dtype=lib.long)
    for t, p in zip(labels.view(-1), preds.view(-1), strict=True):
        cm_loop[t.long(), p.long()] += 1
    tp = cm.diag()
    precision = tp / cm.sum(0).clamp(min=1)
    recall = tp.float() / cm.sum(1).float()
    f1 = 2 * precision * recall / (precision + recall)
    out.update(cm=cm, cm_put=cm_put, cm_loop=cm_loop, tp=tp, precision=precision, recall=recall, f1=f1,
               f1_no_nan=lib.nan_to_num(f1), macro_f1=lib.nanmean(f1), per_class=cm.diag().float() / cm.sum(1))

    def accuracy(output, target, topk=(1,)):
        with lib.no_grad():
            _, pred = output.topk(max(topk), 1, True, True)
            pred = pred.t()
            correct = pred.eq(target.view(1, -1).expand_as(pred))
            return [correct[:k].reshape(-1).float().sum(0, keepdim=True).mul_(100.0 / target.size(0)) for k in topk]

    out["topk"] = lib.cat(accuracy(logits, labels, topk=(1, 2, 3)))
    x = lib.tensor(rng.standard_normal(200), dtype=lib.float32)
    hist, edges = lib.histogram(x, bins=4, range=(-1.0, 1.0))
    out.update(histc=lib.histc(x, bins=8, min=-2, max=2), histc_data_range=lib.histc(x, bins=5),
               histc_double=lib.histc(x.double(), bins=4, min=0, max=1), hist=hist, edges=edges,
               histc_edges=lib.histc(lib.tensor([0.0, 0.5, 1.0, 1.0, -0.1, 1.1]), bins=2, min=0, max=1),
               histc_constant=lib.histc(lib.tensor([3.0, 3.0]), bins=4), histc_empty=lib.histc(lib.zeros(0), bins=3))
    scores = lib.tensor(rng.uniform(size=20))
    y = lib.tensor(rng.integers(0, 2, 20))
    predicted = scores.unsqueeze(0) >= lib.linspace(0, 1, 5).unsqueeze(1)
    tp_t, fp_t = (predicted & (y == 1)).sum(1), (predicted & (y == 0)).sum(1)
    ranks = scores.argsort().argsort().double() + 1
    n_pos = y.sum()
    out.update(tp_t=tp_t, fp_t=fp_t, precision_t=tp_t / (tp_t + fp_t).clamp(min=1),
               auc=(ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * (len(y) - n_pos)),
               class_means=lib.zeros(2, dtype=lib.float64).scatter_add_(0, y, scores.double()) / lib.bincount(y),
               argmax_ties=lib.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]).argmax(1), argmax_flat=logits.argmax(),
               argmax_keepdim=logits.argmax(dim=1, keepdim=True),
               bincount_past_minlength=lib.bincount(lib.tensor([5]), minlength=2))
    return out


def test_metrics_as_torch():
    check("metrics", _metrics_program)


def _metrics_mistakes(lib):
    long_cm = lib.zeros(2, 2, dtype=lib.long)
    at = (lib.tensor([0]), lib.tensor([1]))
    return {
        "mean_of_bool": (RuntimeError, lambda: (lib.zeros(3) == 0).mean()),
        "mean_of_long": (RuntimeError, lambda: lib.tensor([1, 2]).mean()),
        "histc_no_bins": (RuntimeError, lambda: lib.histc(lib.zeros(3), bins=0)),
        "histc_min_above_max": (RuntimeError, lambda: lib.histc(lib.zeros(3), bins=3, min=2, max=1)),
        "histc_nan": (RuntimeError, lambda: lib.histc(lib.tensor([float("nan"), 1.0]), bins=3)),
        "histc_inf": (RuntimeError, lambda: lib.histc(lib.tensor([float("inf"), 1.0]), bins=3)),
        "topk_too_big": (RuntimeError, lambda: lib.zeros(2, 3).topk(4, 1)),
        "argmax_dim": (IndexError, lambda: lib.zeros(2, 3).argmax(2)),
        "eq_shapes": (RuntimeError, lambda: lib.zeros(2, 3).eq(lib.zeros(3, 2))),
        "expand_as": (RuntimeError, lambda: lib.zeros(1, 3).expand_as(lib.zeros(2, 4))),
        "index_put_dtypes": (RuntimeError, lambda: long_cm.index_put_(at, lib.ones(1), accumulate=True)),
        "index_put_dtypes_no_accumulate": (RuntimeError, lambda: long_cm.index_put_(at, lib.ones(1))),
        "index_put_float64": (RuntimeError, lambda: lib.zeros(2, 2).index_put(at, lib.ones(1, dtype=lib.float64))),
        "index_put_range": (IndexError, lambda: lib.zeros(2, 2).index_put_(
            (lib.tensor([2]), lib.tensor([1])), lib.ones(1), accumulate=True)),
        "nanmean_int": (RuntimeError, lambda: lib.nanmean(lib.tensor([1, 2]))),
        "confusion_reshape": (RuntimeError, lambda: lib.bincount(lib.tensor([0, 15]), minlength=9).reshape(3, 3)),
    }


def test_metrics_mistakes_raise_as_torch():
    check("metrics_mistakes", mistakes_program(_metrics_mistakes))


# ------------------------------------------------------------------- GradScaler on the CPU
def _grad_scaler_program(lib):
    """torch.amp.GradScaler("cpu") as courses write the AMP loop (autocast turned off with
    enabled=False: minigrad has no bfloat16): scale, backward, unscale_ before clipping, step
    (skipped on an inf gradient, the scale backed off), update with growth; state_dict."""
    nn, F = lib.nn, lib.nn.functional
    rng = np.random.default_rng(19)
    model = set_params(nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3)), lib, 20, 0.4)
    optimizer = lib.optim.SGD(model.parameters(), lr=0.1)
    scaler = lib.amp.GradScaler("cpu", init_scale=2.0**4, growth_interval=2)
    out = {}
    for step in range(4):
        x = lib.tensor(rng.standard_normal((6, 5)), dtype=lib.float32)
        y = lib.tensor(rng.integers(0, 3, 6))
        with lib.autocast(device_type="cpu", enabled=False):
            loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        scaler.scale(loss).backward()
        if step == 2:
            model[0].weight.grad[0, 0] = float("inf")
        scaler.unscale_(optimizer)
        out[f"norm{step}"] = nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(optimizer)
        scaler.update()
        out[f"loss{step}"], out[f"scale{step}"] = loss.detach(), np.array(scaler.get_scale())
    out.update(weights=model[0].weight, enabled=np.array(scaler.is_enabled()),
               state=np.array(sorted(scaler.state_dict().items()), dtype=object).astype(str))
    return out


# minigrad's CPU multiply lets numpy warn about inf * 0 (clipping an inf gradient); PyTorch is silent
@pytest.mark.filterwarnings("ignore:invalid value encountered in multiply:RuntimeWarning")
def test_grad_scaler_cpu_as_torch():
    check("grad_scaler", _grad_scaler_program, rtol=1e-6)


# ------------------------------------------------------------------- early stopping and schedulers
def _early_stopping_program(lib):
    """Early stopping on the validation loss (patience, the best state_dict kept by deepcopy and
    restored), ReduceLROnPlateau (cooldown, min_lr, threshold) stepped with it; a state_dict()
    without deepcopy follows training, a cloned one does not; SequentialLR (LinearLR warmup, then
    CosineAnnealingLR), LambdaLR, ChainedScheduler, MultiplicativeLR, PolynomialLR sequences;
    ReduceLROnPlateau in max mode with an absolute threshold and per-group min_lr."""
    nn, F = lib.nn, lib.nn.functional
    sched = lib.optim.lr_scheduler
    rng = np.random.default_rng(21)
    model = set_params(nn.Sequential(nn.Linear(3, 6), nn.Tanh(), nn.Linear(6, 1)).double(), lib, 22, 0.5)
    optimizer = lib.optim.SGD(model.parameters(), lr=0.2, momentum=0.5)
    plateau = sched.ReduceLROnPlateau(optimizer, mode="min", factor=0.5, patience=1, threshold=1e-3, cooldown=1,
                                      min_lr=1e-3)
    X_train = lib.tensor(rng.standard_normal((16, 3)))
    y_train = X_train.sum(1, keepdim=True).sin()
    X_val = lib.tensor(rng.standard_normal((8, 3)))
    y_val = X_val.sum(1, keepdim=True).sin() + 0.5 * lib.tensor(rng.standard_normal((8, 1)))
    best_loss, best_state, best_epoch, wait = float("inf"), None, -1, 0
    lrs, losses = [], []
    for epoch in range(12):
        model.train()
        loss = F.mse_loss(model(X_train), y_train)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        model.eval()
        with lib.no_grad():
            val = F.mse_loss(model(X_val), y_val).item()
        plateau.step(val)
        lrs.append(optimizer.param_groups[0]["lr"])
        losses.append(val)
        if val < best_loss - 1e-4:
            best_loss, best_epoch, wait = val, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            wait += 1
            if wait >= 3:
                break
    out = {"lrs": np.array(lrs), "val_losses": np.array(losses), "best_epoch": np.array(best_epoch),
           "stopped": np.array(epoch), "last_lr": np.array(plateau.get_last_lr()),
           "bad_epochs": np.array(plateau.num_bad_epochs)}
    current = model[0].weight.detach().clone()
    model.load_state_dict(best_state)
    out.update(restored=model[0].weight.detach(), moved=np.array(bool((current - model[0].weight).abs().max() > 0)),
               own_memory=np.array(best_state["0.weight"].data_ptr() != model[0].weight.data_ptr()))
    live = model.state_dict()
    cloned = {k: v.clone() for k, v in live.items()}
    with lib.no_grad():
        model[0].weight.add_(1.0)
    out.update(live_follows=np.array(bool((live["0.weight"] == model[0].weight).all())),
               clone_kept=(model[0].weight - cloned["0.weight"]).detach())

    def fresh():
        return lib.optim.SGD([lib.zeros(1, requires_grad=True)], lr=0.1)

    schedulers = {}
    o = fresh()
    schedulers["sequential"] = (o, sched.SequentialLR(o, [sched.LinearLR(o, start_factor=0.1, total_iters=3),
                                                          sched.CosineAnnealingLR(o, T_max=5, eta_min=0.01)],
                                                      milestones=[3]))
    o = fresh()
    schedulers["lambda"] = (o, sched.LambdaLR(o, lr_lambda=lambda e: 0.95**e if e >= 2 else (e + 1) / 3))
    o = fresh()
    schedulers["chained"] = (o, sched.ChainedScheduler([sched.ExponentialLR(o, gamma=0.9),
                                                        sched.StepLR(o, step_size=3, gamma=0.5)]))
    o = fresh()
    schedulers["multiplicative"] = (o, sched.MultiplicativeLR(o, lr_lambda=lambda e: 0.8))
    o = fresh()
    schedulers["polynomial"] = (o, sched.PolynomialLR(o, total_iters=4, power=2.0))
    sequences = {name: [] for name in schedulers}
    for _ in range(9):
        for name, (o, s) in schedulers.items():
            o.step()
            s.step()
            sequences[name].append(s.get_last_lr()[0])
    out.update({name: np.array(v) for name, v in sequences.items()})
    o = lib.optim.Adam([{"params": [lib.zeros(1, requires_grad=True)], "lr": 0.1},
                        {"params": [lib.zeros(1, requires_grad=True)], "lr": 0.01}])
    plateau_max = sched.ReduceLROnPlateau(o, mode="max", factor=0.1, patience=0, threshold=0.01, threshold_mode="abs",
                                          min_lr=[0.005, 0.0001])
    max_lrs = []
    for accuracy in [0.5, 0.505, 0.52, 0.52, 0.6, 0.59, 0.58, float("nan")]:
        plateau_max.step(accuracy)
        max_lrs.append([g["lr"] for g in o.param_groups])
    out.update(plateau_max=np.array(max_lrs), plateau_state=np.array(sorted(plateau_max.state_dict())))
    return out


def test_early_stopping_and_schedulers_as_torch():
    check("early_stopping", _early_stopping_program, rtol=1e-12)


# ------------------------------------------------------------------- reproducible data loading
def _loader_seeds_program(lib):
    """PyTorch's reproducibility recipe: DataLoader(shuffle=True, generator=g) with g seeded gives
    the same epochs for the same seed, new orders each epoch, other orders for another seed;
    manual_seed for the default generator; drop_last; randperm/rand/randint with generators;
    get_rng_state/set_rng_state and Generator.get_state/set_state round trips; initial_seed;
    random_split and RandomSampler with generators; worker_init_fn never called with
    num_workers=0."""
    data = lib.utils.data
    ds = data.TensorDataset(lib.arange(20.0).reshape(10, 2), lib.arange(10))

    def epochs(seed, **kw):
        loader = data.DataLoader(ds, batch_size=4, shuffle=True, generator=lib.Generator().manual_seed(seed), **kw)
        return [lib.cat([b[1] for b in loader]).tolist() for _ in range(2)]

    def global_seeded(seed):
        lib.manual_seed(seed)
        return [b[1].tolist() for b in data.DataLoader(ds, batch_size=4, shuffle=True)]

    a, c = epochs(0), epochs(1)
    out = {"same_seed": np.array(a == epochs(0)), "epochs_differ": np.array(a[0] != a[1]),
           "seeds_differ": np.array(a != c), "permutation": np.array(sorted(a[0]) == list(range(10))),
           "global_seed": np.array(global_seeded(3) == global_seeded(3)),
           "batch_sizes": np.array([len(b) for b in global_seeded(3)]),
           "drop_last": np.array([len(b[1]) for b in data.DataLoader(ds, batch_size=4, shuffle=True, drop_last=True)])}
    g1, g2 = lib.Generator().manual_seed(7), lib.Generator().manual_seed(7)
    out["randperm"] = np.array(lib.randperm(8, generator=g1).tolist() == lib.randperm(8, generator=g2).tolist())
    out["rand"] = np.array(bool((lib.rand(3, generator=g1) == lib.rand(3, generator=g2)).all()))
    ints = lib.randint(2, 5, (50,), generator=g1)
    out["randint_range"] = np.array(bool(((ints >= 2) & (ints < 5)).all()))
    state = lib.get_rng_state()
    first = lib.rand(4)
    lib.set_rng_state(state)
    out["rng_state"] = np.array(bool((first == lib.rand(4)).all()))
    g3 = lib.Generator().manual_seed(11)
    state = g3.get_state()
    first = lib.randn(3, generator=g3)
    g3.set_state(state)
    out["generator_state"] = np.array(bool((first == lib.randn(3, generator=g3)).all()))
    out["initial_seed"] = np.array(lib.Generator().manual_seed(5).initial_seed())
    lib.manual_seed(42)
    out["initial_seed_global"] = np.array(lib.initial_seed())

    def split(seed):
        parts = data.random_split(ds, [0.7, 0.3], generator=lib.Generator().manual_seed(seed))
        return [sorted(p.indices) for p in parts]

    out.update(split_same=np.array(split(1) == split(1)), split_sizes=np.array([len(p) for p in split(1)]))
    drawn = list(data.RandomSampler(ds, replacement=True, num_samples=15, generator=lib.Generator().manual_seed(2)))
    out.update(sampler_len=np.array(len(drawn)), sampler_range=np.array(all(0 <= i < 10 for i in drawn)),
               sampler_types=np.array(sorted({type(i).__name__ for i in drawn})))
    calls = []
    for _ in data.DataLoader(ds, batch_size=5, worker_init_fn=calls.append):
        pass
    out["worker_init_calls"] = np.array(len(calls))
    return out


def test_reproducible_loading_as_torch():
    check("loader_seeds", _loader_seeds_program)


def _loading_mistakes(lib):
    data = lib.utils.data
    ds = data.TensorDataset(lib.zeros(4, 2), lib.zeros(4))
    return {
        "manual_seed_str": (ValueError, lambda: lib.manual_seed("a")),
        "randperm_negative": (RuntimeError, lambda: lib.randperm(-1)),
        "randperm_float": (TypeError, lambda: lib.randperm(2.5)),
        "sampler_num_samples": (ValueError, lambda: data.RandomSampler(ds, num_samples=0)),
        "loader_numpy_generator": (TypeError, lambda: list(data.DataLoader(
            ds, shuffle=True, generator=np.random.default_rng(0)))),
        "dataset_index": (IndexError, lambda: ds[4]),
        "batch_sampler_and_batch_size": (ValueError, lambda: data.DataLoader(ds, batch_size=2, batch_sampler=[[0, 1]])),
        "normal_negative_std": (RuntimeError, lambda: lib.normal(0.0, -1.0, (2,))),
        "normal_tensor_requires_grad": (TypeError, lambda: lib.normal(lib.zeros(2), 1.0, requires_grad=True)),
        "normal_without_size": (TypeError, lambda: lib.normal(0.0, 1.0)),
        "randn_negative": (RuntimeError, lambda: lib.randn(-2)),
        "plateau_factor": (ValueError, lambda: lib.optim.lr_scheduler.ReduceLROnPlateau(
            lib.optim.SGD([lib.zeros(1, requires_grad=True)], lr=0.1), factor=1.0)),
        "plateau_mode": (ValueError, lambda: lib.optim.lr_scheduler.ReduceLROnPlateau(
            lib.optim.SGD([lib.zeros(1, requires_grad=True)], lr=0.1), mode="up")),
        "lambda_count": (ValueError, lambda: lib.optim.lr_scheduler.LambdaLR(
            lib.optim.SGD([lib.zeros(1, requires_grad=True)], lr=0.1), [lambda e: 1.0, lambda e: 1.0])),
    }


def test_loading_mistakes_raise_as_torch():
    check("loading_mistakes", mistakes_program(_loading_mistakes))
