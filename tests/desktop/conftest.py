"""Fixtures of the desktop tests: real buses, a real notification daemon, our receiver.

* ``dunst``: dunst on a private session bus and an Xvfb display, shared by the tests of a
  run and cleared before each (:class:`~tests.desktop.processes.Dunst`).
* ``private_bus``: a bus of the test's own, with no notification server on it yet.
* ``scripted``: ``scripted(**options)`` starts a :class:`ScriptedNotificationServer` on
  ``private_bus``.
* ``receiver``: ``receiver(bus_address, **DesktopDisplay options)`` starts a
  :class:`~gntplib.server.ServerThread` showing on that bus; its ``fallback`` records
  what it is given.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, List, Tuple

import pytest

pytest.importorskip('jeepney')

from gntplib import Publisher  # noqa: E402
from gntplib.desktop import DesktopDisplay  # noqa: E402
from gntplib.display import Display, DisplayEvent  # noqa: E402
from gntplib.server import ServerThread  # noqa: E402

from .processes import INSTALL, PROGRAMS, DesktopSession, Dunst, PrivateBus  # noqa: E402
from .scripted_server import ScriptedNotificationServer  # noqa: E402


class Recorder(Display):
    """A display that records what it is shown (the fallback of the tests)."""

    def __init__(self) -> None:
        self.shown: List[DisplayEvent] = []
        self.callbacks: List[Tuple[DisplayEvent, str]] = []
        self.closed = False

    def show(self, event: DisplayEvent) -> None:
        self.shown.append(event)

    def show_callback(self, event: DisplayEvent, result: str) -> None:
        self.callbacks.append((event, result))

    def close(self) -> None:
        self.closed = True


class Receiver:
    """A GNTP server thread whose display is a :class:`DesktopDisplay`."""

    def __init__(self, thread: ServerThread, display: DesktopDisplay,
                 fallback: Recorder) -> None:
        self.thread = thread
        self.display = display
        self.fallback = fallback
        self.port = thread.port

    def publisher(self, app: str, events: Any = ('ev',), **options: Any) -> Publisher:
        """A sync Publisher for this receiver, registered."""
        publisher = Publisher(app, list(events), port=self.port, **options)
        publisher.register()
        return publisher


@pytest.fixture(scope='session')
def desktop_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DesktopSession]:
    session = DesktopSession(tmp_path_factory.mktemp('desktop'))
    yield session
    session.stop()


@pytest.fixture
def dunst(require_program: Callable[..., str], desktop_session: DesktopSession) -> Dunst:
    for program in PROGRAMS:
        require_program(program, install=INSTALL)
    daemon = desktop_session.started()
    daemon.clear()
    return daemon


@pytest.fixture
def private_bus(require_program: Callable[..., str], tmp_path: Any) -> Iterator[PrivateBus]:
    require_program('dbus-daemon', install=INSTALL)
    bus = PrivateBus(tmp_path).start()
    yield bus
    bus.stop()


@pytest.fixture
def scripted(private_bus: PrivateBus
             ) -> Iterator[Callable[..., ScriptedNotificationServer]]:
    servers: List[ScriptedNotificationServer] = []

    def start(**options: Any) -> ScriptedNotificationServer:
        server = ScriptedNotificationServer(private_bus.address, **options).start()
        servers.append(server)
        return server
    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def receiver() -> Iterator[Callable[..., Receiver]]:
    started: List[Receiver] = []

    def start(bus: str, **options: Any) -> Receiver:
        fallback = Recorder()
        options.setdefault('opener', lambda url: None)
        display = DesktopDisplay(bus, fallback=fallback, **options)
        thread = ServerThread(display=display).start()
        started.append(Receiver(thread, display, fallback))
        return started[-1]
    yield start
    for item in started:
        item.thread.stop()
