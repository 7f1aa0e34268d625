"""One client contract, run against both drivers (the blocking ``Publisher`` and Tornado's
``AsyncPublisher``) through one scripted peer (:class:`tests.support.peers.ScriptedPeer`,
a real TCP server on 127.0.0.1).

Each row of :data:`ANSWERS` is a peer behaviour (an answer, an early error, the end of the
stream at some point, bytes dripped, a reset, garbage, an oversize answer) and what every
client must make of it. The tests below the table cover what needs more than one answer:
callbacks, connect failures, failed writes, address resolution.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Tuple, Type, Union

import pytest

from gntplib import (
    GNTPAuthenticationError, GNTPConnectionError, GNTPProtocolError, GNTPResponseError,
    Publisher, Resource, SocketCallback,
)
from gntplib import _addresses, _async_io
from gntplib.async_ import AsyncGNTPConnection, AsyncPublisher
from gntplib.connections import BaseGNTPConnection, GNTPConnection
from gntplib.lib import EventDef
from gntplib.packers import pack_response
from gntplib.requests import Response
from tests.support.peers import Connection, Reply, ScriptedPeer, answer_ok, ok_for, \
    unanswered_port, unused_port
from tests.support.vectors import by_name, message_bytes

EVENTS: List[EventDef] = ['update', ('quiet', False)]
CALLBACK_CLICK = message_bytes(by_name('responses.json', 'callback-click'))
Action = Callable[[Any], Any]


class Driver:
    """Runs one publisher call with the sync or the async client and returns its result
    (or raises what it raised). For the async client, the call runs on a fresh asyncio
    loop, which also waits for the background wait for a ``-CALLBACK`` to end, so the
    handlers' effects are there when the call returns, as with the sync client."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __repr__(self) -> str:
        return self.kind

    def call(self, port: int, action: Action, host: str = '127.0.0.1',
             **client: Any) -> Response:
        if self.kind == 'sync':
            result: Response = action(Publisher('App', EVENTS, host=host, port=port, **client))
            return result

        if self.kind == 'async-general':
            client['connection_class'] = GeneralPathConnection

        async def main() -> Response:
            publisher = AsyncPublisher('App', EVENTS, host=host, port=port, **client)
            try:
                response: Response = await action(publisher)
                return response
            finally:
                while _async_io._background_tasks:  # wait() retrieves no exception
                    await asyncio.wait(list(_async_io._background_tasks), timeout=10)
        return asyncio.run(main())


class GeneralPathConnection(AsyncGNTPConnection):
    """Overrides ``read_message``, so the async client takes its general path (a task per
    read) instead of the fast path that awaits the read in place."""

    def read_message(self, callback: Callable[[bytes], None]) -> 'asyncio.Future[None]':
        return super().read_message(callback)


@pytest.fixture(params=['sync', 'async'])
def driver(request: pytest.FixtureRequest) -> Driver:
    return Driver(request.param)


@pytest.fixture(params=['sync', 'async', 'async-general'])
def any_driver(request: pytest.FixtureRequest) -> Driver:
    """Also the async client's general path: the table proves the fast path equal to it."""
    return Driver(request.param)


def register(publisher: Any) -> Any:
    return publisher.register()


# -- the peer behaviours ---------------------------------------------------------------------

def answers(data: Union[bytes, List[bytes]]) -> Callable[[Connection], Reply]:
    """Read the request, send ``data``, wait for the client to close."""
    def script(conn: Connection) -> Reply:
        conn.read_request()
        return data
    return script


def answers_and_closes(data: bytes) -> Callable[[Connection], Reply]:
    """Read the request, send ``data`` and close at once."""
    def script(conn: Connection) -> Reply:
        conn.read_request()
        if data:
            conn.send(data)
        return None
    return script


def resets(conn: Connection) -> Reply:
    conn.read_request()
    conn.send(b'GNTP/1.0 -OK NO')
    conn.reset()
    return None


def drips(conn: Connection) -> Reply:
    for byte in ok_for(conn.read_request()):
        conn.send(bytes([byte]))
    return None


def stays_silent(conn: Connection) -> Reply:
    conn.read_request()
    conn.wait_for_client_close(10)
    return None


