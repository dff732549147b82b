"""torch.profiler (and torch.autograd.profiler) for minigrad: per-op CPU times of a region of code.

``with profile(...) as prof:`` records every op minigrad applies in the thread that entered it
(through ``minigrad.autograd.trace``, the hook minigrad.onnx uses), named as PyTorch's
(``aten::conv2d``, ``aten::mm``, ...: the op class's name in snake case), the nodes its backward
passes evaluate, its optimizer steps and the ``record_function`` ranges around them;
``prof.key_averages().table(sort_by=..., row_limit=...)`` prints PyTorch's table and
``prof.export_chrome_trace(path)`` writes a Chrome trace (chrome://tracing, Perfetto).

What is timed, and where that differs from PyTorch:

- An op runs from the start of its ``Function.apply`` to the end of its forward (trace's start
  hook and hook). Python between ops (the module code around them) is in no op: it is the self
  time of the range around it. An op (or backward node) that raises is left out, as its end is
  not seen; what ran inside it counts toward the range around it.
- Each node a backward pass evaluates is a row "autograd::engine::evaluate_function:
  MulBackward0" (its gradient's hooks, its backward, passing its inputs' gradients on) with the
  node's own backward, "MulBackward0", inside it, as PyTorch's table shows them; with
  create_graph, the ops that backward applies nest inside those. minigrad's leaves have no node,
  so there is no AccumulateGrad row: a leaf's accumulation is in the row of the node reaching it.
- ``Optimizer.step`` is a range "Optimizer.step#SGD.step", as PyTorch's; a fused step runs no
  op, so its time is that range's self time.
- Times are the host's wall clock in microseconds; with ``ProfilerActivity.CUDA`` no separate
  device times are recorded. ``profile_memory`` counts the bytes of each op's output on the host
  (allocations only: frees are not seen, so ranges show the sum of their ops' and no negative
  values). ``with_stack``, ``with_flops`` and ``with_modules`` are accepted and record nothing.
- Ops in other threads (a DataLoader's workers) are not recorded, and a thread that is already
  tracing (inside ``minigrad.onnx.export``) cannot be profiled at the same time.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import gzip
import json
import os
import re
import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterable
from typing import Any

from minigrad import autograd

__all__ = [
    "FunctionEvent",
    "EventList",
    "ProfilerAction",
    "ProfilerActivity",
    "op_event_name",
    "profile",
    "record_function",
    "schedule",
    "supported_activities",
    "tensorboard_trace_handler",
]


class ProfilerActivity(enum.Enum):
    """What a profiler records (only the host's side of either: see the module docstring)."""

    CPU = "CPU"
    CUDA = "CUDA"


class ProfilerAction(enum.Enum):
    """What a schedule asks the profiler to do at a step."""

    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3


def supported_activities() -> set[ProfilerActivity]:
    """The activities profile accepts."""
    return set(ProfilerActivity)


def schedule(*, wait: int, warmup: int, active: int, repeat: int = 0, skip_first: int = 0,
             skip_first_wait: int = 0) -> Callable[[int], ProfilerAction]:
    """PyTorch's profiler schedule: skip skip_first steps, then cycles of wait steps idle, warmup
    steps warming up (not recorded) and active steps recorded (the last one RECORD_AND_SAVE, when
    on_trace_ready runs), repeat times (0: until the profiler stops). skip_first_wait skips the
    first cycle's wait."""
    if wait < 0 or warmup < 0 or active <= 0 or repeat < 0 or skip_first < 0:
        raise AssertionError(f"Invalid profiler schedule arguments. Got wait={wait} (need >= 0), warmup={warmup} "
                             f"(need >= 0), active={active} (need > 0), repeat={repeat} (need >= 0), "
                             f"skip_first={skip_first} (need >= 0).")
    if warmup == 0:
        warnings.warn("Profiler won't be using warmup, this can skew profiler results", stacklevel=2)

    def schedule_fn(step: int) -> ProfilerAction:
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        if skip_first_wait:
            step += wait
        cycle = wait + warmup + active
        if repeat > 0 and step / cycle >= repeat:
            return ProfilerAction.NONE
        position = step % cycle
        if position < wait:
            return ProfilerAction.NONE
        if position < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if position < cycle - 1 else ProfilerAction.RECORD_AND_SAVE

    return schedule_fn


# PyTorch's names where snake-casing the op class's name gives another
_ATEN_NAMES = {"MatMul": "matmul", "CrossEntropy": "cross_entropy_loss", "MaxMin": "max", "CopySlices": "copy_"}
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z][a-z])")  # "MaxPool2d" -> "Max_Pool2d"; "ReLU" stays whole


