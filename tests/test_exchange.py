"""The client exchange without sockets: bytes in, events out (gntplib.exchange)."""

from __future__ import annotations

from typing import List, Sequence

import pytest
from hypothesis import given, settings, strategies as st

from gntplib.exceptions import GNTPConnectionError, GNTPProtocolError, GNTPResponseError
from gntplib.exchange import (
    CALLBACK, DONE, EDGE, JOIN_LIMIT, NEED_DATA, RESPONSE, Callback, ClientExchange, Ok,
    chunks_to_send,
)

OK = b'GNTP/1.0 -OK NONE\r\nResponse-Action: NOTIFY\r\n\r\n'
CLICK = (b'GNTP/1.0 -CALLBACK NONE\r\nNotification-Callback-Result: CLICK\r\n'
         b'Notification-Callback-Context: c\r\n\r\n')
ERROR_300 = b'GNTP/1.0 -ERROR NONE\r\nError-Code: 300\r\nError-Description: Too big\r\n\r\n'
HEAD = b'GNTP/1.0 NOTIFY NONE\r\nApplication-Name: App\r\nX-Icon: x-growl-resource://1\r\n\r\n'


def resource_parts(*payloads: bytes) -> List[bytes]:
    parts = [HEAD]
    for i, payload in enumerate(payloads):
        parts += [f'Identifier: {i}\r\nLength: {len(payload)}\r\n\r\n'.encode(), payload,
                  b'\r\n\r\n']
    return parts


# -- what is sent ------------------------------------------------------------------------------

def test_a_small_message_is_one_write() -> None:
    parts = resource_parts(b'icon')
    assert chunks_to_send(parts) == [b''.join(parts)]


def test_a_large_resource_is_streamed_between_writes_that_carry_its_edges() -> None:
    icon = b'\x89PNG' + bytes(8 << 20)
    chunks = chunks_to_send(resource_parts(icon))
    assert b''.join(chunks) == b''.join(resource_parts(icon))
    # The header block goes out with the start of the resource, the end of the resource
    # with the closing blank line; the middle is the caller's bytes, not a copy.
    first, middle, last = chunks
    assert bytes(first).startswith(HEAD) and bytes(first).endswith(icon[:EDGE])
    assert isinstance(middle, memoryview) and middle.obj is icon
    assert bytes(last).endswith(b'\r\n\r\n')


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([b'\r\n\r\n', b'\r\n', b'x', b'\r\n\r\n' * 3]),
                min_size=1, max_size=4).map(b''.join),
       st.lists(st.integers(0, 3 * EDGE), min_size=1, max_size=4))
