"""Secrets kept: constant-time key hash checks, no password or derived key in any repr, log
line or exception message, unauthenticated requests from other machines refused by
default, and wrong passwords, tampered ciphertext and doctored replays answered 400.
"""

from __future__ import annotations

import asyncio
import hmac
import inspect
import io
import re
from contextlib import redirect_stderr
from pathlib import Path
from typing import Any, Iterator, List, Optional, Tuple

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import gntplib
from gntplib import (
    GNTPAuthenticationError, GNTPError, Publisher, SocketCallback, Subscriber, ciphers, keys,
)
from gntplib import cli
from gntplib.async_ import AsyncPublisher
from gntplib.keys import Key, find_matching_key
from gntplib.ciphers import Cipher
from gntplib.packers import MessagePacker, MessagePackerFactory
from gntplib.reader import RequestReader
from gntplib.requests import NotifyRequest, RegisterRequest, parse_response
from gntplib.models import Event, Notification
from gntplib.server import GNTPServer, ServerThread, is_loopback
from tests.support.hardening_support import exchange, gntplib_logs  # noqa: F401 - a fixture
from tests.support.peers import unused_port

ROOT = Path(__file__).resolve().parent.parent
SECRET = 'hunter2-Sécret'
REGISTER = RegisterRequest('App', None, [Event('update')])
NOTIFY = NotifyRequest('App', Notification('update', 'Hi', 'text'))


def pack(request: Any, password: Optional[str] = SECRET, hashing: Any = keys.SHA256,
         encryption: Any = None) -> Tuple[bytes, Any]:
    packer = MessagePackerFactory(password, hashing, encryption).create()
    return packer.pack(request), packer


# -- constant-time comparison ------------------------------------------------------------

def test_key_hashes_are_compared_with_hmac_compare_digest(monkeypatch):
    """Every password is checked, each with hmac.compare_digest on the decoded key hash
    (a timing test would be flaky; this pins the mechanism)."""
    calls: List[Tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)
    monkeypatch.setattr(hmac, 'compare_digest', spy)  # keys.py looks it up at call time
    data, packer = pack(NOTIFY, 'second')
    reader = RequestReader(['first', 'second', 'third'])
    reader.feed(data)
    message = reader.next_message()
    assert message is not None
    received_hash = packer.key.key_hash
    assert len(calls) == 3 and all(b == received_hash for _, b in calls)
    assert [a == received_hash for a, _ in calls] == [False, True, False]
    assert message.key == packer.key
    for function in (Key.matches_key_hash, Key.verify_password, Key.__eq__):
        assert 'hmac.compare_digest' in inspect.getsource(function)
    assert 'find_matching_key' in inspect.getsource(RequestReader._authenticate)
    assert 'break' not in inspect.getsource(find_matching_key)  # no early exit


# -- secrets never leak ------------------------------------------------------------------------

def _exception_texts(exc: BaseException) -> List[str]:
    texts = []
    chained: Optional[BaseException] = exc
    while chained is not None:
        texts += [str(chained), repr(chained)]
        chained = chained.__cause__ or chained.__context__
    return texts


def _secret_forms(secret_keys: List[Key]) -> List[str]:
    forms = [SECRET, repr(SECRET.encode()), SECRET.encode().hex(), 'wrong-Pässword']
    for key in secret_keys:
        forms += [key.key.hex(), key.key.hex().upper(), repr(key.key), repr(key.password)]
    return forms


async def _awaited(call: Any) -> Any:
    return await call()


