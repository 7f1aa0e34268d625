"""What every contender script shares: the workload, the measuring loop and the output.

Standard library only: contender scripts run under different interpreters (the current
one for ``raw`` and our gntplib, a virtual environment for each PyPI library), and this
module is imported from the script's own directory.

A contender script is called as::

    python <contender>.py --port P --scenario NAME [--count N] [--warmup W]
                          [--concurrency C] [--size BYTES]

and prints one line ``RESULT {json}`` on stdout: for a timed scenario ``wall`` (seconds),
``utime``/``stime`` (CPU seconds of this process over the timed part), ``count`` and
``maxrss_kb``; or ``{"skip": "reason"}`` when the contender lacks the feature, or
``{"error": "..."}`` when it failed.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import sys
import time
import timeit
from typing import Any, Callable, Dict, Optional

# -- the workload: the same notification content for every contender --------------------

APP_NAME = 'gntp-bench'
EVENT_NAME = 'bench-event'
TITLE = 'Benchmark notification'
TEXT = 'Something happened in the benchmark.\nSecond line of the text.'
PASSWORD = 'bench-secret'
HOST = '127.0.0.1'
ICON_SIZE = 20 * 1024
MEMORY_SIZE = 50 * 1024 * 1024
PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'

SCENARIOS = ('plain', 'sha256', 'aes', 'icon', 'async', 'memory', 'pack')


class Unsupported(Exception):
    """The contender has no such feature: the scenario is reported as n/a."""


def blob(size: int) -> bytes:
    """Deterministic PNG-ish bytes: the PNG signature, then a repeated pseudo-random block.

    Built with one ``join`` so making a 50 MB blob allocates 50 MB once.
    """
    block = bytearray()
    state = 0x2545F491
    while len(block) < 4096:  # xorshift32: cheap, deterministic, not compressible by eye
        state ^= (state << 13) & 0xFFFFFFFF
        state ^= state >> 17
        state ^= (state << 5) & 0xFFFFFFFF
        block += state.to_bytes(4, 'little')
    block_bytes = bytes(block)
    body = size - len(PNG_SIGNATURE)
    full, rest = divmod(body, len(block_bytes))
    return b''.join([PNG_SIGNATURE] + [block_bytes] * full + [block_bytes[:rest]])


def current_rss_kb() -> int:
    """Resident set size now (Linux /proc), in KiB; 0 where unavailable."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def maxrss_kb() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == 'darwin' else peak


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument('--port', type=int, required=True)
    parser.add_argument('--scenario', choices=SCENARIOS, required=True)
    parser.add_argument('--count', type=int, default=1000)
    parser.add_argument('--warmup', type=int, default=50)
    parser.add_argument('--concurrency', type=int, default=200)
    parser.add_argument('--size', type=int, default=MEMORY_SIZE)
    return parser.parse_args()


def emit(result: Dict[str, Any]) -> None:
    sys.stdout.write('RESULT ' + json.dumps(result) + '\n')
    sys.stdout.flush()


def _timed(run: Callable[[], None], count: int) -> Dict[str, Any]:
    gc.collect()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    run()
    t1 = time.perf_counter()
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    return {'wall': t1 - t0, 'utime': r1.ru_utime - r0.ru_utime,
            'stime': r1.ru_stime - r0.ru_stime, 'count': count, 'maxrss_kb': maxrss_kb()}


def time_sync(send_one: Callable[[], Any], count: int, warmup: int) -> Dict[str, Any]:
    """Call ``send_one`` ``warmup`` times untimed, then ``count`` times timed."""
    for _ in range(warmup):
        send_one()

    def run() -> None:
        for _ in range(count):
            send_one()

    return _timed(run, count)


def time_async(make_main: Callable[[], Any]) -> Dict[str, Any]:
    """Run ``asyncio.run(make_main(timed))``: the coroutine does its untimed setup, then
    ``await timed(body, count)``, which times ``await body()``."""
    result: Dict[str, Any] = {}

    async def timed(body: Callable[[], Any], count: int) -> None:
        gc.collect()
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        await body()
        t1 = time.perf_counter()
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        result.update(wall=t1 - t0, utime=r1.ru_utime - r0.ru_utime,
                      stime=r1.ru_stime - r0.ru_stime, count=count)

    asyncio.run(make_main(timed))
    result['maxrss_kb'] = maxrss_kb()
    return result


def time_async_publisher(publisher_class: Any, port: int, count: int, concurrency: int,
                         warmup: int = 0) -> Dict[str, Any]:
    """Time ``count`` awaited publishes, at most ``concurrency`` in flight, of an async
    publisher class taking gntplib's ``(name, event_defs, host=, port=)`` arguments."""
    def make_main(timed: Callable[..., Any]) -> Any:
        async def amain() -> None:
            publisher = publisher_class(APP_NAME, [EVENT_NAME], host=HOST, port=port)
            await publisher.register()
            semaphore = asyncio.Semaphore(concurrency)

            async def send_one() -> None:
                async with semaphore:
                    await publisher.publish(EVENT_NAME, TITLE, TEXT)

            async def send(n: int) -> None:
                await asyncio.gather(*(send_one() for _ in range(n)))

            if warmup:
                await send(warmup)
            await timed(lambda: send(count), count)
        return amain()

    return time_async(make_main)


def time_memory(send_blob: Callable[[bytes], Any], size: int) -> Dict[str, Any]:
    """Send one resource of ``size`` bytes; report RSS before and the peak after."""
    gc.collect()
    baseline = current_rss_kb()
    data = blob(size)
    t0 = time.perf_counter()
    send_blob(data)
    wall = time.perf_counter() - t0
    return {'wall': wall, 'count': 1, 'size': size, 'baseline_rss_kb': baseline,
            'maxrss_kb': maxrss_kb()}


def time_pack(pack_plain: Optional[Callable[[], Any]],
              pack_aes: Optional[Callable[[], Any]],
              extra: Optional[Dict[str, Callable[[], Any]]] = None) -> Dict[str, Any]:
    """Microseconds per call (best of 7 repeats of ~0.2 s each), ``None`` for n/a."""
    result: Dict[str, Any] = {}
    cases = {'pack_plain_us': pack_plain, 'pack_aes_us': pack_aes}
    cases.update(extra or {})
    for name, func in cases.items():
        if func is None:
            result[name] = None
            continue
        func()  # fail early, warm caches
        timer = timeit.Timer(func)
        number, _ = timer.autorange()
        number = max(1, number)
        best = min(timer.repeat(repeat=7, number=number))
        result[name] = best / number * 1e6
    return result


def main(make: Callable[[argparse.Namespace], Dict[str, Any]]) -> None:
    """Run the contender's ``make(args)`` and print its result (or skip, or error)."""
    args = parse_args()
    try:
        result = make(args)
    except Unsupported as exc:
        result = {'skip': str(exc)}
    except Exception as exc:  # reported by the harness as this run's error
        result = {'error': f'{type(exc).__name__}: {exc}'}
    result.setdefault('python', sys.executable)
    result.setdefault('pid', os.getpid())
    emit(result)
