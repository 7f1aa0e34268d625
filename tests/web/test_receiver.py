"""The browser receiver without a browser: its HTTP and WebSocket interface, over real
sockets, on the GNTP server's own IOLoop (pytest-tornado's ``io_loop``)."""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import urllib.request
import subprocess
from typing import Any, Dict, Iterator, List, Optional

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest, HTTPResponse
from tornado.testing import bind_unused_port
from tornado.websocket import WebSocketClientConnection, websocket_connect

from gntplib import (
    Event, GNTPConnectionError, GNTPResponseError, GNTPValidationError, Resource, SocketCallback,
)
from gntplib.async_ import AsyncPublisher
from gntplib.server import GNTPServer
from gntplib.web import WebDisplay, WebReceiver
from gntplib.web.history import IconStore, icon_url, image_type
from gntplib.web.security import (
    check_transport, host_allowed, is_loopback_host, origin_allowed, split_host_port,
    token_matches,
)

from tests.conftest import ICON_PNG, run_cli

TOKEN = 'test-token-0123456789'


class Receiver:
    """A GNTPServer and a WebReceiver on one IOLoop."""

    def __init__(self, server: GNTPServer, receiver: WebReceiver) -> None:
        self.server = server
        self.receiver = receiver

    def url(self, path: str = '/', token: Optional[str] = None) -> str:
        query = f'?token={token}' if token else ''
        return f'{self.receiver.base_url.rstrip("/")}{path}{query}'

    def publisher(self, app: str = 'App', events: Any = ('update',), **kwargs: Any
                  ) -> AsyncPublisher:
        return AsyncPublisher(app, list(events), port=self.server.port, **kwargs)

    async def fetch(self, path: str, token: Optional[str] = None, **kwargs: Any
                    ) -> HTTPResponse:
        kwargs.setdefault('raise_error', False)
        kwargs.setdefault('follow_redirects', False)
        return await AsyncHTTPClient().fetch(self.url(path, token), **kwargs)

    async def socket(self, token: Optional[str] = TOKEN, origin: Optional[str] = 'same'
                     ) -> WebSocketClientConnection:
        headers = {}
        if token:
            headers['Authorization'] = f'token {token}'
        if origin == 'same':
            origin = f'http://127.0.0.1:{self.receiver.port}'
        if origin:
            headers['Origin'] = origin
        url = self.url('/ws').replace('http', 'ws', 1)
        return await websocket_connect(HTTPRequest(url, headers=headers))

    async def page(self) -> WebSocketClientConnection:
        """A page's WebSocket, past its hello."""
        ws = await self.socket()
        await next_message(ws, 'hello')
        return ws

    async def registered(self, app: str = 'App', **kwargs: Any) -> AsyncPublisher:
        """A publisher that has registered."""
        publisher = self.publisher(app, **kwargs)
        await publisher.register()
        return publisher


@pytest.fixture
def receiver(io_loop: Any, request: pytest.FixtureRequest) -> Iterator[Receiver]:
    marker = request.node.get_closest_marker('web')
    kwargs = dict(marker.kwargs) if marker else {}
    server_kwargs = kwargs.pop('server', {})
    web = WebReceiver(token=TOKEN, **kwargs)
    server = GNTPServer(display=web.display, **server_kwargs)
    sock, port = bind_unused_port()
    server.add_sockets([sock])  # starts the displays: the page is served from here on
    yield Receiver(server, web)
    io_loop.run_sync(lambda: server.shutdown(timeout=5))


async def next_message(ws: WebSocketClientConnection, kind: str, timeout: float = 5
                       ) -> Dict[str, Any]:
    """The next message of type ``kind`` (earlier ones of other types are skipped)."""
    while True:
        text = await asyncio.wait_for(ws.read_message(), timeout)
        assert text is not None, 'the WebSocket closed'
        message = json.loads(text)
        if message['type'] == kind:
            return message


# -- the token, the origin, the host -------------------------------------------------------

