"""Size limits: documented defaults, configurable, a clear error for a peer that exceeds
one, and memory that stays bounded when either side is sent a 100 MB stream.

The RSS tests run the side under test in a subprocess (tests/support/hardening_rss.py) and read
its peak RSS (``ru_maxrss``) there, before and after; the 100 MB are generated lazily here
in 64 KiB pieces, so neither process ever holds them.
"""

from __future__ import annotations

import functools
import socket
import threading
from typing import Any, Dict, Iterator, List, Tuple

import pytest

from gntplib import (
    GNTPProtocolError, Publisher, Resource, constants,
)
from gntplib.async_ import AsyncGNTPConnection, AsyncPublisher
from gntplib.connections import GNTPConnection
from gntplib.packers import pack_response
from gntplib.reader import ReaderLimits, RequestReader
from gntplib.requests import Response, parse_response
from gntplib.server import GNTPServer, ServerThread
from tests.support.hardening_rss import MB, repeated, send_stream
from tests.support.hardening_support import Subprocess, exchange
from tests.support.peers import ScriptedPeer, answer_ok

REGISTER = (b'GNTP/1.0 REGISTER NONE\r\nApplication-Name: App\r\nNotifications-Count: 1\r\n\r\n'
            b'Notification-Name: update\r\n\r\n')
NOTIFY_HEAD = (b'GNTP/1.0 NOTIFY NONE\r\nApplication-Name: App\r\nNotification-Name: update\r\n'
               b'Notification-Title: Hi\r\n')
OK = pack_response(Response('-OK', [('Response-Action', 'REGISTER')]))

#: The documented defaults (README "Reliability", gntplib.constants).
DEFAULTS = {
    'max_request_size': 16 * MB, 'max_line_size': 1024, 'max_header_block_size': 1 * MB,
    'max_header_count': 1000, 'max_resource_size': 8 * MB, 'max_resource_count': 64,
}


def test_the_documented_defaults():
    assert vars(ReaderLimits()) == DEFAULTS
    assert GNTPServer().limits == ReaderLimits()
    assert constants.MAX_MESSAGE_SIZE == 4096 and constants.MAX_LINE_SIZE == 1024
    for name in DEFAULTS:  # each limit is documented where it is configured
        assert name in (ReaderLimits.__doc__ or '')
    assert 'ReaderLimits' in (GNTPServer.__doc__ or '')
    for connection in (GNTPConnection, AsyncGNTPConnection):
        assert 'max_response_size' in (connection.__doc__ or '')


# -- every server limit, configured small ------------------------------------------------

SMALL = ReaderLimits(max_request_size=2500, max_line_size=200, max_header_block_size=1500,
                     max_header_count=12, max_resource_size=1000, max_resource_count=3)


def _notify(*headers: bytes, resources: Tuple[Tuple[str, int], ...] = ()) -> bytes:
    pointers = [f'X-R{i}: x-growl-resource://{ident}\r\n'.encode()
                for i, (ident, _) in enumerate(resources)]
    data = NOTIFY_HEAD + b''.join(headers) + b''.join(pointers) + b'\r\n'
    for ident, size in resources:
        data += f'Identifier: {ident}\r\nLength: {size}\r\n\r\n'.encode() + b'z' * size + \
            b'\r\n\r\n'
    return data


OVER_THE_LIMIT = {
    'max_line_size': (b'GNTP/1.0 NOTIFY NONE' + b' ' * 300 + b'\r\n\r\n', 301,
                      'information line longer than 200 bytes'),
    'max_header_block_size': (_notify(b'X-Pad: ' + b'a' * 1500 + b'\r\n'), 300,
                              'header block larger than 1500 bytes'),
    'max_header_count': (_notify(*[b'X-H%d: v\r\n' % i for i in range(10)]), 300,
                         'more than 12 header lines'),
    'max_resource_size': (_notify(resources=(('big', 1001),)), 300,
                          'resource of 1001 bytes is over the limit of 1000 bytes'),
    'max_resource_count': (_notify(resources=(('a', 1), ('b', 1), ('c', 1), ('d', 1))), 300,
                           'more than 3 resources'),
    'max_request_size': (_notify(resources=(('a', 1000), ('b', 1000), ('c', 1000))), 300,
                         'request larger than 2500 bytes'),
}


@pytest.fixture(scope='module')
def small_server() -> Iterator[ServerThread]:
    with ServerThread(limits=SMALL, idle_timeout=5) as thread:
        Publisher('App', ['update'], port=thread.port).register()
        yield thread


@pytest.mark.parametrize('limit', sorted(OVER_THE_LIMIT))
def test_a_peer_over_a_server_limit_gets_a_clear_error_and_others_are_served(
        small_server, limit):
    data, code, description = OVER_THE_LIMIT[limit]
    answer = parse_response(exchange(small_server.port, data))
    assert (answer.message_type, answer.error_code) == ('-ERROR', code)
    assert answer.error_description == description
    # Within the limits, the same server serves the next client.
    publisher = Publisher('App', ['update'], port=small_server.port)
    assert publisher.publish('update', 'ok', icon=Resource(b'i' * 1000)).ok


