"""Property tests of the sans-IO core (deterministic hypothesis runs).

- Random and mutated bytes into the response parser and the request reader: only
  GNTPError subclasses come out.
- Any request the packer builds, under every hash x cipher pair, parses back to the same
  request, whatever the chunking of the stream.
"""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings, strategies as st

from gntplib import Event, Notification, Resource, SocketCallback, URLCallback
from gntplib.ciphers import AES, DES, DES3
from gntplib.exceptions import GNTPError
from gntplib.keys import MD5, SHA1, SHA256, SHA512
from gntplib.packers import MessagePackerFactory
from gntplib.reader import ReaderLimits, RequestReader
from gntplib.requests import NotifyRequest, RegisterRequest, SubscribeRequest, parse_response
from gntplib.wire import MessageBuffer
from tests.support.vectors import message_bytes, vectors

FUZZ = settings(derandomize=True, max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])

SEEDS = [message_bytes(v) for v in vectors('responses.json')]
REQUEST_SEEDS = [(message_bytes(v), v.get('security', {}).get('password'))
                 for v in vectors('requests.json') + vectors('encrypted.json')
                 if v.get('message_type', 'NOTIFY') in ('REGISTER', 'NOTIFY', 'SUBSCRIBE')]


@st.composite
def mutated(draw, seeds):
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 8))):
        if not data:
            break
        op = draw(st.sampled_from(['flip', 'cut', 'insert', 'dup']))
        i = draw(st.integers(0, len(data) - 1))
        if op == 'flip':
            data[i] = draw(st.integers(0, 255))
        elif op == 'cut':
            del data[i:i + draw(st.integers(1, 64))]
        elif op == 'insert':
            data[i:i] = draw(st.sampled_from([b'\r\n', b'\r\n\r\n', b':', b'\xff', b'GNTP/1.0 ',
                                              b'x-growl-resource://', b'Length: 999999\r\n']))
        else:
            data[i:i] = data[i:i + draw(st.integers(1, 64))]
    return bytes(data)


def _drain_responses(data: bytes) -> None:
    buffer = MessageBuffer()
    buffer.feed(data)
    buffer.feed(b'')
    try:
        while (message := buffer.next_message()) is not None:
            parse_response(message, '-OK')
    except GNTPError:
        pass


@FUZZ
@given(st.binary(max_size=600))
def test_random_bytes_into_response_parser_raise_only_gntp_errors(data):
    _drain_responses(data)


@FUZZ
@given(mutated(SEEDS))
def test_mutated_responses_raise_only_gntp_errors(data):
    _drain_responses(data)


def _drain_requests(data: bytes, password, chunk: int) -> None:
    reader = RequestReader(password, limits=ReaderLimits(max_request_size=1 << 16))
    try:
        for start in range(0, len(data), chunk):
            reader.feed(data[start:start + chunk])
            while (message := reader.next_message()) is not None:
                message.to_request()
    except GNTPError:
        pass


@FUZZ
@given(st.binary(max_size=600), st.integers(1, 64))
def test_random_bytes_into_request_reader_raise_only_gntp_errors(data, chunk):
    _drain_requests(b'GNTP/1.0 ' + data, None, chunk)
    _drain_requests(data, 'pw', chunk)


@FUZZ
@given(st.sampled_from(REQUEST_SEEDS), st.data(), st.integers(1, 97))
def test_mutated_requests_raise_only_gntp_errors(seed, data, chunk):
    message, password = seed
    _drain_requests(data.draw(mutated([message])), password, chunk)


# -- round trips ---------------------------------------------------------------------------

text = st.text(st.characters(codec='utf-8', exclude_characters='\r'),
               min_size=1, max_size=40).filter(lambda s: s.strip() == s and s.strip())
optional_text = st.none() | text
resources = st.binary(min_size=0, max_size=300).map(lambda b: Resource(data=b))
icons = st.none() | resources | st.just('http://example.com/icon.png')
header_names = st.from_regex(r'[A-Za-z][A-Za-z0-9-]{0,15}', fullmatch=True)
extra_headers = st.lists(st.tuples(header_names, text | resources), max_size=3,
                         unique_by=lambda h: h[0].lower())

events = st.builds(Event, text, optional_text, st.booleans(), icons)
callbacks = st.none() | st.builds(SocketCallback, text, text) | st.builds(URLCallback, text)
notifications = st.builds(Notification, text, text, st.none() | st.text(max_size=80).map(
    lambda s: s.replace('\r', '').strip()), optional_text, st.none() | st.booleans(),
    st.none() | st.integers(-5, 5), icons, optional_text, callbacks)

requests = st.one_of(
    st.builds(RegisterRequest, text, icons, st.lists(events, min_size=1, max_size=4,
                                                     unique_by=lambda e: e.name),
              extra_headers, extra_headers),
    st.builds(NotifyRequest, text, notifications, extra_headers, extra_headers),
    st.builds(SubscribeRequest, text, text, st.integers(1, 65535), extra_headers,
              extra_headers),
)

SECURITY = [(h, e) for h, e in itertools.product([MD5, SHA1, SHA256, SHA512],
                                                 [None, DES, AES, DES3])
            if e is None or e.key_size <= h.key_size]


@settings(derandomize=True, max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(requests, st.sampled_from(SECURITY), st.integers(1, 200))
def test_any_packed_request_parses_back_to_itself(request, security, chunk):
    hashing, encryption = security
    data = MessagePackerFactory('pässwörd€', hashing, encryption).create().pack(request)
    reader = RequestReader('pässwörd€')
    parsed = []
    for start in range(0, len(data), chunk):
        reader.feed(data[start:start + chunk])
        while (message := reader.next_message()) is not None:
            parsed.append(message.to_request())
    assert parsed == [request]