@functools.cache  # the start hook names every op: 2.8 us a call with the regular expression, 0.2 cached
def op_event_name(cls: type) -> str:
    """PyTorch's profiler name of a minigrad op class: Conv2dOp -> "aten::conv2d"."""
    name = cls.__name__.removesuffix("Op").lstrip("_")
    return "aten::" + (_ATEN_NAMES.get(name) or _CAMEL.sub("_", name).lower())


class FunctionEvent:
    """One recorded op or range (count 1), or, from key_averages, the sum of several with the same
    key (and input shapes): PyTorch's FunctionEvent and FunctionEventAvg. Times in microseconds."""

    def __init__(self, key: str, start_us: float = 0.0, end_us: float = 0.0, input_shapes: list | None = None,
                 memory: int = 0, is_user_annotation: bool = False) -> None:
        self.key = key
        self.count = 1
        self.time_range = (start_us, end_us)
        self.cpu_time_total = end_us - start_us
        self.self_cpu_time_total = self.cpu_time_total  # less the children's, as they end
        self.cpu_memory_usage = self.self_cpu_memory_usage = memory
        self.input_shapes = input_shapes or []
        self.is_user_annotation = is_user_annotation
        self.thread = threading.get_ident()
        # no device side is recorded (see the module docstring); here for sort_by="cuda_time_total"
        self.device_time_total = self.self_device_time_total = 0.0
        self.device_memory_usage = self.self_device_memory_usage = 0

    @property
    def name(self) -> str:
        return self.key

    @property
    def cpu_time(self) -> float:
        """The average CPU time per call (us)."""
        return self.cpu_time_total / self.count if self.count else 0.0

    @property
    def device_time(self) -> float:
        return 0.0

    def add(self, other: FunctionEvent) -> FunctionEvent:
        """Add other's calls, times and memory to this one (key_averages' sums)."""
        self.count += other.count
        self.cpu_time_total += other.cpu_time_total
        self.self_cpu_time_total += other.self_cpu_time_total
        self.cpu_memory_usage += other.cpu_memory_usage
        self.self_cpu_memory_usage += other.self_cpu_memory_usage
        return self

    def __repr__(self) -> str:
        return (f"<FunctionEvent key={self.key} count={self.count} cpu_time_total={_format_time(self.cpu_time_total)} "
                f"self_cpu_time_total={_format_time(self.self_cpu_time_total)} input_shapes={self.input_shapes}>")


def _format_time(us: float) -> str:
    if us >= 1e6:
        return f"{us / 1e6:.3f}s"
    if us >= 1e3:
        return f"{us / 1e3:.3f}ms"
    return f"{us:.3f}us"


