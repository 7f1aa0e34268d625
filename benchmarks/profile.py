#!/usr/bin/env python3
"""Profile our gntplib's sync publish() path against the benchmark responder.

    python benchmarks/profile.py                  # plain NOTIFY: py-spy, cProfile, pyinstrument
    python benchmarks/profile.py --scenario aes --count 5000
    python benchmarks/profile.py --engine py-spy --target raw   # the floor, for comparison

Three views of the same workload as ``run.py``'s sync scenarios (same responder, same
notification), each with its own bias:

* **py-spy** (read this one first) samples the benchmark's own contender process
  (``contenders/gntplib_ours.py``, or ``raw.py`` with ``--target raw``) from outside, at
  1 kHz without pausing it, and leaves out samples where the thread is idle. Its shares,
  scaled by the client CPU time per notification that the contender measured itself,
  estimate µs of CPU per notification with little distortion. Needs ptrace permission.
* **cProfile**, in this process, timed with the process CPU clock by default (waiting for
  the responder does not count; ``--clock wall`` includes it): exact call counts and a
  per-step summary of one publish(), but a fixed overhead per Python call inflates small
  functions several times over; read it for *where calls happen*, not for how long.
* **pyinstrument**, in a child process: a statistical wall-clock profile, so waiting for
  the responder (``recv``, ``connect``) dominates it.

pyinstrument and py-spy are taken from the current interpreter if it has them, else from
``benchmarks/.venvs/profile`` (created with ``--system-site-packages`` on first use).
"""

from __future__ import annotations

import os
import sys

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
# This file is named like the stdlib's `profile`, which cProfile imports: drop the script's
# directory from the path before importing cProfile, and put the working tree first.
if sys.path and os.path.abspath(sys.path[0] or os.getcwd()) == BENCH:
    del sys.path[0]
sys.path.insert(0, REPO)
sys.path.insert(1, os.path.join(BENCH, 'contenders'))

import argparse  # noqa: E402
import cProfile  # noqa: E402
import collections  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import pstats  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any, Callable, Dict, List, Optional, Tuple  # noqa: E402

PROFILE_VENV = os.path.join(BENCH, '.venvs', 'profile')


