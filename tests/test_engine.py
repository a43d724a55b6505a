"""Executors: in-process order and shared objects, the --scheduler values, an unreachable
scheduler, a Dask cluster's order, a worker killed mid-run, and the `dask scheduler` /
`dask worker` commands on loopback."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from emonb import engine
from emonb.engine import DaskExecutor, InProcess, check_scheduler, open_executor
from emonb.errors import EmonbError


def test_in_process_keeps_order_passes_the_shared_object_and_counts_tasks():
    ex = InProcess()
    assert ex.map(lambda k: k * k, [3, 1, 2]) == [9, 1, 4]
    assert ex.map(lambda shared, k: shared + k, [1, 2], shared=10, label="add") == [11, 12]
    record = ex.record()
    assert (record["engine"], record["workers"], record["tasks"]) == ("in-process", 1, 5)
    assert len(record["task_seconds"]["add"]) == 2


def test_in_process_submit_runs_beside_the_caller_in_order_with_its_own_cache():
    """Submitted tasks run in one background thread, in order, while the caller goes on;
    each result (or the error it raised) comes with .result(); the thread's cached()
    objects are the executor's, not the process's."""
    ex = InProcess()
    gate, order = threading.Event(), []

    def task(shared, k):
        gate.wait(10)  # the caller goes on while the task waits
        order.append(k)
        return shared + k, threading.current_thread().name, engine.cached(("thing",), object)

    first = ex.submit(task, 1, shared=10, label="side")
    second = ex.submit(task, 2, shared=10, label="side")
    assert ex.map(lambda k: k + 1, [5]) == [6] and order == []  # map runs here, at once
    gate.set()
    (a, name, thing), (b, _, again) = first.result(), second.result()
    assert (a, b, order) == (11, 12, [1, 2]) and name == "emonb-background"
    assert thing is again and thing is not engine.cached(("thing",), object)
    assert ex.record()["tasks"] == 3 and len(ex.record()["task_seconds"]["side"]) == 2
    failing = ex.submit(lambda k: 1 / k, 0)
    with pytest.raises(ZeroDivisionError):
        failing.result()
    assert ex.submit(lambda k: k * 2, 4).result() == 8  # a later task starts a new thread


def test_a_cluster_submit_gathers_a_result_and_its_seconds(dask_client):
    ex = DaskExecutor(dask_client)
    pending = ex.submit(lambda shared, k: shared * k, 7, shared=6, label="side")
    assert pending.result() == 42
    assert ex.record()["tasks"] == 1 and len(ex.record()["task_seconds"]["side"]) == 1


def test_scheduler_values():
    assert check_scheduler(None) is None
    for ok in ("local", "local:3", "tcp://10.0.0.5:8786", "127.0.0.1:8786"):
        assert check_scheduler(ok) == ok
    for bad in ("local:0", "nonsense", "tcp://host", "local:x"):
        with pytest.raises(EmonbError, match="--scheduler"):
            check_scheduler(bad)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_scheduler_is_one_line_before_any_work(monkeypatch):
    monkeypatch.setattr(engine, "CONNECT_TIMEOUT", 2.0)
    address = f"tcp://127.0.0.1:{_free_port()}"  # nothing listens there
    t0 = time.perf_counter()
    with pytest.raises(EmonbError) as err:
        with open_executor(address):
            pytest.fail("no work may start")
    assert time.perf_counter() - t0 < 15
    assert str(err.value).startswith(f"cannot reach the Dask scheduler at {address}")
    assert "\\n" not in str(err.value)


def test_a_cluster_returns_results_in_order_and_records_its_workers(dask_client):
    ex = DaskExecutor(dask_client)
    out = ex.map(lambda shared, k: (k, shared["x"] * k), list(range(8)), shared={"x": 3})
    assert out == [(k, 3 * k) for k in range(8)]
    record = ex.record()
    assert record["engine"] == "dask" and record["workers"] == 2 and record["tasks"] == 8
    assert record["scheduler"].startswith("tcp://127.0.0.1:")


def kill_a_busy_worker(client, done: threading.Event) -> list[int]:
    """SIGKILL the process of the first worker seen running a task (its nanny starts a new
    one); returns the pid killed (empty if the run ended first)."""
    pids = client.run(os.getpid)
    while not done.is_set():
        busy = [w for w, tasks in client.processing().items() if tasks]
        if busy:
            os.kill(pids[busy[0]], signal.SIGKILL)
            return [pids[busy[0]]]
        time.sleep(0.05)
    return []


def test_a_worker_killed_mid_run_has_its_tasks_run_again(dask_client):
    dask_client.wait_for_workers(2, timeout=60)
    ex = DaskExecutor(dask_client)
    done, killed = threading.Event(), []
    killer = threading.Thread(target=lambda: killed.extend(kill_a_busy_worker(dask_client, done)))
    killer.start()
    try:
        out = ex.map(lambda k: (time.sleep(0.5), k * k)[1], list(range(8)), label="slow")
    finally:
        done.set()
        killer.join()
    assert killed, "no worker was killed while the tasks ran"
    assert out == [k * k for k in range(8)]
    dask_client.wait_for_workers(2, timeout=60)  # the nanny restarted it


def test_a_shared_object_lost_with_every_worker_holding_it_is_made_again(dask_client):
    """The shared object is a task's result, not scattered data: when every worker holding
    it dies, the next tasks that need it still run (scattered data would be lost)."""
    dask_client.wait_for_workers(2, timeout=60)
    ex = DaskExecutor(dask_client)
    shared = SimpleNamespace(offset=100)
    assert ex.map(lambda s, k: s.offset + k, [1, 2], shared=shared) == [101, 102]
    ref = ex._scatter(shared)
    holders = dask_client.who_has([ref])[ref.key]
    assert holders
    pids = dask_client.run(os.getpid)
    for worker in holders:
        os.kill(pids[worker], signal.SIGKILL)
    assert ex.map(lambda s, k: s.offset + k, [3, 4], shared=shared) == [103, 104]
    dask_client.wait_for_workers(2, timeout=60)  # the nannies restarted them


def test_dask_scheduler_and_worker_commands_on_loopback(tmp_path):
    dask = Path(sys.executable).with_name("dask")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, **engine.WORKER_ENV}
    procs = [subprocess.Popen([str(dask), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)]  # fmt: skip
    try:
        procs.append(subprocess.Popen([str(dask), "worker", address, "--nthreads", "1",
                                       "--nworkers", "1", "--no-dashboard"], env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))  # fmt: skip
        deadline = time.time() + 60
        while True:  # the scheduler takes a moment to listen
            try:
                with open_executor(address) as ex:
                    ex.client.wait_for_workers(1, timeout=60)
                    assert ex.map(lambda k: os.getpid(), [0])[0] not in (os.getpid(),)
                    assert ex.record()["scheduler"] == address and ex.record()["workers"] == 1
                break
            except EmonbError:
                if time.time() > deadline:
                    raise
                time.sleep(1)
    finally:
        for p in procs[::-1]:
            p.terminate()
            p.wait(timeout=30)


def test_in_process_cancel_drops_a_task_not_yet_started():
    ex = InProcess()
    gate = threading.Event()
    running = ex.submit(lambda k: gate.wait(10) and k, 1)
    queued = ex.submit(lambda k: k, 2)
    assert queued.cancel() and queued.cancelled()
    gate.set()
    assert running.result() == 1