def error(code: int, description: str = 'Nope') -> bytes:
    return pack_response(Response('-ERROR', [('Error-Code', code),
                                             ('Error-Description', description)]))


#: What a client must make of an answer: the response's action (success), or the error's
#: class, its ``error_code`` and a text its message contains.
Outcome = Union[str, Tuple[Type[Exception], Optional[int], str]]

ANSWERS: Dict[str, Tuple[Callable[[Connection], Reply], Outcome]] = {
    'ok': (answer_ok, 'REGISTER'),
    'error-400': (answers(error(400)), (GNTPAuthenticationError, 400, '400 Nope')),
    'error-402': (answers(error(402)), (GNTPResponseError, 402, '402 Nope')),
    'error-999': (answers(error(999)), (GNTPResponseError, 999, '999 Nope')),
    # growl-for-linux: its reason where the encryption ID belongs, no Error-Code.
    'error-growl-for-linux': (
        answers(b'GNTP/1.0 -ERROR Invalid data\r\nError-Description: Invalid data\r\n\r\n'),
        (GNTPResponseError, None, 'Invalid data')),
    'error-reason-on-the-info-line-only': (
        answers(b'GNTP/1.0 -ERROR Out of memory\r\n\r\n'),
        (GNTPResponseError, None, 'Out of memory')),
    'error-code-not-a-number': (
        answers(b'GNTP/1.0 -ERROR NONE\r\nError-Code: soon\r\nError-Description: busy\r\n\r\n'),
        (GNTPResponseError, None, 'busy')),
    'error-then-close': (answers_and_closes(error(300, 'Too big')),
                         (GNTPResponseError, 300, 'Too big')),
    'truncated-after-whole-lines': (
        answers_and_closes(b'GNTP/1.0 -OK NONE\r\nResponse-Action: REGISTER\r\nOrigin-Mach'),
        'REGISTER'),
    'http': (answers_and_closes(b'HTTP/1.1 400 Bad Request\r\n\r\n'),
             (GNTPProtocolError, 301, 'not a GNTP')),
    'no-colon': (answers_and_closes(b'GNTP/1.0 -OK NONE\r\nno colon here\r\n\r\n'),
                 (GNTPProtocolError, 300, 'malformed header')),
    'not-utf8': (answers_and_closes(b'GNTP/1.0 -OK NONE\r\nName: \xff\xfe\r\n\r\n'),
                 (GNTPProtocolError, 300, 'UTF-8')),
    'version': (answers_and_closes(b'GNTP/2.0 -OK NONE\r\n\r\n'),
                (GNTPProtocolError, 302, 'version')),
    'request-type': (answers_and_closes(b'GNTP/1.0 NOTIFY NONE\r\n\r\n'),
                     (GNTPProtocolError, 300, 'unexpected message type')),
    'callback-first': (answers_and_closes(b'GNTP/1.0 -CALLBACK NONE\r\n\r\n'),
                       (GNTPProtocolError, 300, 'expected -OK')),
    'encrypted-without-key': (
        answers_and_closes(b'GNTP/1.0 -OK AES:00112233445566778899AABBCCDDEEFF\r\nxx\r\n\r\n'),
        (GNTPProtocolError, 300, 'encrypted')),
    'oversize': (answers(b'GNTP/1.0 -OK NONE\r\nX-Pad: ' + b'a' * 10000 + b'\r\n\r\n'),
                 (GNTPProtocolError, 300, 'larger than')),
    'eof-in-info-line': (answers_and_closes(b'GNTP/1.0 -O'),
                         (GNTPConnectionError, None, 'closed in the middle')),
    'eof-before-answering': (answers_and_closes(b''),
                             (GNTPConnectionError, None, 'without answering')),
    'reset': (resets, (GNTPConnectionError, None, '')),
    'drip': (drips, 'REGISTER'),
    'silent': (stays_silent, (GNTPConnectionError, None, 'timed out reading the response')),
}