def test_no_password_or_derived_key_in_reprs_logs_or_errors(gntplib_logs, capsys):  # noqa: F811
    texts: List[str] = []
    objects: List[Any] = []
    keys_seen: List[Key] = []
    with ServerThread(password=SECRET, callback_result='CLICK') as hub, \
            ServerThread(password=SECRET + 'sub-1') as subscriber_side:
        subscriber = Subscriber('sub-1', 'me', ('127.0.0.1', hub.port), SECRET,
                                port=subscriber_side.port)
        subscriber.subscribe()
        for hashing, encryption in [(keys.MD5, ciphers.DES), (keys.SHA256, ciphers.AES),
                                    (keys.SHA512, ciphers.DES3), (keys.SHA1, None)]:
            publisher = Publisher('App', ['update'], port=hub.port, password=SECRET,
                                  key_hashing=hashing, encryption=encryption)
            publisher.register()
            publisher.publish('update', 'Hi', gntp_callback=SocketCallback('ctx'))
            objects += [publisher, publisher.gntp_client, publisher.gntp_client.packer_factory]
        hub.wait_for(lambda s: len(s.forwards) >= 8, timeout=10)
        failures: List[BaseException] = []
        publishers: List[Any] = [
            Publisher('App', ['update'], port=hub.port, password='wrong-Pässword',
                      encryption=ciphers.AES),
            Publisher('App', ['update'], port=unused_port(), password=SECRET),
            AsyncPublisher('App', ['update'], port=hub.port, password='wrong-Pässword')]
        for publisher in publishers:
            objects.append(publisher)
            try:
                if isinstance(publisher, AsyncPublisher):
                    asyncio.run(_awaited(publisher.register))
                else:
                    publisher.register()
            except GNTPError as exc:
                failures.append(exc)
        assert [type(e).__name__ for e in failures] == ['GNTPAuthenticationError',
                                                        'GNTPConnectionError',
                                                        'GNTPAuthenticationError']
        for argv in (['notify', '--app', 'App', '--event', 'update', '--title', 'Hi',
                      '--port', str(hub.port), '--password', 'wrong-Pässword'],
                     ['register', '--app', 'App', '--event', 'update', '--port',
                      str(unused_port()), '--password', SECRET]):
            assert cli.main(argv) == 1
        received = hub.received + subscriber_side.received
        keys_seen = [r.received.key for r in received if r.received.key is not None]
        assert len(keys_seen) >= 9
        objects += [hub, hub.server, subscriber_side.server, subscriber, *received,
                    *[r.received for r in received], *keys_seen,
                    *hub.subscribers.values(), hub.call(lambda: hub.server and
                                                         hub.server.reader_for(('127.0.0.1', 1))),
                    *[cipher.cipher(key) for key in keys_seen
                      for cipher in (ciphers.AES, ciphers.DES) if len(key.key) >= cipher.key_size]]
        texts += [e for exc in failures for e in _exception_texts(exc)]
        texts += [repr(o) for o in objects] + [str(o) for o in objects]
        texts += [str(error) for error in hub.errors]
    out = capsys.readouterr()
    texts += [out.out, out.err, gntplib_logs.text()]
    assert 'Invalid key hash' in gntplib_logs.text()  # the log did see the failures
    everything = '\n'.join(texts)
    for secret in _secret_forms(keys_seen):
        assert secret not in everything, secret


# -- non-loopback peers ------------------------------------------------------------------------

