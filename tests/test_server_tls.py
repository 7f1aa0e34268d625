"""The embedded server over TLS (``ssl_options``): real TLS sockets on 127.0.0.1, with a
self-signed certificate made by ``openssl`` for the test."""

from __future__ import annotations

import socket
import ssl
import subprocess
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from gntplib.requests import parse_response
from gntplib.server import ServerThread
from tests.support.hardening_support import NOTIFY, NOTIFY_CALLBACK, REGISTER


@pytest.fixture
def certificate(tmp_path: Path, require_program: Callable[..., str]) -> Path:
    """A directory with ``cert.pem`` and ``key.pem`` for 127.0.0.1 (an EC key: quick)."""
    openssl = require_program('openssl')
    where = tmp_path
    subprocess.run([openssl, 'req', '-x509', '-newkey', 'ec', '-pkeyopt',
                    'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
                    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
                    '-keyout', str(where / 'key.pem'), '-out', str(where / 'cert.pem')],
                   check=True, capture_output=True, timeout=30)
    return where


@pytest.fixture
def tls_server(certificate: Path) -> Iterator[ServerThread]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate / 'cert.pem', certificate / 'key.pem')
    with ServerThread(ssl_options=context, callback_result='CLICK', callback_delay=0) as thread:
        yield thread


def tls_client(certificate: Path, port: int) -> ssl.SSLSocket:
    context = ssl.create_default_context(cafile=str(certificate / 'cert.pem'))
    sock = socket.create_connection(('127.0.0.1', port), timeout=5)
    return context.wrap_socket(sock, server_hostname='127.0.0.1')


def read_to_close(sock: Any) -> bytes:
    data = b''
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_requests_over_tls_are_answered_and_recorded(tls_server: ServerThread,
                                                     certificate: Path) -> None:
    for request, action in ((REGISTER, 'REGISTER'), (NOTIFY, 'NOTIFY')):
        with tls_client(certificate, tls_server.port) as sock:
            sock.sendall(request)
            response = parse_response(read_to_close(sock))
        assert (response.message_type, response.action) == ('-OK', action)
    received = tls_server.received
    assert [r.message_type for r in received] == ['REGISTER', 'NOTIFY']
    assert received[1].received.encryption_algorithm_id == 'NONE'


def test_a_socket_callback_over_tls_follows_its_ok(tls_server: ServerThread,
                                                   certificate: Path) -> None:
    with tls_client(certificate, tls_server.port) as sock:
        sock.sendall(REGISTER)
        read_to_close(sock)
    with tls_client(certificate, tls_server.port) as sock:
        sock.sendall(NOTIFY_CALLBACK)
        data = read_to_close(sock)
    ok, callback = data.split(b'\r\n\r\n')[:2]
    assert ok.startswith(b'GNTP/1.0 -OK NONE\r\n')
    assert callback.startswith(b'GNTP/1.0 -CALLBACK NONE\r\n')
    assert b'Notification-Callback-Result: CLICK\r\n' in callback


def test_a_plain_client_at_a_tls_server_is_closed_and_the_server_goes_on(
        tls_server: ServerThread, certificate: Path) -> None:
    with socket.create_connection(('127.0.0.1', tls_server.port), timeout=5) as plain:
        plain.sendall(REGISTER)
        try:
            answer = read_to_close(plain)
        except ConnectionResetError:
            answer = b''
    assert b'GNTP/1.0' not in answer
    tls_server.wait_for(lambda server: server.connections == 0)
    assert tls_server.received == []
    with tls_client(certificate, tls_server.port) as sock:
        sock.sendall(REGISTER)
        assert parse_response(read_to_close(sock)).message_type == '-OK'