@pytest.mark.parametrize('behaviour', list(ANSWERS))
def test_peer_behaviour(any_driver: Driver, behaviour: str) -> None:
    driver = any_driver
    script, outcome = ANSWERS[behaviour]
    with ScriptedPeer(script) as peer:
        started = time.monotonic()
        if isinstance(outcome, str):
            assert driver.call(peer.port, register, timeout=2).action == outcome
            return
        error_class, code, text = outcome
        with pytest.raises(error_class) as info:
            driver.call(peer.port, register, timeout=0.5)
        assert time.monotonic() - started < 3
    if code is not None or issubclass(error_class, GNTPResponseError):
        assert getattr(info.value, 'error_code', None) == code
    assert text in str(info.value)
    if error_class is GNTPConnectionError:
        assert str(info.value).startswith(f'127.0.0.1:{peer.port}: ')
        assert isinstance(info.value, ConnectionError)
    if behaviour.startswith('error-'):
        assert isinstance(info.value, GNTPResponseError) and info.value.response is not None
        assert info.value.response.message_type == '-ERROR'


def test_the_receivers_text_is_the_description(driver: Driver) -> None:
    answer = b'GNTP/1.0 -ERROR Invalid data\r\nError-Description: Invalid data\r\n\r\n'
    with ScriptedPeer(answers(answer)) as peer:
        with pytest.raises(GNTPResponseError) as info:
            driver.call(peer.port, register)
    assert type(info.value) is GNTPResponseError
    assert (info.value.description, info.value.error_code) == ('Invalid data', None)
    assert str(info.value) == 'Invalid data'


# -- a receiver that answers before it read everything --------------------------------------

def reads_part_then_errors(conn: Connection) -> Reply:
    conn.read_some()
    conn.send(error(300, 'Request too large'))
    return None  # and close, with most of the request unread


def test_an_early_error_during_a_large_write_is_the_receivers_answer(driver: Driver) -> None:
    """An 8 MiB icon: the receiver reads a little, answers -ERROR 300 and closes; both
    clients raise that answer, not the failed write."""
    icon = Resource(data=b'x' * (8 << 20))
    with ScriptedPeer(reads_part_then_errors) as peer:
        with pytest.raises(GNTPResponseError) as info:
            driver.call(peer.port, lambda p: p.publish('update', 'Big', icon=icon), timeout=5)
    assert (info.value.error_code, info.value.description) == (300, 'Request too large')


def never_reads(conn: Connection) -> Reply:
    conn.peer.closed_by_client.wait(10)
    return None


def test_a_write_nobody_reads_times_out(driver: Driver) -> None:
    icon = Resource(data=bytes(32 << 20))
    with ScriptedPeer(never_reads) as peer:
        started = time.monotonic()
        with pytest.raises(GNTPConnectionError, match='timed out sending'):
            driver.call(peer.port, lambda p: p.publish('update', 'Big', icon=icon),
                        timeout=0.3)
        # The write's 0.3 s, then at most as long again for an answer already sent.
        assert time.monotonic() - started < 2
        peer.closed_by_client.set()


# -- connecting --------------------------------------------------------------------------------

def test_connection_refused(driver: Driver) -> None:
    port = unused_port()
    with pytest.raises(GNTPConnectionError, match='connecting failed') as info:
        driver.call(port, register)
    assert isinstance(info.value, ConnectionError) and info.value.__cause__ is not None
    assert str(info.value).startswith(f'127.0.0.1:{port}: ')


def test_connect_timeout(driver: Driver) -> None:
    with unanswered_port() as port:
        started = time.monotonic()
        with pytest.raises(GNTPConnectionError, match='timed out connecting'):
            driver.call(port, register, timeout=0.3)
        assert 0.25 < time.monotonic() - started < 2


def test_host_names_are_looked_up_once_and_again_after_a_failed_connect(
        driver: Driver) -> None:
    """One policy for both clients: a name's addresses are kept, and forgotten when a
    connect to them fails."""
    with ScriptedPeer() as peer:
        assert driver.call(peer.port, register, host='localhost').ok
        cached = _addresses._names[('localhost', peer.port)]
        assert driver.call(peer.port, register, host='localhost').ok
        assert _addresses._names[('localhost', peer.port)] is cached  # no second lookup
    port = unused_port()
    with pytest.raises(GNTPConnectionError, match='connecting failed'):
        driver.call(port, register, host='localhost')
    assert ('localhost', port) not in _addresses._names  # looked up again next time


