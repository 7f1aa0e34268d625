"""Clients that shut down their sending side after the request (``nc -N``, ``printf ... |
nc``): the embedded server still reads the request to its end, answers and closes. Real
sockets against a real GNTPServer on 127.0.0.1."""

from __future__ import annotations

import socket
import time
from typing import List, Tuple

import pytest

from gntplib import Publisher
from gntplib.requests import NotifyRequest, Response, parse_response
from gntplib.server import ServerThread
from gntplib.wire import MessageBuffer
from tests.support.hardening_support import NOTIFY, NOTIFY_CALLBACK, REGISTER



def half_closed(port: int, *parts: bytes) -> socket.socket:
    """Connect, send ``parts`` one after another, and shut down the sending side."""
    sock = socket.create_connection(('127.0.0.1', port), timeout=5)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for part in parts:
        sock.sendall(part)
    sock.shutdown(socket.SHUT_WR)
    return sock


def read_to_end(sock: socket.socket) -> Tuple[List[Response], float]:
    """Read until the server closes; return the responses and the seconds it took."""
    started = time.monotonic()
    buffer = MessageBuffer(max_size=1 << 16)
    with sock:
        while chunk := sock.recv(65536):
            buffer.feed(chunk)
    buffer.feed(b'')
    responses = []
    while (message := buffer.next_message()) is not None:
        responses.append(parse_response(message))
    return responses, time.monotonic() - started


def exchange(port: int, *parts: bytes) -> List[Response]:
    return read_to_end(half_closed(port, *parts))[0]


@pytest.mark.parametrize('split', [None, 20], ids=['in-one-piece', 'in-two-pieces'])
def test_a_half_closed_register_and_notify_get_ok(gntp_server_thread, split):
    """Fifty rounds each: the end of input can reach the server at any point while it
    reads, handles and answers; the answer comes every time."""
    port = gntp_server_thread.port
    for _ in range(50):
        for request, action in ((REGISTER, 'REGISTER'), (NOTIFY, 'NOTIFY')):
            parts = (request,) if split is None else (request[:split], request[split:])
            [response] = exchange(port, *parts)
            assert (response.message_type, response.action) == ('-OK', action)
    gntp_server_thread.wait_for(lambda server: server.connections == 0)
    assert len(gntp_server_thread.received) == 100
    assert gntp_server_thread.errors == []


def test_a_half_closed_request_that_fails_gets_its_error(gntp_server_thread):
    [response] = exchange(gntp_server_thread.port, NOTIFY.replace(b': App\r', b': Unknown\r'))
    assert (response.message_type, response.error_code) == ('-ERROR', 401)


@pytest.mark.gntp_server(idle_timeout=5)
@pytest.mark.parametrize('data', [REGISTER[:30], NOTIFY[:-2], b'GNT'],
                         ids=['mid-line', 'before-the-blank-line', 'first-bytes'])
def test_a_half_closed_truncated_request_gets_300_at_once(gntp_server_thread, data):
    """No wait for the idle timeout (5 s): the end of input says nothing more comes."""
    responses, seconds = read_to_end(half_closed(gntp_server_thread.port, data))
    [response] = responses
    assert (response.message_type, response.error_code) == ('-ERROR', 300)
    assert 'Incomplete request' in str(response.error_description)
    assert seconds < 2
    assert gntp_server_thread.errors[-1][1:] == (300, response.error_description)
    assert gntp_server_thread.received == []


@pytest.mark.gntp_server(idle_timeout=5)
@pytest.mark.parametrize('data', [b'', b'\r\n\r\n'], ids=['nothing', 'blank-lines'])
def test_a_client_that_sends_no_request_is_closed_at_once_without_an_answer(
        gntp_server_thread, data):
    responses, seconds = read_to_end(half_closed(gntp_server_thread.port, data))
    assert responses == [] and seconds < 2
    gntp_server_thread.wait_for(lambda server: server.connections == 0)
    assert gntp_server_thread.errors == []


def test_a_half_closed_client_waiting_for_a_socket_callback_gets_ok_and_a_close():
    """After the answer, end of input counts as the client leaving (TCP cannot tell a
    half-closed client from one that has gone): the pending callback is dropped and the
    connection closed, as for a client that closes its socket."""
    with ServerThread() as server:
        assert Publisher('App', ['update'], port=server.port, timeout=5).register().ok
        responses, seconds = read_to_end(half_closed(server.port, NOTIFY_CALLBACK))
        assert [(r.message_type, r.notification_id) for r in responses] == [('-OK', 'cb-1')]
        assert seconds < 2
        server.wait_for(lambda s: s.connections == 0 and not s.pending_callbacks)
        notify = server.received[-1]
        assert isinstance(notify, NotifyRequest) and notify.notification.socket_callback
        assert notify.notification.socket_callback.context == 'ctx'


@pytest.mark.parametrize('result', ['CLICK', 'TIMEDOUT'])
def test_a_half_closed_client_gets_a_callback_decided_before_the_answer(result):
    """With ``callback_result`` the -CALLBACK is decided before the -OK is written, so the
    half-closed client, which still reads, gets both."""
    with ServerThread(callback_result=result) as server:
        assert Publisher('App', ['update'], port=server.port, timeout=5).register().ok
        responses = exchange(server.port, NOTIFY_CALLBACK)
        assert [r.message_type for r in responses] == ['-OK', '-CALLBACK']
        callback = responses[1]
        assert (callback.callback_result, callback.context, callback.notification_id) == \
            (result, 'ctx', 'cb-1')
        server.wait_for(lambda s: s.connections == 0 and not s.pending_callbacks)


def test_every_client_still_gets_its_answer_and_callback_without_a_half_close():
    """The usual exchange is unchanged: a client that keeps its socket open waits for and
    gets its -CALLBACK."""
    with ServerThread() as server:
        assert Publisher('App', ['update'], port=server.port, timeout=5).register().ok
        with socket.create_connection(('127.0.0.1', server.port), timeout=5) as sock:
            sock.sendall(NOTIFY_CALLBACK)
            buffer = MessageBuffer(max_size=1 << 16)
            while (message := buffer.next_message()) is None:
                buffer.feed(sock.recv(65536))
            assert parse_response(message).message_type == '-OK'
            server.wait_for(lambda s: len(s.pending_callbacks) == 1)
            assert server.send_callback('cb-1', 'CLOSE')
            while (message := buffer.next_message()) is None:
                buffer.feed(sock.recv(65536))
            assert parse_response(message).callback_result == 'CLOSE'
            assert sock.recv(65536) == b''  # then the server closes
