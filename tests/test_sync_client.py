"""The synchronous API end to end, against real GNTP peers on 127.0.0.1."""

from __future__ import annotations

import hashlib
import os
from typing import List

import pytest

import gntplib
from gntplib import (
    Event, GNTPConnectionError, GNTPError, GNTPResponseError,
    GNTPValidationError, Publisher, Resource, Subscriber,
)
from gntplib.ciphers import AES, DES, DES3
from gntplib.connections import GNTPClient, generate_messages
from gntplib.keys import MD5, SHA1, SHA256, SHA512
from gntplib.packers import pack_response
from gntplib.reader import ReceivedMessage
from gntplib.requests import NotifyRequest, RegisterRequest, Response, SubscribeRequest
from tests.support.peers import ScriptedPeer, ok_for, unused_port
from tests.support.vectors import by_name, message_bytes

PASSWORD = 'pässwörd€'
CALLBACK_CLICK = message_bytes(by_name('responses.json', 'callback-click'))


@pytest.fixture
def peer():
    with ScriptedPeer() as p:
        yield p


def notify_of(message: ReceivedMessage) -> NotifyRequest:
    request = message.to_request()
    assert isinstance(request, NotifyRequest)
    return request


def publisher_for(peer, **kwargs):
    return Publisher('App', ['update', ('quiet', False)], port=peer.port, **kwargs)


# -- happy paths ---------------------------------------------------------------------------

def test_register_and_publish_reach_the_server(peer):
    publisher = publisher_for(peer)
    seen: List[Response] = []
    response = publisher.register(callback=seen.append)
    assert response.ok and response.action == 'REGISTER'
    assert seen == [response]

    response = publisher.publish('update', 'Hello', 'World', id_='n-1', priority=5,
                                 sticky=True, coalescing_id='c-1')
    assert response.action == 'NOTIFY' and response.notification_id == 'n-1'

    register, notify = [m.to_request() for m in peer.received]
    assert isinstance(register, RegisterRequest)
    assert [(e.name, e.enabled) for e in register.events] == [('update', True), ('quiet', False)]
    assert isinstance(notify, NotifyRequest)
    n = notify.notification
    assert (n.name, n.title, n.text, n.id_, n.sticky, n.priority, n.coalescing_id) == \
        ('update', 'Hello', 'World', 'n-1', True, 2, 'c-1')


def test_unicode_text_and_line_breaks_travel_intact(peer):
    publisher_for(peer).publish('update', 'Grüße ✓', 'line one\nline two — 日本語')
    n = peer.received[-1].to_request().notification
    assert (n.title, n.text) == ('Grüße ✓', 'line one\nline two — 日本語')


def test_cr_in_values_cannot_inject_headers(peer):
    publisher_for(peer).publish('update', 'Title\r\nX-Injected: yes', 'a\rb\r\nc')
    main = dict(peer.received[-1].sections[0])
    assert 'X-Injected' not in main
    assert main['Notification-Title'] == 'Title\nX-Injected: yes'
    assert main['Notification-Text'] == 'a\nb\nc'


@pytest.mark.parametrize('hashing', [MD5, SHA1, SHA256, SHA512], ids=lambda a: a.algorithm_id)
@pytest.mark.parametrize('encryption', [None, DES, AES, DES3],
                         ids=lambda a: a.algorithm_id if a else 'NONE')
def test_every_hash_and_cipher_pair_authenticates(hashing, encryption):
    if encryption is not None and encryption.key_size > hashing.key_size:
        with pytest.raises(GNTPValidationError):
            Publisher('App', ['update'], password=PASSWORD, key_hashing=hashing,
                      encryption=encryption)
        return
    with ScriptedPeer(password=PASSWORD) as peer:
        publisher = publisher_for(peer, password=PASSWORD, key_hashing=hashing,
                                  encryption=encryption)
        publisher.register()
        publisher.publish('update', 'Secret ✓', 'text', icon=Resource(data=b'\x89PNG\r\n\r\n'))
        message = peer.received[-1]
        assert message.key is not None
        assert message.key.algorithm_id == hashing.algorithm_id
        assert message.encryption_algorithm_id == (encryption.algorithm_id if encryption
                                                   else 'NONE')
        assert notify_of(message).notification.title == 'Secret ✓'
        assert list(message.resources.values()) == [b'\x89PNG\r\n\r\n']