class SeenFrom(GNTPServer):
    """Serves real loopback connections as if they came from ``peer``.

    The OS cannot give us a non-loopback peer on loopback (and these tests must never
    connect anywhere else), so the address is replaced where the server receives it:
    the handle_connection boundary. Everything after it is the server's own code.
    """

    def __init__(self, peer: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.peer = peer

    def handle_connection(self, sock: Any, address: Any) -> None:
        super().handle_connection(sock, (self.peer,) + tuple(address[1:]))


def serve_as(peer: str, **kwargs: Any) -> ServerThread:
    return ServerThread(lambda: SeenFrom(peer, **kwargs))


REMOTE_PEERS = ['192.0.2.10', '198.51.100.7', '10.1.2.3', '2001:db8::1', '::ffff:192.0.2.10']


@pytest.mark.parametrize('peer', REMOTE_PEERS)
@pytest.mark.parametrize('password', [None, SECRET])
def test_unauthenticated_requests_from_other_machines_are_refused_by_default(peer, password):
    with serve_as(peer, password=password) as thread:
        for request in (REGISTER, NOTIFY):
            answer = parse_response(exchange(thread.port, pack(request, None, None)[0]))
            assert (answer.error_code, answer.error_description) == (400, 'Missing key hash')
        assert thread.received == []
        if password is not None:  # with the password, the same peer is served
            assert Publisher('App', ['update'], port=thread.port, password=SECRET).register().ok


@pytest.mark.parametrize('peer', ['127.0.0.1', '127.3.2.1', '::1', '::ffff:127.0.0.1'])
def test_loopback_peers_need_no_password_unless_asked(peer):
    with serve_as(peer, password=SECRET) as thread:
        assert Publisher('App', ['update'], port=thread.port).register().ok
    with serve_as(peer, password=SECRET, require_password_from_loopback=True) as thread:
        with pytest.raises(GNTPAuthenticationError, match='Missing key hash'):
            Publisher('App', ['update'], port=thread.port).register()


def test_require_password_false_lets_other_machines_in():
    with serve_as('192.0.2.10', require_password=False) as thread:
        assert Publisher('App', ['update'], port=thread.port).register().ok


@pytest.mark.parametrize('address, loopback', [
    (('127.255.255.254', 1), True), (('::ffff:127.0.0.2', 1, 0, 0), True),
    (('::1%lo', 1, 0, 0), True), (('0.0.0.0', 1), False), (('::', 1, 0, 0), False),
    (('::ffff:10.0.0.1', 1, 0, 0), False), (('fe80::1%lo', 1, 0, 0), False),
    (('128.0.0.1', 1), False), (('LOCALHOST', 1), False), (('127.0.0.1.evil', 1), False),
    (('', 1), False), ((None, 1), False), ((), False), (None, False), ('127.0.0.1', True),
])
def test_is_loopback_edge_cases(address, loopback):
    assert is_loopback(address) is loopback


# -- what is answered 400 ---------------------------------------------------------------------

@pytest.fixture(scope='module')
def secured() -> Iterator[ServerThread]:
    with ServerThread(password=SECRET) as thread:
        Publisher('App', ['update'], port=thread.port, password=SECRET).register()
        yield thread


@pytest.mark.parametrize('hashing', [keys.MD5, keys.SHA1, keys.SHA256, keys.SHA512])
def test_a_wrong_password_is_answered_400(secured, hashing):
    with pytest.raises(GNTPAuthenticationError) as info:
        Publisher('App', ['update'], port=secured.port, password=SECRET + 'x',
                  key_hashing=hashing).register()
    assert (info.value.error_code, info.value.description) == (400, 'Invalid key hash')


@pytest.mark.gen_test
async def test_a_wrong_password_is_answered_400_to_the_async_client(secured):
    with pytest.raises(GNTPAuthenticationError) as info:
        await AsyncPublisher('App', ['update'], port=secured.port, password='nope').register()
    assert info.value.error_code == 400


def _ciphertext_span(data: bytes) -> Tuple[int, int]:
    start = data.index(b'\r\n') + 2
    return start, data.index(b'\r\n\r\n', start)


@settings(derandomize=True, max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(encryption=st.sampled_from([ciphers.AES, ciphers.DES, ciphers.DES3]),
       where=st.floats(0, 1, exclude_max=True), flip=st.integers(1, 255))
def test_a_tampered_ciphertext_is_answered_400(secured, encryption, where, flip):
    # A fixed salt and IV make each example the same every run: with random ones, a flip in
    # the first block garbles it into random bytes, which once in a few hundred draws still
    # read as a header line, and the answer becomes 303 (missing header) instead of 400.
    key = Key(SECRET, 'SHA256', salt=bytes(range(16)))
    cipher = Cipher(key, encryption.algorithm_id, iv=bytes(range(100, 100 + encryption.block_size)))
    data = MessagePacker(key, cipher).pack(NOTIFY)
    start, end = _ciphertext_span(data)
    position = start + int(where * (end - start))
    tampered = bytearray(data)
    tampered[position] ^= flip
    before = len(secured.received)
    answer = parse_response(exchange(secured.port, bytes(tampered)))
    assert (answer.message_type, answer.error_code) == ('-ERROR', 400), answer
    assert 'wrong key or tampered data' in (answer.error_description or '')
    assert len(secured.received) == before


def test_a_decrypted_block_that_is_not_headers_is_400_and_not_quoted(secured):
    """Swapping two ciphertext blocks keeps the padding valid but garbles the plaintext:
    400, and the -ERROR (sent in the clear) does not quote the decrypted bytes."""
    data, _ = pack(NotifyRequest('App', Notification('update', 'Hi', 'confidential words')),
                   encryption=ciphers.AES)
    start, end = _ciphertext_span(data)
    ciphertext = data[start:end]
    swapped = ciphertext[16:32] + ciphertext[:16] + ciphertext[32:]
    raw = exchange(secured.port, data[:start] + swapped + data[end:])
    answer = parse_response(raw)
    assert answer.error_code == 400
    assert answer.error_description == ('cannot decrypt the request (wrong key or tampered '
                                        'data): the plaintext is not GNTP headers')


def _with_key_token(data: bytes, token: bytes) -> bytes:
    line_end = data.index(b'\r\n')
    words = data[:line_end].split(b' ')
    return b' '.join(words[:3] + [token]) + data[line_end:]


def test_replays_with_a_wrong_key_hash_are_answered_400(secured):
    first, first_packer = pack(NOTIFY)
    second, second_packer = pack(NOTIFY)
    assert parse_response(exchange(secured.port, first)).ok  # the original is accepted
    # GNTP has no replay protection: the very same bytes are accepted again (README).
    assert parse_response(exchange(secured.port, first)).ok
    key_hash = first_packer.key.key_hash.hex().upper()
    flipped = ('0' if key_hash[0] != '0' else '1') + key_hash[1:]
    doctored = [
        # one hex digit of the key hash changed
        _with_key_token(first, f'SHA256:{flipped}.{first_packer.key.salt.hex()}'.encode()),
        # the key hash of one message with the salt of another
        _with_key_token(first, f'SHA256:{key_hash}.{second_packer.key.salt.hex()}'.encode()),
        # the key hash under another algorithm's name
        _with_key_token(first, f'SHA512:{key_hash}.{first_packer.key.salt.hex()}'.encode()),
    ]
    for data in doctored:
        answer = parse_response(exchange(secured.port, data))
        assert (answer.error_code, answer.error_description) == (400, 'Invalid key hash')
    # A captured message replayed to a server with another password.
    with ServerThread(password='another password') as other:
        answer = parse_response(exchange(other.port, first))
        assert (answer.error_code, answer.error_description) == (400, 'Invalid key hash')


# -- DES -------------------------------------------------------------------------------------

def test_des_works_and_is_documented_as_weak(secured):
    publisher = Publisher('App', ['update'], port=secured.port, password=SECRET,
                          key_hashing=keys.MD5, encryption=ciphers.DES)
    assert publisher.publish('update', 'DES').ok
    assert secured.received[-1].received.encryption_algorithm_id == 'DES'
    weak = re.compile(r'\bDES\b[^.]{0,80}\b(broken|weak|brute force)')
    assert weak.search(gntplib.ciphers.__doc__ or '')
    docs = '\n'.join(p.read_text(encoding='utf-8') for p in (ROOT / 'docs').glob('*.rst'))
    assert weak.search(docs)
    reliability = (ROOT / 'README.md').read_text(encoding='utf-8').split('## Reliability')[1]
    assert 'DES' in reliability.split('\n## ')[0] and 'weak' in reliability.split('\n## ')[0]


def test_cli_failures_do_not_echo_the_password():
    err = io.StringIO()
    with redirect_stderr(err):
        code = cli.main(['register', '--app', 'App', '--event', 'e', '--port',
                         str(unused_port()), '--password', SECRET])
    assert code == 1 and SECRET not in err.getvalue() and err.getvalue().count('\n') == 1
