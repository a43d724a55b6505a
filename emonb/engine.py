"""Where emonb's parallel work runs: in this process (the default) or on a Dask cluster.

An :class:`Executor` maps a picklable function over a list of items and returns the
results in the items' order. :class:`InProcess` calls it in a loop, here, and needs no
cluster; :class:`DaskExecutor` sends each item to a worker of a Dask ``distributed``
cluster as one task (Rocklin 2015, "Dask: parallel computation with blocked algorithms and
task scheduling"): a ``LocalCluster`` of worker processes on this machine
(``--scheduler local[:N]``), or the cluster whose scheduler listens at an address (started
with ``dask scheduler`` and joined by ``dask worker ADDRESS`` on any number of machines).

Workers are spawned processes (Dask's default start method: no TensorFlow state is forked),
one thread each, with TensorFlow's thread pools set by :data:`WORKER_ENV` before it loads;
a task whose worker dies is run again on another (Dask re-schedules the tasks of a lost
worker), so results never depend on which worker ran what. The functions keep per-process
caches (the model, the face mesh: :func:`emonb.models.shipping.worker_model`) so each
worker loads them once.

:func:`open_executor` turns a ``--scheduler`` value into an executor, checking an address
before any work: an unreachable scheduler is one :class:`~emonb.errors.EmonbError` line.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Hashable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from emonb.errors import EmonbError

__all__ = ["CONNECT_TIMEOUT", "WORKER_ENV", "DaskExecutor", "Executor", "InProcess", "Pending",
           "cached", "check_scheduler", "open_executor"]  # fmt: skip

T = TypeVar("T")
R = TypeVar("R")

#: Environment of a local cluster's worker processes: TensorFlow uses one intra-op and one
#: inter-op thread per worker (a worker is one core's share of the work; more threads per
#: worker would fight over the cores), and the oneDNN ISA cap emonb needs on AVX-512 CPUs.
WORKER_ENV = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1",
              "OMP_NUM_THREADS": "1", "ONEDNN_MAX_CPU_ISA": "AVX2"}  # fmt: skip
#: Seconds to wait for a scheduler address to answer before calling it unreachable.
CONNECT_TIMEOUT = 10.0

_LOCAL = re.compile(r"^local(?::(\d+))?$")
#: What this process has loaded for the tasks it ran (see :func:`cached`).
_CACHE: dict[Hashable, Any] = {}


#: A thread's own cache instead of the process's (:class:`InProcess`'s background thread).
_SCOPE = threading.local()


def cached(key: Hashable, make: Callable[[], T]) -> T:
    """``make()``, made once per process and ``key`` (a model, a face mesh, an
    explainer): a worker loads what its tasks share once, not once per task. (In
    :class:`InProcess`'s background thread, once per executor: what it made goes with
    the executor.)"""
    cache = getattr(_SCOPE, "cache", None)
    cache = _CACHE if cache is None else cache
    if key not in cache:
        cache[key] = make()
    return cache[key]


class Pending(Protocol[R]):
    """A task submitted with :meth:`Executor.submit`: its result, waited for."""

    def result(self) -> R: ...

    def cancel(self) -> object:
        """Drop the task if it has not started (a running task finishes)."""
        ...


class Executor(Protocol):
    """Runs ``fn(item)`` on each item, anywhere (``fn(shared, item)`` given ``shared``:
    an object every task reads, sent to each worker once); results come back in the
    items' order."""

    def map(self, fn: Callable[..., R], items: Sequence[T], *, shared: Any = None,
            label: str = "task") -> list[R]: ...

    def submit(self, fn: Callable[..., R], item: T, *, shared: Any = None,
               label: str = "task") -> Pending[R]:  # fmt: skip
        """``fn(item)`` (``fn(shared, item)``) started now, beside the caller's work: its
        result when asked for (``.result()``, which raises what the task raised)."""
        ...

    def record(self) -> dict[str, Any]:
        """What ran the work, for a result's JSON: ``engine``, ``scheduler``, ``workers``,
        ``tasks`` (so far) and ``task_seconds`` (label -> seconds of each task)."""
        ...