@pytest.mark.gen_test(timeout=20)
async def test_without_the_token_the_page_api_icons_and_websocket_refuse(receiver):
    for path in ('/', '/static/app.js', '/api/notifications', '/api/applications',
                 '/icons/' + 'a' * 32):
        for token in (None, 'wrong-token'):
            response = await receiver.fetch(path, token)
            assert response.code == 403, (path, token)
            assert b'access token' in response.body and TOKEN.encode() not in response.body
    missing = await receiver.fetch('/static/nothing.js', TOKEN)
    assert missing.code == 404 and missing.body == b'404 Not Found\n'
    for token in (None, 'wrong-token'):
        with pytest.raises(HTTPClientError) as refused:
            await receiver.socket(token=token)
        assert refused.value.code == 403
    ok = await receiver.fetch('/api/applications', headers={'Authorization': f'token {TOKEN}'})
    assert ok.code == 200 and json.loads(ok.body) == {'applications': []}


@pytest.mark.gen_test(timeout=20)
async def test_the_token_url_sets_a_strict_cookie_and_drops_the_token_from_the_address(
        receiver):
    first = await receiver.fetch('/', TOKEN)
    assert first.code == 303 and first.headers['Location'] == '/'
    cookie = first.headers['Set-Cookie']
    assert cookie.startswith(f'gntplib-token-{receiver.receiver.port}={TOKEN};')
    assert 'HttpOnly' in cookie and 'SameSite=Strict' in cookie and 'Secure' not in cookie
    page = await receiver.fetch('/', headers={'Cookie': cookie.split(';')[0]})
    assert page.code == 200 and b'<script src="static/app.js"' in page.body
    csp = page.headers['Content-Security-Policy']
    assert "script-src 'self'" in csp and "default-src 'none'" in csp
    assert 'unsafe-inline' not in csp and "frame-ancestors 'none'" in csp
    assert page.headers['X-Content-Type-Options'] == 'nosniff'
    script = await receiver.fetch('/static/app.js', headers={'Cookie': cookie.split(';')[0]})
    assert script.code == 200 and script.headers['Content-Type'].startswith('text/javascript')
    assert b'innerHTML' not in script.body  # sender text only ever goes in as textContent
    assert (await receiver.fetch('/static/index.html', TOKEN)).code == 404


@pytest.mark.gen_test(timeout=20)
async def test_the_websocket_accepts_only_the_pages_own_origin(receiver):
    for origin in ('http://evil.example', f'http://evil.example:{receiver.receiver.port}',
                   f'https://127.0.0.1:{receiver.receiver.port}', 'null'):
        with pytest.raises(HTTPClientError) as refused:
            await receiver.socket(origin=origin)
        assert refused.value.code == 403, origin
    ws = await receiver.socket()
    hello = await next_message(ws, 'hello')
    assert hello['cards'] == [] and hello['apps'] == [] and hello['history_size'] == 10000
    ws.close()
    # Browsers always send an Origin; a script without one still needs the token.
    ws = await receiver.socket(origin=None)
    assert (await next_message(ws, 'hello'))['cards'] == []
    ws.close()


@pytest.mark.gen_test(timeout=20)
async def test_on_loopback_only_loopback_host_names_are_answered(receiver):
    # A DNS-rebinding page reaches 127.0.0.1 under its own name: refused even with the token.
    port = receiver.receiver.port
    evil = await receiver.fetch('/api/applications', TOKEN,
                                headers={'Host': f'rebind.example:{port}'})
    assert evil.code == 403 and b'loopback names' in evil.body
    for host in (f'localhost:{port}', f'127.0.0.1:{port}'):
        assert (await receiver.fetch('/api/applications', TOKEN,
                                     headers={'Host': host})).code == 200


