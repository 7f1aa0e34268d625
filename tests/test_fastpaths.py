"""Each fast path of the client equals the general path it short-cuts (property tests).

What each one buys is measured by ``benchmarks/fastpaths.py`` (benchmarks/README.md,
"Fast paths"); a fast path that buys less than 5% of a publish is removed.
"""

from __future__ import annotations

from typing import Any, Callable, List, Tuple

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from gntplib import requests, wire
from gntplib.exchange import DONE, NEED_DATA, ClientExchange
from gntplib.models import Notification, require_text
from gntplib.packers import pack_response
from gntplib.requests import NotifyRequest, Response, parse_response

header_names = st.from_regex(r'[A-Za-z][A-Za-z0-9-]{0,15}', fullmatch=True)
header_values = st.text(st.characters(codec='utf-8', exclude_characters='\r\n'),
                        max_size=30).map(str.strip)
headers = st.lists(st.tuples(header_names, header_values), max_size=5,
                   unique_by=lambda h: h[0].lower())
FAST = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def _parsed(message: bytes) -> Tuple[str, List[Tuple[str, str]], str]:
    response = parse_response(message)
    return response.message_type, list(response.headers.items()), \
        response.encryption_algorithm_id


@FAST
@given(st.sampled_from(['-OK', '-ERROR', '-CALLBACK']), headers)
def test_canonical_response_lines_parse_as_the_general_parser_does(
        monkeypatch: pytest.MonkeyPatch, message_type: str,
        pairs: List[Tuple[str, str]]) -> None:
    message = pack_response(Response(message_type, pairs))
    assert message.startswith(f'GNTP/1.0 {message_type} NONE\r\n'.encode())
    fast = _parsed(message)
    with monkeypatch.context() as patch:
        patch.setattr(requests, '_PLAIN_RESPONSE_LINES', {})  # the general path only
        assert _parsed(message) == fast


# -- the sync publish's call-saving shortcuts (benchmarks/README.md, "Fifth pass") ----------

def _outcome(function: Callable[[], object]) -> Tuple[object, ...]:
    try:
        return ('value', function())
    except Exception as exc:  # the same error, with the same message, counts as equal
        return ('error', type(exc), str(exc))


header_line_bytes = st.one_of(
    st.binary(max_size=30),
    st.builds(lambda n, v: n + b':' + v, st.binary(max_size=8), st.binary(max_size=12)),
    st.builds(lambda n, v: f'{n}: {v}'.encode(), header_names, header_values))


@FAST
@given(st.lists(header_line_bytes, max_size=6))
def test_header_lines_parse_as_one_call_per_line_does(lines: List[bytes]) -> None:
    block = b'\r\n'.join(line.replace(b'\r\n', b'\n') for line in lines) + b'\r\n'
    general = [line for line in block.split(b'\r\n') if line and not line.isspace()]
    assert _outcome(lambda: wire.parse_header_lines(block)) == \
        _outcome(lambda: [wire.parse_header_line(line) for line in general])


text_values = st.one_of(st.text(max_size=6), st.sampled_from(['', ' ', '\t\n', 'x']),
                        st.none(), st.integers(), st.binary(max_size=4))


@FAST
@given(text_values, text_values, text_values, text_values)
def test_inline_text_checks_judge_as_require_text(app_name: Any, name: Any, title: Any,
                                                  text: Any) -> None:
    def general() -> Tuple[Any, ...]:
        checked = (require_text(name, 'event name'),
                   require_text(title, 'notification title'),
                   None if text is None else
                   require_text(text, 'notification text', allow_empty=True))
        return (require_text(app_name, 'application name'),) + checked

    def fast() -> Tuple[Any, ...]:
        n = Notification(name, title, text)
        return (NotifyRequest(app_name, n).app_name, n.name, n.title, n.text)
    # Notification checks its fields before NotifyRequest checks the application name.
    assert _outcome(fast) == _outcome(general)


class _AlwaysAsksTheBuffer(ClientExchange):
    """The general path: the buffer is asked every time, fed or not."""

    @property
    def _unread(self) -> bool:
        return True

    @_unread.setter
    def _unread(self, value: bool) -> None:
        pass


_STREAM = (b'\r\nGNTP/1.0 -OK NONE\r\nResponse-Action: NOTIFY\r\n\r\n'
           b'GNTP/1.0 -CALLBACK NONE\r\nNotification-Callback-Result: CLICK\r\n\r\n')


@FAST
@given(st.lists(st.integers(0, len(_STREAM)), max_size=6), st.booleans(), st.booleans())
def test_skipping_an_unfed_buffer_gives_the_events_asking_it_gives(
        cuts: List[int], expect_callback: bool, close: bool) -> None:
    def events(exchange: ClientExchange) -> List[object]:
        seen: List[object] = []
        points = sorted(set(cuts)) + [len(_STREAM)]
        pieces = [_STREAM[a:b] for a, b in zip([0] + points, points)]
        try:
            for piece in pieces + ([b''] if close else []):
                exchange.receive_data(piece)
                while True:
                    event = exchange.next_event()
                    seen.append(type(event).__name__)
                    if event is NEED_DATA or event is DONE:
                        break
            seen.append(exchange.next_event())
        except Exception as exc:
            seen.append((type(exc), str(exc)))
        return seen
    assert events(ClientExchange(expect_callback=expect_callback)) == \
        events(_AlwaysAsksTheBuffer(expect_callback=expect_callback))
