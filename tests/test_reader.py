"""The server-side request reader: framing, errors with their GNTP codes, limits, and
round trips of everything the packer builds."""

from __future__ import annotations

import itertools

import pytest

from gntplib import Event, Notification, Resource, SocketCallback, URLCallback
from gntplib.ciphers import AES, DES, DES3
from gntplib.exceptions import GNTPAuthenticationError, GNTPProtocolError
from gntplib.keys import MD5, SHA1, SHA256, SHA512
from gntplib.packers import MessagePacker, MessagePackerFactory
from gntplib.reader import ReaderLimits, RequestReader, parse_request
from gntplib.requests import NotifyRequest, RegisterRequest, SubscribeRequest
from tests.support.vectors import by_name, message_bytes

NOTIFY_MIN = message_bytes(by_name('requests.json', 'notify-minimal'))
REGISTER = message_bytes(by_name('requests.json', 'register'))
ICON = Resource(data=b'\x89PNG\r\n\x1a\n\r\n\r\nIdentifier: fake\r\nLength: 3\r\n\r\n')


def sample_requests():
    yield RegisterRequest('App ✓', ICON, [
        Event('update', 'Update available', True, Resource(data=b'event-icon')),
        Event('error', enabled=False, icon='http://example.com/e.png'),
    ], custom_headers=[('X-Creator', 'tests'), ('Origin-Machine-Name', 'box')],
        app_specific_headers=[('Data-Tag', 'abc')])
    yield NotifyRequest('App ✓', Notification(
        'update', 'Titel — ✓', 'line 1\nline 2', 'id-1', True, -2, ICON, 'coal',
        SocketCallback('ctx', 'string')), app_specific_headers=[('Data-Req', 42)])
    yield NotifyRequest('App', Notification('update', 'Hi', gntp_callback=URLCallback('http://x/')))
    yield SubscribeRequest('0f8e3530-7a29-11df-93f2-0800200c9a66', 'me', 23054)


SECURITY = [(None, None)] + [(h, e) for h, e in itertools.product(
    [MD5, SHA1, SHA256, SHA512], [None, DES, AES, DES3])
    if e is None or e.key_size <= h.key_size]


@pytest.mark.parametrize('hashing,encryption', SECURITY,
                         ids=[f'{h.algorithm_id if h else "none"}-'
                              f'{e.algorithm_id if e else "NONE"}' for h, e in SECURITY])
def test_every_request_round_trips_under_every_security(hashing, encryption):
    password = 'pässwörd€' if hashing else None
    factory = MessagePackerFactory(password, hashing, encryption)
    for request in sample_requests():
        data = factory.create().pack(request)
        if password is None and isinstance(request, SubscribeRequest):
            with pytest.raises(GNTPAuthenticationError, match='Missing key hash'):
                parse_request(data)  # SUBSCRIBE always needs a key (§4.3)
            continue
        parsed = parse_request(data, password)
        assert parsed == request
        assert parsed.received.encryption_algorithm_id == \
            (encryption.algorithm_id if encryption else 'NONE')


def test_one_byte_at_a_time_gives_the_same_request():
    data = MessagePackerFactory('pw', SHA256, AES).create().pack(next(sample_requests()))
    reader = RequestReader('pw')
    results = []
    for i in range(len(data)):
        reader.feed(data[i:i + 1])
        message = reader.next_message()
        if message is not None:
            results.append((i, message))
    assert len(results) == 1
    assert results[0][1].to_request() == next(sample_requests())


@pytest.mark.parametrize('value', ['x-growl-resource://', 'X-Growl-Resource://  '])
def test_a_pointer_without_an_identifier_is_text_not_a_wait_for_a_binary_section(value):
    """Found by the round-trip fuzz test: a text value that is the bare pointer prefix made
    the reader wait for a binary section named by nothing, until the idle timeout."""
    request = RegisterRequest('App', None, [Event('update', value.strip(), enabled=False)])
    data = MessagePacker().pack(request)
    reader = RequestReader()
    reader.feed(data)
    message = reader.next_message()
    assert message is not None
    assert message.to_request() == request
    assert not reader.in_request


