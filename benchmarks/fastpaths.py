"""What each fast path of the client buys: instructions per publish with and without it.

Each fast path is switched off by making it never apply (its table emptied, or the
general path forced), so the general code below it does the work; valgrind's callgrind
counts the client's user-space instructions for N1 and N2 publishes, and the difference
divided by N2 - N1 is one publish. A fast path stays only if it saves at least 5% of a
publish in some scenario (benchmarks/README.md, "Fast paths"); ``tests/test_fastpaths.py``
proves each one equal to the general path.

    python benchmarks/fastpaths.py                 # every fast path, plain and async1
    python benchmarks/fastpaths.py --child plain --off parse-canonical-line --count 50

Scenarios: ``plain`` (sync publishes), ``async1`` (async publishes awaited one at a time:
deterministic), ``async`` (50 in flight: the count moves by a few % with the timing).
Needs valgrind. The responder is ``responder.py``, as in ``run.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
from typing import Dict, List

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
COUNTS = (60, 260)
TOTAL = re.compile(r'Collected : (\d+)')


def _no_canonical_lines() -> None:
    from gntplib import requests
    requests._PLAIN_RESPONSE_LINES.clear()


def _no_async_in_place() -> None:
    from gntplib import _async_io, async_

    class GeneralPath(_async_io.AsyncGNTPConnection):
        def read_message(self, callback):  # type: ignore[no-untyped-def]
            return super().read_message(callback)

    async_.AsyncGNTPClient.connection_class = GeneralPath


#: name -> (scenarios it concerns, how to switch it off)
FAST_PATHS: Dict[str, tuple] = {
    'parse-canonical-line': (['plain', 'async1'], _no_canonical_lines),
    'async-read-in-place': (['async1'], _no_async_in_place),
}


def child(scenario: str, off: str, count: int, port: int) -> None:
    """Publish ``count`` notifications (after a warm-up) with fast path ``off`` disabled."""
    sys.path.insert(0, REPO)
    if off != 'none':
        FAST_PATHS[off][1]()
    if scenario == 'plain':
        from gntplib import Publisher
        publisher = Publisher('Bench', ['update'], host='127.0.0.1', port=port)
        publisher.register()
        for _ in range(20 + count):
            publisher.publish('update', 'Title', 'Two lines\nof text')
        return
    from gntplib.async_ import AsyncPublisher

    async def main() -> None:
        publisher = AsyncPublisher('Bench', ['update'], host='127.0.0.1', port=port)
        await publisher.register()
        if scenario == 'async1':  # one at a time: the count does not depend on timing
            for _ in range(20 + count):
                await publisher.publish('update', 'Title', 'Two lines\nof text')
            return
        semaphore = asyncio.Semaphore(50)

        async def one() -> None:
            async with semaphore:
                await publisher.publish('update', 'Title', 'Two lines\nof text')
        await asyncio.gather(*(one() for _ in range(20 + count)))
    asyncio.run(main())


def count_instructions(scenario: str, off: str, count: int, port: int) -> int:
    args = ['valgrind', '--tool=callgrind', '--callgrind-out-file=/dev/null', sys.executable,
            os.path.abspath(__file__), '--child', scenario, '--off', off, '--count', str(count),
            '--port', str(port)]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=900)
    totals = TOTAL.findall(proc.stderr)
    if proc.returncode or not totals:
        raise RuntimeError(f'{scenario}/{off}: {proc.stderr.strip().splitlines()[-1:]}')
    return int(totals[-1])


def per_publish(scenario: str, off: str, port: int) -> float:
    short, long_ = (count_instructions(scenario, off, n, port) for n in COUNTS)
    return (long_ - short) / (COUNTS[1] - COUNTS[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--child')
    parser.add_argument('--off', default='none')
    parser.add_argument('--count', type=int, default=100)
    parser.add_argument('--port', type=int, default=0)
    parser.add_argument('--only', action='append', choices=list(FAST_PATHS))
    args = parser.parse_args()
    if args.child:
        child(args.child, args.off, args.count, args.port)
        return
    sys.path.insert(0, BENCH)
    from run import Responder  # this directory's harness, not a package
    responder = Responder()
    rows: List[str] = []
    try:
        names = args.only or list(FAST_PATHS)
        scenarios = sorted({s for name in names for s in FAST_PATHS[name][0]})
        # A first run of each scenario compiles the bytecode; it is not counted.
        for scenario in scenarios:
            count_instructions(scenario, 'none', 1, responder.port)
        base: Dict[str, float] = {s: per_publish(s, 'none', responder.port) for s in scenarios}
        for name in names:
            for scenario in FAST_PATHS[name][0]:
                without = per_publish(scenario, name, responder.port)
                saved = (without - base[scenario]) / without
                rows.append(f'| {name} | {scenario} | {base[scenario] / 1000:.1f}k | '
                            f'{without / 1000:.1f}k | {saved:.1%} |')
                print(rows[-1], flush=True)
    finally:
        responder.close()
    print('| fast path | scenario | with it | without it | saved |')
    print('| --- | --- | --: | --: | --: |')
    print('\n'.join(rows))


if __name__ == '__main__':
    main()