def test_no_write_but_the_last_ends_at_a_blank_line(tail: bytes, sizes: List[int]) -> None:
    """Whatever the resources hold at the cut points (blank lines placed right there)."""
    payloads = [(b'\r\n\r\n' * (size // 4 + 1))[:size] + tail for size in sizes]
    payloads += [b'z' * JOIN_LIMIT + b'\r\n\r\n' * EDGE]
    parts = resource_parts(*payloads)
    chunks = chunks_to_send(parts)
    assert b''.join(chunks) == b''.join(parts)
    assert not any(bytes(chunk[-4:]) == b'\r\n\r\n' for chunk in chunks[:-1])
    assert all(len(chunk) for chunk in chunks)


def test_bytes_go_out_as_they_are() -> None:
    assert ClientExchange().send(OK) == [OK]


# -- what answers mean -------------------------------------------------------------------------

def feed(exchange: ClientExchange, *pieces: bytes) -> List[object]:
    events: List[object] = []
    for piece in pieces:
        exchange.receive_data(piece)
        while True:
            event = exchange.next_event()
            if event is NEED_DATA:
                break
            events.append(event)
            if event is DONE:
                return events
    return events


def test_ok_ends_the_exchange_without_a_callback() -> None:
    exchange = ClientExchange()
    events = feed(exchange, OK[:10], OK[10:])
    assert isinstance(events[0], Ok) and events[0].response.action == 'NOTIFY'
    assert events[1:] == [DONE] and exchange.waiting_for is None


def test_with_a_callback_the_exchange_goes_on_to_the_callback() -> None:
    exchange = ClientExchange(expect_callback=True)
    assert exchange.waiting_for == RESPONSE
    events = feed(exchange, OK + CLICK[:5])
    assert isinstance(events[0], Ok) and exchange.waiting_for == CALLBACK
    events = feed(exchange, CLICK[5:])
    assert isinstance(events[0], Callback) and events[0].response.callback_event == 'click'
    assert events[1:] == [DONE]


def test_the_end_of_the_stream_before_the_answer_is_an_error() -> None:
    exchange = ClientExchange(peer='h:1')
    exchange.receive_data(b'')
    with pytest.raises(GNTPConnectionError, match='^h:1: the server closed the connection'):
        exchange.next_event()
    assert exchange.next_event() is DONE


def test_the_end_of_the_stream_while_waiting_for_a_callback_ends_it_quietly() -> None:
    exchange = ClientExchange(expect_callback=True)
    feed(exchange, OK)
    assert feed(exchange, b'') == [DONE]


@pytest.mark.parametrize('timed_out,message', [(True, 'timed out reading the response'),
                                               (False, 'reading the response failed: reset')])
def test_a_failed_read_before_the_answer_is_an_error(timed_out: bool, message: str) -> None:
    error = ClientExchange(peer='h:1').read_failed('reset', timed_out)
    assert isinstance(error, GNTPConnectionError) and str(error) == f'h:1: {message}'


def test_a_failed_read_while_waiting_for_a_callback_ends_it_unless_one_was_coming() -> None:
    exchange = ClientExchange(expect_callback=True)
    feed(exchange, OK)
    assert exchange.read_failed('timed out', True) is None and exchange.waiting_for is None
    exchange = ClientExchange(expect_callback=True)
    feed(exchange, OK + CLICK[:9])
    error = exchange.read_failed('reset')
    assert error is not None and 'waiting for the callback failed' in str(error)


def test_which_deadline_applies() -> None:
    exchange = ClientExchange(expect_callback=True)
    assert exchange.timeout(10, 60) == 10
    feed(exchange, OK)
    assert exchange.timeout(10, 60) == 60
    exchange = ClientExchange()
    exchange.send_failed('Broken pipe')
    assert exchange.timeout(10, 60) == 1.0 and exchange.timeout(None, 60) is None


def test_after_a_failed_write_the_receivers_answer_is_what_counts() -> None:
    exchange = ClientExchange(peer='h:1')
    send_error = exchange.send_failed('Connection reset by peer')
    assert str(send_error) == 'h:1: sending failed: Connection reset by peer'
    exchange.receive_data(ERROR_300)
    with pytest.raises(GNTPResponseError) as info:
        exchange.next_event()
    assert (info.value.error_code, info.value.description) == (300, 'Too big')


@pytest.mark.parametrize('ending', [b'', None], ids=['eof', 'read-failed'])
def test_after_a_failed_write_without_an_answer_the_write_error_is_raised(
        ending: Sequence[bytes]) -> None:
    exchange = ClientExchange()
    send_error = exchange.send_failed('Broken pipe')
    if ending is None:
        assert exchange.read_failed('Connection reset by peer') is send_error
        return
    exchange.receive_data(b'')
    with pytest.raises(GNTPConnectionError) as info:
        exchange.next_event()
    assert info.value is send_error


@pytest.mark.parametrize('answer,code,description', [
    (b'GNTP/1.0 -ERROR Invalid data\r\nError-Description: Invalid data\r\n\r\n', None,
     'Invalid data'),
    (b'GNTP/1.0 -ERROR Out of memory\r\n\r\n', None, 'Out of memory'),
    (b'gntp/1.0 -error NONE\r\nError-Code: 402\r\nbroken line\r\n\r\n', 402, 'no description'),
    (ERROR_300, 300, 'Too big'),
])
def test_any_error_is_a_response_error_with_the_receivers_text(
        answer: bytes, code: object, description: str) -> None:
    exchange = ClientExchange()
    exchange.receive_data(answer)
    with pytest.raises(GNTPResponseError) as info:
        exchange.next_event()
    assert type(info.value) is GNTPResponseError
    assert (info.value.error_code, info.value.description) == (code, description)


def test_what_is_not_gntp_stays_a_protocol_error() -> None:
    exchange = ClientExchange()
    exchange.receive_data(b'GNTP/1.0 -OK NONE\r\nno colon\r\n\r\n')
    with pytest.raises(GNTPProtocolError, match='malformed header'):
        exchange.next_event()


def test_an_answer_larger_than_allowed_is_refused() -> None:
    exchange = ClientExchange(max_response_size=100)
    exchange.receive_data(b'GNTP/1.0 -OK NONE\r\nX-Pad: ' + b'a' * 200)
    with pytest.raises(GNTPProtocolError, match='larger than 100'):
        exchange.next_event()