def start_responder() -> Any:
    proc = subprocess.Popen([sys.executable, os.path.join(BENCH, 'responder.py')],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith('READY '):
        raise SystemExit(f'responder did not start: {line!r}')
    proc.port = int(line.split()[1])  # type: ignore[attr-defined]
    return proc


def stop_responder(proc: Any) -> None:
    try:
        proc.stdin.write('QUIT\n')
        proc.stdin.flush()
        proc.wait(timeout=5)
    except (OSError, ValueError, subprocess.TimeoutExpired):
        proc.kill()


def make_sender(scenario: str, port: int) -> Callable[[], Any]:
    import gntplib_ours  # the benchmark contender: same workload as run.py
    from _common import EVENT_NAME, ICON_SIZE, TEXT, TITLE, blob
    from gntplib import Publisher, Resource

    publisher = Publisher(gntplib_ours.APP_NAME, [EVENT_NAME], host='127.0.0.1', port=port,
                          **gntplib_ours.security(scenario))
    publisher.register()
    icon = Resource(data=blob(ICON_SIZE)) if scenario == 'icon' else None

    def send_one() -> Any:
        return publisher.publish(EVENT_NAME, TITLE, TEXT, icon=icon)
    return send_one


#: Steps of one publish() to summarise: (label, file suffix, function name). A step that
#: the code no longer has is shown as "–".
STEPS = [
    ('publish() total', 'lib.py', 'publish'),
    ('  build Notification + NotifyRequest', 'models.py', '__init__'),
    ('  GNTPClient.process_request', 'connections.py', 'process_request'),
    ('    pack (MessagePacker.pack_parts)', 'packers.py', 'pack_parts'),
    ('    connect (socket.create_connection)', 'socket.py', 'create_connection'),
    ('    send (write_message)', 'connections.py', 'write_message'),
    ('    read reply (_read: recv + buffer)', 'connections.py', '_read'),
    ('    parse reply (parse_response)', 'requests.py', 'parse_response'),
    ('    close', 'connections.py', 'close'),
]


def summarise(stats: pstats.Stats, count: int) -> None:
    raw = stats.stats  # type: ignore[attr-defined]
    print('-- where one publish() spends its time (cumulative µs per notification)')
    for label, suffix, name in STEPS:
        total = None
        for (filename, _, function), (_, _, _, cumtime, _) in raw.items():
            if function == name and filename.endswith(os.sep + suffix) and (
                    suffix == 'socket.py' or os.sep + 'gntplib' + os.sep in filename):
                total = (total or 0.0) + cumtime
        value = '–' if total is None else f'{total / count * 1e6:8.1f}'
        print(f'   {label:<42} {value}')
    print()


def run_cprofile(send_one: Callable[[], Any], count: int, top: int, clock: str) -> None:
    timer = time.process_time if clock == 'cpu' else time.perf_counter
    profiler = cProfile.Profile(timer)
    started = time.perf_counter()
    cpu_started = time.process_time()
    profiler.enable()
    for _ in range(count):
        send_one()
    profiler.disable()
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    print(f'== cProfile, {clock} clock: {count} notifications in {elapsed:.2f} s wall, '
          f'{cpu:.2f} s CPU under the profiler ({cpu / count * 1e6:.0f} µs CPU each, '
          'inflated by cProfile)\n')
    summarise(pstats.Stats(profiler), count)
    for key, title in (('cumulative', 'by cumulative time'), ('tottime', 'by own time')):
        stream = io.StringIO()
        stats = pstats.Stats(profiler, stream=stream)
        stats.strip_dirs().sort_stats(key).print_stats(top)
        text = stream.getvalue()
        body = text[text.find('   ncalls'):] if '   ncalls' in text else text
        print(f'-- top {top} {title} ({clock} seconds)\n{body}')


def run_pyinstrument(send_one: Callable[[], Any], count: int) -> None:
    from pyinstrument import Profiler
    profiler = Profiler(interval=0.0002)
    profiler.start()
    for _ in range(count):
        send_one()
    profiler.stop()
    print('== pyinstrument (statistical, 0.2 ms interval)\n')
    print(profiler.output_text(unicode=True, color=False, show_all=False))


def profile_tool(module: str, executable: str, install: bool) -> Optional[str]:
    """The pyinstrument-capable python, or the py-spy executable; installed into
    benchmarks/.venvs/profile (with the system site-packages) when missing."""
    venv_bin = os.path.join(PROFILE_VENV, 'bin')

    def found() -> Optional[str]:
        if module == 'pyinstrument':
            for python in (sys.executable, os.path.join(venv_bin, 'python')):
                if os.path.exists(python) and subprocess.run(
                        [python, '-c', 'import pyinstrument'],
                        capture_output=True).returncode == 0:
                    return python
            return None
        for candidate in (os.path.join(venv_bin, executable), shutil.which(executable)):
            if candidate and os.path.exists(candidate):
                return candidate
        return None

    tool = found()
    if tool or not install:
        return tool
    print(f'-- installing {module} into benchmarks/.venvs/profile', flush=True)
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK='1')
    steps = [[os.path.join(venv_bin, 'python'), '-m', 'pip', 'install', '-q', module]]
    if not os.path.exists(os.path.join(venv_bin, 'python')):
        steps.insert(0, [sys.executable, '-m', 'venv', '--system-site-packages', PROFILE_VENV])
    for step in steps:
        proc = subprocess.run(step, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            tail = (proc.stderr.strip().splitlines() or ['?'])[-1]
            print(f'   {module} unavailable: {tail}')
            return None
    return found()


def _function(frame: str) -> str:
    """``func (file:line)`` -> ``func (file)``."""
    name, _, location = frame.partition(' (')
    path = location.rsplit(':', 1)[0]
    return f'{name} ({path})'


def run_py_spy(py_spy: str, scenario: str, count: int, target: str, top: int) -> None:
    script = 'raw.py' if target == 'raw' else 'gntplib_ours.py'
    responder = start_responder()
    with tempfile.TemporaryDirectory() as tmp:
        raw_path = os.path.join(tmp, 'profile.txt')
        try:
            proc = subprocess.run(
                [py_spy, 'record', '--nonblocking', '--rate', '1000', '--format', 'raw',
                 '--output', raw_path, '--', sys.executable,
                 os.path.join(BENCH, 'contenders', script), '--port', str(responder.port),
                 '--scenario', scenario, '--count', str(count), '--warmup', '200'],
                capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=REPO))
        finally:
            stop_responder(responder)
        result_lines = [x for x in proc.stdout.splitlines() if x.startswith('RESULT ')]
        if proc.returncode != 0 or not result_lines or not os.path.exists(raw_path):
            tail = (proc.stderr.strip().splitlines() or ['?'])[-1]
            print(f'py-spy: failed ({tail}); it needs ptrace permission (CAP_SYS_PTRACE)')
            return
        result = json.loads(result_lines[-1][len('RESULT '):])
        with open(raw_path) as f:
            stacks: List[Tuple[List[str], int]] = []
            for line in f:
                stack, _, n = line.rstrip('\n').rpartition(' ')
                if 'send_one (' in stack:  # the notification loop, not start-up
                    stacks.append((stack.split(';'), int(n)))
    total = sum(n for _, n in stacks)
    cpu_us = (result['utime'] + result['stime']) / result['count'] * 1e6
    wall_us = result['wall'] / result['count'] * 1e6
    print(f'== py-spy ({target}, {scenario}): {total} on-CPU samples in the notification loop; '
          f'the contender measured {cpu_us:.1f} µs CPU and {wall_us:.1f} µs wall per '
          'notification (py-spy running alongside); µs below = share x CPU per '
          'notification\n')
    if not total:
        return
    own: Dict[str, int] = collections.Counter()
    inclusive: Dict[str, int] = collections.Counter()
    for frames, n in stacks:
        own[frames[-1]] += n
        for function in {_function(frame) for frame in frames}:
            inclusive[function] += n
    for title, counter in (('own time, by line (leaf frame; a C call such as recv() counts '
                            'on the line that makes it)', own),
                           ('inclusive time, by function', inclusive)):
        print(f'-- top {top} by {title}')
        print(f'   {"share":>6} {"µs/notif":>9}  function')
        for name, n in counter.most_common(top):
            print(f'   {n / total:6.1%} {n / total * cpu_us:9.1f}  {name}')
        print()


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--scenario', default='plain', choices=('plain', 'sha256', 'aes', 'icon'))
    parser.add_argument('--count', type=int, default=5000)
    parser.add_argument('--top', type=int, default=25)
    parser.add_argument('--engine', choices=('all', 'py-spy', 'cprofile', 'pyinstrument'),
                        default='all')
    parser.add_argument('--target', choices=('gntplib', 'raw'), default='gntplib',
                        help='py-spy only: profile our gntplib (default) or the raw floor')
    parser.add_argument('--clock', choices=('cpu', 'wall'), default='cpu',
                        help='cProfile timer: process CPU time (default) or wall time')
    parser.add_argument('--no-install', action='store_true')
    args = parser.parse_args(argv)

    import gntplib
    print(f'gntplib from {os.path.dirname(gntplib.__file__)}; scenario {args.scenario}, '
          f'{args.count} notifications\n', flush=True)
    if args.engine in ('all', 'py-spy'):
        py_spy = profile_tool('py-spy', 'py-spy', install=not args.no_install)
        if py_spy is None:
            print('py-spy: not available, skipped\n')
        else:
            run_py_spy(py_spy, args.scenario, max(args.count, 20000), args.target, args.top)
        sys.stdout.flush()
    if args.engine in ('all', 'cprofile'):
        responder = start_responder()
        try:
            send_one = make_sender(args.scenario, responder.port)
            for _ in range(200):  # warm-up
                send_one()
            run_cprofile(send_one, args.count, args.top, args.clock)
        finally:
            stop_responder(responder)
    if args.engine == 'pyinstrument':
        responder = start_responder()
        try:
            send_one = make_sender(args.scenario, responder.port)
            for _ in range(200):
                send_one()
            run_pyinstrument(send_one, args.count)
        finally:
            stop_responder(responder)
    elif args.engine == 'all':
        python = profile_tool('pyinstrument', '', install=not args.no_install)
        if python is None:
            print('pyinstrument: not available, skipped')
        else:
            sys.stdout.flush()
            subprocess.run([python, os.path.abspath(__file__), '--engine', 'pyinstrument',
                            '--scenario', args.scenario, '--count', str(args.count)],
                           env=dict(os.environ, PYTHONPATH=REPO))
    return 0


if __name__ == '__main__':
    sys.exit(main())