@dataclass
class InProcess:
    """The embedded default: every item of :meth:`map` in turn, in this process; what is
    :meth:`submit`-ted runs in one background thread of this process, one task after
    another, beside the caller's work. TensorFlow and NumPy release the interpreter lock
    while they compute, so a background task's model passes fill the core that the
    caller's single-threaded steps (the face mesh, sorting, the regions) leave idle. The
    background thread keeps its own :func:`cached` objects, dropped with the executor,
    and is a daemon: an interrupted run does not wait for it."""

    tasks: int = 0
    task_seconds: dict[str, list[float]] = field(default_factory=dict)
    _queue: list = field(default_factory=list, repr=False)
    _lock: Any = field(default_factory=threading.Lock, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _scope: dict = field(default_factory=dict, repr=False)

    def submit(self, fn: Callable[..., R], item: T, *, shared: Any = None,
               label: str = "task") -> Future:  # fmt: skip
        future: Future = Future()
        with self._lock:
            self._queue.append((fn, item, shared, label, future))
            self.tasks += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._drain, name="emonb-background",
                                                daemon=True)  # fmt: skip
                self._thread.start()
        return future

    def _drain(self) -> None:
        """The background thread: the submitted tasks in order, until none is left."""
        _SCOPE.cache = self._scope
        while True:
            with self._lock:
                if not self._queue:
                    self._thread = None
                    return
                fn, item, shared, label, future = self._queue.pop(0)
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result, seconds = _timed(fn, item, shared)
            except BaseException as err:  # handed to whoever asks for the result
                future.set_exception(err)
                continue
            self.task_seconds.setdefault(label, []).append(seconds)
            future.set_result(result)

    def map(self, fn: Callable[..., R], items: Sequence[T], *, shared: Any = None,
            label: str = "task") -> list[R]:
        out = []
        for item in items:
            t0 = time.perf_counter()
            out.append(fn(item) if shared is None else fn(shared, item))
            self.task_seconds.setdefault(label, []).append(time.perf_counter() - t0)
        self.tasks += len(items)
        return out

    def record(self) -> dict[str, Any]:
        return {"engine": "in-process", "scheduler": None, "workers": 1, "tasks": self.tasks,
                "task_seconds": self.task_seconds}  # fmt: skip


def _given(value: T) -> T:
    """The task whose result is a shared object (:meth:`DaskExecutor._scatter`)."""
    return value


def _timed(fn: Callable[..., R], item: T, shared: Any = None) -> tuple[R, float]:
    t0 = time.perf_counter()
    result = fn(item) if shared is None else fn(shared, item)
    return result, time.perf_counter() - t0


