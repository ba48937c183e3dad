"""Run one task per file in worker processes; a crash or a hang costs one file, never the batch.

`run_tasks(fn, tasks, on_done=...)` calls `fn(task)` (a picklable module-level function returning
a JSON-able dict) in a `ProcessPoolExecutor` and hands each result to `on_done` in the parent as it
arrives. Tasks are pulled from `tasks` (any iterable, e.g. a generator walking an inbox) only as
workers free up: at most `QUEUE_DEPTH` tasks a worker are in flight (so a worker that finishes
finds its next task queued instead of waiting for the parent), so memory stays bounded whatever the
batch size, and workers are replaced every `MAX_TASKS_PER_CHILD` tasks. Each worker has an address-space
limit, and exits (removing multiprocessing's temp folder) when the main process dies, even by
SIGKILL: a killed collect leaves no ~110 MB orphans behind.

- A worker that dies (segfault, OOM killer, os._exit) breaks the pool: the tasks that were in
  flight are re-run one at a time in a fresh single-worker pool; the one that breaks it again gets
  `{"ok": False, "error_code": "WORKER_CRASHED"}`. Then the batch goes on with a new pool.
- A task that runs longer than `timeout` seconds is interrupted inside the worker (SIGALRM); one
  that does not react is killed with its pool after a grace period. Either way: `TIMEOUT`.
"""

from __future__ import annotations

import itertools
import multiprocessing
import multiprocessing.util
import os
import queue
import shutil
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from ..base.internals import worker_processes

T = TypeVar("T")
Result = dict[str, Any]

MAX_TASKS_PER_CHILD = 200
QUEUE_DEPTH = 2  # tasks in flight per worker: a worker finds its next task queued, never waits for the parent
MEMORY_LIMIT = 2 * 1024**3  # bytes of address space per worker (a real template needs ~150 MB)
GRACE = 10.0  # seconds after `timeout` before a worker that ignores SIGALRM is killed

MESSAGES = {
    "WORKER_CRASHED": (
        "读取此文件时处理进程异常退出（文件可能已损坏或含恶意内容），已跳过；请用Excel另存为 .xlsx 后重新提交",
        "the worker process died while reading this file (damaged or hostile?); skipped; re-save it as .xlsx and resubmit",
    ),
    "TIMEOUT": (
        "读取此文件超时（超过 {seconds:g} 秒），已跳过；请检查文件后重新提交",
        "reading this file took longer than {seconds:g} s; skipped; check the file and resubmit",
    ),
    "WORKER_OUT_OF_MEMORY": (
        "读取此文件所需内存过多，已跳过；请检查文件后重新提交",
        "reading this file needed too much memory; skipped; check the file and resubmit",
    ),
}
TRANSIENT = frozenset(MESSAGES)  # results worth retrying on the next run


def failure(code: str, **details: Any) -> Result:
    zh, en = MESSAGES[code]
    return {
        "ok": False,
        "error_code": code,
        "message_zh": zh.format(**details),
        "message_en": en.format(**details),
        "details": details,
    }


class TaskTimeout(BaseException):
    """Raised inside a worker by SIGALRM; a BaseException so library `except Exception` cannot eat it."""


def _alarm(signum: int, frame: Any) -> None:
    raise TaskTimeout()


_STARTED: Any = None  # in a worker: queue telling the parent when each task really starts


def _orphan_watch(main_pid: int, temp_dir: str | None) -> None:
    """In a worker: exit as soon as the main process is gone (its forkserver parent may outlive it)."""
    while True:
        time.sleep(0.5)
        try:
            os.kill(main_pid, 0)
        except ProcessLookupError:
            break
        except PermissionError:  # pragma: no cover - the pid was reused by another user's process
            break
    if temp_dir and os.path.basename(temp_dir).startswith("pymp-"):
        shutil.rmtree(temp_dir, ignore_errors=True)
    os._exit(3)


def _init_worker(
    memory_limit: int | None, started: Any = None, main_pid: int | None = None, temp_dir: str | None = None
) -> None:
    global _STARTED
    _STARTED = started
    if main_pid is not None:
        threading.Thread(target=_orphan_watch, args=(main_pid, temp_dir), daemon=True).start()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's business
    if hasattr(signal, "SIGALRM"):
        signal.signal(signal.SIGALRM, _alarm)
    if memory_limit:
        try:
            import resource

            soft, hard = resource.getrlimit(resource.RLIMIT_AS)
            limit = memory_limit if hard == resource.RLIM_INFINITY else min(memory_limit, hard)
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
        except (ImportError, ValueError, OSError):
            pass


def _call(fn: Callable[[Any], Result], task: Any, timeout: float | None, tid: int = 0) -> Result:
    timer = timeout and hasattr(signal, "setitimer")
    if _STARTED is not None:
        _STARTED.put(tid)
    try:
        if timer and timeout:
            signal.setitimer(signal.ITIMER_REAL, timeout)
        return fn(task)
    except TaskTimeout:
        return failure("TIMEOUT", seconds=timeout)
    except MemoryError:
        return failure("WORKER_OUT_OF_MEMORY")
    finally:
        if timer:
            signal.setitimer(signal.ITIMER_REAL, 0)