def test_security_rules():
    assert token_matches('abc', 'abc') and not token_matches('abd', 'abc')
    assert not token_matches(None, 'abc') and not token_matches('', 'abc')
    assert is_loopback_host('127.0.0.2') and is_loopback_host('[::1]')
    assert is_loopback_host('localhost') and not is_loopback_host('0.0.0.0')
    assert not host_allowed(None, '127.0.0.1') and host_allowed('anything:1', '0.0.0.0')
    assert origin_allowed('https://h:1', 'h:1', tls=True)
    assert not origin_allowed('http://h:1', 'h:1', tls=True)
    assert not origin_allowed('http://h:1/x', 'h:1', tls=False)
    assert split_host_port('8080') == ('127.0.0.1', 8080)
    assert split_host_port('[::1]:0') == ('::1', 0)
    for bad in ('x', '99999', 'host:', '::1:80'):
        with pytest.raises(GNTPValidationError):
            split_host_port(bad)
    check_transport('::1', tls=False, allow_plain_http=False)
    with pytest.raises(GNTPValidationError, match='--web-cert'):
        check_transport('0.0.0.0', tls=False, allow_plain_http=False)


# -- transport: HTTPS beyond loopback -------------------------------------------------------

def test_plain_http_beyond_loopback_needs_the_explicit_opt_out():
    with pytest.raises(GNTPValidationError, match='in the clear'):
        WebReceiver('0.0.0.0')
    assert WebReceiver('0.0.0.0', allow_plain_http=True).scheme == 'http'
    with pytest.raises(GNTPValidationError, match='both'):
        WebReceiver(certfile='cert.pem')
    with pytest.raises(GNTPValidationError, match='cannot load'):
        WebReceiver(certfile='/nonexistent.pem', keyfile='/nonexistent.key')


@pytest.fixture
def certificate(tmp_path, require_program) -> Dict[str, str]:
    openssl = require_program('openssl')
    cert, key = tmp_path / 'cert.pem', tmp_path / 'key.pem'
    subprocess.run([openssl, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
                    '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1',
                    '-keyout', str(key), '-out', str(cert)],
                   check=True, capture_output=True, timeout=60)
    return {'certfile': str(cert), 'keyfile': str(key)}


@pytest.mark.gen_test(timeout=30)
async def test_https_serves_the_page_with_a_secure_cookie(io_loop, certificate):
    web = WebReceiver(token=TOKEN, **certificate)
    server = GNTPServer(display=web.display)
    server.listen(0)
    try:
        assert web.url.startswith('https://127.0.0.1:') and repr(web).count(TOKEN) == 0
        context = ssl.create_default_context(cafile=certificate['certfile'])
        response = await AsyncHTTPClient().fetch(web.url, ssl_options=context,
                                                 follow_redirects=False, raise_error=False)
        assert response.code == 303 and 'Secure' in response.headers['Set-Cookie']
        with pytest.raises((HTTPClientError, OSError)):  # plain HTTP on the HTTPS port
            await AsyncHTTPClient().fetch(web.url.replace('https', 'http', 1))
    finally:
        await server.shutdown(timeout=5)


# -- cards, icons, callbacks, the registry ---------------------------------------------------

