"""A user's whole modular-arithmetic network, run from its weights: accuracy, loss and the
progress measures of Nanda et al. (2023).

When a checkpoint holds a whole network of a standard shape, effgrok runs its forward pass
itself (NumPy, float64; no torch) on every ordered pair of symbols and measures

* **train and test accuracy and cross-entropy loss** on the user's split;
* the **progress measures** of Nanda, Chan, Lieberum, Smith & Steinhardt, "Progress measures
  for grokking via mechanistic interpretability" (ICLR 2023, arXiv 2301.05217), §5.1, at the
  key frequencies ``K`` (below).

Logit directions
----------------
For a task ``c = a ∘ b`` that is addition in a cyclic group ``Z_m`` after relabelling
(``add-mod``: ``m = p``; ``sub-mod``: ``b ↦ −b``; ``mul-mod``: discrete logarithm, ``m = p − 1``),
write ``i(a) + j(b) ≡ k(c) (mod m)``.  Over the whole table of logits ``z[a, b, c]`` (all ``n²``
ordered pairs × the ``C`` classes) the directions of frequency ``w`` are

    cos θ_w,  sin θ_w,   θ_w(a, b, c) = 2π w (i(a) + j(b) − k(c)) / m,    w = 1 … ⌊m/2⌋.

They are orthogonal to each other (across ``w`` too), to every per-class constant (a bias) and
to every per-example constant (which softmax ignores).  ``P_w z`` is the orthogonal projection
of ``z`` onto the span of ``cos θ_w, sin θ_w``; ``E_w = ‖P_w z‖²``.

* **restricted loss**: the loss on all pairs of the user's split of ``z_K = b + Σ_{w∈K} P_w z``,
  where ``b[c] = mean_{a,b} z[a, b, c]`` is the per-class mean over the table -- what Nanda et
  al.'s "bias correction" keeps (their code adds the batch mean of the removed part back).
* **excluded loss**: the loss on the training pairs of ``z − Σ_{w∈K} P_w z``.
* **key-frequency logit share**: ``Σ_{w∈K} E_w / ‖z_cc‖²`` with ``z_cc`` the logits centred
  over the classes (per example) and over the examples (per class).  In ``[0, 1]`` and
  independent of the logits' size, unlike the restricted loss, which falls when logits merely
  grow.

Difference from Nanda et al.'s code: for each frequency they keep the components along
``cos(w(a+b))`` and ``sin(w(a+b))`` of *each class's* logit column separately (``2C``
directions per frequency); effgrok keeps the two directions ``cos/sin(w(a+b−c))`` that the
paper's algorithm writes its logits in.  A network that implements that algorithm puts its
logits in both; a network that does not is credited less by effgrok's.

Key frequencies ``K``: the fewest frequencies, strongest ``E_w`` first, holding ``key_power``
(0.9) of ``Σ_w E_w`` (:func:`logit_key_frequencies`).  Nanda et al. fix them from the *final*
network and use them at every checkpoint; :func:`~effgrok.diagnostics.inspection.inspect_series`
does the same (the last checkpoint's), and also reports each checkpoint's own.

Architectures (:data:`ARCHITECTURES`), recognised from the tensors' shapes
(:func:`recognise_network`); names are matched after dropping a ``model.``, ``module.``,
``state_dict.`` or ``_orig_mod.`` prefix:

``mlp-concat`` / ``mlp-sum``
    ``h = φ([E_a, E_b] W1 + b1)`` (concatenated) or ``h = φ((E_a + E_b) W1 + b1)`` (summed),
    ``z = h W2 + b2``; biases optional.  ``E``: the one tensor with ``n`` (or ``n`` + a few
    extra tokens) rows.  Linear weights named ``*.weight`` are PyTorch's ``(out, in)``, others
    ``(in, out)`` (only square ones need the rule).
``effgrok-mlp`` / ``effgrok-embed-sum`` / ``effgrok-transformer``
    :attr:`effgrok.nets.modular.ModularRuns.params` of one run (``W1, b1, W2, b2``;
    ``E, W_in, W_out, W_U``; ``tok, pos, ln1_g, …, Wu``), as :mod:`effgrok.nets.modular` and
    :mod:`effgrok.nets.transformer` define them.
``transformer-lens``
    Transformers in TransformerLens naming (``embed.W_E``, ``pos_embed.W_pos``,
    ``blocks.L.attn.W_Q/W_K/W_V/W_O`` with optional ``b_Q/b_K/b_V/b_O``,
    ``blocks.L.mlp.W_in/b_in/W_out/b_out``, optional ``blocks.L.ln1/ln2.w/b`` and
    ``ln_final.w/b``, ``unembed.W_U`` and optional ``b_U``; the ``mask`` and ``IGNORE`` buffers
    are ignored): HookedTransformer's shapes (``W_E`` ``(d_vocab, d_model)``, ``W_Q``
    ``(heads, d_model, d_head)``, ``W_O`` ``(heads, d_head, d_model)``) or those of Nanda et
    al.'s grokking code (``W_E`` ``(d_model, d_vocab)``, ``W_Q`` ``(heads, d_head, d_model)``,
    ``W_O`` ``(d_model, heads·d_head)``, ``W_in`` ``(d_mlp, d_model)``).  Input ``[a, b, =]``
    with ``=`` the token ``n`` when ``W_pos`` has 3 rows, ``[a, ∘, b, =]`` (tokens ``n``,
    ``n + 1``) when it has 4; causal attention scaled by ``1/√d_head``; logits at the last
    position; outputs beyond the ``C`` classes (Nanda et al.'s ``=`` output) are dropped, as in
    their code.

Symbols are token ids ``0 … n − 1`` in the task's symbol order (``mul-mod``: symbol ``s`` is
token ``s − 1``) and output ``c`` is the task's result class ``c``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._checks import choice, fraction
from .._record import Result, jsonable
from .._record import never_to_none as _num
from ..tasks import Task

__all__ = [
    "ACTIVATIONS",
    "ARCHITECTURES",
    "LOG_COLUMNS",
    "Network",
    "NetworkMeasures",
    "TrainingLog",
    "cross_entropy",
    "logit_fourier_energy",
    "logit_key_frequencies",
    "network_measures",
    "pair_split",
    "read_training_log",
    "recognise_network",
    "strip_prefix",
]

#: Whole-network architectures :func:`recognise_network` knows (module docstring).
ARCHITECTURES = (
    "mlp-concat",
    "mlp-sum",
    "effgrok-mlp",
    "effgrok-embed-sum",
    "effgrok-transformer",
    "transformer-lens",
)
#: Hidden nonlinearities of the MLPs (``gelu``: the exact erf form, PyTorch's default;
#: ``gelu-tanh``: the tanh approximation, JAX's default).
ACTIVATIONS = ("relu", "gelu", "gelu-tanh", "tanh", "silu", "quadratic")
_PREFIXES = ("model.", "module.", "state_dict.", "_orig_mod.", "net.", "network.")
_BUFFERS = re.compile(r"(^|\.)(mask|IGNORE|num_batches_tracked)$")


def strip_prefix(name: str) -> str:
    """``name`` without leading ``model.``, ``module.``, ``state_dict.`` (``_orig_mod.``, ``net.``)
    wrappers.

    >>> strip_prefix("module.model.embed.weight")
    'embed.weight'
    """
    changed = True
    while changed:
        changed = False
        for p in _PREFIXES:
            if name.startswith(p) and len(name) > len(p):
                name, changed = name[len(p) :], True
    return name


def _act(name: str):
    if name == "relu":
        return lambda h: np.maximum(h, 0.0)
    if name == "gelu":
        from scipy.special import erf

        return lambda h: 0.5 * h * (1.0 + erf(h / math.sqrt(2.0)))
    if name == "gelu-tanh":
        return lambda h: 0.5 * h * (1 + np.tanh(math.sqrt(2 / math.pi) * (h + 0.044715 * h**3)))
    if name == "tanh":
        return np.tanh
    if name == "silu":
        return lambda h: h / (1.0 + np.exp(-h))
    return lambda h: h * h


# --------------------------------------------------------------------------- the network
@dataclass(frozen=True)
class Network:
    """A recognised network (see :func:`recognise_network`).

    Attributes
    ----------
    arch : str
        One of :data:`ARCHITECTURES`.
    params : dict of str to ndarray
        Role → float64 array, in effgrok's ``(in, out)`` orientation.
    activation : str
    heads : int or None
        Attention heads (transformers).
    embedding_tensor : str
        Name in the file of the symbol embedding (the first layer for ``effgrok-mlp``).
    vocab : int
        Rows of that tensor's symbol axis (``n`` plus extra tokens).
    how : str
        Which tensor plays which role, in words.
    """

    arch: str
    params: dict = field(repr=False)
    activation: str
    heads: int | None
    embedding_tensor: str
    vocab: int
    how: str

    def logits(self, task: Task) -> np.ndarray:
        """Logits of every ordered pair of symbol indices, shape ``(n, n, n_classes)`` (float64)."""
        n, C = task.n_symbols, task.n_classes
        P = self.params
        if self.arch in ("mlp-concat", "mlp-sum", "effgrok-mlp", "effgrok-embed-sum"):
            if self.arch == "effgrok-mlp":
                W1 = P["W1"]
                left, right = W1[:n], (W1[n : 2 * n] if W1.shape[0] == 2 * n else W1[:n])
                pre_a, pre_b = left + P["b1"], right
            elif self.arch == "effgrok-embed-sum":
                E = P["E"]
                Er = E[n : 2 * n] if E.shape[0] == 2 * n else E[:n]
                pre_a, pre_b = E[:n] @ P["W_in"], Er @ P["W_in"]
            else:
                E, W1 = P["E"][:n], P["W1"]
                d = E.shape[1]
                if self.arch == "mlp-concat":
                    pre_a, pre_b = E @ W1[:d], E @ W1[d:]
                else:
                    pre_a = pre_b = E @ W1
                pre_a = pre_a + P.get("b1", 0.0)
            h = _act(self.activation)(pre_a[:, None, :] + pre_b[None, :, :])
            if self.arch == "effgrok-embed-sum":
                z = (h @ P["W_out"]) @ P["W_U"]
            else:
                z = h @ P["W2"] + P.get("b2", 0.0)
        elif self.arch == "effgrok-transformer":
            from ..nets.transformer import _logits

            a, b = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
            a, b = a.ravel(), b.ravel()
            tokens = np.stack([a, np.full_like(a, n), b, np.full_like(a, n + 1)], axis=1)
            z = _logits(P, tokens, self.heads, np).reshape(n, n, -1)
        else:
            z = _lens_logits(P, n, self.heads).reshape(n, n, -1)
        return np.ascontiguousarray(z[..., :C])


def _layer_norm(x, w, b, eps=1e-5):
    x = x - x.mean(axis=-1, keepdims=True)
    return x / np.sqrt((x * x).mean(axis=-1, keepdims=True) + eps) * w + b


def _lens_logits(P: dict, n: int, heads: int) -> np.ndarray:
    """TransformerLens forward pass on every ``[a, b, =]`` (``[a, ∘, b, =]``) sequence."""
    ctx = P["W_pos"].shape[0]
    a, b = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    a, b = a.ravel(), b.ravel()
    eq = np.full_like(a, n)
    toks = np.stack([a, b, eq], 1) if ctx == 3 else np.stack([a, eq, b, eq + 1], 1)
    x = P["W_E"][toks] + P["W_pos"][None]  # (N, T, d)
    T = x.shape[1]
    causal = np.tril(np.ones((T, T), dtype=bool))
    L = 0
    while f"{L}.W_Q" in P:
        pre = f"{L}."
        u = _layer_norm(x, P[pre + "ln1.w"], P[pre + "ln1.b"]) if pre + "ln1.w" in P else x
        q = np.einsum("ntd,hde->nhte", u, P[pre + "W_Q"]) + P[pre + "b_Q"][None, :, None, :]
        k = np.einsum("ntd,hde->nhte", u, P[pre + "W_K"]) + P[pre + "b_K"][None, :, None, :]
        v = np.einsum("ntd,hde->nhte", u, P[pre + "W_V"]) + P[pre + "b_V"][None, :, None, :]
        s = np.einsum("nhqe,nhke->nhqk", q, k) / math.sqrt(q.shape[-1])
        s = np.where(causal, s, -np.inf)
        s = s - s.max(axis=-1, keepdims=True)
        att = np.exp(s)
        att /= att.sum(axis=-1, keepdims=True)
        zh = np.einsum("nhqk,nhke->nhqe", att, v)
        x = x + np.einsum("nhqe,hed->nqd", zh, P[pre + "W_O"]) + P[pre + "b_O"]
        u = _layer_norm(x, P[pre + "ln2.w"], P[pre + "ln2.b"]) if pre + "ln2.w" in P else x
        h = _act(P["_act"])(u @ P[pre + "W_in"] + P[pre + "b_in"])
        x = x + h @ P[pre + "W_out"] + P[pre + "b_out"]
        L += 1
    last = x[:, -1]
    if "ln_final.w" in P:
        last = _layer_norm(last, P["ln_final.w"], P["ln_final.b"])
    return last @ P["W_U"] + P["b_U"]


# --------------------------------------------------------------------------- recognition
def _shapes_line(tensors: dict) -> str:
    items = [f"{k} {tuple(np.shape(v))}" for k, v in tensors.items()]
    more = f" and {len(items) - 24} more" if len(items) > 24 else ""
    return ", ".join(items[:24]) + more


def _params_of(tensors: dict) -> dict[str, tuple[str, np.ndarray]]:
    """Stripped name → (original name, array) of the numeric tensors that are not buffers."""
    out = {}
    for k, v in tensors.items():
        arr = np.asarray(v)
        if arr.dtype.kind not in "fiu" or _BUFFERS.search(k) or arr.ndim == 0:
            continue
        s = strip_prefix(k)
        if s in out:
            raise ValueError(f"two tensors are named {s!r} after dropping their prefixes")
        out[s] = (k, arr)
    return out


def recognise_network(
    tensors: dict,
    task: Task,
    *,
    arch: str = "auto",
    activation: str = "relu",
    heads: int | None = None,
) -> Network | None:
    """The whole network in a checkpoint's tensors, or None when they hold no standard one.

    ``arch="auto"`` tries every architecture of :data:`ARCHITECTURES` (module docstring) and
    returns the one that fits; None when none does (then only embedding measures apply).  A
    named ``arch`` that does not fit raises one ``ValueError`` naming the shapes found.

    Parameters
    ----------
    tensors : dict of str to ndarray
        As :func:`effgrok.diagnostics.loaders.read_tensors` returns.
    task : Task
    arch : str
        ``"auto"`` or one of :data:`ARCHITECTURES`.
    activation : str
        The MLPs' hidden nonlinearity (:data:`ACTIVATIONS`; default ReLU).
    heads : int, optional
        Attention heads of an ``effgrok-transformer`` (default 4, effgrok's); TransformerLens
        files carry it in their shapes.

    Examples
    --------
    >>> import numpy as np, effgrok as eg
    >>> t = eg.make_task("add-mod", 5)
    >>> rng = np.random.default_rng(0)
    >>> sd = {"model.embed.weight": rng.normal(size=(5, 3)), "model.fc1.weight": rng.normal(size=(8, 6)),
    ...       "model.fc1.bias": np.zeros(8), "model.fc2.weight": rng.normal(size=(5, 8))}
    >>> net = recognise_network(sd, t)
    >>> net.arch, net.logits(t).shape
    ('mlp-concat', (5, 5, 5))
    """
    choice("arch", arch, ("auto", *ARCHITECTURES))
    choice("activation", activation, ACTIVATIONS)
    try:
        params = _params_of(tensors)
    except ValueError:
        if arch == "auto":  # names clash after dropping prefixes: no standard network
            return None
        raise
    names = set(params)
    order = ARCHITECTURES if arch == "auto" else (arch,)
    reasons = []
    for a in order:
        try:
            net = _TRY[a](params, task, activation, heads)
        except _NoFit as exc:
            reasons.append(f"{a}: {exc}")
            continue
        if net is not None:
            return net
    if arch == "auto":
        return None
    raise ValueError(
        f"not a {arch} network for {task.name} (n={task.n_symbols}, {task.n_classes} classes): "
        f"{reasons[0].split(': ', 1)[1]}; tensors found: "
        + _shapes_line({k: params[k][1] for k in sorted(names)})
    )


class _NoFit(Exception):
    pass


def _f64(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def _finite(name: str, arr: np.ndarray) -> None:
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"tensor {name!r} has NaN or infinite entries")


def _strip_run_axis(params: dict, keys, base_ndim: dict) -> dict:
    """effgrok's own params may carry a leading run axis of length 1."""
    out = {}
    for k in keys:
        arr = params[k][1]
        if arr.ndim == base_ndim[k] + 1 and arr.shape[0] == 1:
            arr = arr[0]
        elif arr.ndim != base_ndim[k]:
            raise _NoFit(f"{k} has shape {arr.shape}")
        out[k] = _f64(arr)
    return out


def _try_effgrok_mlp(params, task, activation, heads):
    keys = ("W1", "b1", "W2", "b2")
    if not set(keys) <= set(params) or len(params) != 4:
        raise _NoFit("needs exactly W1, b1, W2, b2")
    P = _strip_run_axis(params, keys, {"W1": 2, "b1": 1, "W2": 2, "b2": 1})
    n, C = task.n_symbols, task.n_classes
    h = P["W1"].shape[1]
    if P["W1"].shape[0] not in (n, 2 * n) or P["b1"].shape != (h,) or P["W2"].shape != (h, C):
        raise _NoFit(f"W1 {P['W1'].shape}, b1 {P['b1'].shape}, W2 {P['W2'].shape} do not chain")
    if P["b2"].shape != (C,):
        raise _NoFit(f"b2 {P['b2'].shape} is not ({C},)")
    how = f"effgrok one-hot MLP: W1 {P['W1'].shape} (its rows embed the symbols), hidden {h}, {activation}"
    return Network("effgrok-mlp", P, activation, None, params["W1"][0], P["W1"].shape[0], how)


def _try_effgrok_embed_sum(params, task, activation, heads):
    keys = ("E", "W_in", "W_out", "W_U")
    if not set(keys) <= set(params) or len(params) != 4:
        raise _NoFit("needs exactly E, W_in, W_out, W_U")
    P = _strip_run_axis(params, keys, dict.fromkeys(keys, 2))
    n, C = task.n_symbols, task.n_classes
    E = P["E"]
    ok = (
        E.shape[0] in (n, 2 * n)
        and P["W_in"].shape[0] == E.shape[1]
        and P["W_out"].shape[0] == P["W_in"].shape[1]
        and P["W_U"].shape == (P["W_out"].shape[1], C)
    )
    if not ok:
        raise _NoFit("E, W_in, W_out, W_U do not chain")
    how = f"effgrok embed-sum MLP: E {E.shape}, hidden {P['W_in'].shape[1]}, {activation}"
    return Network("effgrok-embed-sum", P, activation, None, params["E"][0], E.shape[0], how)


_EFFGROK_TRANSFORMER = ("tok", "pos", "ln1_g", "ln1_b", "Wq", "Wk", "Wv", "Wo", "ln2_g", "ln2_b")
_EFFGROK_TRANSFORMER += ("W1", "b1", "W2", "b2", "lnf_g", "lnf_b", "Wu")


def _try_effgrok_transformer(params, task, activation, heads):
    if set(params) != set(_EFFGROK_TRANSFORMER):
        raise _NoFit("needs exactly " + ", ".join(_EFFGROK_TRANSFORMER))
    nd = {k: 1 if k.startswith(("ln", "b")) else 2 for k in _EFFGROK_TRANSFORMER}
    P = _strip_run_axis(params, _EFFGROK_TRANSFORMER, nd)
    n, C = task.n_symbols, task.n_classes
    d = P["tok"].shape[1]
    heads = 4 if heads is None else int(heads)
    if P["tok"].shape[0] != n + 2 or P["pos"].shape != (4, d) or P["Wu"].shape != (d, C):
        raise _NoFit(f"tok {P['tok'].shape}, pos {P['pos'].shape}, Wu {P['Wu'].shape} do not fit")
    if heads < 1 or d % heads:
        raise ValueError(f"--heads {heads} does not divide the width {d}")
    how = f"effgrok transformer: d_model {d}, {heads} heads (given or effgrok's default 4), LayerNorm"
    return Network("effgrok-transformer", P, "relu", heads, params["tok"][0], n + 2, how)


def _lens_names(params) -> tuple[str, list[int]]:
    layers = sorted({int(m.group(1)) for k in params if (m := re.match(r"blocks\.(\d+)\.", k))})
    return "embed.W_E", layers


def _lens_optional(arr: dict, L: int, dims: tuple, P: dict, used: set) -> None:
    """Layer ``L``'s optional tensors of a TransformerLens file into ``P`` (biases default to
    zeros, LayerNorms kept when present), each checked against ``dims = (H, d_head, d_model,
    d_mlp)``; their names added to ``used``."""
    H, dh, d, m = dims
    b = f"blocks.{L}."
    shapes = {"attn.b_Q": (H, dh), "attn.b_K": (H, dh), "attn.b_V": (H, dh), "attn.b_O": (d,)}
    shapes.update({"mlp.b_in": (m,), "mlp.b_out": (d,)})
    for x, shape in shapes.items():
        t = arr.get(b + x, np.zeros(shape))
        if t.shape != shape:
            raise _NoFit(f"{b}{x} {t.shape} is not {shape}")
        P[f"{L}.{x.split('.')[1]}"] = t
        used.add(b + x)
    for ln in ("ln1", "ln2"):
        if b + f"{ln}.w" in arr:
            P[f"{L}.{ln}.w"], P[f"{L}.{ln}.b"] = arr[b + f"{ln}.w"], arr.get(b + f"{ln}.b", np.zeros(d))
            used |= {b + f"{ln}.w", b + f"{ln}.b"}


def _try_lens(params, task, activation, heads):
    need = ("embed.W_E", "pos_embed.W_pos", "unembed.W_U")
    if not set(need) <= set(params):
        raise _NoFit("needs embed.W_E, pos_embed.W_pos, blocks.0.attn.W_Q/K/V/O, blocks.0.mlp.*, unembed.W_U")
    _, layers = _lens_names(params)
    if layers != list(range(len(layers))) or not layers:
        raise _NoFit("needs blocks.0 ... (attention and MLP)")
    n, C = task.n_symbols, task.n_classes
    arr = {k: _f64(v[1]) for k, v in params.items()}
    pos = arr["pos_embed.W_pos"]
    ctx, d = pos.shape if pos.ndim == 2 else (0, 0)
    if ctx not in (3, 4):
        raise _NoFit(f"pos_embed.W_pos {pos.shape}: 3 positions [a, b, =] or 4 [a, op, b, =]")
    need_vocab = n + (1 if ctx == 3 else 2)
    W_E = arr["embed.W_E"]
    nanda = arr.get("blocks.0.attn.W_O", np.zeros(0)).ndim == 2  # Nanda et al.'s original shapes
    if nanda:
        W_E = W_E.T
    if W_E.ndim != 2 or W_E.shape[1] != d or W_E.shape[0] < need_vocab:
        raise _NoFit(f"embed.W_E {arr['embed.W_E'].shape} does not hold {need_vocab} tokens of width {d}")
    W_U = arr["unembed.W_U"]
    if W_U.ndim != 2 or W_U.shape[0] != d or W_U.shape[1] < C:
        raise _NoFit(f"unembed.W_U {W_U.shape} is not ({d}, ≥{C})")
    P = {"W_E": W_E, "W_pos": pos, "W_U": W_U, "b_U": arr.get("unembed.b_U", np.zeros(W_U.shape[1]))}
    used = {"embed.W_E", "pos_embed.W_pos", "unembed.W_U", "unembed.b_U"}
    n_heads = None
    for L in layers:
        b = f"blocks.{L}."
        try:
            Q, K, V, Wo = (arr[b + f"attn.W_{x}"] for x in "QKVO")
            W_in, W_out = arr[b + "mlp.W_in"], arr[b + "mlp.W_out"]
        except KeyError as exc:
            raise _NoFit(f"no tensor {exc.args[0]}") from None
        if nanda:  # (heads, d_head, d_model) and (d_model, heads·d_head); W_in (d_mlp, d_model)
            Q, K, V = (np.swapaxes(x, 1, 2) for x in (Q, K, V))
            H, dh = Q.shape[0], Q.shape[2]
            if Wo.shape != (d, H * dh):
                raise _NoFit(f"{b}attn.W_O {Wo.shape} is not ({d}, {H * dh})")
            Wo = Wo.T.reshape(H, dh, d)
            W_in, W_out = W_in.T, W_out.T
        if Q.ndim != 3 or Q.shape[1] != d or K.shape != Q.shape or V.shape != Q.shape:
            raise _NoFit(f"{b}attn.W_Q/W_K/W_V {Q.shape} are not (heads, {d}, d_head)")
        H, _, dh = Q.shape
        if Wo.shape != (H, dh, d) or W_in.ndim != 2 or W_in.shape[0] != d or W_out.shape != W_in.shape[::-1]:
            raise _NoFit(f"{b}attn.W_O {Wo.shape} or {b}mlp.W_in {W_in.shape}/W_out {W_out.shape} do not fit")
        _lens_optional(arr, L, (H, dh, d, W_in.shape[1]), P, used)
        P.update({f"{L}.W_Q": Q, f"{L}.W_K": K, f"{L}.W_V": V, f"{L}.W_O": Wo, f"{L}.W_in": W_in})
        P[f"{L}.W_out"] = W_out
        used |= {b + f"attn.W_{x}" for x in "QKVO"} | {b + "mlp.W_in", b + "mlp.W_out"}
        n_heads = H
    if "ln_final.w" in arr:
        P["ln_final.w"], P["ln_final.b"] = arr["ln_final.w"], arr.get("ln_final.b", np.zeros(d))
        used |= {"ln_final.w", "ln_final.b"}
    extra = sorted(set(params) - used)
    if extra:
        raise _NoFit(f"tensors not of a TransformerLens transformer: {', '.join(extra[:5])}")
    P["_act"] = activation
    form = "Nanda et al.'s shapes" if nanda else "HookedTransformer shapes"
    ln = "LayerNorm" if any(".ln" in k or k.startswith("ln_final") for k in P) else "no LayerNorm"
    seq = "[a, b, =]" if ctx == 3 else "[a, op, b, =]"
    how = (
        f"TransformerLens transformer ({form}): {len(layers)} layer(s), d_model {d}, {n_heads} heads, "
        f"vocab {W_E.shape[0]}, {ln}, input {seq}, {W_U.shape[1]} outputs (the first {C} are the classes)"
    )
    return Network("transformer-lens", P, activation, n_heads, params["embed.W_E"][0], W_E.shape[0], how)


def _linear(name: str, arr: np.ndarray) -> list[np.ndarray]:
    """Possible ``(in, out)`` orientations of a weight matrix, each with 1 if it is not the
    name's natural one: a ``*.weight`` is PyTorch's ``(out, in)``; another name is ``(in, out)``,
    or the transpose when not square."""
    if name.endswith(".weight"):
        return [(arr.T, 0)]
    return [(arr, 0)] if arr.shape[0] == arr.shape[1] else [(arr, 0), (arr.T, 1)]


def _try_mlp(params, task, activation, heads, mode):
    n, C = task.n_symbols, task.n_classes
    mats = {k: _f64(v[1]) for k, v in params.items() if v[1].ndim == 2}
    vecs = {k: _f64(v[1]) for k, v in params.items() if v[1].ndim == 1}
    if len(mats) != 3 or len(params) != len(mats) + len(vecs) or len(vecs) > 2:
        raise _NoFit(
            f"needs 3 matrices (embedding, hidden, output) and at most 2 biases, "
            f"found {len(mats)} and {len(vecs)}"
        )
    fits = []
    for e_name, E in mats.items():
        for e_axis in (0, 1):
            V = E.shape[e_axis]
            if not n <= V <= n + 2:
                continue
            Em = E if e_axis == 0 else E.T
            if e_axis == 1 and E.shape[0] == E.shape[1]:
                continue
            d = Em.shape[1]
            width = 2 * d if mode == "concat" else d
            others = [k for k in mats if k != e_name]
            for w1_name, w2_name in (others, others[::-1]):
                for W1, t1 in _linear(params[w1_name][0], mats[w1_name]):
                    if W1.shape[0] != width:
                        continue
                    h = W1.shape[1]
                    for W2, t2 in _linear(params[w2_name][0], mats[w2_name]):
                        if W2.shape[0] != h or not C <= W2.shape[1] <= C + 2:
                            continue
                        b1 = [k for k, v in vecs.items() if v.shape == (h,)]
                        b2 = [k for k, v in vecs.items() if v.shape == (W2.shape[1],)]
                        if h == W2.shape[1] and len(vecs) == 2:
                            order = sorted(vecs)  # same length: the earlier name is the first layer's
                            b1, b2 = [order[0]], [order[1]]
                        if len(b1) > 1 or len(b2) > 1 or len(b1) + len(b2) != len(vecs):
                            continue
                        turned = int(e_axis == 1 and not params[e_name][0].endswith(".weight")) + t1 + t2
                        turned += int(V != n) + int(W2.shape[1] != C)  # extra tokens or outputs
                        fits.append((turned, e_name, Em, w1_name, W1, w2_name, W2, b1, b2))
    if not fits:
        kind = "concatenated" if mode == "concat" else "summed"
        raise _NoFit(f"no embedding → {kind} hidden layer → {C} outputs chain")
    least = min(f[0] for f in fits)  # the reading with the fewest transposes and extra tokens
    fits = [f for f in fits if f[0] == least]
    if len({(f[1], f[3], f[5]) for f in fits}) > 1:
        raise _NoFit("the shapes fit more than one way; name the architecture and check the tensors")
    _, e_name, E, w1_name, W1, w2_name, W2, b1, b2 = fits[0]
    P = {"E": E, "W1": W1, "W2": W2}
    if b1:
        P["b1"] = vecs[b1[0]]
    if b2:
        P["b2"] = vecs[b2[0]]
    arch = f"mlp-{mode}"
    bias = "biases " + (", ".join(params[k][0] for k in b1 + b2) if b1 or b2 else "none")
    how = (
        f"one-hidden-layer MLP on {'concatenated' if mode == 'concat' else 'summed'} embeddings: "
        f"embedding {params[e_name][0]} {E.shape}, hidden {params[w1_name][0]} ({W1.shape[1]} units, "
        f"{activation}), output {params[w2_name][0]} ({W2.shape[1]}), {bias}"
    )
    return Network(arch, P, activation, None, params[e_name][0], E.shape[0], how)


_TRY = {
    "effgrok-mlp": _try_effgrok_mlp,
    "effgrok-embed-sum": _try_effgrok_embed_sum,
    "effgrok-transformer": _try_effgrok_transformer,
    "transformer-lens": _try_lens,
    "mlp-concat": lambda *a: _try_mlp(*a, mode="concat"),
    "mlp-sum": lambda *a: _try_mlp(*a, mode="sum"),
}


# --------------------------------------------------------------------------- split of pairs
def pair_split(task: Task, train) -> tuple[np.ndarray, np.ndarray, str]:
    """The pairs a network is evaluated on and which of them are training pairs.

    Returns ``(pairs, is_train, how)``: ``pairs`` of symbol indices ``(k, 2)``.  A split
    given as ordered pairs (pairs of labels, or a ``(n, n)`` mask) is evaluated on all ``n²``
    ordered pairs, with exactly the given ones as training pairs -- as the user's own
    training loop saw them.  A split over the task's examples (a :class:`~effgrok.tasks.Split`,
    example indices, a mask over examples) is evaluated on the task's examples (unordered
    ``a ≤ b`` for a commutative task).
    """
    from ..tasks import Split
    from ._splits import training_split

    split, _ = training_split(task, train)  # checks the input
    arr = None if isinstance(train, Split) else np.asarray(train)
    n = task.n_symbols
    ordered = arr is not None and (
        (arr.dtype == bool and arr.shape == (n, n))
        or (arr.dtype == bool and arr.shape == (n * n,) and n * n != task.n_examples)
        or (arr.dtype != bool and arr.ndim == 2)
    )
    if ordered:
        if arr.dtype == bool:
            M = arr.reshape(n, n)
        else:
            idx = np.searchsorted(task.symbols, arr)
            M = np.zeros((n, n), dtype=bool)
            M[idx[:, 0], idx[:, 1]] = True
        a, b = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        pairs = np.stack([a.ravel(), b.ravel()], axis=1)
        return pairs, M.ravel(), f"all {n * n} ordered pairs, {int(M.sum())} of them training pairs"
    kind = "unordered examples a ≤ b" if task.commutative else "ordered pairs"
    how = f"the task's {task.n_examples} {kind}, {split.n_train} of them training examples"
    return task.pairs.copy(), np.asarray(split.mask, dtype=bool).copy(), how


# --------------------------------------------------------------------------- Fourier of logits
def _log_table(p: int, g: int) -> np.ndarray:
    log = np.zeros(p, dtype=np.int64)
    x = 1
    for k in range(p - 1):
        log[x] = k
        x = x * g % p
    return log


def _group_coordinates(task: Task):
    """``(m, i, j, k)`` with ``i[a] + j[b] ≡ k[c] (mod m)`` for every example, or None."""
    from ._splits import _generator

    if task.p is None or task.n_symbols < 3:
        return None
    p = task.p
    labels = np.asarray(task.result_labels)
    sym = np.asarray(task.symbols)
    if task.name in ("add-mod", "sub-mod"):
        m, i = p, sym % p
        j = sym % p if task.name == "add-mod" else (-sym) % p
        k = labels % p
    elif task.name == "mul-mod":
        log = _log_table(p, _generator(p))
        m, i, j, k = p - 1, log[sym], log[sym], log[labels]
    else:
        return None
    a, b = task.pairs[:, 0], task.pairs[:, 1]
    if np.any((i[a] + j[b]) % m != k[task.results]) or np.unique(k).size != k.size:
        return None
    return m, i, j, k


def _phases(task: Task, freqs):
    m, i, j, k = _group_coordinates(task)
    w = np.asarray(freqs, dtype=np.float64)[None, :]
    ea = np.exp(2j * np.pi * i[:, None] * w / m)
    eb = np.exp(2j * np.pi * j[:, None] * w / m)
    ec = np.exp(-2j * np.pi * k[:, None] * w / m)
    # squared norm of cos θ_w over the table: N/2, or N where sin θ_w vanishes (2w ≡ 0 mod m)
    half = (2 * np.asarray(freqs)) % m == 0
    return ea, eb, ec, half


def _coefficients(task: Task, z: np.ndarray, freqs) -> tuple[np.ndarray, np.ndarray]:
    """``c_w = Σ z e^{iθ_w}`` and the norm factor of each frequency."""
    ea, eb, ec, half = _phases(task, freqs)
    zc = z @ ec  # (n, n, W)
    c = np.einsum("abw,aw,bw->w", zc, ea, eb)
    return c, half


def logit_fourier_energy(task: Task, logits) -> tuple[np.ndarray, float] | None:
    """Energy ``E_w = ‖P_w z‖²`` of the logits in the directions ``cos/sin θ_w`` for
    ``w = 1 … ⌊m/2⌋`` and the total ``‖z_cc‖²`` of the doubly centred logits (module
    docstring); None for a task that is not a cyclic group's addition after relabelling.

    ``logits`` has shape ``(n, n, n_classes)`` over ordered pairs of symbol indices.

    Examples
    --------
    >>> import numpy as np, effgrok as eg
    >>> t = eg.make_task("add-mod", 7)
    >>> a, b, c = np.meshgrid(np.arange(7), np.arange(7), np.arange(7), indexing="ij")
    >>> E, total = logit_fourier_energy(t, 3 * np.cos(2 * np.pi * 2 * (a + b - c) / 7))
    >>> np.round(E / total, 12).tolist()
    [0.0, 1.0, 0.0]
    """
    z = _logit_table(task, logits)
    if _group_coordinates(task) is None:
        return None
    m = _group_coordinates(task)[0]
    freqs = np.arange(1, m // 2 + 1)
    c, half = _coefficients(task, z, freqs)
    N = z.size
    E = np.where(half, np.abs(c) ** 2 / N, 2 * np.abs(c) ** 2 / N)
    zcc = z - z.mean(axis=2, keepdims=True)
    zcc = zcc - zcc.mean(axis=(0, 1), keepdims=True)
    return E, float(np.sum(zcc * zcc))


def _logit_table(task: Task, logits) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64)
    n, C = task.n_symbols, task.n_classes
    if z.shape != (n, n, C):
        raise ValueError(f"logits must have shape ({n}, {n}, {C}) (ordered pairs × classes), got {z.shape}")
    if not np.all(np.isfinite(z)):
        raise ValueError("the logits have NaN or infinite entries")
    return z


def logit_key_frequencies(energy, key_power: float = 0.9) -> list[int]:
    """The fewest frequencies, strongest first, whose energies hold ``key_power`` of the total.

    >>> logit_key_frequencies([0.0, 5.0, 1.0, 4.0])
    [2, 4]
    """
    kp = fraction("key_power", key_power)
    E = np.asarray(energy, dtype=np.float64)
    tot = float(E.sum())
    if not tot > 0:
        return []
    order = np.argsort(-E, kind="stable")
    m = int(np.searchsorted(np.cumsum(E[order]), kp * tot * (1 - 1e-12))) + 1
    return [int(w) + 1 for w in order[:m]]


def _projection(task: Task, z: np.ndarray, freqs) -> np.ndarray:
    """``Σ_{w ∈ freqs} P_w z`` as a table like ``z``."""
    if len(freqs) == 0:
        return np.zeros_like(z)
    ea, eb, ec, half = _phases(task, freqs)
    c, _ = _coefficients(task, z, freqs)
    N = z.size
    beta = np.conj(c) * np.where(half, 1.0 / N, 2.0 / N)  # P_w z = Re(conj(c_w) e^{iθ_w}) · factor
    n = z.shape[0]
    ab = (ea[:, None, :] * eb[None, :, :]).reshape(n * n, -1) * beta
    return np.real(ab @ ec.T).reshape(z.shape)


def cross_entropy(logits, labels) -> np.ndarray:
    """Per-example cross-entropy ``logsumexp(z) − z_y`` (float64).

    >>> cross_entropy(np.log([[1.0, 3.0]]), [1]).round(12).tolist()   # −log(3/4)
    [0.287682072452]
    """
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(labels)
    mx = z.max(axis=-1, keepdims=True)
    lse = mx[..., 0] + np.log(np.sum(np.exp(z - mx), axis=-1))
    return lse - np.take_along_axis(z, y[..., None], axis=-1)[..., 0]


# --------------------------------------------------------------------------- measures
@dataclass(frozen=True)
class NetworkMeasures(Result):
    """Accuracy, loss and Nanda et al.'s progress measures of one network (see
    :func:`network_measures`).

    Attributes
    ----------
    train_acc, test_acc, train_loss, test_loss : float
        On the pairs of :func:`pair_split` (test: NaN when every pair is a training pair).
    restricted_loss, excluded_loss, key_logit_share : float or None
        At :attr:`key_frequencies` (None for tasks without the Fourier structure).
    key_frequencies : tuple of int or None
        The frequencies ``K`` used.
    logit_key_frequencies : tuple of int or None
        This network's own key frequencies from its logits.
    key_source : str
        Where ``K`` came from.
    pairs : str
        Which pairs were evaluated (:func:`pair_split`).
    """

    train_acc: float
    test_acc: float
    train_loss: float
    test_loss: float
    restricted_loss: float | None
    excluded_loss: float | None
    key_logit_share: float | None
    key_frequencies: tuple | None
    logit_key_frequencies: tuple | None
    key_source: str
    pairs: str

    def record(self) -> dict:
        return jsonable(
            {
                "train_acc": self.train_acc,
                "test_acc": _num(self.test_acc),
                "train_loss": self.train_loss,
                "test_loss": _num(self.test_loss),
                "restricted_loss": _num(self.restricted_loss),
                "excluded_loss": _num(self.excluded_loss),
                "key_logit_share": _num(self.key_logit_share),
                "key_frequencies_used": None if self.key_frequencies is None else list(self.key_frequencies),
                "logit_key_frequencies": None
                if self.logit_key_frequencies is None
                else list(self.logit_key_frequencies),
            }
        )

    def tables(self) -> dict[str, list[dict]]:
        return {"network": [{k: v for k, v in self.record().items() if not isinstance(v, list)}]}


def network_measures(
    task: Task,
    logits,
    train,
    *,
    key_frequencies=None,
    key_power: float = 0.9,
    key_source: str | None = None,
) -> NetworkMeasures:
    """Accuracy, loss, restricted and excluded loss and key-frequency logit share of a network's
    logits on the whole table (module docstring for the definitions).

    Parameters
    ----------
    task : Task
    logits : array_like, shape (n, n, n_classes)
        ``z[a, b, c]`` for every ordered pair of symbol indices (:meth:`Network.logits`).
    train
        The user's training split (:func:`pair_split`).
    key_frequencies : sequence of int, optional
        ``K``; default the logits' own (:func:`logit_key_frequencies` at ``key_power``).

    Examples
    --------
    >>> import numpy as np, effgrok as eg
    >>> t = eg.make_task("add-mod", 7)
    >>> a, b, c = np.meshgrid(np.arange(7), np.arange(7), np.arange(7), indexing="ij")
    >>> z = 8 * np.cos(2 * np.pi * 3 * (a + b - c) / 7)        # Nanda et al.'s algorithm, one frequency
    >>> m = network_measures(t, z, [(0, 1), (2, 3)])
    >>> m.test_acc, m.key_frequencies, round(m.key_logit_share, 12)
    (1.0, (3,), 1.0)
    >>> round(m.excluded_loss - float(np.log(7)), 12)         # nothing left: uniform logits
    0.0
    """
    z = _logit_table(task, logits)
    pairs, is_train, how = pair_split(task, train)
    y_table = np.full((task.n_symbols, task.n_symbols), -1, dtype=np.int64)
    y_table[task.pairs[:, 0], task.pairs[:, 1]] = task.results
    if task.commutative:
        y_table[task.pairs[:, 1], task.pairs[:, 0]] = task.results
    a, b = pairs[:, 0], pairs[:, 1]
    y = y_table[a, b]
    zp = z[a, b]
    loss = cross_entropy(zp, y)
    right = np.argmax(zp, axis=1) == y
    test = ~is_train

    def mean(v, sel):
        return float(np.mean(v[sel])) if sel.any() else float("nan")

    energy = logit_fourier_energy(task, z)
    restricted = excluded = share = None
    K = own = None
    source = "none: the task has no cyclic-group Fourier structure"
    if energy is not None:
        E, total = energy
        own = tuple(logit_key_frequencies(E, key_power))
        if key_frequencies is None:
            K, source = own, key_source or f"this network's logits ({key_power:g} of the energy)"
        else:
            m = _group_coordinates(task)[0]
            K = tuple(int(w) for w in key_frequencies)
            if any(not 1 <= w <= m // 2 for w in K):
                raise ValueError(f"key frequencies must be in 1..{m // 2}, got {list(K)}")
            source = key_source or "given"
        PK = _projection(task, z, list(K))
        bias = z.mean(axis=(0, 1), keepdims=True)
        restricted = float(np.mean(cross_entropy((bias + PK)[a, b], y)))
        excluded = mean(cross_entropy((z - PK)[a, b], y), is_train)
        share = float(np.sum(PK * PK) / total) if total > 0 else float("nan")
    return NetworkMeasures(
        train_acc=mean(right, is_train),
        test_acc=mean(right, test),
        train_loss=mean(loss, is_train),
        test_loss=mean(loss, test),
        restricted_loss=restricted,
        excluded_loss=excluded,
        key_logit_share=share,
        key_frequencies=K,
        logit_key_frequencies=own,
        key_source=source,
        pairs=how,
    )


# --------------------------------------------------------------------------- the user's log
#: Columns of a training log read by :func:`read_training_log` beside the training loss
#: (:data:`effgrok.diagnostics.early.LOSS_COLUMNS`), first found first (case-insensitive).
LOG_COLUMNS = {
    "test_acc": ("test_acc", "val_acc", "valid_acc", "val_accuracy", "test_accuracy",
                 "validation_accuracy", "val/acc", "test/acc", "eval_accuracy", "acc_val"),
    "test_loss": ("test_loss", "val_loss", "valid_loss", "validation_loss", "val/loss", "test/loss",
                  "eval_loss", "loss_val"),
    "train_acc": ("train_acc", "train_accuracy", "training_accuracy", "train/acc", "acc_train", "acc"),
}  # fmt: skip


@dataclass(frozen=True)
class TrainingLog(Result):
    """Curves of a user's training log (see :func:`read_training_log`).

    Attributes
    ----------
    curves : dict of str to (steps, values)
        ``train_loss`` and whichever of ``test_acc``, ``test_loss``, ``train_acc`` the file has.
    columns : dict of str to str
        The file's column behind each curve.
    path : str
    """

    curves: dict
    columns: dict
    path: str

    def crossing(self, level: float = 0.5) -> float | None:
        """First logged step with test accuracy ``≥ level`` (None: never, or no such column)."""
        from ..constants import first_crossing

        if "test_acc" not in self.curves:
            return None
        s, v = self.curves["test_acc"]
        return _num(float(first_crossing(v, s, level)))

    def record(self) -> dict:
        return jsonable(
            {
                "file": self.path,
                "columns": self.columns,
                "records": {k: int(s.size) for k, (s, _) in self.curves.items()},
                "test_acc_crosses_0.5_at": self.crossing(0.5),
            }
        )

    def tables(self) -> dict[str, list[dict]]:
        return {"log": [{"curve": k, "column": self.columns[k], "records": int(s.size)}
                        for k, (s, _) in self.curves.items()]}  # fmt: skip


def read_training_log(path) -> TrainingLog:
    """A user's training log (CSV with a header): the training loss and, when present, test
    accuracy, test loss and train accuracy against the step.

    The step and the training loss follow ``effgrok predict-grok``'s column rules, read by its
    reader (:func:`effgrok.diagnostics.early.read_loss_csv`); the other curves are read by the
    same reader from the first column of :data:`LOG_COLUMNS` present (``val_acc``,
    ``test_acc``, ...).  One run per file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "metrics.csv"
    >>> _ = f.write_text("step,train_loss,val_acc\\n0,4.1,0.02\\n100,0.3,0.4\\n200,0.01,0.97\\n")
    >>> log = read_training_log(f)
    >>> log.columns, log.crossing(0.5)
    ({'train_loss': 'train_loss', 'test_acc': 'val_acc'}, 200.0)
    """
    import csv

    from .early import read_loss_csv

    p = Path(path)
    if not p.is_file():
        raise ValueError(f"training log {str(p)!r} does not exist or is not a file")
    try:
        with open(p, newline="", encoding="utf-8-sig") as fh:
            header = [h.strip().lower() for h in next(csv.reader(fh), [])]
    except UnicodeDecodeError:
        raise ValueError(f"{p}: not a UTF-8 text file") from None
    curves, columns = {}, {}
    log = read_loss_csv(p)
    if len(log.runs) != 1:
        raise ValueError(f"{p}: {len(log.runs)} runs in the log; give one run's log for one series")
    curves["train_loss"] = (log.steps[0], log.losses[0])
    columns["train_loss"] = log.columns["loss"]
    for key, names in LOG_COLUMNS.items():
        found = [c for c in names if c in header and c != columns["train_loss"]]
        if found:
            one = read_loss_csv(p, loss_column=found[0])
            curves[key] = (one.steps[0], one.losses[0])
            columns[key] = found[0]
    return TrainingLog(curves=curves, columns=columns, path=str(p))
