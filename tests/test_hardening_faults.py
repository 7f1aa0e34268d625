"""Faulty servers: every sync and async client call ends, by its timeout at the latest,
with GNTPConnectionError or GNTPResponseError, and 1,000 failed calls leak no socket,
thread, task or IOLoop timer.

The faulty servers run in a subprocess (tests/support/fault_peer.py) on 127.0.0.1, so the
descriptors, threads and loop of this process are the client's alone.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, Dict, Iterator, List

import pytest

from gntplib import (
    GNTPConnectionError, GNTPError, GNTPResponseError, Publisher, SocketCallback,
)
from gntplib import _async_io
from gntplib.async_ import AsyncPublisher
from tests.support.hardening_support import (Subprocess, live_timers, needs_proc, new_sockets,
                                             open_fds, other_tasks)

#: fault -> (the error every call ends with, what its message says)
OUTCOMES = {
    'silent': (GNTPConnectionError, 'timed out reading the response'),
    'slow': (GNTPConnectionError, 'timed out reading the response'),
    'reset': (GNTPConnectionError, 'reset'),
    'close': (GNTPConnectionError, 'without answering'),
    'close-partial': (GNTPConnectionError, 'closed in the middle'),
    'callback-first': (GNTPResponseError, 'expected -OK'),
}
#: Faults that can only end by the client's timeout.
TIMED = {'silent', 'slow'}
#: How many of the 1,000 failed calls each fault gets (the timed ones cost a timeout each).
MIX = {'silent': 40, 'slow': 40, 'reset': 230, 'close': 230, 'close-partial': 230,
       'callback-first': 230}
assert sum(MIX.values()) == 1000


@pytest.fixture(scope='module')
def faults() -> Iterator[Dict[str, int]]:
    """``{fault: port}`` of the faulty servers."""
    peer = Subprocess('fault_peer')
    try:
        yield peer.record(timeout=30)
    finally:
        peer.stop()


def sync_publisher(port: int, timeout: float, **kwargs: Any) -> Publisher:
    return Publisher('App', ['update'], host='127.0.0.1', port=port, timeout=timeout, **kwargs)


def async_publisher(port: int, timeout: float, **kwargs: Any) -> AsyncPublisher:
    return AsyncPublisher('App', ['update'], host='127.0.0.1', port=port, timeout=timeout,
                          **kwargs)


def timeout_for(fault: str) -> float:
    """0.5 s for the faults that can only end by the timeout; the others end at once, and
    a long timeout keeps a busy machine from turning their answer into a timeout."""
    return 0.5 if fault in TIMED else 5.0


def check_outcome(fault: str, error: BaseException, elapsed: float, timeout: float) -> None:
    error_class, text = OUTCOMES[fault]
    assert isinstance(error, error_class), repr(error)
    assert text in str(error), str(error)
    assert elapsed < timeout + 1.0, f'{fault}: took {elapsed:.2f} s with timeout {timeout}'
    if fault in TIMED:
        assert elapsed >= timeout * 0.9, f'{fault}: gave up after {elapsed:.2f} s'


# -- one call per fault --------------------------------------------------------------------

@pytest.mark.parametrize('fault', sorted(OUTCOMES))
def test_a_sync_call_ends_by_its_timeout_with_a_gntp_error(faults, fault):
    timeout = timeout_for(fault)
    started = time.monotonic()
    with pytest.raises(GNTPError) as info:
        sync_publisher(faults[fault], timeout).register()
    check_outcome(fault, info.value, time.monotonic() - started, timeout)


@pytest.mark.parametrize('fault', sorted(OUTCOMES))
@pytest.mark.gen_test(timeout=10)
async def test_an_async_call_ends_by_its_timeout_with_a_gntp_error(faults, fault):
    timeout = timeout_for(fault)
    started = time.monotonic()
    with pytest.raises(GNTPError) as info:
        await async_publisher(faults[fault], timeout).register()
    check_outcome(fault, info.value, time.monotonic() - started, timeout)


def test_the_slow_server_would_need_far_longer_than_the_timeout():
    """The ``slow`` fault is a real test of the deadline: its whole -OK takes ~2 s, 4x the
    timeout, while no two bytes are more than 30 ms apart (a per-read timeout never fires).
    """
    from tests.support.fault_peer import DRIP_INTERVAL, OK
    assert len(OK) * DRIP_INTERVAL > 4 * 0.5
    assert DRIP_INTERVAL < 0.5 / 10


# -- socket callbacks: a server that never stops talking -----------------------------------

def test_a_sync_callback_wait_ends_by_callback_timeout_however_the_server_drips(faults):
    """-OK, then a CR LF every 30 ms for ever: publish returns the -OK at callback_timeout."""
    clicks: List[Any] = []
    publisher = sync_publisher(faults['ok-then-drip'], 5, callback_timeout=0.5)
    started = time.monotonic()
    response = publisher.publish('update', 'Hi', gntp_callback=SocketCallback(
        'ctx', on_click=clicks.append, on_close=clicks.append, on_timeout=clicks.append))
    elapsed = time.monotonic() - started
    assert response.ok and clicks == []
    assert 0.45 <= elapsed < 2.0


@pytest.mark.gen_test(timeout=10)
async def test_an_async_callback_wait_ends_by_callback_timeout_however_the_server_drips(
        faults):
    clicks: List[Any] = []
    publisher = async_publisher(faults['ok-then-drip'], 5, callback_timeout=0.5)
    started = time.monotonic()
    response = await publisher.publish('update', 'Hi', gntp_callback=SocketCallback(
        'ctx', on_click=clicks.append, on_close=clicks.append, on_timeout=clicks.append))
    assert response.ok and time.monotonic() - started < 0.45  # resolved at -OK
    waits = list(_async_io._background_tasks)
    assert len(waits) == 1
    await asyncio.wait_for(asyncio.gather(*waits), 2.0)
    assert 0.45 <= time.monotonic() - started < 2.0
    assert clicks == [] and not _async_io._background_tasks


# -- 1,000 failed calls leak nothing -------------------------------------------------------

def _fault_sequence() -> List[str]:
    """The faults of :data:`MIX`, interleaved round-robin."""
    remaining, sequence = dict(MIX), []
    while any(remaining.values()):
        for fault in MIX:
            if remaining[fault]:
                sequence.append(fault)
                remaining[fault] -= 1
    return sequence


async def settle(predicate: Any, rounds: int = 100) -> bool:
    """Let the loop run already-scheduled callbacks (no timed wait) until ``predicate()``."""
    for _ in range(rounds):
        if predicate():
            return True
        await asyncio.sleep(0)
    return bool(predicate())


@needs_proc
@pytest.mark.slow
def test_a_thousand_failed_sync_calls_leak_no_socket_or_thread(faults):
    # The timed faults need the short timeout to be quick; the others answer at once, and
    # get a long one so that a slow CI machine cannot turn their answer into a timeout.
    timeout = 0.03
    publishers = {fault: sync_publisher(faults[fault], timeout if fault in TIMED else 10)
                  for fault in MIX}
    for publisher in publishers.values():  # warm up (imports, lookups)
        with pytest.raises(GNTPError):
            publisher.register()
    fds, threads = open_fds(), threading.active_count()
    failures: Dict[str, int] = dict.fromkeys(MIX, 0)
    for fault in _fault_sequence():
        started = time.monotonic()
        try:
            publishers[fault].register()
        except GNTPError as exc:
            assert isinstance(exc, OUTCOMES[fault][0]), (fault, exc)
            assert fault not in TIMED or time.monotonic() - started < timeout + 1.0, exc
            failures[fault] += 1
    assert failures == MIX
    assert new_sockets(fds) == []
    assert threading.active_count() == threads


@needs_proc
@pytest.mark.slow
@pytest.mark.gen_test(timeout=60)
async def test_a_thousand_failed_async_calls_leak_no_socket_task_timer_or_thread(faults):
    loop = asyncio.get_running_loop()
    timeout = 0.3  # for the timed faults; the others get 10 s (see the sync test)
    publishers = {fault: async_publisher(faults[fault], timeout if fault in TIMED else 10)
                  for fault in MIX}
    # Warm up, concurrently enough to grow the resolver's thread pool to its full size.
    warm = await asyncio.gather(*(publishers[f].register() for f in MIX for _ in range(10)),
                                return_exceptions=True)
    assert all(isinstance(e, GNTPError) for e in warm)
    fds, threads = open_fds(), threading.active_count()
    tasks, timers = other_tasks(), live_timers(loop)
    failures: Dict[str, int] = dict.fromkeys(MIX, 0)
    sequence = _fault_sequence()
    started = time.monotonic()
    for batch in range(0, len(sequence), 250):
        faults_in_batch = sequence[batch:batch + 250]
        results = await asyncio.gather(*(publishers[f].register() for f in faults_in_batch),
                                       return_exceptions=True)
        for fault, result in zip(faults_in_batch, results):
            assert isinstance(result, OUTCOMES[fault][0]), (fault, result)
            failures[fault] += 1
    assert failures == MIX
    assert time.monotonic() - started < 30  # four batches, each ends by its timeouts
    # Whatever the failed calls started has ended or been cancelled; closing streams only
    # schedules callbacks, which the loop runs in its next rounds.
    assert await settle(lambda: other_tasks() == tasks), other_tasks() - tasks
    assert not _async_io._background_tasks
    assert live_timers(loop) <= timers
    assert new_sockets(fds) == []
    assert threading.active_count() <= threads
