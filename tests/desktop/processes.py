"""Real desktop programs for the desktop tests: a private D-Bus session bus, Xvfb, dunst.

Nothing here touches the developer's own session: every bus is a new ``dbus-daemon`` on a
socket in a temporary directory, the X server is a new ``Xvfb`` on a free display number
(``-displayfd``), and dunst runs with its own configuration on those two.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Optional

from tests.support.waiting import wait_until

__all__ = ['INSTALL', 'PROGRAMS', 'DesktopSession', 'Dunst', 'PrivateBus', 'Xvfb',
           'wait_until']

INSTALL = 'bash scripts/system-deps (scripts/deps/desktop.sh)'
PROGRAMS = ('dbus-daemon', 'Xvfb', 'dunst', 'dunstctl')


class PrivateBus:
    """A ``dbus-daemon`` session bus listening on ``unix:path=<directory>/bus``.

    :meth:`stop` and :meth:`start` again give a new bus at the same address, as when a
    user's session bus restarts.
    """

    def __init__(self, directory: Path) -> None:
        self.path = directory / 'bus'
        self.address = f'unix:path={self.path}'
        self.proc: Optional[subprocess.Popen] = None

    def start(self) -> 'PrivateBus':
        if self.path.exists():
            self.path.unlink()
        self.proc = subprocess.Popen(
            ['dbus-daemon', '--session', '--nofork', '--nopidfile', f'--address={self.address}',
             '--print-address=1'], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # printed once the bus accepts connections
        assert line.startswith('unix:'), f'dbus-daemon did not start: {line!r}'
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc = None

    @property
    def env(self) -> Dict[str, str]:
        return dict(os.environ, DBUS_SESSION_BUS_ADDRESS=self.address)


class Xvfb:
    """A virtual X server on a free display number (black background)."""

    def __init__(self, width: int = 800, height: int = 600) -> None:
        read, write = os.pipe()
        self.proc = subprocess.Popen(
            ['Xvfb', '-displayfd', str(write), '-screen', '0', f'{width}x{height}x24',
             '-nolisten', 'tcp', '-br'], pass_fds=(write,), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        os.close(write)
        with os.fdopen(read) as pipe:
            number = pipe.readline().strip()
        assert number.isdigit(), 'Xvfb did not start'
        self.display = f':{number}'

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


DUNSTRC = """\
[global]
    idle_threshold = 0
    show_indicators = no
    markup = full
    history_length = 100
    width = 360
    offset = 16x16
    origin = top-right
    font = DejaVu Sans 11
    format = "<b>%a</b>: %s\\n%b"
    frame_width = 2
    frame_color = "#3399ff"
    corner_radius = 6
    padding = 10
    horizontal_padding = 10
    max_icon_size = 48
    min_icon_size = 32
    icon_position = left
[urgency_low]
    background = "#2b2b2b"
    foreground = "#dddddd"
[urgency_normal]
    background = "#2b2b2b"
    foreground = "#ffffff"
[urgency_critical]
    background = "#902020"
    foreground = "#ffffff"
"""


class Dunst:
    """dunst on a private bus and X display, and ``dunstctl`` to act like a person."""

    def __init__(self, directory: Path, bus: PrivateBus, xvfb: Xvfb) -> None:
        self.bus = bus
        self.env = dict(bus.env, DISPLAY=xvfb.display)
        config = directory / 'dunstrc'
        config.write_text(DUNSTRC)
        self.log = open(directory / 'dunst.log', 'w')
        self.proc = subprocess.Popen(['dunst', '-config', str(config)], env=self.env,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        wait_until(lambda: self.ctl('is-paused', check=False).returncode == 0, 10,
                   'dunst on the bus')

    def ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(['dunstctl', *args], env=self.env, capture_output=True,
                              text=True, timeout=10, check=check)

    def count(self, which: str = 'displayed') -> int:
        return int(self.ctl('count', which).stdout.strip())

    def history(self) -> List[Dict[str, Any]]:
        """The closed notifications, newest first, as plain ``{field: value}`` dicts."""
        data = json.loads(self.ctl('history').stdout)['data'][0]
        return [{name: field['data'] for name, field in entry.items()} for entry in data]

    def clear(self) -> None:
        """Close whatever is on screen (a fresh start for a test)."""
        self.ctl('close-all')
        wait_until(lambda: self.count() == 0, 10, 'an empty screen')

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.log.close()


class DesktopSession:
    """A private bus, Xvfb and dunst, started on first use and shared by the tests."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.bus: Optional[PrivateBus] = None
        self.xvfb: Optional[Xvfb] = None
        self.dunst: Optional[Dunst] = None

    def started(self) -> Dunst:
        if self.dunst is None:
            self.bus = PrivateBus(self.directory).start()
            self.xvfb = Xvfb()
            self.dunst = Dunst(self.directory, self.bus, self.xvfb)
        return self.dunst

    def stop(self) -> None:
        for part in (self.dunst, self.xvfb, self.bus):
            if part is not None:
                part.stop()