@dataclass
class DaskExecutor:
    """Each item one task on the workers of a ``distributed.Client``'s cluster."""

    client: Any
    tasks: int = 0
    task_seconds: dict[str, list[float]] = field(default_factory=dict)
    _scattered: dict[int, tuple[Any, Any]] = field(default_factory=dict, repr=False)

    def _scatter(self, shared: Any) -> Any:
        """``shared`` on the cluster once per executor, as the result of a task of its own
        that later tasks depend on (each worker fetches it once). Not ``client.scatter``: a
        worker lost with the only copy of scattered data fails every task that needs it,
        while a task's result is made again from the task."""
        if id(shared) not in self._scattered:  # the object is kept, so its id stays its own
            key = f"shared-{type(shared).__name__}-{os.urandom(4).hex()}"
            self._scattered[id(shared)] = (shared, self.client.submit(_given, shared, pure=False,
                                                                      key=key))  # fmt: skip
        return self._scattered[id(shared)][1]

    def map(self, fn: Callable[..., R], items: Sequence[T], *, shared: Any = None,
            label: str = "task") -> list[R]:
        if not items:
            return []
        n = len(items)
        if shared is not None:  # sent once to every worker, not once per task
            shared = self._scatter(shared)
        # pure=False: every call is a task of its own (two equal chunks are still two tasks)
        token = os.urandom(4).hex()
        futures = self.client.map(_timed, [fn] * n, list(items), [shared] * n, pure=False,
                                  key=[f"{label}-{k}-{token}" for k in range(n)])  # fmt: skip
        done = self.client.gather(futures)
        self.tasks += len(items)
        self.task_seconds.setdefault(label, []).extend(t for _, t in done)
        return [r for r, _ in done]

    def submit(self, fn: Callable[..., R], item: T, *, shared: Any = None,
               label: str = "task") -> Pending[R]:  # fmt: skip
        if shared is not None:
            shared = self._scatter(shared)
        future = self.client.submit(_timed, fn, item, shared, pure=False,
                                    key=f"{label}-{os.urandom(4).hex()}")  # fmt: skip
        self.tasks += 1
        return _Gathered(future, self.task_seconds.setdefault(label, []))

    def record(self) -> dict[str, Any]:
        info = self.client.scheduler_info()
        return {"engine": "dask", "scheduler": info.get("address"),
                "workers": len(info.get("workers", {})), "tasks": self.tasks,
                "task_seconds": self.task_seconds}  # fmt: skip


@dataclass
class _Gathered:
    """A submitted Dask task: its result, and its seconds noted when it is gathered."""

    future: Any
    seconds: list[float]

    def result(self):
        result, seconds = self.future.result()
        self.seconds.append(seconds)
        return result

    def cancel(self) -> None:
        self.future.cancel()


def check_scheduler(text: str | None) -> str | None:
    """A ``--scheduler`` value, checked (None: in-process): ``local``, ``local:N`` (N >= 1
    worker processes) or a scheduler address (``tcp://HOST:PORT``, ``HOST:PORT``)."""
    if text is None:
        return None
    text = text.strip()
    m = _LOCAL.match(text)
    if m and m.group(1) is not None and int(m.group(1)) < 1:
        raise EmonbError(f"--scheduler {text}: a local cluster needs at least 1 worker")
    if m or re.match(r"^([a-z]+://)?[\w.\-\[\]:]+:\d+$", text):
        return text
    raise EmonbError(f"--scheduler {text!r}: give local, local:N or a scheduler address "
                     "such as tcp://10.0.0.5:8786")  # fmt: skip


@contextmanager
def open_executor(scheduler: str | None = None, client: Any = None) -> Iterator[Executor]:
    """The executor of ``scheduler`` (:func:`check_scheduler`) or of an open ``client``:
    None and None give :class:`InProcess`; ``local[:N]`` starts a ``LocalCluster`` of N
    worker processes (default: the CPUs) on 127.0.0.1 for the block and closes it after;
    an address joins that cluster (an unreachable one raises :class:`EmonbError` within
    :data:`CONNECT_TIMEOUT` seconds, before any work). A given ``client`` stays open."""
    if client is not None:
        yield DaskExecutor(client)
        return
    scheduler = check_scheduler(scheduler)
    if scheduler is None:
        yield InProcess()
        return
    import dask
    from distributed import Client, LocalCluster

    m = _LOCAL.match(scheduler)
    if m:
        n = int(m.group(1) or os.cpu_count() or 1)
        # spawned workers (Dask's default, pinned here): nothing of this process's
        # TensorFlow is forked into them
        spawn = {"distributed.worker.multiprocessing-method": "spawn"}
        with dask.config.set(spawn), \
                LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                             dashboard_address=":0", env=dict(WORKER_ENV)) as cluster, \
                Client(cluster) as c:  # fmt: skip
            yield DaskExecutor(c)
        return
    try:
        c = Client(scheduler, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as err:
        raise EmonbError(f"cannot reach the Dask scheduler at {scheduler} "
                         f"({type(err).__name__} after {CONNECT_TIMEOUT:.0f} s)") from None  # fmt: skip
    try:
        yield DaskExecutor(c)
    finally:
        c.close()
