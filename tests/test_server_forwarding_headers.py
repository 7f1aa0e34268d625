"""Forwarding headers (gntp-protocol.md §4.4, §10): a server that forwards a request adds
a ``Received`` header and keeps the earlier ones; a server that finds its own id in one
refuses the request with -ERROR 403 ``ALREADY_PROCESSED``, which breaks forwarding loops.
Real GNTPServers on 127.0.0.1, subscribed to each other."""

from __future__ import annotations

import re
import socket
from typing import Any, List

import pytest

from gntplib import (
    Event, GNTPResponseError, GNTPValidationError, Publisher, RegisterRequest, Subscriber,
)
from gntplib.connections import GNTPClient
from gntplib.constants import ERROR_ALREADY_PROCESSED
from gntplib.packers import MessagePackerFactory
from gntplib.reader import parse_request
from gntplib.requests import NotifyRequest, parse_response
from gntplib.server import GNTPServer, ServerThread

#: The Received header gntplib's server writes.
RECEIVED = re.compile(r'From (?P<peer>\S+) by (?P<host>\S+) with gntplib id (?P<id>\S+); '
                      r'\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ')
REGISTER = (b'GNTP/1.0 REGISTER NONE\r\nApplication-Name: App\r\nNotifications-Count: 1\r\n'
            b'%s\r\nNotification-Name: update\r\nNotification-Enabled: True\r\n\r\n')


def subscribe(receiver: ServerThread, hub: ServerThread, hub_password: str, id_: str,
              **kwargs: Any) -> None:
    """Make ``hub`` forward to ``receiver`` (which must accept hub_password + id_)."""
    assert Subscriber(id_, f'subscriber {id_}', ('127.0.0.1', hub.port), hub_password,
                      port=receiver.port, timeout=5, **kwargs).subscribe().ok


def ids(request: Any) -> List[str]:
    """The server ids in a request's Received headers, oldest first."""
    found = []
    for value in request.received_headers:
        match = RECEIVED.fullmatch(value)
        assert match is not None, value
        found.append(match['id'])
    return found


def types(requests: List[Any]) -> List[str]:
    return [request.message_type for request in requests]


def exchange(port: int, data: bytes) -> bytes:
    with socket.create_connection(('127.0.0.1', port), timeout=5) as sock:
        sock.sendall(data)
        answer = b''
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_a_forwarded_request_carries_a_received_header_naming_both_hosts():
    with ServerThread(password='a-pw', server_id='hub-a') as a, \
            ServerThread(password='a-pw' + 'b-sub') as b:
        subscribe(b, a, 'a-pw', 'b-sub')
        publisher = Publisher('App', ['update'], port=a.port, timeout=5)
        publisher.register()
        publisher.publish('update', 'Hi')
        forwarded = b.wait_for_requests(2)
        a.wait_for(lambda server: len(server.forwards) == 2)
        assert [error for _, _, error in a.forwards] == [None, None]
        for request in forwarded:
            [value] = request.received_headers
            match = RECEIVED.fullmatch(value)
            assert match is not None, value
            # from the peer the request came from, by the forwarding server's host
            assert (match['peer'], match['host'], match['id']) == \
                ('127.0.0.1', a.call(lambda: a.server and a.server.host_name), 'hub-a')
            # on the wire: one Received line among the raw headers
            assert [v for n, v in request.received.sections[0] if n == 'Received'] == [value]
        assert a.call(lambda: a.server and a.server.host_name) == \
            ''.join(socket.gethostname().split())
        # what the hub recorded is what the client sent: no Received header
        assert [r.received_headers for r in a.received] == [[], [], []]


def test_a_chain_a_b_c_keeps_both_received_headers_in_order():
    """A forwards to B (encrypted, AES) and B to C: C's copy carries A's header, then B's."""
    with ServerThread(password='a-pw', server_id='a') as a, \
            ServerThread(password=['b-pw', 'a-pw' + 'b-sub'], server_id='b') as b, \
            ServerThread(password='b-pw' + 'c-sub', server_id='c') as c:
        subscribe(b, a, 'a-pw', 'b-sub', encryption='AES')
        subscribe(c, b, 'b-pw', 'c-sub')
        publisher = Publisher('App', ['update'], port=a.port, timeout=5)
        publisher.register()
        publisher.publish('update', 'Down the chain')
        register, notify = c.wait_for_requests(2)
        a.wait_for(lambda server: len(server.forwards) == 2)
        b.wait_for(lambda server: len(server.forwards) == 2)
        assert isinstance(notify, NotifyRequest)
        assert notify.notification.title == 'Down the chain'
        assert ids(register) == ids(notify) == ['a', 'b']
        at_b = b.received[-2:]
        assert [ids(r) for r in at_b] == [['a'], ['a']]
        assert [r.received.encryption_algorithm_id for r in at_b] == ['AES', 'AES']
        # B kept A's header word for word
        assert notify.received_headers[0] == at_b[1].received_headers[0]
        assert [error for _, _, error in a.forwards + b.forwards] == [None] * 4


