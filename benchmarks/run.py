#!/usr/bin/env python3
"""Benchmark gntplib against the raw-socket floor and the other GNTP libraries (issue 5).

    python benchmarks/run.py                     # full suite, writes benchmarks/RESULTS.md
    python benchmarks/run.py --quick             # smoke run: few notifications, 1 run each
    python benchmarks/run.py --scenario plain    # one scenario (repeat to pick several)

One responder process (``responder.py``) serves every run. Each run of each contender is
a fresh process that registers, warms up, then times a fixed number of notifications and
reports its wall time, its own CPU time (getrusage) and its peak RSS; the harness asks
the responder for its CPU time before and after, so each run also yields a CPU-cost rate
``1 / (client CPU + responder CPU)`` per notification, which stays steady when other
work steals the CPU. Contenders run interleaved (the order rotates every round) and the
median of the rounds is reported. See README.md for the details and caveats.

Partial runs (``--quick``, ``--scenario``, ``--contender``) only print; pass
``--output FILE`` to write them somewhere. A full run writes ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
CONTENDER_DIR = os.path.join(BENCH, 'contenders')
VENVS = os.path.join(BENCH, '.venvs')
#: Bytecode cache for every contender process (PYTHONPYCACHEPREFIX): imports are timed as
#: users see them, with .pyc files, without writing __pycache__ into the source trees.
PYCACHE = os.path.join(BENCH, '.cache', 'pycache')
RESULTS = os.path.join(BENCH, 'RESULTS.md')
MB = 1024 * 1024

# -- contenders -----------------------------------------------------------------------------


@dataclass
class Contender:
    name: str
    script: str
    #: virtual environment directory name under .venvs, None: the current interpreter
    venv: Optional[str] = None
    #: packages to install into the venv (the first is required, the rest best effort)
    packages: Sequence[str] = ()
    #: code that must run in the venv for it to count as installed
    check: str = ''
    python: str = sys.executable
    available: bool = True
    note: str = ''

    def env(self) -> Dict[str, str]:
        env = dict(os.environ)
        env.pop('PYTHONPATH', None)
        env.pop('PYTHONDONTWRITEBYTECODE', None)
        env['PYTHONPYCACHEPREFIX'] = PYCACHE
        if self.venv is None:
            # The working tree's gntplib, not an installed one.
            env['PYTHONPATH'] = REPO
        else:
            # gntplib 3.0.10 makes a resource cache directory in the temp directory.
            env['TMPDIR'] = os.path.join(BENCH, '.cache', 'tmp')
            os.makedirs(env['TMPDIR'], exist_ok=True)
        return env


def make_contenders() -> List[Contender]:
    return [
        Contender('raw', 'raw.py'),
        Contender('gntplib', 'gntplib_ours.py'),
        Contender('kfdm-gntp', 'kfdm_gntp.py', venv='kfdm', packages=['gntp==1.0.3'],
                  check='import gntp.notifier, gntp.version; '
                        'assert gntp.version.__version__ == "1.0.3"'),
        Contender('gntplib-3.0.10', 'gntplib_3010.py', venv='gntplib3010',
                  packages=['gntplib==3.0.10', 'pycryptodomex', 'tornado'],
                  check='import gntplib; assert gntplib.__version__ == "3.0.10"'),
    ]


def venv_python(venv: str) -> str:
    return os.path.join(VENVS, venv, 'bin', 'python')


def setup_venv(contender: Contender, install: bool) -> None:
    """Create the contender's virtual environment and install its packages, or mark it
    unavailable with a note."""
    if contender.venv is None:
        return
    python = venv_python(contender.venv)
    contender.python = python

    def works() -> bool:
        if not os.path.exists(python):
            return False
        return subprocess.run([python, '-c', contender.check], env=contender.env(),
                              cwd=CONTENDER_DIR, capture_output=True).returncode == 0

    if works():
        return
    if not install:
        contender.available = False
        contender.note = 'not installed (run without --no-install)'
        return
    print(f'-- installing {" ".join(contender.packages)} into .venvs/{contender.venv}',
          flush=True)
    os.makedirs(VENVS, exist_ok=True)
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK='1')
    steps = [[sys.executable, '-m', 'venv', os.path.join(VENVS, contender.venv)],
             [python, '-m', 'pip', 'install', '-q', contender.packages[0]]]
    for step in steps:
        proc = subprocess.run(step, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            contender.available = False
            lines = (proc.stderr or proc.stdout).strip().splitlines() or ['?']
            contender.note = f'install failed: {lines[-1][:160]}'
            print(f'   {contender.name}: {contender.note}', flush=True)
            return
    for extra in contender.packages[1:]:
        proc = subprocess.run([python, '-m', 'pip', 'install', '-q', extra], env=env,
                              capture_output=True, text=True)
        if proc.returncode != 0:
            print(f'   {contender.name}: optional {extra} not installed', flush=True)
    if not works():
        contender.available = False
        contender.note = 'installed but does not import'


# -- the responder ------------------------------------------------------------------------


#: ``taskset -c CPU`` before every process of the run (``--pin``), or nothing.
PIN: List[str] = []


class Responder:
    def __init__(self) -> None:
        self.proc = subprocess.Popen([*PIN, sys.executable, os.path.join(BENCH, 'responder.py')],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, bufsize=1)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith('READY '):
            raise RuntimeError(f'responder did not start: {line!r}')
        self.port = int(line.split()[1])

    def _ask(self, command: str) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(command + '\n')
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def configure(self, delay_ms: float = 0.0, resources: int = 0) -> None:
        if self._ask(f'CONFIG delay_ms={delay_ms} resources={resources}') != 'OK':
            raise RuntimeError('responder refused CONFIG')

    def stats(self) -> Dict[str, Any]:
        result: Dict[str, Any] = json.loads(self._ask('STATS'))
        return result

    def close(self) -> None:
        try:
            self._ask('QUIT')
        except (OSError, ValueError):
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# -- one run --------------------------------------------------------------------------------


@dataclass
class Run:
    result: Dict[str, Any]
    responder_cpu: float = 0.0      # seconds, scaled to the timed notifications
    requests: int = 0               # requests the responder completed during the process
    responder_errors: int = 0
    payload_bytes: int = 0          # binary-section bytes the responder received
    round: int = 0                  # which round of the interleaved schedule
    security: Dict[str, int] = field(default_factory=dict)  # '<encryption>/<hash>': requests

    @property
    def count(self) -> int:
        return int(self.result.get('count', 0))

    @property
    def client_cpu(self) -> float:
        return float(self.result['utime'] + self.result['stime'])

    @property
    def wall_rate(self) -> float:
        return self.count / self.result['wall']

    @property
    def cpu_rate(self) -> float:
        return self.count / (self.client_cpu + self.responder_cpu)


def run_once(contender: Contender, responder: Responder, scenario: str,
             options: Dict[str, Any], timeout: float = 180.0) -> Run:
    args = [*PIN, contender.python, os.path.join(CONTENDER_DIR, contender.script),
            '--port', str(responder.port), '--scenario', scenario]
    for name, value in options.items():
        args += [f'--{name}', str(value)]
    before = responder.stats()
    try:
        proc = subprocess.run(args, env=contender.env(), cwd=CONTENDER_DIR,
                              capture_output=True, text=True, timeout=timeout)
        output, errors = proc.stdout, proc.stderr
    except subprocess.TimeoutExpired:
        return Run({'error': f'timed out after {timeout:.0f} s'})
    time.sleep(0.05)  # let the responder finish the last connection's close
    after = responder.stats()
    lines = [line for line in output.splitlines() if line.startswith('RESULT ')]
    if lines:
        result = json.loads(lines[-1][len('RESULT '):])
    else:
        tail = (errors.strip().splitlines() or ['no output'])[-1]
        result = {'error': f'exit {proc.returncode}: {tail[:200]}'}
    requests = sum(after['counts'].values()) - sum(before['counts'].values())
    run = Run(result, requests=requests, responder_errors=after['errors'] - before['errors'],
              payload_bytes=after['payload_bytes'] - before['payload_bytes'],
              security={k: v - before['security'].get(k, 0)
                        for k, v in after['security'].items()
                        if v - before['security'].get(k, 0)})
    if 'utime' in result and requests:
        # The responder also served the untimed register and warm-up requests: charge the
        # timed part its share.
        cpu = (after['utime'] + after['stime']) - (before['utime'] + before['stime'])
        run.responder_cpu = cpu * min(1.0, run.count / requests)
    return run


# -- scenarios ------------------------------------------------------------------------------


@dataclass
class Measured:
    """The runs of one contender in one scenario, and their medians."""
    contender: str
    runs: List[Run] = field(default_factory=list)
    skip: str = ''
    error: str = ''

    def ok_runs(self) -> List[Run]:
        return [r for r in self.runs if 'error' not in r.result]

    def median(self, attribute: str) -> Optional[float]:
        values = [getattr(r, attribute) for r in self.ok_runs()]
        return statistics.median(values) if values else None

    def median_result(self, key: str) -> Optional[float]:
        values = [r.result[key] for r in self.ok_runs() if r.result.get(key) is not None]
        return statistics.median(values) if values else None

    def spread(self, attribute: str) -> Optional[float]:
        """(max - min) / median over the runs: how noisy this measurement was."""
        values = [getattr(r, attribute) for r in self.ok_runs()]
        if len(values) < 2:
            return None
        return (max(values) - min(values)) / statistics.median(values)

    @property
    def usable(self) -> bool:
        return bool(self.ok_runs())

    def status(self) -> str:
        if self.skip:
            return f'n/a: {self.skip}'
        if not self.usable:
            return f'error: {self.error or "no result"}'
        return ''


#: What the responder must see in every request of a scenario ('<encryption>/<key hash>').
EXPECTED_SECURITY = {'plain': 'NONE/-', 'sha256': 'NONE/SHA256', 'aes': 'AES/SHA256',
                     'icon': 'NONE/-', 'async': 'NONE/-', 'memory': 'NONE/-'}
ICON_SIZE = 20 * 1024


def check_run(scenario: str, run: Run) -> str:
    """Why this run does not count (the contender did not send what the scenario asks
    for), or ''."""
    if run.responder_errors:
        return f'the responder saw {run.responder_errors} broken request(s)'
    count = run.count
    if count and run.requests < count:
        return f'the responder answered {run.requests} requests for {count} notifications'
    expected = EXPECTED_SECURITY.get(scenario)
    if expected and set(run.security) - {expected}:
        return f'sent {run.security}, expected only {expected}'
    if scenario == 'icon' and run.payload_bytes < count * ICON_SIZE:
        return f'the responder received {run.payload_bytes} icon bytes for {count} notifications'
    return ''


SYNC_SCENARIOS = {
    # name: (description, notifications per run)
    'plain': ('plain NOTIFY', 3000),
    'sha256': ('password, SHA256 key hash', 3000),
    'aes': ('SHA256 + AES encryption', 3000),
    'icon': ('20 KB PNG icon on every NOTIFY', 2000),
}
ALL_SCENARIOS = list(SYNC_SCENARIOS) + ['async', 'pack', 'import', 'memory']


def measure(contenders: List[Contender], responder: Responder, scenario: str,
            options: Dict[str, Any], reps: int, progress: str) -> Dict[str, Measured]:
    measured = {c.name: Measured(c.name) for c in contenders}
    for c in contenders:
        if not c.available:
            measured[c.name].skip = c.note
    active = [c for c in contenders if c.available]
    for rep in range(reps):
        order = active[rep % len(active):] + active[:rep % len(active)] if active else []
        for contender in order:
            m = measured[contender.name]
            if m.skip or m.error:
                continue  # n/a, or already failed: do not pay its timeouts again
            run = run_once(contender, responder, scenario, options)
            run.round = rep
            if 'skip' in run.result:
                m.skip = run.result['skip']
                continue
            if 'error' in run.result:
                m.error = run.result['error']
                if run.payload_bytes and scenario == 'memory':
                    m.error += (f' (the responder received {run.payload_bytes / MB:.1f} MB '
                                'of the resource)')
            else:
                problem = check_run(scenario, run)
                if problem:
                    m.error = problem
                    run.result['error'] = problem
            m.runs.append(run)
        print(f'   {progress} round {rep + 1}/{reps} done', flush=True)
    return measured


def paired(a: Optional[Measured], b: Optional[Measured], attribute: str
           ) -> Tuple[Optional[float], Optional[float], Optional[float]]:
    """a ÷ b: the median, min and max over the rounds of the ratio within each round.

    Runs of one round are seconds apart, so a slow phase of the shared machine hits both
    sides of a ratio; the ratio of the two medians would mix different phases.
    """
    if a is None or b is None or a.status() or b.status():
        return None, None, None
    b_by_round = {r.round: getattr(r, attribute) for r in b.ok_runs()}
    ratios = [getattr(r, attribute) / b_by_round[r.round] for r in a.ok_runs()
              if b_by_round.get(r.round)]
    if not ratios:
        value = ratio(a.median(attribute), b.median(attribute))
        return value, value, value
    return statistics.median(ratios), min(ratios), max(ratios)


def import_time(contender: Contender, runs: int) -> Dict[str, Any]:
    """Median ``-X importtime`` cumulative time of the top-level package, and whether
    tornado or Cryptodome got imported."""
    package = 'gntp.notifier' if contender.name == 'kfdm-gntp' else 'gntplib'
    top = package.split('.')[0]
    times = []
    modules: List[str] = []
    for i in range(runs + 1):  # the first run only warms the .pyc and file caches
        proc = subprocess.run([contender.python, '-X', 'importtime', '-c', f'import {package}'],
                              env=contender.env(),
                              cwd=CONTENDER_DIR, capture_output=True, text=True)
        if proc.returncode != 0:
            return {'error': (proc.stderr.strip().splitlines() or ['?'])[-1][:200]}
        cumulative = None
        modules = []
        for line in proc.stderr.splitlines():
            match = re.match(r'import time:\s+(\d+)\s+\|\s+(\d+)\s+\|( *)(\S+)', line)
            if not match:
                continue
            modules.append(match.group(4))
            # Top-level entries (one space of indent) of the package and its submodules
            # (`import gntp.notifier` shows `gntp`, then `gntp.notifier`, both top-level).
            name = match.group(4)
            if len(match.group(3)) == 1 and (name == top or name.startswith(top + '.')):
                cumulative = (cumulative or 0) + int(match.group(2))
        if cumulative is not None and i > 0:
            times.append(cumulative)
    return {'ms': statistics.median(times) / 1000 if times else None,
            'runs': len(times), 'package': package,
            'tornado': any(m.split('.')[0] == 'tornado' for m in modules),
            'Cryptodome': any(m.split('.')[0] in ('Cryptodome', 'Crypto') for m in modules),
            'modules': len(modules)}


# -- formatting -----------------------------------------------------------------------------


def fmt(value: Optional[float], digits: int = 0, suffix: str = '') -> str:
    if value is None:
        return '–'
    return f'{value:,.{digits}f}{suffix}'


def ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt_ratio(value: Optional[float]) -> str:
    return '–' if value is None else f'{value:.2f}x'


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ['| ' + ' | '.join(header) + ' |',
             '|' + '|'.join('---' if i == 0 else '--:' for i in range(len(header))) + '|']
    lines += ['| ' + ' | '.join(row) + ' |' for row in rows]
    return '\n'.join(lines)


def sync_table(results: Dict[str, Dict[str, Measured]], scenarios: Sequence[str]) -> str:
    rows = []
    for scenario in scenarios:
        measured = results[scenario]
        floor = measured.get('raw')
        for name, m in measured.items():
            if m.status():
                rows.append([scenario, name, m.status()] + [''] * 7)
                continue
            client_us = statistics.median(r.client_cpu / r.count * 1e6 for r in m.ok_runs())
            responder_us = statistics.median(r.responder_cpu / r.count * 1e6
                                             for r in m.ok_runs())
            rss = statistics.median(r.result['maxrss_kb'] for r in m.ok_runs()) / 1024
            wall, cpu = m.median('wall_rate'), m.median('cpu_rate')
            spread = m.spread('wall_rate')
            rows.append([scenario, name, fmt(wall),
                         '' if name == 'raw' else fmt_ratio(paired(m, floor, 'wall_rate')[0]),
                         fmt(cpu),
                         '' if name == 'raw' else fmt_ratio(paired(m, floor, 'cpu_rate')[0]),
                         fmt(client_us, 1), fmt(responder_us, 1), fmt(rss, 1),
                         f'{len(m.ok_runs())}' + (f' (±{spread * 50:.0f}%)' if spread else '')])
    return table(['scenario', 'contender', 'notif/s (wall)', 'x raw', 'notif/CPU-s', 'x raw',
                  'client CPU µs/notif', 'responder CPU µs/notif', 'peak RSS MB',
                  'runs (wall spread)'], rows)


def versus_table(results: Dict[str, Dict[str, Measured]], scenarios: Sequence[str],
                 ours: str = 'gntplib') -> str:
    others = [n for n in next(iter(results.values())) if n not in ('raw', ours)]
    rows = []
    for scenario in scenarios:
        measured = results[scenario]
        row = [scenario]
        for other in others:
            for mine in (ours, 'raw'):
                a, b = measured.get(mine), measured.get(other)
                if not a or not b or a.status() or b.status():
                    row.append('n/a')
                    continue
                row.append(f'{fmt_ratio(paired(a, b, "wall_rate")[0])} / '
                           f'{fmt_ratio(paired(a, b, "cpu_rate")[0])}')
        rows.append(row)
    header = ['scenario']
    for other in others:
        header += [f'{ours} ÷ {other} (wall / CPU)', f'raw ÷ {other}: the ceiling']
    return table(header, rows)


def async_table(measured: Dict[str, Measured], count: int) -> str:
    floor = measured.get('raw')
    rows = []
    for name, m in measured.items():
        label = 'raw-asyncio' if name == 'raw' else name
        if m.status():
            rows.append([label, m.status()] + [''] * 7)
            continue
        seconds = m.median_result('wall')
        client_us = statistics.median(r.client_cpu / r.count * 1e6 for r in m.ok_runs())
        responder_us = statistics.median(r.responder_cpu / r.count * 1e6 for r in m.ok_runs())
        rss = statistics.median(r.result['maxrss_kb'] for r in m.ok_runs()) / 1024
        rows.append([label, fmt(seconds, 3), fmt(m.median('wall_rate')),
                     '' if name == 'raw' else fmt_ratio(paired(m, floor, 'wall_rate')[0]),
                     fmt(m.median('cpu_rate')),
                     '' if name == 'raw' else fmt_ratio(paired(m, floor, 'cpu_rate')[0]),
                     fmt(client_us, 1), fmt(responder_us, 1), fmt(rss, 1)])
    return table(['contender', f's for {count}', 'notif/s (wall)', 'x raw-asyncio',
                  'notif/CPU-s', 'x raw-asyncio', 'client CPU µs/notif',
                  'responder CPU µs/notif', 'peak RSS MB'], rows)


def pack_table(measured: Dict[str, Measured]) -> str:
    rows = []
    for name, m in measured.items():
        if name == 'raw':
            continue
        if m.status():
            rows.append([name, m.status(), '', '', ''])
            continue
        r = m.ok_runs()[0].result if m.ok_runs() else m.runs[0].result
        rows.append([name, fmt(r.get('pack_plain_us'), 1), fmt(r.get('pack_aes_us'), 1),
                     fmt(r.get('packer_plain_us'), 1), fmt(r.get('packer_aes_us'), 1)])
    return table(['contender', 'publish() without I/O, plain µs', 'same, SHA256+AES µs',
                  'MessagePacker.pack plain µs', 'MessagePacker.pack AES µs'], rows)


def memory_table(measured: Dict[str, Measured], size: int) -> str:
    rows = []
    for name, m in measured.items():
        if m.status():
            rows.append([name, m.status(), '', '', ''])
            continue
        peak = statistics.median(r.result['maxrss_kb'] for r in m.ok_runs()) * 1024
        base = statistics.median(r.result['baseline_rss_kb'] for r in m.ok_runs()) * 1024
        rows.append([name, fmt(peak / MB, 1), fmt_ratio(peak / size),
                     fmt_ratio((peak - base) / size), fmt(m.median_result('wall'), 3)])
    return table(['contender', 'peak RSS MB', 'peak ÷ resource', '(peak − RSS before) ÷ resource',
                  'send s'], rows)


def import_table(imports: Dict[str, Dict[str, Any]]) -> str:
    rows = []
    for name, r in imports.items():
        if 'error' in r or r.get('ms') is None:
            rows.append([name, r.get('package', ''), f'error: {r.get("error", "?")}', '', ''])
            continue
        rows.append([f'{name}', f'`import {r["package"]}`', fmt(r['ms'], 1),
                     'yes' if r['tornado'] else 'no', 'yes' if r['Cryptodome'] else 'no'])
    return table(['contender', 'statement', 'ms (median, -X importtime)', 'imports tornado',
                  'imports Cryptodome'], rows)


# -- targets --------------------------------------------------------------------------------


def targets(results: Dict[str, Any], config: Dict[str, Any]) -> List[List[str]]:
    rows: List[List[str]] = []

    def verdict(ok: Optional[bool]) -> str:
        return 'n/a' if ok is None else ('**PASS**' if ok else '**FAIL**')

    def floor_ratio(scenario: str, attribute: str, other: str = 'raw'
                    ) -> Tuple[Optional[float], Optional[float], Optional[float]]:
        measured = results.get(scenario)
        if not measured:
            return None, None, None
        return paired(measured.get('gntplib'), measured.get(other), attribute)

    def add(label: str, values: Tuple[Optional[float], Optional[float], Optional[float]],
            limit: float) -> None:
        value, low, high = values
        spread = '' if low is None or low == high else f'{low:.2f}–{high:.2f}'
        rows.append([label, fmt_ratio(value), spread,
                     verdict(None if value is None else value >= limit)])

    for scenario, limit in (('plain', 0.85), ('aes', 0.7), ('icon', 0.75)):
        if scenario not in results:
            continue
        for attribute, metric in (('wall_rate', 'wall'), ('cpu_rate', 'CPU')):
            add(f'sync {scenario}: gntplib ≥ {limit}x raw ({metric})',
                floor_ratio(scenario, attribute), limit)
    for other in ('kfdm-gntp', 'gntplib-3.0.10') if 'plain' in results else ():
        for attribute, metric in (('wall_rate', 'wall'), ('cpu_rate', 'CPU')):
            add(f'sync plain: gntplib ≥ 1.2x {other} ({metric})',
                floor_ratio('plain', attribute, other), 1.2)
            # A library works on top of the floor's loop, so the floor's lead bounds this.
            ceiling, low, high = paired(results['plain'].get('raw'),
                                        results['plain'].get(other), attribute)
            rows.append([f'&nbsp;&nbsp;for reference: raw floor ÷ {other} ({metric}), the '
                         'most a library can reach', fmt_ratio(ceiling),
                         '' if low is None or low == high else f'{low:.2f}–{high:.2f}', ''])
    if 'async' in results:
        for attribute, metric in (('wall_rate', 'wall'), ('cpu_rate', 'CPU')):
            add(f'async {config["async_count"]} x {config["async_delay_ms"]:g} ms: gntplib ≥ '
                f'0.6x raw-asyncio ({metric})', floor_ratio('async', attribute), 0.6)
        ours = results['async'].get('gntplib')
        seconds = ours.median_result('wall') if ours and not ours.status() else None
        rows.append([f'async {config["async_count"]} x {config["async_delay_ms"]:g} ms: '
                     'gntplib under 1.5 s', fmt(seconds, 3, ' s'), '',
                     verdict(None if seconds is None else seconds < 1.5)])
    if 'import' in results:
        r = results['import'].get('gntplib', {})
        ms = r.get('ms')
        rows.append(['`import gntplib` under 60 ms', fmt(ms, 1, ' ms'), '',
                     verdict(None if ms is None else ms < 60)])
        if ms is not None:
            rows.append(['`import gntplib` imports neither tornado nor Cryptodome',
                         f'tornado: {"yes" if r["tornado"] else "no"}, '
                         f'Cryptodome: {"yes" if r["Cryptodome"] else "no"}', '',
                         verdict(not r['tornado'] and not r['Cryptodome'])])
    if 'memory' in results:
        m = results['memory'].get('gntplib')
        value = None
        if m and not m.status():
            value = statistics.median(r.result['maxrss_kb'] for r in m.ok_runs()) * 1024 \
                / config['memory_size']
        rows.append([f'sending a {config["memory_size"] // MB} MB resource peaks below 3x its '
                     'size (whole-process peak RSS)', fmt_ratio(value), '',
                     verdict(None if value is None else value < 3)])
    return rows


# -- machine --------------------------------------------------------------------------------


def machine() -> Dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0

    def git(*args: str) -> str:
        try:
            return subprocess.run(['git', '-C', REPO, *args], capture_output=True, text=True,
                                  timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return '?'

    dirty = git('status', '--porcelain', '--', 'gntplib')
    return {
        'date': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
        'cpu': cpu,
        'cores': f'{os.cpu_count()} logical, {usable} usable by this process',
        'python': f'{platform.python_implementation()} {platform.python_version()} '
                  f'({sys.executable})',
        'os': platform.platform(),
        'gntplib': f'working tree at {git("rev-parse", "--short", "HEAD")}'
                   + (' with uncommitted changes in gntplib/' if dirty else ''),
    }


def loadavg() -> str:
    try:
        return ' / '.join(f'{x:.2f}' for x in os.getloadavg())
    except OSError:
        return '?'


# -- main -----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--quick', action='store_true',
                        help='smoke run: few notifications, one run per contender')
    parser.add_argument('--scenario', action='append', choices=ALL_SCENARIOS,
                        help='run only this scenario (may be repeated)')
    parser.add_argument('--contender', action='append',
                        help='run only this contender (raw is always kept as the floor)')
    parser.add_argument('--reps', type=int, help='runs per contender (default 7, quick 1)')
    parser.add_argument('--output', help='write the Markdown report here')
    parser.add_argument('--no-install', action='store_true',
                        help='do not create virtual environments; skip what is missing')
    parser.add_argument('--pin', metavar='CPU',
                        help='run the responder and every contender on this CPU (taskset -c): '
                             'one core, no cross-core wake-ups, as issue 13 measures')
    args = parser.parse_args()
    if args.pin is not None:
        PIN[:] = ['taskset', '-c', args.pin]

    quick = args.quick
    reps = args.reps or (1 if quick else 7)
    scenarios = args.scenario or ALL_SCENARIOS
    partial = quick or bool(args.scenario) or bool(args.contender) or bool(args.reps)
    output = args.output or (None if partial else RESULTS)
    config = {
        'reps': reps,
        'counts': {s: (300 if quick else n) for s, (_, n) in SYNC_SCENARIOS.items()},
        'warmup': 20 if quick else 100,
        'async_count': 2000, 'async_concurrency': 200, 'async_delay_ms': 20.0,
        'memory_size': 50 * MB, 'memory_reps': 1 if quick else 3,
        'import_runs': 3 if quick else 9,
    }

    contenders = make_contenders()
    if args.contender:
        wanted = set(args.contender) | {'raw'}
        unknown = wanted - {c.name for c in contenders}
        if unknown:
            parser.error(f'unknown contender(s): {", ".join(sorted(unknown))}')
        contenders = [c for c in contenders if c.name in wanted]
    for contender in contenders:
        setup_venv(contender, install=not args.no_install)

    info = machine()
    load_before = loadavg()
    started = time.perf_counter()
    results: Dict[str, Any] = {}
    responder = Responder()
    try:
        for scenario in scenarios:
            print(f'-- {scenario}', flush=True)
            if scenario in SYNC_SCENARIOS:
                responder.configure(delay_ms=0)
                results[scenario] = measure(
                    contenders, responder, scenario,
                    {'count': config['counts'][scenario], 'warmup': config['warmup']},
                    reps, scenario)
            elif scenario == 'async':
                responder.configure(delay_ms=config['async_delay_ms'])
                results[scenario] = measure(
                    contenders, responder, scenario,
                    {'count': config['async_count'],
                     'concurrency': config['async_concurrency']}, reps, scenario)
                responder.configure(delay_ms=0)
            elif scenario == 'memory':
                responder.configure(delay_ms=0)
                results[scenario] = measure(contenders, responder, scenario,
                                            {'size': config['memory_size']},
                                            config['memory_reps'], scenario)
            elif scenario == 'pack':
                results[scenario] = measure(contenders, responder, scenario, {}, 1, scenario)
            elif scenario == 'import':
                results[scenario] = {c.name: import_time(c, config['import_runs'])
                                     for c in contenders if c.available and c.name != 'raw'}
    finally:
        responder.close()
    elapsed = time.perf_counter() - started

    report = render(results, config, contenders, info, load_before, loadavg(), elapsed, quick)
    print()
    print(report)
    if output:
        with open(output, 'w') as f:
            f.write(report)
        print(f'\nwritten to {os.path.relpath(output)}')
    return 0


def render(results: Dict[str, Any], config: Dict[str, Any], contenders: List[Contender],
           info: Dict[str, str], load_before: str, load_after: str, elapsed: float,
           quick: bool) -> str:
    out: List[str] = ['# gntplib benchmark results', '']
    if quick:
        out += ['**Quick smoke run** (`--quick`): few notifications and one run each; the '
                'numbers are not comparable with a full run.', '']
    out += ['Generated by `python benchmarks/run.py`; see `benchmarks/README.md` for what is '
            'measured and how.', '', '## Machine', '']
    for key, value in info.items():
        out.append(f'- **{key}**: {value}')
    out.append(f'- **load average** (1/5/15 min) before: {load_before}; after: {load_after}')
    out.append(f'- **suite duration**: {elapsed:.0f} s')
    for c in contenders:
        if not c.available:
            out.append(f'- **{c.name}**: skipped — {c.note}')
    out.append('')

    sync = [s for s in SYNC_SCENARIOS if s in results]
    if sync:
        counts = ', '.join(f'{s} {config["counts"][s]}' for s in sync)
        out += ['## Sync scenarios', '',
                f'Notifications per run: {counts} (after {config["warmup"]} untimed warm-up '
                f'ones); median of {config["reps"]} interleaved runs. *notif/s (wall)* = '
                'count ÷ wall-clock time of the client loop; *notif/CPU-s* = count ÷ (client '
                'CPU + responder CPU); *x raw* = ratio to the `raw` floor (hand-written socket '
                'loop sending precomputed bytes of the same request) in the same metric, '
                'median over the rounds of the ratio within each round; the wall spread is '
                '±half the (max − min) range of the wall rate relative to its median.', '',
                sync_table(results, sync), '']
        names = set(results[sync[0]])
        if 'gntplib' in names and names - {'raw', 'gntplib'}:
            out += ['### gntplib against the other libraries', '',
                    'Median over the rounds of the ratio within each round (> 1: gntplib is '
                    'faster / cheaper). *raw ÷ …* is the same ratio for the hand-written '
                    'floor: a library doing all of its work on top of that loop stays below it, '
                    'so it is about the most any library can reach against that one.', '',
                    versus_table(results, sync), '']
    if 'async' in results:
        ideal = (config['async_count'] / config['async_concurrency'] *
                 config['async_delay_ms'] / 1000)
        out += ['## Async scenario', '',
                f'{config["async_count"]} NOTIFYs, at most {config["async_concurrency"]} in '
                f'flight, the responder delaying each reply by {config["async_delay_ms"]:g} ms '
                f'(ideal: {ideal:.1f} s). '
                '`raw-asyncio`: `asyncio.open_connection`, write precomputed bytes, '
                '`readuntil`, close, under an `asyncio.Semaphore`. Median of '
                f'{config["reps"]} runs.', '',
                async_table(results['async'], config['async_count']), '']
    if 'pack' in results:
        out += ['## Pack-only cost of one NOTIFY', '',
                '`timeit`, best of 7 repeats. *publish() without I/O*: the library\'s own '
                'publish/notify call with the socket step replaced by returning the packed '
                'bytes (request objects, key and IV generation, encryption, packing). '
                '*MessagePacker.pack*: ours only, packing a prebuilt `NotifyRequest`.', '',
                pack_table(results['pack']), '']
    if 'import' in results:
        out += ['## Import time', '',
                f'`python -X importtime -c "import …"`, cumulative time of the package, median '
                f'of {config["import_runs"]} runs after one warm-up run.', '',
                import_table(results['import']), '']
    if 'memory' in results:
        out += ['## Memory: one 50 MB resource', '',
                f'One NOTIFY carrying a {config["memory_size"] // MB} MB icon; peak RSS '
                '(`ru_maxrss`) of the client process, which includes the interpreter and the '
                f'resource itself; median of {config["memory_reps"]} runs.', '',
                memory_table(results['memory'], config['memory_size']), '']
    rows = targets(results, config)
    if rows:
        out += ['## Targets (issue 5)', '',
                'Ratios are medians over the rounds of the ratio within each round (runs of '
                'one round are seconds apart, so a slow phase of the machine hits both '
                'sides); *rounds* gives their range.', '',
                table(['target', 'measured', 'rounds', 'result'], rows), '']
    return '\n'.join(out)


if __name__ == '__main__':
    sys.exit(main())
