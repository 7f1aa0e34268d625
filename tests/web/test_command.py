"""``gntplib serve --web``, run the way a user runs it (a subprocess)."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

import pytest

from gntplib import Publisher
from gntplib.cli import build_parser
from gntplib.web import WebReceiver
from gntplib.web.command import announcement, receiver_from_args

from tests.conftest import run_cli

pytest.importorskip('tornado')


def fetch(url: str) -> tuple:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_serve_web_prints_the_url_with_a_token_and_serves_the_page(gntplib_serve):
    serve = gntplib_serve('--web', '127.0.0.1:0')
    line = serve.stderr.get(timeout=10)
    match = re.match(r'gntplib: web page at (http://127\.0\.0\.1:\d+/)\?token=([0-9a-f]{48})\n',
                     line or '')
    assert match, line
    base, token = match.groups()
    publisher = Publisher('CLI App', ['update'], port=serve.port)
    publisher.register()
    publisher.publish('update', 'Seen on the page')
    assert fetch(base + 'api/notifications')[0] == 403
    status, body = fetch(f'{base}api/notifications?token={token}')
    assert status == 200
    assert [n['title'] for n in json.loads(body)['notifications']] == ['Seen on the page']
    assert serve.stop() == 0


def test_serve_web_beyond_loopback_needs_https_or_the_loud_opt_out():
    refused = run_cli('serve', '--port', '0', '--web', '0.0.0.0:0')
    assert refused.returncode == 2  # a usage error (issue 16: 2 for usage and validation)
    assert 'in the clear' in refused.stderr and '--web-insecure' in refused.stderr
    bad = run_cli('serve', '--port', '0', '--web', 'host:port')
    assert bad.returncode == 2 and '[HOST:]PORT' in bad.stderr
    # What --web-insecure prints (not started: the tests bind loopback only).
    args = build_parser().parse_args(['serve', '--web', '0.0.0.0:8080', '--web-insecure'])
    receiver = receiver_from_args(args, bind=False)
    assert receiver is not None
    url, warning = announcement(receiver)
    assert url.startswith('gntplib: web page at http://') and ':8080/?token=' in url
    assert 'WARNING' in warning and 'plain HTTP' in warning
    assert len(announcement(WebReceiver())) == 1  # loopback: no warning
