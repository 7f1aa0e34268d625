"""Fuzzing over real sockets (deterministic hypothesis runs, bounded examples).

- Random and mutated bytes into the embedded server's connection handler: it answers
  ``-ERROR`` (or ``-OK`` to a mutation that is still a valid request) or closes; nothing
  but GNTP errors is raised inside it (anything else would be logged at ERROR); and it
  keeps serving valid clients.
- Random and mutated responses into the sync and async clients: only ``GNTPError``
  subclasses come out of ``register()`` / ``publish()``.
- Any request our packer builds (random Unicode text, headers, resources, every hash x
  cipher pair, with and without a password), sent by the sync or the async client, is
  parsed back by a real GNTPServer to the same request.

tests/test_fuzz_core.py fuzzes the sans-IO parsers directly; these go through sockets.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any, Iterator, List, Optional

import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st

from gntplib import (
    Event, GNTPAuthenticationError, GNTPError, GNTPResponseError, Notification, NotifyRequest,
    Publisher, RegisterRequest, Resource, SocketCallback,
)
from gntplib.async_ import AsyncGNTPClient, AsyncPublisher
from gntplib.connections import GNTPClient
from gntplib.requests import SubscribeRequest, parse_response
from gntplib.server import ServerThread
from gntplib.wire import MessageBuffer
from tests.support import hardening_support
from tests.support.hardening_support import Records, captured_gntplib_logs
from tests.support.peers import ScriptedPeer
from tests.test_fuzz_core import REQUEST_SEEDS, SECURITY, SEEDS, mutated, requests
from tests.support.vectors import by_name, message_bytes

PASSWORD = 'pässwörd€'

def fuzz(examples: int) -> Any:
    """Deterministic (derandomized) hypothesis settings with ``examples`` examples."""
    return settings(derandomize=True, max_examples=examples, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])


@pytest.fixture(scope='module')
def logs() -> Iterator[Records]:
    with captured_gntplib_logs(logging.INFO) as handler:
        yield handler


@pytest.fixture(scope='module')
def server(logs: Records) -> Iterator[ServerThread]:
    """The server under fuzz: the vectors' password, no subscriptions kept (TTL 0), so
    nothing is forwarded anywhere."""
    with ServerThread(password=PASSWORD, subscription_ttl=0, idle_timeout=5) as thread:
        yield thread


# -- the server's connection handler -------------------------------------------------------

def exchange(port: int, data: bytes) -> bytes:
    """Send ``data``, shut down our sending side (so a request that was cut short ends
    too) and read what the server says until it closes."""
    return hardening_support.exchange(port, data, half_close=True)


def check_answer(data: bytes, answer: bytes) -> None:
    """One well-formed GNTP response: -ERROR, or -OK (a mutation may still be a valid
    request); nothing only if nothing but line ends was sent."""
    buffer = MessageBuffer(max_size=1 << 16)
    buffer.feed(answer)
    buffer.feed(b'')
    types = []
    while (message := buffer.next_message()) is not None:
        types.append(parse_response(message).message_type)
    expected = (['-ERROR'], ['-OK']) if data.strip(b'\r\n') else ([],)
    assert types in expected, (types, data[:200], answer[:200])
    event(f'answer: {types[0] if types else "closed"}')


def server_failures(logs: Records) -> List[str]:
    """What the server logged at ERROR: an exception other than a GNTP error inside the
    connection handler ("connection from ... failed") or a 500."""
    return [r.getMessage() for r in logs.at_least(logging.ERROR)
            if r.name.startswith('gntplib.server')]


def check_still_serving(server: ServerThread, logs: Records) -> None:
    assert server_failures(logs) == []
    publisher = Publisher('Fuzz', ['check'], port=server.port, password=PASSWORD)
    assert publisher.register().ok and publisher.publish('check', 'still here').ok
    server.wait_for(lambda s: s.connections == 0, timeout=10)


@fuzz(400)
@given(data=st.binary(max_size=600),
       prefix=st.sampled_from([b'', b'GNTP/1.0 ', b'GNTP/1.0 NOTIFY NONE\r\n']),
       suffix=st.sampled_from([b'', b'\r\n\r\n']))
def test_random_bytes_into_the_server_get_an_error_or_a_close(server, logs, data, prefix,
                                                              suffix):
    request = prefix + data + suffix
    check_answer(request, exchange(server.port, request))
    assert server_failures(logs) == []


@fuzz(400)
@given(seed=st.sampled_from(REQUEST_SEEDS), data=st.data())
def test_mutated_requests_into_the_server_get_an_error_or_a_close(server, logs, seed, data):
    message, _ = seed
    request = data.draw(mutated([message]))
    check_answer(request, exchange(server.port, request))
    assert server_failures(logs) == []


def test_after_the_fuzzing_the_server_logged_no_failure_and_still_serves(server, logs):
    """Runs after the two fuzz tests above (same module-scoped server and log)."""
    errors = server.errors
    assert {code for _, code, _ in errors} <= {200, 300, 301, 302, 303, 400, 401, 402, 404}
    check_still_serving(server, logs)


# -- the clients' response handling ------------------------------------------------------

class ReplyPeer(ScriptedPeer):
    """Reads each request, sends :attr:`reply`, then ends its side of the connection."""

    def __init__(self) -> None:
        self.reply = b''
        super().__init__(self._answer)

    def _answer(self, conn: Any) -> None:
        conn.read_request()
        conn.send(self.reply)
        conn.sock.shutdown(socket.SHUT_WR)
        conn.wait_for_client_close()


@pytest.fixture(scope='module')
def reply_peer() -> Iterator[ReplyPeer]:
    peer = ReplyPeer()
    try:
        yield peer
    finally:
        peer.stop()


@pytest.fixture(scope='module')
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


OK = message_bytes(by_name('responses.json', 'ok-register'))


def call_every_client(peer: ReplyPeer, loop: asyncio.AbstractEventLoop, reply: bytes,
                      socket_callback: bool) -> None:
    """register() (or publish() with a socket callback) through the sync and the async
    client; anything but a GNTPError fails the test."""
    peer.reply = reply
    options = {'host': '127.0.0.1', 'port': peer.port, 'timeout': 5, 'callback_timeout': 5}
    callback = SocketCallback('ctx', on_click=lambda r: None) if socket_callback else None
    for publisher in (Publisher('App', ['update'], **options),
                      AsyncPublisher('App', ['update'], **options)):
        def call() -> Any:
            if callback is None:
                return publisher.register()
            return publisher.publish('update', 'Hi', gntp_callback=callback)
        try:
            if isinstance(publisher, AsyncPublisher):
                loop.run_until_complete(_on_the_loop(call))
            else:
                call()
        except GNTPError:
            pass


async def _on_the_loop(call: Any) -> Any:
    """Make the async call on the running loop; wait for its background work too."""
    from gntplib import _async_io
    try:
        return await call()
    finally:  # the wait for a -CALLBACK, whose failure is logged, not raised
        await asyncio.gather(*_async_io._background_tasks, return_exceptions=True)


@fuzz(200)
@given(data=st.binary(max_size=400), prefix=st.sampled_from([b'', b'GNTP/1.0 ', OK]),
       socket_callback=st.booleans())
def test_random_responses_raise_only_gntp_errors_from_either_client(
        reply_peer, loop, data, prefix, socket_callback):
    call_every_client(reply_peer, loop, prefix + data, socket_callback)


@fuzz(300)
@given(data=mutated(SEEDS), socket_callback=st.booleans(), after_ok=st.booleans())
def test_mutated_responses_raise_only_gntp_errors_from_either_client(
        reply_peer, loop, data, socket_callback, after_ok):
    call_every_client(reply_peer, loop, (OK if after_ok else b'') + data, socket_callback)


# -- round trip through the server --------------------------------------------------------

@pytest.fixture(scope='module')
def echo_server() -> Iterator[ServerThread]:
    with ServerThread(password=PASSWORD, subscription_ttl=0, callback_result='CLICK') as thread:
        yield thread


@fuzz(200)
@given(request=requests, security=st.none() | st.sampled_from(SECURITY),
       mode=st.sampled_from(['sync', 'async']))
def test_any_packed_request_reaches_the_server_as_itself(echo_server, loop, request, security,
                                                         mode):
    hashing, encryption = security or (None, None)
    client_class = AsyncGNTPClient if mode == 'async' else GNTPClient
    client = client_class('127.0.0.1', echo_server.port, timeout=10,
                          password=PASSWORD if security else None, key_hashing=hashing,
                          encryption=encryption)
    error: Optional[GNTPResponseError] = None
    try:
        if mode == 'async':
            loop.run_until_complete(_on_the_loop(lambda: client.process_request(request)))
        else:
            client.process_request(request)
    except GNTPResponseError as exc:
        error = exc
    if security is None and isinstance(request, SubscribeRequest):
        assert isinstance(error, GNTPAuthenticationError)  # SUBSCRIBE always needs a key
        return
    # 401/402/404: an application or event this run has not registered (or disabled);
    # the server parsed the request all the same.
    assert error is None or error.error_code in (401, 402, 404), error
    received: List[Any] = echo_server.received
    assert received[-1] == request
    assert received[-1].received.encryption_algorithm_id == \
        (encryption.algorithm_id if encryption else 'NONE')


@pytest.mark.parametrize('mode', ['sync', 'async'])
@pytest.mark.parametrize('hashing, encryption', SECURITY,
                         ids=[f'{h.algorithm_id}-{e.algorithm_id if e else "NONE"}'
                              for h, e in SECURITY])
def test_every_hash_and_cipher_pair_round_trips_through_the_server(echo_server, loop, mode,
                                                                   hashing, encryption):
    """Every pair for sure (the property above samples them): an application with an
    icon, events with icons, a notification with an icon, a socket callback and binary
    custom headers."""
    icon = Resource(bytes(range(256)) * 4)
    register = RegisterRequest('Päir', icon, [Event('ünïcode', 'Ünïcode', True, icon),
                                             Event('other', enabled=False)],
                               [('X-Blob', Resource(b'\r\n\r\n' * 64))],
                               [('Data-Blob', Resource(b'\x00' * 100))])
    notify = NotifyRequest('Päir', Notification('ünïcode', 'Tïtle', 'line 1\nline 2', 'id-1',
                                                True, 2, Resource(b'png' * 500), 'co-1',
                                                SocketCallback('ctx', 'string')),
                           [('X-Text', 'välue')], [('Data-Text', 'dätä')])
    client_class = AsyncGNTPClient if mode == 'async' else GNTPClient
    client = client_class('127.0.0.1', echo_server.port, timeout=10, password=PASSWORD,
                          key_hashing=hashing, encryption=encryption)
    for request in (register, notify):
        if mode == 'async':
            response = loop.run_until_complete(
                _on_the_loop(lambda: client.process_request(request)))
        else:
            response = client.process_request(request)
        assert response.ok
        assert echo_server.received[-1] == request
