"""The lingering close after the answer (gntplib.server.linger): the server shuts down its
sending side and drops what the client still sends until the client closes, the idle
timeout passes, or the server stops. Real sockets against a real GNTPServer on 127.0.0.1."""

from __future__ import annotations

import socket
import struct
import time

import pytest

from gntplib.requests import parse_response
from gntplib.server import ServerThread
from tests.support.hardening_support import REGISTER


def answered(port: int) -> socket.socket:
    """Send a REGISTER, read its answer up to the server's end of output; the client's
    side stays open."""
    sock = socket.create_connection(('127.0.0.1', port), timeout=5)
    sock.sendall(REGISTER)
    data = b''
    while chunk := sock.recv(65536):
        data += chunk
    response = parse_response(data)
    assert (response.message_type, response.action) == ('-OK', 'REGISTER')
    return sock


def test_a_client_still_writing_after_the_answer_is_not_reset(gntp_server_thread):
    """Four megabytes after the answer: the server reads and drops them all (a reset would
    break the client's pipe), then closes once the client does."""
    with answered(gntp_server_thread.port) as sock:
        junk = b'x' * 65536
        for _ in range(64):
            sock.sendall(junk)
        gntp_server_thread.wait_for(lambda server: server.connections == 1)
    gntp_server_thread.wait_for(lambda server: server.connections == 0)
    assert len(gntp_server_thread.received) == 1
    assert gntp_server_thread.errors == []


def test_a_client_that_resets_ends_the_linger(gntp_server_thread):
    sock = answered(gntp_server_thread.port)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    sock.close()  # an RST, not a FIN
    gntp_server_thread.wait_for(lambda server: server.connections == 0)


@pytest.mark.gntp_server(idle_timeout=0.5)
def test_a_client_that_never_closes_is_closed_after_the_idle_timeout(gntp_server_thread):
    started = time.monotonic()
    with answered(gntp_server_thread.port):
        gntp_server_thread.wait_for(lambda server: server.connections == 0, timeout=5)
        assert time.monotonic() - started >= 0.4


def test_stopping_the_server_ends_the_linger_at_once():
    thread = ServerThread(idle_timeout=30).start()
    with answered(thread.port):
        started = time.monotonic()
        thread.stop(timeout=10)
        assert time.monotonic() - started < 3  # not the 10 s of waiting for the connection