def test_duplicate_sections_after_completion_are_discarded_and_next_request_is_read():
    per_pointer = message_bytes(by_name('requests.json', 'register-ascii-resource-auth-md5'))
    reader = RequestReader('pässwörd€')
    reader.feed(per_pointer + b'\r\n' + NOTIFY_MIN)
    first = reader.next_message()
    second = reader.next_message()
    assert first is not None and second is not None
    assert first.message_type == 'REGISTER' and len(first.resources) == 1
    assert second.message_type == 'NOTIFY'
    assert reader.next_message() is None and not reader.in_request


@pytest.mark.parametrize('data,code,match', [
    (b'HELO world\r\n\r\n', 301, 'not a GNTP'),
    (b'GNTP/1.1 NOTIFY NONE\r\n\r\n', 302, 'version'),
    (b'GNTP/1.0 FETCH NONE\r\n\r\n', 300, 'unknown request type'),
    (b'GNTP/1.0 NOTIFY RC4:00\r\n\r\n', 300, 'encryption'),
    (b'GNTP/1.0 NOTIFY NONE SHA384:00.00\r\n\r\n', 300, 'hash'),
    (b'GNTP/1.0 NOTIFY NONE SHA256:zz.00\r\n\r\n', 400, 'hex'),
    (b'GNTP/1.0 NOTIFY NONE SHA256:0011\r\n\r\n', 400, 'no salt'),
    (b'GNTP/1.0 NOTIFY AES:0011 SHA256:00.11\r\n\r\n', 400, 'IV'),
    (b'GNTP/1.0 NOTIFY\r\n\r\n', 300, 'malformed'),
    (b'GNTP/1.0 NOTIFY NONE\r\nApplication-Name: A\r\n\r\n', 303, 'Notification-Name'),
    (b'GNTP/1.0 NOTIFY NONE\r\nno colon\r\n\r\n', 300, 'malformed header'),
    (b'GNTP/1.0 NOTIFY NONE\r\nX-A: \xff\r\n\r\n', 300, 'UTF-8'),
    (b'GNTP/1.0 REGISTER NONE\r\nApplication-Name: A\r\n\r\n', 303, 'Notifications-Count'),
    (b'GNTP/1.0 REGISTER NONE\r\nApplication-Name: A\r\nNotifications-Count: 0\r\n\r\n', 300,
     'at least 1'),
    (b'GNTP/1.0 REGISTER NONE\r\nApplication-Name: A\r\nNotifications-Count: x\r\n\r\n', 300,
     'not a number'),
    (b'GNTP/1.0 SUBSCRIBE NONE\r\nSubscriber-ID: 1\r\nSubscriber-Name: n\r\n\r\n', 400,
     'Missing key hash'),
    (b'GNTP/1.0 NOTIFY NONE\r\nApplication-Name: A\r\nNotification-Name: n\r\n'
     b'Notification-Title: t\r\nNotification-Icon: x-growl-resource://abc\r\n\r\n'
     b'Identifier: abc\r\nLength: 3\r\nColor: red\r\n\r\nxyz\r\n\r\n', 300, 'exactly'),
    (b'GNTP/1.0 NOTIFY NONE\r\nApplication-Name: A\r\nNotification-Name: n\r\n'
     b'Notification-Title: t\r\nNotification-Icon: x-growl-resource://abc\r\n\r\n'
     b'Identifier: abc\r\nLength: many\r\n\r\n', 300, 'not a number'),
])
def test_malformed_requests_raise_with_the_right_code(data, code, match):
    reader = RequestReader()
    reader.feed(data)
    with pytest.raises(GNTPProtocolError if code != 400 else
                       (GNTPProtocolError, GNTPAuthenticationError), match=match) as info:
        message = reader.next_message()
        assert message is not None
        message.to_request()
    assert info.value.error_code == code


def test_key_hash_is_refused_when_no_password_is_configured():
    data = MessagePackerFactory('pw').create().pack(next(sample_requests()))
    with pytest.raises(GNTPAuthenticationError):
        parse_request(data)


def test_require_key_refuses_unauthenticated_requests():
    with pytest.raises(GNTPAuthenticationError, match='Missing key hash'):
        parse_request(NOTIFY_MIN, 'pw', require_key=True)
    request = parse_request(NOTIFY_MIN, 'pw')
    assert isinstance(request, NotifyRequest) and request.notification.title == 'Hello'


def test_any_of_several_passwords_is_accepted():
    data = MessagePackerFactory('second').create().pack(next(sample_requests()))
    assert parse_request(data, ['first', 'second']).received.key.verify_password('second')