def test_each_message_gets_a_fresh_salt_and_iv():
    with ScriptedPeer(password='pw') as peer:
        publisher = publisher_for(peer, password='pw', encryption=AES)
        publisher.register()
        publisher.publish('update', 'Hi')
    first, second = peer.received
    assert first.key and second.key and first.cipher and second.cipher
    assert first.key.salt != second.key.salt
    assert first.cipher.iv != second.cipher.iv


def test_icon_resources_are_sent_as_binary_sections_by_md5(peer):
    app_icon = Resource(data=b'app-icon-bytes')
    event_icon = Resource(data=b'\r\n\r\nGNTP/1.0 NOTIFY NONE\r\n')
    publisher = Publisher('App', [Event('update', icon=event_icon)], icon=app_icon,
                          port=peer.port, custom_headers=[('Attachment', app_icon)])
    publisher.register()
    message = peer.received[-1]
    md5 = hashlib.md5(b'app-icon-bytes').hexdigest()
    assert dict(message.sections[0])['Application-Icon'] == f'x-growl-resource://{md5}'
    assert dict(message.sections[0])['X-Attachment'] == f'x-growl-resource://{md5}'
    assert message.resources == {md5: b'app-icon-bytes',
                                 hashlib.md5(event_icon.data or b"").hexdigest(): event_icon.data}
    assert message.to_request().events[0].icon == event_icon


def test_url_icon_is_sent_as_url(peer):
    publisher_for(peer).publish('update', 'Hi', icon='http://example.com/i.png')
    assert dict(peer.received[-1].sections[0])['Notification-Icon'] == 'http://example.com/i.png'
    assert peer.received[-1].resources == {}


