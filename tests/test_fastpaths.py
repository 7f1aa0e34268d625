"""Each fast path of the client equals the general path it short-cuts (property tests).

What each one buys is measured by ``benchmarks/fastpaths.py`` (benchmarks/README.md,
"Fast paths"); a fast path that buys less than 5% of a publish is removed.
"""

from __future__ import annotations

from typing import List, Tuple

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from gntplib import requests
from gntplib.packers import pack_response
from gntplib.requests import Response, parse_response

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