def test_tampered_ciphertext_is_not_authorized():
    data = bytearray(MessagePackerFactory('pw', SHA256, AES).create().pack(
        NotifyRequest('App', Notification('e', 'Hi'))))
    start = data.index(b'\r\n') + 2
    data[start + 20] ^= 0xFF  # flip a byte inside the last blocks' chain
    data[-6] ^= 0xFF
    with pytest.raises((GNTPAuthenticationError, GNTPProtocolError)) as info:
        parse_request(bytes(data), 'pw')
    assert info.value.error_code in (300, 400)


@pytest.mark.parametrize('limits,data,match', [
    (ReaderLimits(max_line_size=64), b'GNTP/1.0 NOTIFY NONE' + b' ' * 100, 'information line'),
    (ReaderLimits(max_header_block_size=100), NOTIFY_MIN[:23] + b'X-A: ' + b'a' * 200,
     'header block'),
    (ReaderLimits(max_header_count=2), NOTIFY_MIN, 'header lines'),
    (ReaderLimits(max_resource_size=10), REGISTER, 'over the limit'),
    (ReaderLimits(max_resource_count=0), REGISTER, 'more than 0 resources'),
    (ReaderLimits(max_request_size=100), REGISTER, 'larger than 100'),
])
def test_limits_are_enforced_with_a_clear_error(limits, data, match):
    reader = RequestReader(limits=limits)
    reader.feed(data)
    with pytest.raises(GNTPProtocolError, match=match):
        reader.next_message()


def test_a_huge_header_line_is_refused_before_it_is_all_buffered():
    reader = RequestReader()
    reader.feed(NOTIFY_MIN[:23])
    reader.feed(b'X-Big: ')
    with pytest.raises(GNTPProtocolError, match='header block'):
        for _ in range(4):
            reader.feed(b'a' * (512 * 1024))
            reader.next_message()


def test_incomplete_request_reports_in_request():
    reader = RequestReader()
    reader.feed(REGISTER[:-10])
    assert reader.next_message() is None and reader.in_request
    reader.feed(REGISTER[-10:])
    assert reader.next_message() is not None and not reader.in_request
    with pytest.raises(GNTPProtocolError, match='incomplete'):
        parse_request(REGISTER[:50])


def test_values_are_stripped_and_names_case_insensitive():
    data = (b'GNTP/1.0 notify none \r\napplication-name:   App  \r\nNOTIFICATION-NAME: e\r\n'
            b'Notification-Title:Hi\r\nNotification-Sticky: yes\r\nNotification-Priority: 9'
            b'\r\n\r\n')
    request = parse_request(data)
    assert isinstance(request, NotifyRequest)
    n = request.notification
    assert (request.app_name, n.name, n.title, n.sticky, n.priority) == ('App', 'e', 'Hi', True, 2)


def test_packer_omits_empty_optional_headers():
    data = MessagePacker().pack(NotifyRequest('App', Notification('e', 'Hi', id_='',
                                                                  coalescing_id='')))
    assert b'Notification-ID' not in data and b'Notification-Coalescing-ID' not in data
    # ...but not Notification-Text (issue 12 item 2; test_compat_05 has the details).
    assert b'Notification-Text: \r\n' in data


def test_packer_picks_a_new_iv_when_ciphertext_would_break_framing():
    request = NotifyRequest('App', Notification('e', 'Hi'))
    key = SHA256.key('pw', salt=b'fixed-salt')
    # Search IVs until one makes the ciphertext end in CRLF; the packer must then move off it.
    from gntplib.ciphers import Cipher
    for n in range(200000):
        iv = n.to_bytes(16, 'big')
        cipher = Cipher(key, 'AES', iv)
        block = MessagePacker(key, cipher)
        ciphertext = cipher.encrypt(_header_block(request))
        if ciphertext.endswith(b'\r\n') or b'\r\n\r\n' in ciphertext:
            break
    else:  # pragma: no cover
        pytest.skip('no clashing IV found')
    data = block.pack(request)
    assert isinstance(block.cipher, Cipher)
    assert block.cipher.iv != iv
    assert parse_request(data, 'pw') == request


def _header_block(request):
    from gntplib.packers import SectionPacker
    return SectionPacker().pack(request.header_sections())