@pytest.mark.gen_test(timeout=20)
async def test_cards_arrive_live_with_icons_served_only_as_images(receiver):
    ws = await receiver.page()
    app_icon = Resource(data=ICON_PNG)
    publisher = await receiver.registered(icon=app_icon)
    apps = await next_message(ws, 'apps')
    assert apps['apps'][0]['icon'] == f'icons/{app_icon.identifier()}'
    svg = Resource(data=b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>')
    await publisher.publish('update', 'First', 'line 1\nline 2', priority=2, sticky=True,
                            id_='n-1', icon=svg)
    first = (await next_message(ws, 'card'))['card']
    assert first['title'] == 'First' and first['text'] == 'line 1\nline 2'
    assert (first['priority'], first['sticky'], first['notification_id']) == (2, True, 'n-1')
    assert first['icon'] is None  # not an image: not served at all
    assert first['app_icon'] == f'icons/{app_icon.identifier()}'
    await publisher.publish('update', 'URL icon', icon='https://example.org/i.png')
    assert (await next_message(ws, 'card'))['card']['icon'] == 'https://example.org/i.png'
    await publisher.publish('update', 'Bad URL icon', icon='javascript:alert(1)')
    assert (await next_message(ws, 'card'))['card']['icon'] is None
    typed = await receiver.registered(events=[Event('update', icon='https://example.org/t.png')])
    await typed.publish('update', 'The type icon')
    assert (await next_message(ws, 'card'))['card']['icon'] == 'https://example.org/t.png'
    ws.close()

    icon = await receiver.fetch('/' + first['app_icon'], TOKEN)
    assert icon.code == 200 and icon.body == ICON_PNG
    assert icon.headers['Content-Type'] == 'image/png'
    assert icon.headers['X-Content-Type-Options'] == 'nosniff'
    assert 'sandbox' in icon.headers['Content-Security-Policy']
    missing = await receiver.fetch(f'/icons/{svg.identifier()}', TOKEN)
    assert missing.code == 404
    history = json.loads((await receiver.fetch('/api/notifications', TOKEN)).body)
    assert [card['title'] for card in history['notifications']] == [
        'First', 'URL icon', 'Bad URL icon', 'The type icon']


def test_only_raster_images_are_icons():
    assert image_type(ICON_PNG) == 'image/png'
    assert image_type(b'\xff\xd8\xff\xe0rest') == 'image/jpeg'
    assert image_type(b'GIF89a...') == 'image/gif'
    assert image_type(b'RIFF\x00\x00\x00\x00WEBPVP8 ') == 'image/webp'
    for data in (b'<html><script>alert(1)</script>', b'<?xml version="1.0"?><svg/>', b''):
        assert image_type(data) is None


@pytest.mark.gen_test(timeout=20)
async def test_click_and_dismiss_answer_the_senders_socket_callbacks(receiver):
    ws = await receiver.page()
    publisher = await receiver.registered()
    results: List[Any] = []
    got = asyncio.Event()

    def record(response: Any) -> None:
        results.append(response)
        got.set()
    callback = SocketCallback('ctx-1', 'string', on_click=record, on_close=record)
    await publisher.publish('update', 'Click me', gntp_callback=callback)
    card = (await next_message(ws, 'card'))['card']
    assert card['callback'] == {'kind': 'socket'} and card['result'] is None
    ws.write_message(json.dumps({'action': 'click', 'id': card['id']}))
    await asyncio.wait_for(got.wait(), 5)
    assert results[0].callback_result == 'CLICK' and results[0].context == 'ctx-1'
    updated = (await next_message(ws, 'update'))['card']
    assert updated['result'] == 'CLICK'

    got.clear()
    callback = SocketCallback('ctx-2', 'string', on_click=record, on_close=record)
    await publisher.publish('update', 'Dismiss me', gntp_callback=callback)
    card = (await next_message(ws, 'card'))['card']
    ws.write_message(json.dumps({'action': 'dismiss', 'id': card['id']}))
    await asyncio.wait_for(got.wait(), 5)
    assert results[1].callback_result == 'CLOSE' and results[1].context == 'ctx-2'
    while True:  # the CLOSE is recorded when the server writes the -CALLBACK
        updated = (await next_message(ws, 'update'))['card']
        if updated['result'] == 'CLOSE':
            break
    assert updated['dismissed'] is True
    # A second click on an answered card sends nothing more.
    ws.write_message(json.dumps({'action': 'click', 'id': card['id']}))
    assert (await next_message(ws, 'update'))['card']['result'] == 'CLOSE'
    assert len(results) == 2
    ws.close()


@pytest.mark.web(server={'notification_timeout': 0.3})
@pytest.mark.gen_test(timeout=20)
async def test_an_unanswered_callback_times_out_as_without_the_page(receiver):
    ws = await receiver.page()
    publisher = await receiver.registered()
    timed_out: 'asyncio.Future[Any]' = asyncio.get_event_loop().create_future()
    await publisher.publish('update', 'Nobody clicks', gntp_callback=SocketCallback(
        'ctx', on_timeout=timed_out.set_result))
    card = (await next_message(ws, 'card'))['card']
    assert (await asyncio.wait_for(timed_out, 5)).callback_result == 'TIMEDOUT'
    assert (await next_message(ws, 'update'))['card'] == dict(card, result='TIMEDOUT')
    ws.close()


@pytest.mark.gen_test(timeout=20)
async def test_the_switch_disables_a_type_and_the_next_notify_gets_404(receiver):
    ws = await receiver.page()
    publisher = await receiver.registered(events=['update', 'error'])
    panel = (await next_message(ws, 'apps'))['apps']
    assert panel == [{'name': 'App', 'icon': None, 'notifications': [
        {'name': 'update', 'display_name': 'update', 'enabled': True, 'icon': None},
        {'name': 'error', 'display_name': 'error', 'enabled': True, 'icon': None}]}]
    ws.write_message(json.dumps({'action': 'enable', 'app': 'App', 'name': 'update',
                                 'enabled': False}))
    panel = (await next_message(ws, 'apps'))['apps']
    assert [n['enabled'] for n in panel[0]['notifications']] == [False, True]
    with pytest.raises(GNTPResponseError) as refused:
        await publisher.publish('update', 'Refused')
    assert refused.value.error_code == 404
    assert (await publisher.publish('error', 'Still shown')).ok
    ws.write_message(json.dumps({'action': 'enable', 'app': 'App', 'name': 'update',
                                 'enabled': True}))
    await next_message(ws, 'apps')
    assert (await publisher.publish('update', 'Shown again')).ok
    ws.close()


@pytest.mark.gen_test(timeout=20)
async def test_bad_page_messages_get_an_error_and_change_nothing(receiver):
    ws = await receiver.page()
    for message, error in (('not json', 'not a JSON message'),
                           ('{"action": "explode"}', "unknown action 'explode'"),
                           ('{"action": "click", "id": 99}', 'no notification 99'),
                           ('{"action": "dismiss", "id": "1"}', "no notification '1'"),
                           ('{"action": "enable", "app": "Nope", "name": "x"}',
                            "no application 'Nope' is registered"),
                           ('{"action": "enable"}', 'enable needs')):
        ws.write_message(message)
        assert error in (await next_message(ws, 'error'))['message']
    ws.close()


def test_the_history_keeps_the_newest(io_loop):
    from gntplib.display import DisplayEvent
    from gntplib.requests import NotifyRequest
    from gntplib.models import Notification
    display = WebDisplay(history_size=3)
    for number in range(5):
        display.show(DisplayEvent(NotifyRequest('App', Notification('e', f'n{number}')),
                                  ('127.0.0.1', 1)))
    assert [card['title'] for card in display.history.cards()] == ['n2', 'n3', 'n4']
    assert display.history.get(1) is None
    assert (display.history.get(5) or {}).get('title') == 'n4'
    with pytest.raises(ValueError):
        WebDisplay(history_size=0)
    with pytest.raises(GNTPValidationError, match='not started'):
        display.set_enabled('App', 'e', False)


@pytest.mark.gen_test(timeout=20)
async def test_tokens_never_reach_the_logs(receiver, caplog):
    caplog.set_level(logging.INFO)
    await receiver.fetch('/', TOKEN)
    await receiver.fetch('/api/applications', 'wrong-secret')
    await receiver.fetch('/api/notifications', TOKEN)
    logged = '\n'.join(record.getMessage() for record in caplog.records)
    assert '/api/notifications' in logged and 'refused GET /api/applications' in logged
    assert TOKEN not in logged and 'wrong-secret' not in logged


def test_a_web_port_in_use_is_an_error_before_the_server_starts():
    taken = WebReceiver().bind()
    try:
        with pytest.raises(GNTPConnectionError, match='cannot serve the web page'):
            WebReceiver(port=taken.port).bind()
        refused = run_cli('serve', '--port', '0', '--web', f'127.0.0.1:{taken.port}')
        assert refused.returncode == 1 and 'cannot serve the web page' in refused.stderr
    finally:
        taken.stop()  # never started: stop() releases the bound socket
    again = WebReceiver(port=taken.port).bind()  # free again
    assert again.port == taken.port
    again.stop()


def test_the_icon_store_keeps_the_newest_images_within_its_size():
    def png(number: int) -> Resource:
        return Resource(data=ICON_PNG + bytes([number]) * 100)
    size = len(png(0).data or b'')
    store = IconStore(max_bytes=2 * size)
    keys = [store.add(png(number)) for number in range(3)]
    assert all(keys) and len(store) == 2
    assert store.get(keys[0] or '') is None and store.get(keys[2] or '') is not None
    assert store.add(png(1)) == keys[1]  # known: kept, now the newest
    assert store.add(Resource(data=ICON_PNG * 1000)) is None  # larger than the whole store
    assert store.add(Resource(url='https://example.org/i.png')) is None
    assert icon_url(Resource(url='https://example.org/i.png'), store) == \
        'https://example.org/i.png'
    assert icon_url(Resource(url='file:///etc/passwd'), store) is None


@pytest.mark.gen_test(timeout=20)
async def test_a_coalescing_id_replaces_the_earlier_card_of_its_application(receiver):
    ws = await receiver.page()
    publisher, other = await receiver.registered(), await receiver.registered('Other')
    await publisher.publish('update', 'Downloading: 10 %', coalescing_id='dl')
    first = (await next_message(ws, 'card'))['card']
    assert first['coalescing_id'] == 'dl'
    await other.publish('update', 'Same ID, other application', coalescing_id='dl')
    assert (await next_message(ws, 'card'))['card']['app'] == 'Other'
    await publisher.publish('update', 'Downloading: 60 %', coalescing_id='dl')
    replaced = (await next_message(ws, 'update'))['card']
    assert replaced == dict(first, dismissed=True)
    assert (await next_message(ws, 'card'))['card']['title'] == 'Downloading: 60 %'
    history = json.loads((await receiver.fetch('/api/notifications', TOKEN)).body)
    assert [(c['title'], c['dismissed']) for c in history['notifications']] == [
        ('Downloading: 10 %', True), ('Same ID, other application', False),
        ('Downloading: 60 %', False)]
    ws.close()


def test_with_a_state_store_the_history_survives_a_restart(tmp_path):
    from gntplib import Publisher
    from gntplib.server import ServerThread
    from gntplib.state import StateKeeper

    def run(title: str) -> List[Dict[str, Any]]:
        web = WebReceiver(token=TOKEN)
        with ServerThread(display=web.display,
                          state=StateKeeper.open(str(tmp_path))) as thread:
            publisher = Publisher('App', ['update'], port=thread.port)
            publisher.register()
            publisher.publish('update', title, 'kept on disk', id_=title, priority=1,
                              icon=Resource(data=ICON_PNG))
            request = urllib.request.Request(web.base_url + 'api/notifications',
                                             headers={'Authorization': f'token {TOKEN}'})
            with urllib.request.urlopen(request, timeout=10) as answer:
                cards: List[Dict[str, Any]] = json.load(answer)['notifications']
            return cards
    assert [card['title'] for card in run('first run')] == ['first run']
    cards = run('second run')
    assert [(c['title'], c['notification_id'], c['priority'], c['text']) for c in cards] == [
        ('first run', 'first run', 1, 'kept on disk'),
        ('second run', 'second run', 1, 'kept on disk')]
    assert cards[0]['icon'] == cards[1]['icon'] == f'icons/{Resource(data=ICON_PNG).identifier()}'