def test_each_address_of_a_host_is_tried_in_turn(driver: Driver,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    with ScriptedPeer() as peer:
        addresses = [(socket.AF_INET, socket.SOCK_STREAM, 0, '', ('127.0.0.1', unused_port())),
                     (socket.AF_INET, socket.SOCK_STREAM, 0, '', ('127.0.0.1', peer.port))]
        # As if the name had been looked up: the first address refuses, the second answers.
        monkeypatch.setitem(_addresses._names, ('two.example', 23053),
                            (time.monotonic() + 60, addresses))
        assert driver.call(23053, register, host='two.example').ok
    assert peer.received[-1].to_request().app_name == 'App'  # type: ignore[attr-defined]


# -- socket callbacks ---------------------------------------------------------------------------

class Recorder(SocketCallback):
    """Records which handler ran, with the response."""

    def __init__(self) -> None:
        super().__init__('open-download 42', 'string')
        self.calls: List[Tuple[str, Response]] = []

    def on_click(self, response: Response) -> None:
        self.calls.append(('click', response))

    def on_close(self, response: Response) -> None:
        self.calls.append(('close', response))

    def on_timeout(self, response: Response) -> None:
        self.calls.append(('timeout', response))


def publish_with(recorder: SocketCallback) -> Action:
    return lambda publisher: publisher.publish('update', 'Hi', gntp_callback=recorder)


@pytest.mark.parametrize('result,handler', [('CLICK', 'click'), ('CLICKED', 'click'),
                                            ('CLOSE', 'close'), ('CLOSED', 'close'),
                                            ('TIMEOUT', 'timeout'), ('TIMEDOUT', 'timeout')])
@pytest.mark.parametrize('same_read', [True, False], ids=['one-write', 'two-writes'])
def test_the_callback_runs_the_matching_handler(driver: Driver, result: str, handler: str,
                                                same_read: bool) -> None:
    callback = CALLBACK_CLICK.replace(b'Result: CLICK', b'Result: ' + result.encode())

    def script(conn: Connection) -> Reply:
        ok = ok_for(conn.read_request())
        return ok + callback if same_read else [ok, callback]
    recorder = Recorder()
    with ScriptedPeer(script) as peer:
        assert driver.call(peer.port, publish_with(recorder)).action == 'NOTIFY'
    assert [name for name, _ in recorder.calls] == [handler]
    assert recorder.calls[0][1].context == 'open-download 42'


def test_a_peer_closing_after_ok_ends_the_wait_quietly(
        driver: Driver, caplog: pytest.LogCaptureFixture) -> None:
    def script(conn: Connection) -> Reply:
        conn.send(ok_for(conn.read_request()))
        return None  # and close
    recorder = Recorder()
    with ScriptedPeer(script) as peer:
        with caplog.at_level(logging.DEBUG, logger='gntplib'):
            started = time.monotonic()
            response = driver.call(peer.port, publish_with(recorder), callback_timeout=30)
    assert response.ok and recorder.calls == [] and time.monotonic() - started < 5
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert any('no socket callback' in r.getMessage() for r in caplog.records)


def test_the_callback_wait_is_bounded_by_callback_timeout_not_timeout(
        driver: Driver, caplog: pytest.LogCaptureFixture) -> None:
    release = threading.Event()

    def script(conn: Connection) -> Reply:
        conn.send(ok_for(conn.read_request()))
        release.wait(10)
        return None
    recorder = Recorder()
    with ScriptedPeer(script) as peer:
        with caplog.at_level(logging.DEBUG, logger='gntplib'):
            started = time.monotonic()
            response = driver.call(peer.port, publish_with(recorder), timeout=5,
                                   callback_timeout=0.3)
            elapsed = time.monotonic() - started
        release.set()
    assert response.ok and recorder.calls == []
    assert 0.25 <= elapsed < 3  # the 0.3 s callback_timeout, not the 5 s timeout
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_callback_later_than_timeout_but_within_callback_timeout_arrives(
        driver: Driver) -> None:
    """Each wait has its own deadline: the -OK's short ``timeout`` must not cut the longer
    wait for the -CALLBACK short."""
    def script(conn: Connection) -> Reply:
        conn.send(ok_for(conn.read_request()))
        time.sleep(0.6)  # the peer's behaviour under test: three times the timeout
        return CALLBACK_CLICK
    recorder = Recorder()
    with ScriptedPeer(script) as peer:
        driver.call(peer.port, publish_with(recorder), timeout=0.2, callback_timeout=5)
    assert [name for name, _ in recorder.calls] == ['click']


def test_garbage_instead_of_a_callback(driver: Driver,
                                       caplog: pytest.LogCaptureFixture) -> None:
    """The one place the drivers differ by design: the sync call waits for the callback
    and raises; the async call resolved at -OK, so nobody can receive the failure and it
    is logged at ERROR, once."""
    recorder = Recorder()
    with ScriptedPeer(answers_and_closes(b'')) as peer:
        peer.script = lambda conn: [ok_for(conn.read_request()), b'HTTP/1.1 200 OK\r\n\r\n']
        with caplog.at_level(logging.ERROR, logger='gntplib'):
            if driver.kind == 'sync':
                with pytest.raises(GNTPProtocolError, match='not a GNTP'):
                    driver.call(peer.port, publish_with(recorder))
            else:
                assert driver.call(peer.port, publish_with(recorder)).ok
    assert recorder.calls == []
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(logged) == (0 if driver.kind == 'sync' else 1)


def test_a_growl2_stream_of_ok_then_callback_in_one_read(driver: Driver) -> None:
    """Growl 2.x writes -OK and -CALLBACK back to back; one read may return both."""
    stream = message_bytes(by_name('responses.json', 'quirk-growl2-stream-ok-then-callback'))
    recorder = Recorder()
    with ScriptedPeer(answers(stream)) as peer:
        driver.call(peer.port, publish_with(recorder))
    assert [(name, r.callback_result) for name, r in recorder.calls] == [('close', 'CLOSE')]


# -- authentication --------------------------------------------------------------------------

def test_a_wrong_password_is_an_authentication_error(driver: Driver) -> None:
    def script(conn: Connection) -> Reply:
        try:
            conn.read_request()
        except GNTPAuthenticationError:
            return message_bytes(by_name('responses.json', 'error-not-authorized'))
        return None
    with ScriptedPeer(script, password='right') as peer:
        with pytest.raises(GNTPAuthenticationError, match='Invalid key hash') as info:
            driver.call(peer.port, register, password='wrong-pw')
    assert info.value.error_code == 400 and 'wrong-pw' not in str(info.value)


# -- a receiver that forgot the application ----------------------------------------------------

def test_a_receiver_restarted_without_state_gets_the_application_registered_again(
        driver: Driver) -> None:
    """The embedded server restarts on the same port and forgets the application: the
    next publish is answered 401, registers, and is sent again (auto_register, default)."""
    from gntplib.server import ServerThread
    first = ServerThread().start()
    port = first.port
    sent: List[str] = []

    def publish_across_a_restart(publisher: Any) -> Any:
        if driver.kind == 'sync':
            publisher.register()
            first.stop()
            second.append(ServerThread(port=port).start())
            return publisher.publish('update', 'After the restart')

        async def steps() -> Response:
            await publisher.register()
            first.stop()
            second.append(ServerThread(port=port).start())
            response: Response = await publisher.publish('update', 'After the restart',
                                                         callback=lambda r: sent.append('cb'))
            return response
        return steps()
    second: List[Any] = []
    try:
        response = driver.call(port, publish_across_a_restart)
        assert response.ok and response.action == 'NOTIFY'
        assert 'App' in second[0].applications
        assert sent == ([] if driver.kind == 'sync' else ['cb'])  # the legacy callback, once
    finally:
        for thread in [first, *second]:
            thread.stop()


def forgets_every_application(conn: Connection) -> Reply:
    """Answers every NOTIFY 401, every REGISTER -OK."""
    message = conn.read_request()
    if message.message_type == 'NOTIFY':
        return error(401, 'Application not registered')
    return ok_for(message)


def test_a_notify_answered_401_is_sent_again_once_after_a_register(driver: Driver) -> None:
    with ScriptedPeer(forgets_every_application) as peer:
        with pytest.raises(GNTPResponseError) as info:
            driver.call(peer.port, lambda p: p.publish('update', 'Hi'))
    assert info.value.error_code == 401
    assert [m.message_type for m in peer.received] == ['NOTIFY', 'REGISTER', 'NOTIFY']


def test_auto_register_false_keeps_0_5s_behaviour(driver: Driver) -> None:
    with ScriptedPeer(forgets_every_application) as peer:
        with pytest.raises(GNTPResponseError) as info:
            driver.call(peer.port, lambda p: p.publish('update', 'Hi'), auto_register=False)
    assert info.value.error_code == 401
    assert [m.message_type for m in peer.received] == ['NOTIFY']


# -- gntplib 0.5's connection hooks, adapters over the exchange ----------------------------------

class LoggingConnection(GNTPConnection):
    """0.5 style: a connection class that watches the answers through the hooks."""

    seen: List[str] = []

    def on_ok_message(self, message: bytes) -> None:
        LoggingConnection.seen.append('ok:' + message.split(b'\r\n', 1)[0].decode())
        super().on_ok_message(message)

    def on_callback_message(self, message: bytes) -> None:
        LoggingConnection.seen.append('callback')
        super().on_callback_message(message)


class AsyncLoggingConnection(AsyncGNTPConnection):
    seen: List[str] = []

    def on_ok_message(self, message: bytes) -> None:
        AsyncLoggingConnection.seen.append('ok:' + message.split(b'\r\n', 1)[0].decode())
        super().on_ok_message(message)

    def on_callback_message(self, message: bytes) -> None:
        AsyncLoggingConnection.seen.append('callback')
        super().on_callback_message(message)


def test_0_5_hooks_on_a_custom_connection_class_see_every_answer(driver: Driver) -> None:
    connection_class: Any = LoggingConnection if driver.kind == 'sync' else \
        AsyncLoggingConnection
    connection_class.seen.clear()
    recorder = Recorder()
    with ScriptedPeer(answers([CALLBACK_CLICK])) as peer:
        peer.script = lambda conn: [ok_for(conn.read_request()), CALLBACK_CLICK]
        response = driver.call(peer.port, publish_with(recorder),
                               connection_class=connection_class)
        with pytest.raises(GNTPResponseError) as info:
            peer.script = answers(error(402))
            driver.call(peer.port, register, connection_class=connection_class)
    assert response.ok and [name for name, _ in recorder.calls] == ['click']
    assert connection_class.seen == ['ok:GNTP/1.0 -OK NONE', 'callback',
                                     'ok:GNTP/1.0 -ERROR NONE']
    assert info.value.error_code == 402


class SocketOnly05Connection(BaseGNTPConnection[None]):
    """A connection written against 0.5's interface alone: write_message, read_message
    and close over a plain socket; the hooks decide what the answers mean."""

    def __init__(self, address: Tuple[str, int], timeout: Optional[float],
                 final_callback: Any = None, socket_callback: Any = None,
                 **options: Any) -> None:
        super().__init__(final_callback, socket_callback, options.get('key'))
        self.sock: Optional[socket.socket] = socket.create_connection(address, timeout)

    def write_message(self, message: Any) -> None:
        assert self.sock is not None
        self.sock.sendall(message if isinstance(message, bytes) else b''.join(message))

    def read_message(self, callback: Callable[[bytes], None]) -> None:
        data = b''
        while self.sock is not None and b'\r\n\r\n' not in data:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            data += chunk
        callback(data)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def test_a_0_5_connection_class_of_its_own_still_works() -> None:
    with ScriptedPeer() as peer:
        publisher = Publisher('App', EVENTS, host='127.0.0.1', port=peer.port,
                              connection_class=SocketOnly05Connection)
        assert publisher.register().action == 'REGISTER'
    with ScriptedPeer(answers(error(402))) as peer:
        publisher = Publisher('App', EVENTS, host='127.0.0.1', port=peer.port,
                              connection_class=SocketOnly05Connection)
        with pytest.raises(GNTPResponseError) as info:
            publisher.register()
    assert info.value.error_code == 402
