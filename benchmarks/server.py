"""The server scenario (issue 13 Must 7): how much a request costs ``gntplib serve``.

Two servers, side by side, each pinned to its own CPU with ``taskset`` (the load generator on
the other one):

* ``gntplib``: ``python -m gntplib serve --json --no-state`` with its stdout on /dev/null;
* ``gntplib-state``: the same keeping its state (``--state`` in a temporary directory:
  SQLite, an ``-OK`` only once the request is committed), ``gntplib serve``'s default;
* ``bare``: a bare Tornado ``TCPServer`` that reads to the first blank line, writes
  ``-OK`` and closes (the least a Tornado server can do per request).

The load generator (asyncio) keeps 50 requests in flight, one connection per request: it
connects, writes NOTIFY bytes precomputed once (after one REGISTER), reads the answer to the
server's close and closes. It reports requests per second (wall) and the server's CPU time
per request (user + system from ``/proc/PID/stat``: the steadier figure on a shared machine).

    python benchmarks/server.py                   # both servers, 3 rounds of 20,000 requests
    python benchmarks/server.py --requests 5000 --rounds 1 --server gntplib
    python benchmarks/server.py --profile         # cProfile of the gntplib server, top 30
    python benchmarks/server.py --before /tmp/old # also an older checkout (``before``)

Linux only (``taskset``, ``/proc``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gntplib.models import Event, Notification  # noqa: E402
from gntplib.packers import MessagePackerFactory  # noqa: E402
from gntplib.requests import NotifyRequest, RegisterRequest  # noqa: E402

IN_FLIGHT = 50
#: ``serve`` options of the ``gntplib`` server (before state existed: none).
SERVE_ARGS = ['--no-state']
TICK = os.sysconf('SC_CLK_TCK')

BARE_SERVER = '''
import sys
from tornado.ioloop import IOLoop
from tornado.iostream import StreamClosedError
from tornado.netutil import bind_sockets
from tornado.tcpserver import TCPServer

OK = b"GNTP/1.0 -OK NONE\\r\\nResponse-Action: NOTIFY\\r\\n\\r\\n"

class Bare(TCPServer):
    async def handle_stream(self, stream, address):
        try:
            await stream.read_until(b"\\r\\n\\r\\n")
            await stream.write(OK)
        except StreamClosedError:
            pass
        stream.close()

server = Bare()
server.add_sockets(bind_sockets(int(sys.argv[1]), "127.0.0.1", backlog=1024))
print("ready", flush=True)
IOLoop.current().start()
'''


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return int(sock.getsockname()[1])


def requests() -> Tuple[bytes, bytes]:
    packer = MessagePackerFactory().create()
    register = packer.pack(RegisterRequest('Bench', None, [Event('tick')]))
    notify = packer.pack(NotifyRequest('Bench', Notification(
        'tick', 'Build finished', 'All 812 tests passed\nin 41 s')))
    return register, notify


def cpu_seconds(pid: int) -> float:
    fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


#: What ``gntplib serve --json`` runs, on the main thread so that cProfile sees it.
PROFILED_SERVER = '''
import cProfile, os, signal, sys
from tornado.ioloop import IOLoop
from gntplib.display import JSONLinesDisplay
from gntplib.server import GNTPServer

server = GNTPServer(display=JSONLinesDisplay(open(os.devnull, "w")),
                    notification_timeout=10)
server.listen(int(sys.argv[1]))
loop = IOLoop.current()
signal.signal(signal.SIGINT, lambda *_: loop.add_callback_from_signal(loop.stop))
cProfile.run("loop.start()", sys.argv[2])
'''


#: An older checkout to compare with (``--before``), served as the ``before`` server.
BEFORE: List[str] = []


def start_server(kind: str, port: int, cpu: int, profile: Optional[str] = None
                 ) -> subprocess.Popen:  # type: ignore[type-arg]
    root = BEFORE[0] if kind == 'before' else str(ROOT)
    if kind == 'before':  # its serve may not know --no-state: it kept no state then
        argv = [sys.executable, '-m', 'gntplib', 'serve', '--json', '--port', str(port)]
    elif kind == 'bare':
        argv = [sys.executable, '-c', BARE_SERVER, str(port)]
    elif profile:
        argv = [sys.executable, '-c', PROFILED_SERVER, str(port), profile]
    else:
        argv = [sys.executable, '-m', 'gntplib', 'serve', '--json', '--port', str(port)]
        argv += ['--state', tempfile.mkdtemp(prefix='gntplib-bench-')] \
            if kind == 'gntplib-state' else SERVE_ARGS
    env = dict(os.environ, PYTHONPATH=root)
    proc = subprocess.Popen(['taskset', '-c', str(cpu)] + argv, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=env, cwd=root)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(('127.0.0.1', port), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit(f'{kind} server did not start: {proc.stderr.read().decode()[-2000:]}'
                     if proc.stderr else f'{kind} server did not start')


async def one(port: int, data: bytes) -> bool:
    reader, writer = await asyncio.open_connection('127.0.0.1', port)
    try:
        writer.write(data)
        answer = await reader.read()  # to the server's close (or shutdown of its side)
        return answer.startswith(b'GNTP/1.0 -OK')
    finally:
        writer.close()


async def load(port: int, data: bytes, count: int) -> Tuple[float, int]:
    done = 0
    failures = 0

    async def worker() -> None:
        nonlocal done, failures
        while done < count:
            done += 1
            try:
                if not await one(port, data):
                    failures += 1
            except OSError:
                failures += 1
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
    return time.perf_counter() - started, failures


def run(kind: str, count: int, server_cpu: int, client_cpu: int) -> Dict[str, float]:
    port = free_port()
    proc = start_server(kind, port, server_cpu)
    try:
        register, notify = requests()
        if kind != 'bare':
            assert asyncio.run(one(port, register))
        asyncio.run(load(port, notify, 500))  # warm-up
        before = cpu_seconds(proc.pid)
        wall, failures = asyncio.run(load(port, notify, count))
        cpu = cpu_seconds(proc.pid) - before
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return {'rate': count / wall, 'cpu_us': cpu / count * 1e6, 'failures': failures}


def profile(count: int, server_cpu: int) -> None:
    import pstats
    out = '/tmp/gntplib-serve.prof'
    port = free_port()
    proc = start_server('gntplib', port, server_cpu, profile=out)
    register, notify = requests()
    assert asyncio.run(one(port, register))
    asyncio.run(load(port, notify, count))
    proc.send_signal(signal.SIGINT)
    proc.wait(30)
    pstats.Stats(out).sort_stats('tottime').print_stats(30)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--requests', type=int, default=20000)
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--server', action='append',
                        choices=['gntplib', 'gntplib-state', 'bare', 'before'])
    parser.add_argument('--profile', action='store_true')
    parser.add_argument('--before', metavar='DIR', help='an older checkout, run as "before"')
    args = parser.parse_args(argv)
    if args.before:
        BEFORE.append(str(Path(args.before).resolve()))
    os.sched_setaffinity(0, {0})  # the load generator on CPU 0, servers on CPU 1
    if args.profile:
        profile(args.requests, 1)
        return 0
    kinds = args.server or ['bare', 'gntplib'] + (['before'] if args.before else [])
    results: Dict[str, List[Dict[str, float]]] = {kind: [] for kind in kinds}
    for _ in range(args.rounds):
        for kind in kinds:  # interleaved, so a slow phase of the machine hits both
            results[kind].append(run(kind, args.requests, 1, 0))
    print(f'{args.requests} requests x {args.rounds} rounds, {IN_FLIGHT} in flight, '
          f'one connection per request; medians')
    print('| server | req/s (wall) | server CPU us/request | failures |')
    print('| --- | --: | --: | --: |')
    medians = {}
    for kind, rows in results.items():
        rate = statistics.median(r['rate'] for r in rows)
        cpu = statistics.median(r['cpu_us'] for r in rows)
        medians[kind] = (rate, cpu)
        print(f'| {kind} | {rate:,.0f} | {cpu:.0f} | '
              f'{sum(int(r["failures"]) for r in rows)} |')
    if 'bare' in medians:
        bare_rate, bare_cpu = medians['bare']
        for kind in (k for k in medians if k != 'bare'):
            ours_rate, ours_cpu = medians[kind]
            print(f'\n{kind} / bare: CPU per request {ours_cpu / bare_cpu:.2f}x (target <= '
                  f'1.5x), throughput {ours_rate / bare_rate:.2f}x (target >= 0.9x)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