def test_a_loop_a_b_a_is_refused_with_403_at_a_and_stops_there():
    with ServerThread(password=['a-pw', 'b-pw' + 'a-sub'], server_id='a') as a, \
            ServerThread(password=['b-pw', 'a-pw' + 'b-sub'], server_id='b') as b:
        subscribe(b, a, 'a-pw', 'b-sub')  # A forwards to B...
        subscribe(a, b, 'b-pw', 'a-sub')  # ...and B to A
        publisher = Publisher('App', ['update'], port=a.port, timeout=5)
        assert publisher.register().ok  # the client's own request is accepted

        # A -> B is answered -OK once B has started forwarding to A; B -> A gets 403.
        a.wait_for(lambda server: len(server.forwards) == 1)
        b.wait_for(lambda server: len(server.forwards) == 1)
        assert publisher.publish('update', 'Round and round').ok
        a.wait_for(lambda server: len(server.forwards) == 2)
        b.wait_for(lambda server: len(server.forwards) == 2)
        for server in (a, b):
            server.wait_for(lambda s: s.connections == 0)

        # Each request went A -> B -> A and no further.
        assert types(a.received) == ['SUBSCRIBE', 'REGISTER', 'REGISTER', 'NOTIFY', 'NOTIFY']
        assert types(b.received) == ['SUBSCRIBE', 'REGISTER', 'NOTIFY']
        assert [ids(r) for r in a.received[1:]] == [[], ['a', 'b'], [], ['a', 'b']]
        assert a.forwards == [('b-sub', 'REGISTER', None), ('b-sub', 'NOTIFY', None)]
        assert [(sub, kind) for sub, kind, _ in b.forwards] == \
            [('a-sub', 'REGISTER'), ('a-sub', 'NOTIFY')]
        assert all(str(error).startswith('403 Already processed') for _, _, error in b.forwards)
        assert [code for _, code, _ in a.errors] == [403, 403]
        assert 'forwarding loop' in a.errors[0][2] and b.errors == []
        # Nothing is still on its way: the counts stay as they are.
        assert len(a.received) == 5 and len(b.received) == 3
        assert len(a.forwards) == len(b.forwards) == 2


@pytest.mark.gntp_server(server_id='me-1')
def test_a_request_with_unrelated_received_headers_is_accepted_and_keeps_them(
        gntp_server_thread):
    host = gntp_server_thread.server.host_name
    headers = [
        'From 192.0.2.7 by macbox with Growl id 5F3A; 2024-01-02T03:04:05Z',
        'from 192.0.2.8 by winbox with Growl for Windows id me-10; 2024-01-02 03:04:05Z',
        f'From 127.0.0.1 by {host} with gntplib id {host}-0a1b2c3d4e5f; 2024-01-02 03:04:05Z',
        'From me-1 by me-1 with me-1; 2024-01-02 03:04:05Z',  # the id, but not as the id
    ]
    lines = b''.join(b'Received: %s\r\n' % value.encode() for value in headers)
    response = parse_response(exchange(gntp_server_thread.port, REGISTER % lines))
    assert response.message_type == '-OK'
    assert gntp_server_thread.received[-1].received_headers == headers


@pytest.mark.gntp_server(server_id='me-1')
@pytest.mark.parametrize('value', [
    'From 192.0.2.9 by elsewhere with gntplib id me-1; 2024-01-02 03:04:05Z',
    'from 192.0.2.9 by elsewhere with something ID ME-1;2024-01-02',
])
def test_a_request_naming_this_server_s_id_gets_403(gntp_server_thread, value):
    data = REGISTER % (b'Received: From 10.0.0.1 by x with Growl id 7; 2024\r\n'
                       b'Received: %s\r\n' % value.encode())
    response = parse_response(exchange(gntp_server_thread.port, data))
    assert (response.message_type, response.error_code) == ('-ERROR', ERROR_ALREADY_PROCESSED)
    assert 'me-1' in str(response.error_description)
    assert gntp_server_thread.applications == {}  # refused before anything happened


@pytest.mark.gntp_server(server_id='me-1')
def test_the_client_sends_a_request_s_received_headers_and_reports_403(gntp_server_thread):
    request = RegisterRequest('App', None, [Event('update')])
    request.received_headers = ['From 192.0.2.1 by hub with gntplib id me-1; 2024-01-02']
    with pytest.raises(GNTPResponseError) as caught:
        GNTPClient(port=gntp_server_thread.port, timeout=5).process_request(request)
    assert caught.value.error_code == ERROR_ALREADY_PROCESSED
    assert gntp_server_thread.received[-1].received_headers == request.received_headers


def test_the_parser_keeps_repeated_received_headers_in_order():
    request = RegisterRequest('App', None, [Event('update')], [('Version', '1')])
    request.received_headers = ['From a by b id 1; 2024-01-01', 'From b by c id 2; 2024-01-02']
    data = MessagePackerFactory().create().pack(request)
    assert data.count(b'\r\nReceived: From ') == 2
    assert data.index(b'id 1;') < data.index(b'id 2;') < data.index(b'X-Version')
    parsed = parse_request(data)
    assert parsed.received_headers == request.received_headers
    assert parsed == request == RegisterRequest('App', None, [Event('update')],
                                                [('Version', '1')])  # not compared
    plain = parse_request(REGISTER % b'')
    assert plain.received_headers == []


def test_server_ids_default_to_the_host_name_and_differ_and_must_be_one_word():
    first, second = GNTPServer(), GNTPServer()
    assert first.server_id != second.server_id
    assert first.server_id.startswith(first.host_name + '-')
    assert GNTPServer(server_id='desk-42').server_id == 'desk-42'
    for bad in ['', 'two words', 'semi;colon', ' padded', 42]:
        with pytest.raises(GNTPValidationError, match='server_id'):
            GNTPServer(server_id=bad)  # type: ignore[arg-type]  # 42: wrong on purpose