def _format_memory(nbytes: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if abs(nbytes) >= size:
            return f"{nbytes / size:.2f} {unit}"
    return f"{nbytes} B"


def _share(us: float, total: float) -> str:
    return "NaN" if total == 0 else f"{us * 100.0 / total:.2f}%"


class EventList(list):
    """A list of FunctionEvents that prints as PyTorch's profiler table."""

    def __init__(self, events: Iterable[FunctionEvent] = (), profile_memory: bool = False) -> None:
        super().__init__(events)
        self.profile_memory = profile_memory

    @property
    def self_cpu_time_total(self) -> float:
        """The sum of the events' self CPU times (us): the table's footer."""
        return sum(e.self_cpu_time_total for e in self)

    def total_average(self) -> FunctionEvent:
        """One event summing all of them ("Total")."""
        total = FunctionEvent("Total")
        total.count = 0
        for event in self:
            total.add(event)
        return total

    def table(self, sort_by: str | None = None, row_limit: int = 100, max_name_column_width: int = 55,
              max_shapes_column_width: int = 80, header: str | None = None, top_level_events_only: bool = False,
              **ignored: Any) -> str:
        """PyTorch's table: Name, Self CPU %, Self CPU, CPU total %, CPU total, CPU time avg, (CPU Mem, Self
        CPU Mem with profile_memory,) # of Calls (and Input Shapes when grouped by them), the rows in
        recorded order or by sort_by (an attribute, largest first: "cpu_time_total",
        "self_cpu_time_total", "count", "self_cpu_memory_usage", ...), at most row_limit of them.
        top_level_events_only is accepted and ignored, as are PyTorch's other layout options."""
        if not self:
            return ""
        events = list(self)
        if sort_by is not None:
            attribute = sort_by.replace("cuda", "device").replace("xpu", "device")
            events.sort(key=lambda e: getattr(e, attribute), reverse=True)
        shapes = any(e.input_shapes for e in events)
        name_width = min(max(len(e.key) for e in events) + 4, max_name_column_width)
        headers = ["Name", "Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg"]
        if self.profile_memory:
            headers += ["CPU Mem", "Self CPU Mem"]
        headers.append("# of Calls")
        widths = [name_width] + [12] * (len(headers) - 1)
        if shapes:
            headers.append("Input Shapes")
            widths.append(min(max(len(str(e.input_shapes)) for e in events) + 4, max_shapes_column_width))
        row = "".join(f"{{:>{w}}}  " for w in widths)
        rule = "".join("-" * w + "  " for w in widths)
        total = self.self_cpu_time_total
        lines = []
        if header is not None:
            lines += ["=" * (sum(widths) + 2 * len(widths) - 2), header]
        lines += [rule, row.format(*headers), rule]
        for event in events[:row_limit]:
            name = event.key
            if len(name) >= max_name_column_width - 3:
                name = name[: max_name_column_width - 3] + "..."
            values = [name, _share(event.self_cpu_time_total, total), _format_time(event.self_cpu_time_total),
                      _share(event.cpu_time_total, total), _format_time(event.cpu_time_total),
                      _format_time(event.cpu_time)]
            if self.profile_memory:
                values += [_format_memory(event.cpu_memory_usage), _format_memory(event.self_cpu_memory_usage)]
            values.append(event.count)
            if shapes:
                values.append(str(event.input_shapes))
            lines.append(row.format(*values))
        lines += [rule, f"Self CPU time total: {_format_time(total)}", ""]
        return "\n".join(lines)

    def key_averages(self, group_by_input_shape: bool = False) -> EventList:
        """The events summed by key (and input shapes), in order of first appearance."""
        groups: dict[tuple, FunctionEvent] = {}
        for event in self:
            key = (event.key, str(event.input_shapes)) if group_by_input_shape else (event.key,)
            if key not in groups:
                shapes = event.input_shapes if group_by_input_shape else None
                groups[key] = FunctionEvent(event.key, input_shapes=shapes, is_user_annotation=event.is_user_annotation)
                groups[key].count = 0
            groups[key].add(event)
        return EventList(groups.values(), self.profile_memory)

    def export_chrome_trace(self, path: str | os.PathLike) -> None:
        """Write the events as Chrome trace JSON ("X" events, microseconds); a name ending in .gz is gzipped."""
        pid = os.getpid()
        trace = {
            "schemaVersion": 1,
            "displayTimeUnit": "ms",
            "traceEvents": [
                {"ph": "X", "cat": "user_annotation" if e.is_user_annotation else "cpu_op", "name": e.key,
                 "pid": pid, "tid": e.thread, "ts": e.time_range[0], "dur": e.cpu_time_total,
                 "args": {"Input Dims": e.input_shapes} if e.input_shapes else {}}
                for e in self
            ],
        }
        data = json.dumps(trace).encode()
        path = os.fspath(path)
        with (gzip.open if path.endswith(".gz") else open)(path, "wb") as file:
            file.write(data)

    def __str__(self) -> str:
        return self.table()


_RECORDING = (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE)
_active: profile | None = None  # the profiler recording now, if any (one at a time, as PyTorch)


class _Range:
    """An open op, record_function range or backward span of the recording thread: its event and
    what the events ended inside it took."""

    __slots__ = ("event", "children_us", "children_memory")

    def __init__(self, event: FunctionEvent) -> None:
        self.event, self.children_us, self.children_memory = event, 0.0, 0


class profile:  # noqa: N801 (PyTorch's name)
    """torch.profiler.profile / torch.autograd.profiler.profile: records the ops, backward nodes,
    optimizer steps and record_function ranges run inside it in this thread (see the module
    docstring).

    activities: ProfilerActivity values (default CPU; CUDA records host times only).
    schedule: a callable from step number to ProfilerAction (``minigrad.profiler.schedule``), advanced
    by ``prof.step()``; without one everything is recorded. on_trace_ready(prof) runs at the end of
    each recorded cycle (or at exit). record_shapes keeps each op's input shapes
    (``key_averages(group_by_input_shape=True)``); profile_memory the bytes of its output.
    enabled=False (torch.autograd.profiler's first argument) records nothing. use_cuda, use_device,
    use_cpu, use_kineto, with_stack, with_flops, with_modules, experimental_config and acc_events are
    accepted for PyTorch's signatures."""

    def __init__(self, enabled: bool = True, *, activities: Iterable[ProfilerActivity] | None = None,
                 schedule: Callable[[int], ProfilerAction] | None = None,
                 on_trace_ready: Callable[[profile], Any] | None = None, record_shapes: bool = False,
                 profile_memory: bool = False, with_stack: bool = False, with_flops: bool = False,
                 with_modules: bool = False, use_cuda: bool = False, use_device: str | None = None,
                 use_cpu: bool = True, use_kineto: bool = True, experimental_config: Any = None,
                 acc_events: bool = False) -> None:
        self.enabled = enabled
        self.activities = set(activities) if activities is not None else {ProfilerActivity.CPU}
        self.schedule = schedule
        self.on_trace_ready = on_trace_ready
        self.record_shapes = record_shapes
        self.profile_memory = profile_memory
        self.step_num = 0
        self._events: list[FunctionEvent] = []
        self._open: list[_Range] = []  # ranges open now, innermost last
        self._collecting = False
        self._generation = 0  # which collection an open range belongs to
        self._action = ProfilerAction.NONE
        self._origin_ns = time.perf_counter_ns()
        self._step_range: contextlib.AbstractContextManager | None = None
        self._tracing: contextlib.AbstractContextManager | None = None
        self._thread: int | None = None  # the thread it records (autograd.trace's hook is per thread)

    # --- starting and stopping ---------------------------------------------------------------
    def __enter__(self) -> profile:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start profiling (what entering the context does)."""
        global _active
        if not self.enabled:
            return
        if _active is not None:
            raise RuntimeError("Profiler is already enabled: minigrad profiles one region at a time")
        self._tracing = autograd.trace(self._on_op, self._on_op_start, self._span)
        self._tracing.__enter__()
        _active, self._thread = self, threading.get_ident()
        self._enter_action(self._next_action())

    def stop(self) -> None:
        """Stop profiling (what leaving the context does); on_trace_ready runs if a cycle was recording."""
        global _active
        if _active is not self:
            return
        self._close_step_range()
        recording, self._collecting = self._collecting, False
        _active = None
        self._tracing.__exit__(None, None, None)
        if recording and self.on_trace_ready is not None:
            self.on_trace_ready(self)

    def step(self) -> None:
        """Mark the end of a step (a training iteration): advances the schedule."""
        if _active is not self:
            return
        self._close_step_range()
        previous = self._action
        self.step_num += 1
        action = self._next_action()
        if self._collecting and (previous is ProfilerAction.RECORD_AND_SAVE or action not in _RECORDING):
            self._collecting = False
            if self.on_trace_ready is not None:
                self.on_trace_ready(self)
        self._enter_action(action)

    def _next_action(self) -> ProfilerAction:
        return ProfilerAction.RECORD if self.schedule is None else self.schedule(self.step_num)

    def _enter_action(self, action: ProfilerAction) -> None:
        self._action = action
        recording = action in _RECORDING
        if recording and not self._collecting:  # a new cycle: its own events
            self._events, self._open, self._collecting = [], [], True
            self._generation += 1
        if recording and self.schedule is not None:  # PyTorch marks each recorded step so
            self._step_range = record_function(f"ProfilerStep#{self.step_num}")
            self._step_range.__enter__()

    def _close_step_range(self) -> None:
        if self._step_range is not None:
            self._step_range.__exit__(None, None, None)
            self._step_range = None

    # --- recording ---------------------------------------------------------------------------
    def _now(self) -> float:
        """Microseconds since the profiler was made."""
        return (time.perf_counter_ns() - self._origin_ns) / 1e3

    def _push(self, name: str, is_user_annotation: bool) -> _Range:
        """Open an entry starting now, innermost."""
        entry = _Range(FunctionEvent(name, is_user_annotation=is_user_annotation))
        self._open.append(entry)
        now = self._now()  # last, so that the bookkeeping is not in the entry's time
        entry.event.time_range = (now, now)
        return entry

    def _close(self, entry: _Range, end_us: float, memory: int = 0) -> None:
        """entry (no longer open) ended at end_us, having allocated memory bytes itself; it counts
        toward its parent's children."""
        event = entry.event
        event.time_range = (event.time_range[0], end_us)
        event.cpu_time_total = end_us - event.time_range[0]
        event.self_cpu_time_total = event.cpu_time_total - entry.children_us
        event.cpu_memory_usage = memory + entry.children_memory
        event.self_cpu_memory_usage = memory
        if self._open:
            parent = self._open[-1]
            parent.children_us += event.cpu_time_total
            parent.children_memory += event.cpu_memory_usage
        self._events.append(event)

    def _on_op_start(self, cls: type) -> None:
        """autograd.trace's start hook: an op begins now."""
        if self._collecting:
            self._push(op_event_name(cls), False)

    def _on_op(self, cls: type, inputs: tuple, params: dict, result: Any) -> None:
        """autograd.trace's hook: the op _on_op_start opened ended now. It is the innermost open
        entry: what began inside it (the ops of a view's refresh) ended first."""
        if not self._collecting:
            return
        end = self._now()
        entry = self._open.pop()
        if self.record_shapes:
            entry.event.input_shapes = [list(t.shape) if t is not None else [] for t in inputs]
        memory = 0
        if self.profile_memory and getattr(result, "device", None) is not None and result.device.type == "cpu":
            memory = result.numel() * result.element_size()
        self._close(entry, end, memory)

    def _span(self, name: str) -> Callable[[], None]:
        """autograd.trace's span hook: a backward node's evaluation or backward begins now; the
        callable returned ends it."""
        token = self._open_range(name, is_user_annotation=False)
        return _no_span if token is None else functools.partial(self._close_range, token)

    def _open_range(self, name: str, is_user_annotation: bool = True) -> tuple[int, _Range] | None:
        """A range opened now in the recording thread, as a token for _close_range; None when nothing records it."""
        if not self._collecting or threading.get_ident() != self._thread:
            return None
        return self._generation, self._push(name, is_user_annotation)

    def _close_range(self, token: tuple[int, _Range]) -> None:
        end = self._now()
        generation, entry = token
        if generation != self._generation or not self._collecting or entry not in self._open:
            return  # its cycle ended while it was open
        while (inner := self._open.pop()) is not entry:  # entries left open inside it
            if inner.event.is_user_annotation:  # a range entered and not exited: it ends with this one
                self._close(inner, end)
            else:  # an op or backward span that raised: its end is unknown, so it is left out
                self._open[-1].children_us += inner.children_us
                self._open[-1].children_memory += inner.children_memory
        self._close(entry, end)

    # --- results -----------------------------------------------------------------------------
    def events(self) -> EventList:
        """Every recorded event of the last cycle, by start time (a range before the ops inside it)."""
        return EventList(sorted(self._events, key=lambda e: (e.time_range[0], -e.time_range[1])), self.profile_memory)

    def key_averages(self, group_by_input_shape: bool = False, group_by_stack_n: int = 0) -> EventList:
        """The events summed by name (and input shapes with group_by_input_shape). group_by_stack_n
        is accepted for PyTorch's signature (no stacks are recorded)."""
        return self.events().key_averages(group_by_input_shape)

    def table(self, **options: Any) -> str:
        """The table of the single events (torch.autograd.profiler.profile's ``prof.table()``)."""
        return self.events().table(**options)

    def total_average(self) -> FunctionEvent:
        return self.events().total_average()

    @property
    def self_cpu_time_total(self) -> float:
        return self.events().self_cpu_time_total

    def export_chrome_trace(self, path: str | os.PathLike) -> None:
        """Write the recorded events as Chrome trace JSON (chrome://tracing, https://ui.perfetto.dev)."""
        self.events().export_chrome_trace(path)

    def __str__(self) -> str:
        return self.table()


class record_function(contextlib.ContextDecorator):  # noqa: N801 (PyTorch's name)
    """A named range in the profile (a row of its table, the time of everything inside it), as a
    context manager or a decorator; nothing when no profiler is recording. args is accepted for
    PyTorch's signature."""

    def __init__(self, name: str, args: str | None = None) -> None:
        self.name = name
        self._tokens: list = []  # one per entry still open (a decorated function may recurse)

    def __enter__(self) -> record_function:
        self._tokens.append(_active._open_range(self.name) if _active is not None else None)
        return self

    def __exit__(self, *exc: object) -> None:
        token = self._tokens.pop()
        if token is not None and _active is not None:
            _active._close_range(token)


def _no_span() -> None:
    """The end of a backward span that no profiler records."""


def tensorboard_trace_handler(dir_name: str, worker_name: str | None = None,
                              use_gzip: bool = False) -> Callable[[profile], None]:
    """An on_trace_ready handler writing each cycle's Chrome trace to
    ``dir_name/<worker>.<milliseconds>.pt.trace.json[.gz]``, the names TensorBoard's profiler plugin
    looks for (its trace view shows them; the plugin's other views need data minigrad does not record)."""

    def handler(prof: profile) -> None:
        os.makedirs(dir_name, exist_ok=True)
        worker = worker_name or f"{socket.gethostname()}_{os.getpid()}"
        name = f"{worker}.{time.time_ns() // 1_000_000}.pt.trace.json" + (".gz" if use_gzip else "")
        prof.export_chrome_trace(os.path.join(dir_name, name))

    return handler