def test_large_resource_goes_out_intact(peer):
    data = bytes(range(256)) * (40 * 1024 * 1024 // 256)  # 40 MB
    publisher_for(peer, timeout=30).publish('update', 'Big', icon=Resource(data=data))
    assert list(peer.received[-1].resources.values()) == [data]


def test_custom_and_app_specific_headers_get_their_prefixes(peer):
    publisher = Publisher('App', ['update'], port=peer.port,
                          custom_headers=[('X-Environment', 'prod'), ('Version', '2.0.1')],
                          app_specific_headers=[('UserID', 12345), ('Data-Session', 'abc')])
    response = publisher.publish('update', 'Hi')
    main = peer.received[-1].sections[0]
    assert ('X-Environment', 'prod') in main and ('X-Version', '2.0.1') in main
    assert ('Data-UserID', '12345') in main and ('Data-Session', 'abc') in main
    assert response.headers['Data-UserID'] == '12345'  # echoed by the server


def test_url_callback_sends_callback_target(peer):
    publisher_for(peer).publish('update', 'Hi', gntp_callback='https://example.com/clicked')
    main = dict(peer.received[-1].sections[0])
    assert main['Notification-Callback-Target'] == 'https://example.com/clicked'
    assert 'Notification-Callback-Context' not in main


def test_subscriber_stores_ttl_and_calls_callback():
    with ScriptedPeer(password='hub-pw') as hub:
        subscriber = Subscriber('sub-1', 'Me', ('127.0.0.1', hub.port), 'hub-pw', port=23054)
        assert subscriber.ttl == gntplib.DEFAULT_TTL
        seen: List[Response] = []
        response = subscriber.subscribe(callback=seen.append)
        assert subscriber.ttl == 300 and seen == [response]
        request = hub.received[-1].to_request()
        assert isinstance(request, SubscribeRequest)
        assert (request.id_, request.name, request.port) == ('sub-1', 'Me', 23054)
        assert hub.received[-1].key is not None  # SUBSCRIBE always carries a key hash
        assert gntplib.subscribe('sub-1', 'Me', ('127.0.0.1', hub.port), 'hub-pw') == 300


def test_quick_publish_registers_then_notifies(peer):
    response = gntplib.publish('QuickApp', 'Alert', 'Warning', 'Hot', port=peer.port)
    assert response.action == 'NOTIFY'
    assert [m.message_type for m in peer.received] == ['REGISTER', 'NOTIFY']


# -- socket callbacks ----------------------------------------------------------------------

def _ok_then(*callback_parts):
    def script(conn):
        return [ok_for(conn.read_request()), *callback_parts]
    return script


def test_socket_callback_options_build_a_socket_callback(peer):
    publisher_for(peer, callback_timeout=0.2).publish('update', 'Hi', context='ctx',
                                                      context_type='string')
    main = dict(peer.received[-1].sections[0])
    assert (main['Notification-Callback-Context'],
            main['Notification-Callback-Context-Type']) == ('ctx', 'string')


# -- validation before any I/O ------------------------------------------------------------

def test_no_events_is_a_validation_error():
    with pytest.raises(GNTPValidationError, match='at least one event'):
        Publisher('App', [])


def test_md5_with_aes_fails_when_the_publisher_is_built():
    with pytest.raises(GNTPError, match='too short'):
        Publisher('App', ['e'], password='secret', key_hashing=MD5, encryption=AES)


def test_encryption_without_password_is_refused():
    with pytest.raises(GNTPValidationError, match='needs a password'):
        GNTPClient(encryption=AES)


def test_unknown_client_argument_is_a_validation_error():
    with pytest.raises(GNTPValidationError, match='hots'):
        Publisher('App', ['e'], hots='localhost')


@pytest.mark.parametrize('kwargs', [dict(priority='high'), dict(title=''), dict(icon=42),
                                    dict(gntp_callback=42)])
def test_bad_publish_arguments_are_validation_errors(peer, kwargs):
    args = dict(name='update', title='Hi')
    args.update(kwargs)
    with pytest.raises(GNTPValidationError):
        publisher_for(peer).publish(**args)
    assert peer.connections == 0


def test_gntp_callback_and_socket_options_together_are_refused(peer):
    with pytest.raises(GNTPValidationError, match='not both'):
        publisher_for(peer).publish('update', 'Hi', gntp_callback='http://x', on_click=print)


def test_secrets_never_appear_in_reprs():
    publisher = Publisher('App', ['e'], password='hunter2-secret', encryption=AES)
    subscriber = Subscriber('id', 'me', 'hub', 'hunter2-secret')
    key = SHA256.key('hunter2-secret')
    texts = [repr(publisher), repr(subscriber), repr(publisher.gntp_client), repr(key),
             repr(AES.cipher(key)), repr(publisher.gntp_client.packer_factory)]
    for text in texts:
        assert 'hunter2' not in text
        assert key.key_hex.decode() not in text and key.key.hex() not in text


def test_generate_messages_yields_each_message(peer):
    stream = message_bytes(by_name('responses.json', 'quirk-growl2-stream-ok-then-callback'))

    def script(conn):
        conn.read_request()
        return stream
    import socket
    with ScriptedPeer(script) as p:
        with socket.create_connection(p.address, timeout=5) as sock:
            sock.sendall(b'GNTP/1.0 NOTIFY NONE\r\nApplication-Name: A\r\n'
                         b'Notification-Name: n\r\nNotification-Title: t\r\n\r\n')
            messages = generate_messages(sock)
            types = [next(messages).split(b' ')[1] for _ in range(2)]
    assert types == [b'-OK', b'-CALLBACK']


def _open_fds():
    return len(os.listdir('/proc/self/fd'))


@pytest.mark.skipif(not os.path.isdir('/proc/self/fd'), reason='needs /proc')
def test_a_thousand_failed_calls_leak_no_sockets():
    error = pack_response(Response('-ERROR', [('Error-Code', 500),
                                              ('Error-Description', 'x')]))

    def script(conn):
        message = conn.read_request()
        if message.to_request().notification.title == 'err':
            return error
        return None  # close without answering
    with ScriptedPeer(script) as peer:
        refused = Publisher('App', ['e'], port=unused_port())
        publisher = Publisher('App', ['e'], port=peer.port)
        before = _open_fds()
        for i in range(400):
            with pytest.raises(GNTPConnectionError):
                refused.publish('e', 'refused')
            with pytest.raises(GNTPResponseError):
                publisher.publish('e', 'err')
            if i % 2:
                with pytest.raises(GNTPConnectionError):
                    publisher.publish('e', 'no answer')
        assert peer.wait_idle()
        # Other tests' peers may still be closing sockets in their threads, so allow a few;
        # a leak here would be hundreds.
        assert _open_fds() - before < 10