def test_notifications_count_is_capped_by_the_configured_header_count(small_server):
    data = REGISTER.replace(b'Notifications-Count: 1', b'Notifications-Count: 13')
    answer = parse_response(exchange(small_server.port, data))
    assert answer.error_code == 300
    assert 'at most 12' in (answer.error_description or '')


def test_the_reader_drops_what_it_has_consumed():
    """In-process companion of the RSS tests below: the request reader's buffer holds what
    is unread (at most a resource and a chunk), not what has streamed past."""
    reader = RequestReader()
    for part in repeated(b'\r\n', 10 * MB):
        reader.feed(part)
        assert reader.next_message() is None
        assert len(reader._buffer) <= 2 * 64 * 1024
    head, body = _resources(1, 40, 256 * 1024)  # the request, then 39 repeats of its icon
    reader.feed(head)
    sizes, messages = [], []
    for part in body:
        reader.feed(part)
        while (message := reader.next_message()) is not None:
            messages.append(message)
        sizes.append(len(reader._buffer))
    assert len(messages) == 1 and messages[0].resources['id0'] == b'z' * 256 * 1024
    assert max(sizes) < 2 * 256 * 1024


# -- the client's response limit -----------------------------------------------------------

def _big_ok(conn: Any) -> bytes:
    conn.read_request()
    return pack_response(Response('-OK', [('Response-Action', 'REGISTER'),
                                          ('X-Pad', 'p' * 5000)]))


def test_the_client_response_limit_is_4096_bytes_and_configurable():
    with ScriptedPeer(_big_ok) as peer:
        with pytest.raises(GNTPProtocolError, match='larger than 4096 bytes'):
            Publisher('App', ['update'], port=peer.port).register()
        roomy = functools.partial(GNTPConnection, max_response_size=8192)
        response = Publisher('App', ['update'], port=peer.port,
                             connection_class=roomy).register()
        assert len(response.headers['X-Pad']) == 5000
        response = Publisher('App', ['update'], port=peer.port,
                             max_response_size=8192).register()
    assert len(response.headers['X-Pad']) == 5000


@pytest.mark.gen_test(timeout=10)
async def test_the_async_client_response_limit_is_4096_bytes_and_configurable():
    with ScriptedPeer(_big_ok) as peer:
        with pytest.raises(GNTPProtocolError, match='larger than 4096 bytes'):
            await AsyncPublisher('App', ['update'], port=peer.port).register()
        roomy = functools.partial(AsyncGNTPConnection, max_response_size=8192)
        response = await AsyncPublisher('App', ['update'], port=peer.port,
                                        connection_class=roomy).register()
        assert len(response.headers['X-Pad']) == 5000
        response = await AsyncPublisher('App', ['update'], port=peer.port,
                                        max_response_size=8192).register()
    assert len(response.headers['X-Pad']) == 5000


# -- 100 MB streams and peak RSS --------------------------------------------------------------

HUNDRED_MB = 100 * MB
#: Peak RSS may grow by at most this much while 100 MB stream in (a quarter of them).
RSS_BUDGET_MB = 25


def _resources(ids: int, sections: int, size: int) -> Tuple[bytes, Iterator[bytes]]:
    """A NOTIFY pointing at ``ids`` resources, then ``sections`` binary sections of
    ``size`` bytes cycling through them."""
    head = NOTIFY_HEAD + b''.join(b'X-R%d: x-growl-resource://id%d\r\n' % (i, i)
                                  for i in range(ids)) + b'\r\n'

    def body() -> Iterator[bytes]:
        for i in range(sections):
            yield b'Identifier: id%d\r\nLength: %d\r\n\r\n' % (i % ids, size)
            yield from repeated(b'z', size)
            yield b'\r\n\r\n'
    return head, body()


def _then(first: Iterator[bytes], last: bytes) -> Iterator[bytes]:
    yield from first
    yield last


#: name -> (the stream's head and lazy body, expected error code or None for -OK, text)
SERVER_STREAMS = {
    'endless information line': (lambda: (b'GNTP/1.0 NOTIFY NONE', repeated(b'a', HUNDRED_MB)),
                                 301, 'information line longer than 1024 bytes'),
    'endless header block': (lambda: (NOTIFY_HEAD, repeated(b'X-Pad: ' + b'a' * 100 + b'\r\n',
                                                            HUNDRED_MB)),
                             300, 'header block larger than 1048576 bytes'),
    'one 100 MB resource': (lambda: (NOTIFY_HEAD + b'X-R: x-growl-resource://big\r\n\r\n'
                                     b'Identifier: big\r\nLength: %d\r\n\r\n' % HUNDRED_MB,
                                     repeated(b'z', HUNDRED_MB)),
                            300, 'resource of 104857600 bytes is over the limit of 8388608 '
                                 'bytes'),
    'a hundred 1 MB resources': (lambda: _resources(100, 100, MB), 300,
                                 'request larger than 16777216 bytes'),
    'sixteen hundred 64 KB resources': (lambda: _resources(100, 1600, 64 * 1024), 300,
                                        'more than 64 resources'),
    '100 MB of CR LF, then a request': (lambda: (b'', _then(repeated(b'\r\n', HUNDRED_MB),
                                                            REGISTER)), None, None),
}