PRELOAD = ["xltool.collect.tasks", "xltool.collect.warm"]  # warm: models, layouts, read-path imports


def _context() -> Any:
    """forkserver where there is one (workers fork from a clean server that has imported the
    reader once, so replacing a worker is cheap), else spawn. Never plain fork: the parent may
    have threads."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        return ctx
    return multiprocessing.get_context("spawn")


class _Pool:
    def __init__(self, workers: int, memory_limit: int | None) -> None:
        ctx = _context()
        self.started = ctx.Queue()
        self.executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=ctx,
            initializer=_init_worker,
            initargs=(memory_limit, self.started, os.getpid(), multiprocessing.util.get_temp_dir()),
            max_tasks_per_child=MAX_TASKS_PER_CHILD,
        )
        self.size = workers

    def started_tasks(self) -> list[int]:
        out = []
        try:
            while True:
                out.append(self.started.get_nowait())
        except queue.Empty:
            return out
        except Exception:  # noqa: BLE001 - a worker killed mid-message: the pool is rebuilt anyway
            return out

    def kill(self) -> None:
        """Stop every worker now (a hung task): the pool is broken afterwards."""
        for proc in worker_processes(self.executor):
            try:
                proc.kill()
            except (OSError, AttributeError):
                pass
        self.close()

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)
        self.started.close()
        self.started.cancel_join_thread()


def run_tasks(
    fn: Callable[[Any], Result],
    tasks: Iterable[T],
    *,
    on_done: Callable[[T, Result], None],
    jobs: int | None = None,
    timeout: float | None = 300.0,
    memory_limit: int | None = MEMORY_LIMIT,
) -> None:
    """Run `fn(task)` for every task in worker processes; `on_done(task, result)` in this process."""
    jobs = max(1, jobs or os.cpu_count() or 1)
    feed = iter(tasks)
    pending: deque[T] = deque()  # tasks to run again (innocent victims of a killed pool)

    def pull() -> bool:
        """Move the next task of the feed to `pending`; False when the feed is exhausted."""
        nonlocal feed
        for task in feed:
            pending.append(task)
            return True
        feed = iter(())
        return False

    more = pull()
    suspects: deque[T] = deque()
    inflight: dict[Future[Result], tuple[T, int]] = {}
    started: dict[int, float] = {}  # task id -> when a worker really began it
    ids = itertools.count(1)
    pool: _Pool | None = None
    hard = None if timeout is None else timeout + GRACE
    try:
        while pending or suspects or inflight or more:
            want = 1 if suspects else jobs  # suspects of a crash run alone, to find the culprit
            if pool is None or (not inflight and pool.size != want):
                if pool is not None:
                    pool.close()
                pool = _Pool(want, memory_limit)
            source = suspects if suspects else pending
            limit = 1 if suspects else pool.size * QUEUE_DEPTH
            while len(inflight) < limit and (source or (source is pending and more and (more := pull()))):
                task, tid = source.popleft(), next(ids)
                inflight[pool.executor.submit(_call, fn, task, timeout, tid)] = (task, tid)
            done, _ = wait(list(inflight), timeout=0.5, return_when=FIRST_COMPLETED)
            now = time.monotonic()
            running = {tid for _t, tid in inflight.values()}
            started.update((tid, now) for tid in pool.started_tasks() if tid in running)
            broken = False
            for fut in done:
                task, tid = inflight.pop(fut)
                started.pop(tid, None)
                try:
                    result = fut.result()
                except BrokenProcessPool:
                    broken = True
                    if pool.size == 1:  # alone in its pool: this task broke it
                        on_done(task, failure("WORKER_CRASHED"))
                    else:
                        suspects.append(task)
                    continue
                except Exception as exc:  # noqa: BLE001 - e.g. an unpicklable result
                    result = {
                        "ok": False,
                        "error_code": "WORKER_ERROR",
                        "message_zh": f"处理进程出错：{exc!r}",
                        "message_en": f"worker error: {exc!r}",
                        "details": {},
                    }
                on_done(task, result)
            late = [f for f, (_t, tid) in inflight.items() if hard is not None and now - started.get(tid, now) > hard]
            if late:
                for fut in late:
                    task, _ = inflight.pop(fut)
                    on_done(task, failure("TIMEOUT", seconds=timeout))
                pending.extendleft(reversed([t for t, _ in inflight.values()]))  # innocent: run again
                inflight.clear()
                started.clear()
                pool.kill()
                pool = None
            elif broken:
                for _fut, (task, _) in list(inflight.items()):  # the rest of a broken pool fail too
                    suspects.append(task)
                inflight.clear()
                started.clear()
                pool.close()
                pool = None
    finally:
        if pool is not None:
            if inflight:
                pool.kill()
            else:
                pool.close()
