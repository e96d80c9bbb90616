"""Where an epoch happens: one batched engine for one network or many.

A lone Trainer, a Sweep's or Compare's runs and a server's room of playing sessions all train
here. Networks of one shape (``stack_key``) form a group, and a group trains in one pass: its
weights are stacked on a leading dimension (layer i's weight ``[K, out, in]``), each Trainer's
parameters become views of its own slice, and ``nnplay.backprop`` runs the forward and backward
passes of all K at once. A lone network is the group of one, its parameters viewed as ``[1, ...]``.

Everything else stays each Trainer's own: its data, its optimizer (so its learning rate,
momentum, schedule, moments and step count), L1/L2, history, divergence and early-stopping
rules, snapshots. Its optimizer steps its views in place, which updates the stack. At the end of
a group's pass every Trainer gets storage of its own back, so outside ``train`` no network holds
a view of another's weights or gradients. Dropout, whose masks come from each network's own
generator, trains as a group of one; L-BFGS, which evaluates its closure several times per step,
keeps autograd's path in the Trainer.

Full-batch epochs run in chunks (``_Stack.run``): their figures are read once per chunk, and a
chunk that ran past the epoch where a member stops is wound back and run that far again. On a CUDA
GPU a chunk is replayed as a captured graph (``_Stack._graph``).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from . import backprop
from .data import REGRESSION
from .model import CUSTOM

_NOBODY: frozenset[int] = frozenset()  # a step that skips no member
MAX_CHUNK = 128  # epochs in one run (see _Stack.chunk_length)
CUDA_GRAPHS = True  # capture a chunk's epochs as a CUDA graph on a GPU (see _Stack._graph)
GRAPH_AFTER = 2  # eager chunks of one kind before one is captured
GRAPH_WARMUPS = 1  # eager passes on a side stream before a capture, as torch asks
MAX_GRAPHS = 8  # graphs a stack keeps (a chunk's length and step plan make one)
CHUNK_BYTES = 2**20  # what a run keeps for its figures: past a megabyte or so it leaves the cache
CHUNK_SECONDS = 0.02  # a run's length: pages wait for it to let a network go (train's let_go)


def stack_key(trainer) -> tuple | None:
    """What networks must share to train in one pass; None for a Trainer not on this engine."""
    t, c = trainer, trainer.config
    if t._backprop is None:
        return None
    custom = any(CUSTOM in a for a in t.model.activation_names)
    return (
        id(t) if c.dropout > 0 else None,  # its masks come from its own generator
        c.activation_expr if custom else "",
        c.loss_expr if t.loss_name == "custom" else "",
        tuple(p.shape for p in t._params),
        t.model.activation_names,
        c.mix,
        t.loss_name,
        t.task,
        t.device,
        t.y_train.dtype,
        t.batch_size,
        tuple(t.X_train.shape),
        tuple(t.X_test.shape),
        t._joint is not None,
    )


def score(out: torch.Tensor, y: torch.Tensor, task: str, positive: torch.Tensor | None = None) -> torch.Tensor:
    """Correct predictions (classification) or the sum of squared errors (regression), over the
    rows (dim -2 of ``out``, -1 of ``y``): a scalar for one network, ``[K]`` for a stack."""
    return row_scores(out, y, task, positive).sum(-1, dtype=out.dtype)


def row_scores(out: torch.Tensor, y: torch.Tensor, task: str, positive: torch.Tensor | None = None) -> torch.Tensor:
    """What ``score`` adds up, row by row: whether each prediction is right, or its squared error."""
    if task == REGRESSION:
        return (out[..., 0] - y).square()
    if out.shape[-1] == 1:
        return (out[..., 0] > 0) == (y > 0.5 if positive is None else positive)
    return out.argmax(-1) == y


def train(
    trainers: Sequence,
    epochs: int | Sequence[int],
    *,
    max_seconds: float | None = None,
    errors: dict[int, Exception] | None = None,
    on_done: Callable[[int], None] | None = None,
    let_go: Callable[[int], bool] | None = None,
) -> list[int]:
    """Train each Trainer up to its number of ``epochs`` (one for all, or one each), in groups of
    one shape, never past a budget, and not past ``max_seconds`` of this thread's CPU time once an
    epoch has run (CPU time, not wall time: on a busy server every torch call waits for the GIL).
    Returns how many epochs each ran. With ``errors``, a Trainer whose own step or bookkeeping
    fails leaves its group with the exception there (by its index), and the others go on.
    ``on_done(i)`` is called as soon as Trainer ``i`` is through (its group may train on): from
    then on this call no longer touches it. ``let_go(i)``, asked after every chunk of epochs, lets Trainer
    ``i`` go early (a page wants to draw it)."""
    trainers = list(trainers)
    quotas = [epochs] * len(trainers) if isinstance(epochs, int) else list(epochs)
    done = [0] * len(trainers)
    start = time.perf_counter()
    deadline = None if max_seconds is None else time.thread_time() + max_seconds
    groups: dict[tuple | None, list[int]] = {}
    for i, t in enumerate(trainers):
        quotas[i] = min(quotas[i], t.remaining) if not t.finished else 0
        if quotas[i] > 0:
            t._begin()
            key = stack_key(t)
            groups.setdefault(key if key is not None else ("autograd", i), []).append(i)

    def finish(members: list[int], since: float, k: int) -> None:
        seconds = (time.perf_counter() - since) / k  # a share of the pass its group took
        for i in members:
            trainers[i]._end(seconds)
            if on_done is not None:
                on_done(i)

    with torch.no_grad():
        for key, members in groups.items():
            if key[0] == "autograd":
                (i,) = members
                with torch.enable_grad():
                    done[i] = trainers[i]._autograd_epochs(quotas[i], deadline)
                finish(members, start, 1)
            else:
                _train_group(trainers, members, quotas, done, deadline, errors, finish, let_go)
            start = time.perf_counter()
    return done


def _train_group(trainers, members: list[int], quotas, done, deadline, errors, finish, let_go=None) -> None:
    since, k = time.perf_counter(), len(members)
    while members:
        stack = _Stack([trainers[i] for i in members], tolerant=errors is not None)
        out_of_time = False
        try:
            while True:
                n = stack.chunk_length(min(quotas[i] - done[i] for i in members), deadline)
                # Where a snapshot falls due inside the chunk, the weights are kept as they pass.
                planned = {j for t in stack.members for j in t.snapshots.due_within(t.epoch, n - 1)}
                if planned and stack.graphs is not None:  # a graph keeps no weights: the chunk ends at the snapshot
                    n, planned = min(planned) + 1, set()
                chunk, kept = stack.run(n, planned)
                for j, figures in enumerate(chunk):
                    leaving, due = _take_epoch(trainers, members, figures, quotas, done, errors)
                    # Someone leaves, or a snapshot nobody planned for is due: the chunk ends here.
                    ends = j == n - 1 or bool(leaving) or bool(due and j not in kept)
                    if ends and j < n - 1:  # it ran past this epoch: back to its start, and this far again
                        stack.rewind(j + 1)
                        kept = {}
                    for m, (outputs, params) in zip(due, stack.outputs(due, kept.get(j))):
                        trainers[members[m]]._snapshot(outputs, params)
                        if trainers[members[m]].finished and members[m] not in leaving:  # outputs not finite
                            leaving.append(members[m])
                    if leaving and not ends:
                        stack.rewind(j + 1)
                        ends = True
                    if ends:
                        break
                if let_go is not None:
                    leaving += [i for i in members if let_go(i) and i not in leaving]
                if deadline is not None and time.thread_time() > deadline:
                    out_of_time = True
                    leaving = members
                if leaving:
                    break
        finally:
            stack.release()
            for t in stack.members:
                t._pace, t.graph_note = stack.pace, stack.graph_note
        finish(leaving, since, k)
        if out_of_time:
            return
        members = [i for i in members if i not in leaving]


def _take_epoch(trainers, members, figures, quotas, done, errors) -> tuple[list[int], list[int]]:
    """One epoch's figures into each member's record: who leaves the group after it (by index
    into ``trainers``) and whose snapshot is due (by place in ``members``)."""
    leaving, due = [], []
    for m, (i, figure) in enumerate(zip(members, figures)):
        t = trainers[i]
        try:
            if isinstance(figure, Exception):
                raise figure
            record = t._diverge() if figure is None else t._record(*figure)
            done[i] += 1
            if record is None or not t._after_epoch(record):
                leaving.append(i)
                continue
            if t.snapshots.due(t.epoch):
                due.append(m)
            if done[i] >= quotas[i]:
                leaving.append(i)
        except Exception as exc:
            if errors is None:
                raise
            errors[i] = exc
            leaving.append(i)
    return leaving, due


class _Stack:
    """A group's networks and data stacked for one pass, for as long as its members stay the same."""

    def __init__(self, members: list, tolerant: bool = False):
        self.members = members
        self.tolerant = tolerant  # a member's failing step is its own (see train's errors)
        self.broken: dict[int, Exception] = {}
        t0 = members[0]
        self.k = k = len(members)
        self.bp: backprop.Backprop = t0._backprop
        self.loss, self.task = t0.loss, t0.task
        params = [t._params for t in members]
        if k == 1:
            self.weights = [p.unsqueeze(0) for p in params[0]]  # views: in-place updates show through
        else:
            self.weights = [torch.stack([ps[j].data for ps in params]) for j in range(len(params[0]))]
            for i, ps in enumerate(params):
                for p, w in zip(ps, self.weights):
                    p.data = w[i]
        self.views = backprop.layer_views(self.weights)
        self.joint = None if t0._joint is None else _stacked([t._joint for t in members])
        self.X, self.y = _stacked([t.X_train for t in members]), _stacked([t.y_train for t in members])
        self.Xt, self.yt = _stacked([t.X_test for t in members]), _stacked([t.y_test for t in members])
        binary = self.y.dtype.is_floating_point and self.task != REGRESSION
        self.positive = (self.y > 0.5, self.yt > 0.5) if binary else (None, None)
        self.nonnegative = t0._nonnegative
        self.units = sum(t0.config.hidden)
        self.n = self.X.shape[1]
        written = self.loss.rows
        outputs = self.X.new_zeros(1, 1, self.weights[-1].shape[1])
        written = written is not None and written(outputs, self.y[:1, :1], self.task, 1) is not None
        # Without autograd anywhere in the pass (no autograd layer, a loss written row by row), the
        # pass runs in inference mode: no version counters, no view tracking (about 9% of a lone epoch).
        # The steps run outside it: an optimizer's state must stay ordinary tensors.
        self.inference = torch.inference_mode if self.bp.hand_written and written else contextlib.nullcontext
        self.whole = self._whole_pass() if written else None
        self._rates_key, self._rates = None, (None, None)
        self._last_grads = None
        self._fused: list[int] = []  # members whose last step was a fused call's: their .grad is set at release
        self._ready: set[int] = set()  # members whose fused Adam has its state set up (see _fused_groups)
        self._steps: tuple[list[int], torch.Tensor] | None = None  # their step counts, side by side
        self._marked: list[torch.Tensor] = []  # the state a chunk began from (see rewind)
        self._plan_made: _Plan | None = None  # the step plan of this run (see _plan)
        graphs = self.whole is not None and _graphs_on(self.X.device)
        self.graphs: dict | None = {} if graphs else None  # captured chunks (see _graph)
        self._seen: dict[tuple, int] = {}  # eager chunks of each kind
        self.graph_note = "eager: no chunk captured" if graphs else "eager: CUDA graphs need a CUDA GPU"
        self._penalised = False  # whether any member has L1 or L2 this run
        paces = [t._pace for t in members]  # the groups they were in last: a first guess
        self.pace: float | None = None if None in paces else max(paces)  # CPU seconds per epoch

    def release(self) -> None:
        """Every member's parameters, gradients and step counts in storage of its own again (and
        in ``.grad``, the last step's gradients, as backward would leave them)."""
        self._share_steps([])
        last, alone = self._last_grads, self.k == 1
        from_last = set(range(self.k)) if last is not None and not self._fused else set(self._fused)
        for i, t in enumerate(self.members):
            for j, p in enumerate(t._params):
                if last is not None and i in from_last:
                    p.grad = last[j][i].clone()  # its own storage, and not an inference tensor
                elif p.grad is not None and not alone:
                    p.grad = p.grad.clone()
                if not alone:
                    p.data = p.data.clone()

    def _whole_pass(self) -> tuple | None:
        """What one forward pass over every row needs, when one full-batch pass serves the whole
        epoch (no dropout, no autograd layer, a loss written row by row): the rows (training rows
        first), their targets, and each row's weight in the gradient (1/n for a training row, 0
        for a test row)."""
        t0 = self.members[0]
        if t0.batch_size or not self.bp.hand_written or (self.Xt.shape[1] and self.joint is None):
            return None
        x = self.X if self.joint is None else self.joint
        y = self.y if self.joint is None else torch.cat([self.y, self.yt], 1)
        weight = x.new_zeros(1, x.shape[1], 1)
        weight[:, : self.n] = 1 / self.n
        positive = y > 0.5 if self.positive[0] is not None else None
        return x, y, positive, weight

    def epoch(self) -> list:
        """One epoch of every member, in the article's five steps per batch (zero_grad, forward,
        loss, backward, step): each member's figures for its record (``Trainer._record``), None
        for one whose loss stopped being finite, or the exception its own step raised.

        Full batch and without dropout, one pass over the training and test rows together serves
        both: the test metrics are taken before the update either way. The epoch's figures come
        back in one copy, before the last batch's update, which is when a non-finite loss is caught.
        """
        bp, inference = self.bp, self.inference
        test = None
        if self.Xt.shape[1] and self.joint is None:
            with inference():
                test = self._terms(bp.forward(self.views, self.Xt, train=False).out, self.yt, self.positive[1])
        batches = self._batches()
        terms, sizes, mass = [], [], None
        failed: set[int] = set()
        for b, (xb, yb, positive) in enumerate(batches):
            n = xb.shape[1]
            with inference():
                fwd = bp.forward(self.views, xb if self.joint is None else self.joint)
                out = fwd.out if self.joint is None else fwd.out[:, :n]
                if self.joint is not None:
                    test = self._terms(fwd.out[:, n:], self.yt, self.positive[1])
                loss, dout = backprop.loss_gradient(self.loss, out, yb, self.task)
                grads = bp.backward(fwd, dout, self.weights)
                objective = self._add_penalty(loss, grads)
                terms += (loss, score(out, yb, self.task, positive))
                sizes.append(n)
                # A dead unit's outputs are all zero; their summed size is several times cheaper to get than a count.
                rows = [h if h.shape[1] == n else h[:, :n] for h in fwd.hidden]
                layer_mass = [h.sum(1) if plus else h.abs().sum(1) for h, plus in zip(rows, self.nonnegative)]
                mass = layer_mass if mass is None else [a + c for a, c in zip(mass, layer_mass)]
                finite = objective.tolist() if b < len(batches) - 1 else None
            if finite is not None:
                failed |= {i for i, v in enumerate(finite) if not math.isfinite(v)}
                self._apply(grads, failed)
        with inference():
            columns = [torch.stack(terms, 1), self._norms([grads])[0]]
            if test is not None:
                columns.append(test)
            columns += [objective[:, None], *mass]
            values = torch.cat(columns, 1).tolist()
        at = len(values[0]) - self.units - 1  # the objective's column
        failed |= {i for i, v in enumerate(values) if not math.isfinite(v[at])}
        self._apply(grads, failed)
        n_terms, at = len(terms), len(terms) + len(grads)

        def figure(v):
            test_values = None if test is None else v[at : at + 2]
            return v[0:n_terms:2], v[1:n_terms:2], sizes, v[n_terms:at], test_values, v[len(v) - self.units :]

        return self._figures(values, failed, figure)

    def _figures(self, values: list, failed: set[int], figure) -> list:
        """What ``epoch`` returns, from each member's row of ``values`` (``figure`` reads one)."""
        broken = self.broken
        return [broken[i] if i in broken else None if i in failed else figure(v) for i, v in enumerate(values)]

    def chunk_length(self, most: int, deadline: float | None = None) -> int:
        """How many epochs the next ``run`` may take at once: one, unless every member's step can
        be undone (plain SGD, fused Adam with its state set up; no schedule: it moves the rate
        every epoch) and the pass serves the whole epoch; then as many as fit in CHUNK_BYTES of
        what a run keeps (measured: a 16-seed sweep ran 10% slower at 16 MB than at 1), about
        CHUNK_SECONDS and what is left before ``deadline`` (of this thread's CPU time, as the
        epochs before went), up to ``most``. The first run of networks never trained in a group
        is one epoch: it times them."""
        if most <= 1 or self.whole is None or self.broken or self.pace is None:
            return 1
        fused = {i for group in self._fused_groups(set()).values() for i in group}
        for i, t in enumerate(self.members):
            plain = t._plain_sgd and t.optimizer.param_groups[0]["momentum"] == 0
            if t.scheduler is not None or not (plain or i in fused):
                return 1
        x = self.whole[0]
        kept = x.shape[1] * self.weights[-1].shape[1] + self.units + sum(w[0].numel() for w in self.weights)
        per_epoch = self.k * kept * x.element_size()  # outputs, unit sizes and gradients
        n = min(most, MAX_CHUNK, CHUNK_BYTES // per_epoch, int(CHUNK_SECONDS / self.pace))
        if deadline is not None:
            n = min(n, int((deadline - time.thread_time()) / self.pace))
        n = max(1, n)
        if n > 1 and len(self._marked) != len(state := self._state()):  # set up once per stack and ready set
            self._marked = [torch.empty_like(t) for t in state]
        return n

    def _state(self) -> list[torch.Tensor]:
        """What a chunk changes: the weights, and the moments and step counts of fused Adam."""
        ready = sorted(self._ready)
        states = [self.members[i].optimizer.state[p] for i in ready for p in self.members[i]._params]
        return [*self.weights, *(s[key] for s in states for key in ("exp_avg", "exp_avg_sq", "step"))]

    def run(self, n: int, keep: set[int] = frozenset()) -> tuple[list[list], dict[int, tuple]]:
        """``n`` epochs of every member (``chunk_length``'s): each epoch's figures (as ``epoch``
        gives them), and for each epoch ``j`` in ``keep`` (0-based, before the last), the weights
        after its step and the next epoch's outputs (what ``outputs`` takes as ``at``). A member's
        figures after an epoch that failed are those of a network gone wrong: ``rewind`` undoes
        the chunk past that epoch."""
        since = time.thread_time()
        self._plan_made = None
        self._penalised = any(t.config.l1 or t.config.l2 for t in self.members)
        if n > 1:
            torch._foreach_copy_(self._marked, self._state())
        chunk, kept = ([self.epoch()], {}) if self.whole is None else self._whole_run(n, keep)
        self.pace = max(time.thread_time() - since, 1e-9) / n
        return chunk, kept

    def rewind(self, n: int) -> None:
        """Back to where the last ``run`` began, and its first ``n`` epochs again."""
        self._restore()
        self._whole_run(n, set())

    def _whole_run(self, n: int, keep: set[int]) -> tuple[list[list], dict[int, tuple]]:
        """``run`` when one pass serves each epoch (``_whole_pass``). Each epoch is its forward
        pass, the loss's gradient, the backward pass and the step (``_epochs``); the figures of all
        ``n`` come from what the passes leave, in a few calls at the end: sums of each row's loss
        and score over the training and the test rows, each hidden unit's output size over the
        training rows, the gradients' norms. The last epoch's step waits for them, so that a member
        whose loss stopped being finite there skips it (as ``epoch`` skips it)."""
        x, y, positive, _ = self.whole
        n_rows, rows = self.n, x.shape[1]
        replay = self._graph(n) if not keep else None
        outs, sizes, grads, penalties, kept = replay() if replay is not None else self._epochs(n, keep)
        for j in kept:
            kept[j] = (kept[j], outs[j + 1])
        with self.inference():
            out = torch.stack(outs)  # [n, K, rows, outputs]
            targets = y.expand(n, *y.shape)
            terms = self.loss.rows(out, targets, self.task, None)[0], row_scores(out, targets, self.task, positive)
            parts = [slice(0, n_rows)] + ([slice(n_rows, rows)] if rows > n_rows else [])
            # [n, K, 2 or 4]: sums of (loss, score) over the training rows, then over the test rows
            columns = [torch.stack([v[:, :, part].sum(2, dtype=out.dtype) for part in parts for v in terms], -1)]
            columns += [torch.stack(layer) for layer in zip(*sizes)]
            columns.append(self._norms(grads))
            if penalties[0] is not None:
                columns.append((columns[0][..., 0] / n_rows + torch.stack(penalties))[..., None])
            values = torch.cat(columns, -1).tolist()
        check = -1 if penalties[0] is not None else 0
        failed = [{i for i, v in enumerate(epoch) if not math.isfinite(v[check])} for epoch in values]
        self._apply(grads[-1], failed[-1])
        m = rows - n_rows
        at, units, layers = 2 + 2 * (m > 0), self.units, len(grads[0])

        def figure(v):
            test = (v[2] / m, v[3]) if m else None
            return [v[0] / n_rows], [v[1]], [n_rows], v[at + units : at + units + layers], test, v[at : at + units]

        return [self._figures(v, f, figure) for v, f in zip(values, failed)], kept

    def _epochs(self, n: int, keep: set[int] = _NOBODY) -> tuple:
        """The epochs of ``_whole_run``, each epoch's step but the last: what each pass leaves
        (outputs, unit sizes, gradients, penalties) and the weights after the epochs in ``keep``.
        Without a sync, so that CUDA can capture it as a graph (``_graph``)."""
        x, y, _, weight = self.whole
        n_rows, rows = self.n, x.shape[1]
        outs, sizes, grads, penalties, kept = [], [], [], [], {}
        # The steps inside the chunk too (plain SGD, fused Adam: no optimizer's own step, see chunk_length).
        # Names bound once: this loop is the epoch, and Python's lookups are a part of its cost.
        forward, backward, loss_rows, views, weights = (
            self.bp.forward,
            self.bp.backward,
            self.loss.rows,
            self.views,
            self.weights,
        )
        task, nonnegative, step, penalty = self.task, self.nonnegative, self._apply, self._penalty
        with self.inference():
            for j in range(n):
                fwd = forward(views, x)
                g = backward(fwd, loss_rows(fwd.out, y, task, weight, False)[1], weights)
                penalties.append(penalty(g))
                # Each epoch's, as it passes: activations stacked for a chunk leave the cache.
                hidden = fwd.hidden if rows == n_rows else [h.narrow(1, 0, n_rows) for h in fwd.hidden]
                sizes.append([(h if plus else h.abs()).sum(1) for h, plus in zip(hidden, nonnegative)])
                outs.append(fwd.out)
                grads.append(g)
                if j < n - 1:
                    step(g, _NOBODY)
                    if j in keep:
                        kept[j] = [w.clone() for w in weights]
        return outs, sizes, grads, penalties, kept

    def _graph(self, n: int) -> Callable[[], tuple] | None:
        """On CUDA, ``_epochs(n)`` as a captured graph: a function that replays it and returns its
        static outputs; None where it runs eagerly. A chunk's hundreds of small kernels then cost
        one launch. The graph holds the learning rates and L1/L2 of its capture: another plan,
        another graph; and it is captured once a chunk of its kind has run eagerly GRAPH_AFTER
        times (a Playground tick's few chunks would not repay a capture). Where capture fails, the
        stack trains eagerly from then on and says why (``graph_note``)."""
        if self.graphs is None or n < 2:
            return None
        plan = self._plan(_NOBODY)
        rates = tuple((t.config.l1, t.config.l2) for t in self.members) if self._penalised else None
        key = (n, plan.signature(), rates)
        if key not in self.graphs:
            self._seen[key] = self._seen.get(key, 0) + 1
            if self._seen[key] <= GRAPH_AFTER:
                return None
            try:
                # Capturing replays nothing, but its warm-up passes train: each is undone.
                self.graphs[key] = _capture(lambda: self._epochs(n), self._restore)
            except Exception as exc:
                self._restore()
                self.graphs, self.graph_note = None, f"eager: CUDA graph capture failed ({type(exc).__name__}: {exc})"
                return None
            self.graph_note = "replayed as CUDA graphs"
            if len(self.graphs) > MAX_GRAPHS:
                self.graphs.pop(next(iter(self.graphs)))
        replay, outputs = self.graphs[key]

        def replayed() -> tuple:
            replay()
            return outputs

        return replayed

    def _restore(self) -> None:
        """The state the chunk began from (``run`` marks it)."""
        torch._foreach_copy_(self._state(), self._marked)

    def _norms(self, grads: list[list[torch.Tensor]]) -> torch.Tensor:
        """Each member's gradient norms, tensor by tensor, epoch by epoch (``grads``: each epoch's
        gradients), as ``[epochs, K, tensors]``: two calls per tensor for a chunk (a foreach norm
        is a call per tensor and epoch)."""
        per_tensor = [torch.stack(gs) for gs in zip(*grads)]  # [epochs, K, ...] each
        return torch.stack([torch.linalg.vector_norm(g, dim=tuple(range(2, g.ndim))) for g in per_tensor], -1)

    def outputs(self, which: list[int], at: tuple | None = None) -> list[tuple]:
        """For the members ``which``, in one pass: what ``predict`` gives for the training points,
        and a CPU copy of the parameters (one copy of each stacked tensor, each member's a view).
        ``at``: weights kept by ``run`` and the outputs of the pass after them, for then, not now."""
        if not which:
            return []
        every = len(which) == self.k
        index = None if every else torch.tensor(which, device=self.X.device)
        if at is None:
            weights = [w.clone() if every else w.index_select(0, index) for w in self.weights]  # a copy
        else:
            weights = at[0] if every else [w.index_select(0, index) for w in at[0]]  # kept by run: a copy already
        copies = weights if weights[0].device.type == "cpu" else [w.to("cpu") for w in weights]
        if at is None:
            x = self.X if every else self.X.index_select(0, index)
            out = self.bp.forward(backprop.layer_views(weights), x, train=False).out
        else:
            out = at[1] if at[1].shape[1] == self.n else at[1].narrow(1, 0, self.n)
            out = out if every else out.index_select(0, index)
        head = self.members[0].model.head
        if isinstance(head, torch.nn.Sigmoid):
            out = torch.sigmoid(out)
        elif isinstance(head, torch.nn.Softmax):
            out = torch.softmax(out, -1)
        params = zip(*(w.unbind(0) for w in copies))
        return [(self.members[k]._readable(o), p) for k, o, p in zip(which, out, params)]

    def _terms(self, out, y, positive) -> torch.Tensor:
        """Each member's loss and score on these rows, as ``[K, 2]``."""
        spec = self.loss
        if self.k == 1:  # the loss alone: one fused call where the written gradient takes five
            loss = spec.fn(out[0], y[0], self.task)[None]
        elif spec.rows is not None and (written := spec.rows(out, y, self.task, 1 / y.shape[-1])) is not None:
            loss = written[0].mean(-1)
        else:
            loss = torch.stack([spec.fn(o, t, self.task) for o, t in zip(out, y)])
        return torch.stack([loss, score(out, y, self.task, positive)], 1)

    def _batches(self):
        members = self.members
        size = members[0].batch_size
        if not size:
            return [(self.X, self.y, self.positive[0])]
        n = self.X.shape[1]
        # Each member's own order, drawn from its own generator as it would be alone.
        perms = torch.stack([torch.randperm(n, generator=t._shuffle_generator) for t in members]).to(self.X.device)
        rows = torch.arange(self.k, device=self.X.device)[:, None]
        batches = []
        for idx in perms.split(size, dim=1):
            yb = self.y[rows, idx]
            batches.append((self.X[rows, idx], yb, None if self.positive[0] is None else yb > 0.5))
        return batches

    def _add_penalty(self, loss, grads):
        """Each member's objective: its loss plus its L1/L2 on the weights (see ``_penalty``)."""
        penalty = self._penalty(grads)
        return loss if penalty is None else loss + penalty

    def _penalty(self, grads):
        """Each member's L1/L2 penalty on the weights ``[K]``, its gradient added to ``grads``; None
        when no member has one. The rates are read once per run: they may change mid-run."""
        if not self._penalised:
            return None
        rates = tuple((t.config.l1, t.config.l2) for t in self.members)
        if rates != self._rates_key:
            ref = self.weights[0]
            l1, l2 = (torch.tensor(r, dtype=ref.dtype, device=ref.device) for r in zip(*rates))
            self._rates_key, self._rates = rates, (l1 if l1.any() else None, l2 if l2.any() else None)
        l1, l2 = self._rates
        penalty = 0.0
        for i in range(0, len(grads), 2):  # weights only: biases go unpenalised
            w = self.weights[i]
            if l1 is not None:
                grads[i] = grads[i] + l1[:, None, None] * torch.sign(w)
                penalty = penalty + l1 * w.abs().sum((1, 2))
            if l2 is not None:
                grads[i] = grads[i] + (2 * l2)[:, None, None] * w
                penalty = penalty + l2 * w.pow(2).sum((1, 2))
        return penalty

    def _fused_groups(self, skip: set[int]) -> dict[tuple, list[int]]:
        """Members whose step is fused Adam (or AdamW) with its state set up, by their settings:
        each group steps as one call of the kernel their own ``step()`` would call, without its
        Python around it (measured: a third of a lone default epoch). A member's first step sets
        its state up itself."""
        groups: dict[tuple, list[int]] = {}
        for i, t in enumerate(self.members):
            opt = t.optimizer
            if i in skip or not isinstance(opt, torch.optim.Adam) or len(opt.param_groups) != 1:
                continue
            g = opt.param_groups[0]
            if not g.get("fused") or g["amsgrad"] or g["maximize"] or g.get("capturable") or g.get("differentiable"):
                continue
            if i not in self._ready:
                if any("step" not in opt.state.get(p, ()) for p in t._params):
                    continue
                self._ready.add(i)
            key = (g["lr"], tuple(g["betas"]), g["eps"], g["weight_decay"], bool(g.get("decoupled_weight_decay")))
            groups.setdefault(key, []).append(i)
        ready = sorted(i for group in groups.values() for i in group)
        if self._steps is None or ready != self._steps[0]:
            self._share_steps(ready)
        return groups

    def _share_steps(self, which: list[int]) -> None:
        """Let the step counts of members ``which`` be views of one tensor, so that one call counts
        them all up (one each for each parameter: the fused kernel reads them one by one); the
        members' step counts before that go back to tensors of their own."""
        if self._steps is not None:
            for i in self._steps[0]:
                for p in self.members[i]._params:
                    state = self.members[i].optimizer.state[p]
                    state["step"] = state["step"].clone()
        self._steps = None
        if which:
            states = [self.members[i].optimizer.state[p] for i in which for p in self.members[i]._params]
            shared = torch.stack([s["step"] for s in states])
            for state, view in zip(states, shared.unbind(0)):
                state["step"] = view
            self._steps = (which, shared)

    def _plan(self, skip: set[int]) -> _Plan:
        """How ``_apply`` steps the members, but for ``skip``: worked out once per run for a step
        that skips nobody (the learning rates are read then), as for a member that failed, anew."""
        if not skip and self._plan_made is not None:
            return self._plan_made
        self._plan_made = None  # another ready set may share its step counts anew (see _fused_groups)
        members = self.members
        plan = _Plan()
        if not skip and all(t._plain_sgd and t.optimizer.param_groups[0]["momentum"] == 0 for t in members):
            rates = [t.optimizer.param_groups[0]["lr"] for t in members]
            if len(set(rates)) == 1:
                plan.rate = -rates[0]
            else:
                ref = self.weights[0]
                rate = torch.tensor(rates, dtype=ref.dtype, device=ref.device).neg_()
                plan.rate = [rate.view(-1, *[1] * (w.ndim - 1)) for w in self.weights]
        else:
            skip = skip | set(self.broken)
            together = self._fused_groups(skip)
            fused = sorted(i for group in together.values() for i in group)
            plan.fused = fused
            plan.own = [i for i in range(self.k) if i not in skip and i not in set(fused)]
            if fused:
                plan.steps = [members[i].optimizer.state[p]["step"] for i in fused for p in members[i]._params]
            alone = self.k == 1  # the stack's [1, ...] tensors are the member's, viewed: no unbinding
            for (lr, betas, eps, weight_decay, decoupled), group in together.items():
                states = [members[i].optimizer.state[p] for i in group for p in members[i]._params]
                params = self.weights if alone else [p for i in group for p in members[i]._params]
                moments = [[s[key].view_as(p) for s, p in zip(states, params)] for key in ("exp_avg", "exp_avg_sq")]
                kernel = torch._fused_adamw_ if decoupled else torch._fused_adam_
                settings = dict(lr=lr, beta1=betas[0], beta2=betas[1], weight_decay=weight_decay, eps=eps)
                plan.groups.append((kernel, group, params, *moments, [s["step"] for s in states], settings))
        if not skip:
            self._plan_made = plan
        return plan

    def _apply(self, grads, skip: set[int]) -> None:
        """Each member's step with its own gradients (a member that failed skips it): plain SGD,
        the article's, as one call for the whole stack; fused Adam and AdamW as one call for the
        members that share their settings; any other optimizer by its own ``step()``."""
        plan = self._plan(skip)
        inference = contextlib.nullcontext if torch.is_inference_mode_enabled() else self.inference
        if plan.rate is not None:
            with inference():  # in place on ordinary tensors: allowed, and cheaper in there
                if isinstance(plan.rate, float):
                    torch._foreach_add_(self.weights, grads, alpha=plan.rate)
                else:
                    torch._foreach_add_(self.weights, torch._foreach_mul(grads, plan.rate))
            # SGD reads no .grad: the last step's are left there once, when the pass ends (release).
            self._last_grads, self._fused = grads, []
            return
        members = self.members
        self._fused = plan.fused
        if self.inference is torch.inference_mode and plan.own:
            grads = [g.clone() for g in grads]  # an optimizer's own step may change .grad in place
        per_member = None if self.k == 1 and not plan.own else list(zip(*(g.unbind(0) for g in grads)))
        self._last_grads = grads if plan.fused else None
        with inference():  # the kernel steps ordinary tensors in place: allowed in there
            if plan.fused:
                # Every step count of every member stepped here, in one call (see _share_steps).
                if self._steps is not None and self._steps[0] == plan.fused:
                    self._steps[1].add_(1)
                else:
                    torch._foreach_add_(plan.steps, 1)
            for kernel, group, params, exp_avgs, exp_avg_sqs, steps, settings in plan.groups:
                # One fused Adam call for every member with these settings: the very kernel each
                # member's own step() calls for its own tensors, each tensor with its own moments and step.
                member_grads = grads if per_member is None else [g for i in group for g in per_member[i]]
                kernel(
                    params, member_grads, exp_avgs, exp_avg_sqs, [], steps, amsgrad=False, maximize=False, **settings
                )
        for i in plan.own:
            t = members[i]
            for p, g in zip(t._params, per_member[i]):
                p.grad = g
            try:
                t.optimizer.step()
            except Exception as exc:
                if not self.tolerant:
                    raise
                self.broken[i] = exc


@dataclass
class _Plan:
    """How ``_Stack._apply`` steps its members (see ``_Stack._plan``)."""

    rate: float | list[torch.Tensor] | None = None  # plain SGD: minus the rate, or each member's, shaped
    fused: list[int] = field(default_factory=list)  # members stepped by a fused Adam call
    own: list[int] = field(default_factory=list)  # members stepped by their own step()
    steps: list[torch.Tensor] = field(default_factory=list)
    groups: list[tuple] = field(default_factory=list)  # (kernel, members, params, moments, steps, settings)

    def signature(self) -> tuple:
        """What a captured graph of steps by this plan holds fixed: the rates and settings, who steps how."""
        rate = self.rate if self.rate is None or isinstance(self.rate, float) else id(self.rate[0])
        groups = tuple(
            (kernel, tuple(group), tuple(sorted(settings.items()))) for kernel, group, *_, settings in self.groups
        )
        return rate, tuple(self.fused), tuple(self.own), groups


def _stacked(tensors: list[torch.Tensor]) -> torch.Tensor:
    return tensors[0].unsqueeze(0) if len(tensors) == 1 else torch.stack(tensors)


def _graphs_on(device: torch.device) -> bool:
    return device.type == "cuda" and CUDA_GRAPHS


def _capture(work: Callable[[], tuple], undo: Callable[[], None]) -> tuple[Callable[[], None], tuple]:
    """``work`` captured as a CUDA graph: (replay, its outputs), tensors that each replay rewrites
    in place. Warm-up passes first, on a side stream, each undone by ``undo``."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(GRAPH_WARMUPS):
            work()
            undo()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        outputs = work()
    return graph.replay, outputs