#: Peak RSS growth (MB) and the outcome per stream, for the README; filled in as the
#: tests run and printed at the end of the module (``pytest -s`` shows them).
FIGURES: Dict[str, Any] = {}


@pytest.fixture(scope='module', autouse=True)
def print_figures() -> Iterator[None]:
    yield
    for name, figures in FIGURES.items():
        print(f'{name}: {figures}')


def _read_answer(sock: socket.socket) -> bytes:
    answer = b''
    while b'\r\n\r\n' not in answer:
        try:
            chunk = sock.recv(4096)
        except OSError:
            break
        if not chunk:
            break
        answer += chunk
    return answer


@pytest.mark.slow
@pytest.mark.parametrize('name', list(SERVER_STREAMS))
def test_a_100_mb_stream_leaves_the_server_memory_bounded(name):
    make_stream, code, description = SERVER_STREAMS[name]
    server = Subprocess('hardening_rss', 'server')
    try:
        ready = server.record(timeout=60)
        head, body = make_stream()
        answered = threading.Event()
        sent: List[int] = []
        with socket.create_connection(('127.0.0.1', ready['port']), timeout=60) as sock:
            sender = threading.Thread(target=lambda: sent.append(
                send_stream(sock, head, body, answered)))
            sender.start()
            answer = _read_answer(sock)
            answered.set()
            sender.join(60)
        server.say('report')
        report = server.record(timeout=60)
    finally:
        server.stop()
    response = parse_response(answer)
    growth_mb = (report['peak_kb'] - ready['baseline_kb']) / 1024
    FIGURES[name] = (round(growth_mb, 1), response.error_code, sent[0] // MB)
    if code is None:
        assert response.ok and sent[0] > HUNDRED_MB
    else:
        assert (response.error_code, response.error_description) == (code, description)
    assert report['still_serving'] is True
    assert growth_mb < RSS_BUDGET_MB, f'{name}: peak RSS grew by {growth_mb:.1f} MB'


def _streaming_peer(stream: Any) -> ScriptedPeer:
    """A peer whose first connection gets -OK (the client's warm-up) and whose second
    gets ``stream()``, sent until the client closes."""
    connections: List[int] = []

    def script(conn: Any) -> Any:
        connections.append(1)
        if len(connections) == 1:
            return answer_ok(conn)
        conn.read_request()
        for part in stream():
            try:
                conn.send(part)
            except OSError:
                break
        return None
    return ScriptedPeer(script)


def _endless_ok() -> Iterator[bytes]:
    yield b'GNTP/1.0 -OK NONE\r\nX-Pad: '
    yield from repeated(b'a', HUNDRED_MB)


def _line_breaks_then_ok() -> Iterator[bytes]:
    yield from repeated(b'\r\n', HUNDRED_MB)
    yield OK


def _ok_then_endless_callback() -> Iterator[bytes]:
    yield OK + b'GNTP/1.0 -CALLBACK NONE\r\nX-Pad: '
    yield from repeated(b'a', HUNDRED_MB)


#: name -> (lazy stream, publish with a socket callback?, error class name, message)
CLIENT_STREAMS = {
    'endless -OK': (_endless_ok, False, 'GNTPProtocolError', 'larger than 4096 bytes'),
    '100 MB of CR LF, then -OK': (_line_breaks_then_ok, False, None, None),
    '-OK, then an endless -CALLBACK': (_ok_then_endless_callback, True, 'GNTPProtocolError',
                                       'larger than 4096 bytes'),
}


@pytest.mark.slow
@pytest.mark.parametrize('mode', ['sync', 'async'])
@pytest.mark.parametrize('name', list(CLIENT_STREAMS))
def test_a_100_mb_stream_leaves_the_client_memory_bounded(name, mode):
    make_stream, callback, error, text = CLIENT_STREAMS[name]
    with _streaming_peer(make_stream) as peer:
        client = Subprocess('hardening_rss', 'client', mode, str(peer.port),
                            *(['callback'] if callback else []))
        try:
            result = client.record(timeout=120)
        finally:
            client.stop()
    growth_mb = (result['peak_kb'] - result['baseline_kb']) / 1024
    FIGURES[f'{mode} client: {name}'] = (round(growth_mb, 1), result['error'],
                                         round(result['elapsed'], 2))
    if mode == 'async' and callback:
        # The async publish resolved at -OK; the bad -CALLBACK fails in the background,
        # where it is logged (there is nobody to raise it to), and no handler runs.
        assert result['error'] is None and result['clicks'] == 0
        assert any(text in line for line in result['logged']), result['logged']
    else:
        assert result['error'] == error
        assert text is None or text in (result['message'] or '')
    assert growth_mb < 10, f'{name}: peak RSS grew by {growth_mb:.1f} MB'
