"""AsyncResource: icons fetched over HTTP (a local tornado.web server) in parallel, then
embedded in the GNTP message that a real peer on 127.0.0.1 parses."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time

from typing import List

import pytest
import tornado.web

from tests.support.async_peers import GNTPPeer, closed_port
from gntplib import Event, GNTPResourceError, GNTPValidationError, NotifyRequest, Resource
from gntplib.async_ import (
    AsyncIcon, AsyncPublisher, AsyncResource, collect_async_resources,
    fetch_async_resources_in_parallel,
)

SLOW = 0.3  # seconds each /slow/ icon takes to serve


def png(name):
    return b'\x89PNG\r\n\x1a\n' + name.encode() * 64


class IconHandler(tornado.web.RequestHandler):
    async def get(self, name):
        self.settings['hits'].append(name)
        self.set_header('Content-Type', 'image/png')
        self.write(png(name))


class SlowIconHandler(IconHandler):
    async def get(self, name):
        await asyncio.sleep(SLOW)  # the icon server is slow: behaviour under test
        await super().get(name)


@pytest.fixture
def app():
    return tornado.web.Application([(r'/icon/(\w+)\.png', IconHandler),
                                    (r'/slow/(\w+)\.png', SlowIconHandler)], hits=[])


@pytest.fixture
def url(http_server, http_port):
    return lambda path: f'http://127.0.0.1:{http_port}{path}'


@pytest.fixture
def peer(io_loop):
    peer = GNTPPeer()
    yield peer
    peer.shutdown()


def publisher_for(peer, *args, **kwargs):
    return AsyncPublisher('App', *args, host='127.0.0.1', port=peer.port, **kwargs)


def md5(data):
    return hashlib.md5(data).hexdigest()


@pytest.mark.gen_test
async def test_three_slow_icons_are_fetched_in_parallel_and_embedded(app, url, peer):
    icons = {name: AsyncResource(url(f'/slow/{name}.png')) for name in ('app', 'ev1', 'ev2')}
    publisher = publisher_for(peer, [Event('ev1', icon=icons['ev1']),
                                     Event('ev2', icon=icons['ev2'])], icon=icons['app'])
    started = time.monotonic()
    response = await publisher.register()
    elapsed = time.monotonic() - started

    assert response.ok
    assert elapsed < 0.75, f'three {SLOW}s fetches took {elapsed:.2f}s: not parallel'
    assert sorted(app.settings['hits']) == ['app', 'ev1', 'ev2']
    register = peer.received[0]
    assert register.app_icon.data == png('app')
    assert [e.icon.data for e in register.events] == [png('ev1'), png('ev2')]
    # The binary sections carry the bytes under their MD5 identifiers.
    assert register.received.resources == {md5(png(n)): png(n) for n in icons}
    assert register.app_icon.header_value() == 'x-growl-resource://' + md5(png('app'))


@pytest.mark.gen_test
async def test_notification_icon_and_header_resources_are_fetched(app, url, peer):
    attachment = AsyncResource(url('/icon/attachment.png'))
    thumb = AsyncResource(url('/icon/thumb.png'))
    publisher = publisher_for(peer, ['update'], custom_headers=[('Attachment', attachment)],
                              app_specific_headers=[('Thumb', thumb)])
    await publisher.publish('update', 'Hi', icon=AsyncResource(url('/icon/note.png')))

    notify = peer.received[0]
    assert isinstance(notify, NotifyRequest)
    assert isinstance(notify.notification.icon, Resource)
    assert notify.notification.icon.data == png('note')
    assert dict(notify.custom_headers)['X-Attachment'].data == png('attachment')
    assert dict(notify.app_specific_headers)['Data-Thumb'].data == png('thumb')
    assert sorted(app.settings['hits']) == ['attachment', 'note', 'thumb']


@pytest.mark.gen_test
async def test_a_shared_icon_is_fetched_once(app, url, peer):
    icon = AsyncResource(url('/slow/shared.png'))
    publisher = publisher_for(peer, ['update'])
    responses = await asyncio.gather(*(publisher.publish('update', f'n{i}', icon=icon)
                                       for i in range(5)))
    assert all(r.ok for r in responses)
    await publisher.publish('update', 'again', icon=icon)
    assert app.settings['hits'] == ['shared']
    assert all(r.notification.icon.data == png('shared') for r in peer.received)


@pytest.mark.gen_test
async def test_404_leaves_the_icon_out_and_warns(app, url, peer, caplog):
    icon = AsyncResource(url('/missing.png'))
    with caplog.at_level(logging.WARNING, logger='gntplib'):
        response = await publisher_for(peer, ['update']).publish('update', 'Hi', icon=icon)
    assert response.ok
    notify = peer.received[0]
    assert notify.notification.icon is None
    assert notify.received.resources == {}
    assert 'Notification-Icon' not in dict(notify.received.sections[0])
    assert icon.data is None and isinstance(icon.error, GNTPResourceError)
    assert '404' in str(icon.error)
    assert any(r.levelno == logging.WARNING and '404' in r.getMessage()
               and '/missing.png' in r.getMessage() for r in caplog.records)


@pytest.mark.gen_test
async def test_unreachable_host_leaves_the_icon_out_and_warns(peer, caplog):
    icon = AsyncResource(f'http://127.0.0.1:{closed_port()}/icon.png')
    with caplog.at_level(logging.WARNING, logger='gntplib'):
        response = await publisher_for(peer, ['update'], icon=icon).register()
    assert response.ok
    assert peer.received[0].app_icon is None
    assert isinstance(icon.error, GNTPResourceError)
    assert any(r.levelno == logging.WARNING and 'cannot fetch' in r.getMessage()
               for r in caplog.records)


@pytest.mark.gen_test
async def test_required_resource_failure_fails_the_request_before_sending(app, url, peer):
    icon = AsyncResource(url('/missing.png'), required=True)
    with pytest.raises(GNTPResourceError, match='404'):
        await publisher_for(peer, ['update'], icon=icon).register()
    assert peer.connections == 0


@pytest.mark.gen_test
async def test_fetch_is_bounded_by_the_client_timeout(app, url, peer):
    icon = AsyncResource(url('/slow/late.png'))
    started = time.monotonic()
    response = await publisher_for(peer, ['update'], icon=icon, timeout=0.1).register()
    assert time.monotonic() - started < SLOW
    assert response.ok and peer.received[0].app_icon is None
    assert isinstance(icon.error, GNTPResourceError)


@pytest.mark.gen_test
async def test_a_failed_fetch_is_retried_by_the_next_request(app, url, peer):
    icon = AsyncResource(url('/slow/retry.png'))
    publisher = publisher_for(peer, ['update'], icon=icon, timeout=0.1)
    await publisher.register()
    assert icon.data is None
    publisher.gntp_client.timeout = 5
    await publisher.register()
    assert icon.data == png('retry') and icon.error is None
    assert peer.received[1].app_icon.data == png('retry')


@pytest.mark.gen_test
async def test_fetch_async_resources_in_parallel_with_legacy_callback(app, url):
    resources = [AsyncResource(url(f'/slow/r{i}.png')) for i in range(3)]
    got: List[object] = []
    started = time.monotonic()
    with pytest.warns(DeprecationWarning, match='io_loop'):
        future = fetch_async_resources_in_parallel(resources, got.append, io_loop=object())
    result = await future
    assert time.monotonic() - started < 0.75
    assert result == resources and got == [resources]
    assert [r.data for r in resources] == [png(f'r{i}') for i in range(3)]


def test_collect_async_resources_lists_each_resource_once():
    shared = AsyncResource('http://127.0.0.1:1/a.png')
    other = AsyncResource('http://127.0.0.1:1/b.png')
    publisher = AsyncPublisher('App', [Event('e1', icon=shared), Event('e2', icon=other)],
                               icon=shared, custom_headers=[('Icon', Resource(data=b'x'))])
    from gntplib import RegisterRequest
    request = RegisterRequest(publisher.name, publisher.icon, publisher.events,
                              publisher.custom_headers)
    assert collect_async_resources(request) == [shared, other]
    assert [id(r) for r in collect_async_resources(request)] == [id(shared), id(other)]


def test_async_resource_validation_and_repr():
    with pytest.raises(GNTPValidationError):
        AsyncResource('file:///etc/passwd')
    with pytest.raises(GNTPValidationError):
        AsyncResource(b'http://example.com/icon.png')  # type: ignore[arg-type]
    resource = AsyncResource('https://user:s3cret@127.0.0.1/icon.png')
    assert 's3cret' not in repr(resource)
    assert 'not fetched' in repr(resource)
    assert resource.header_value() is None  # nothing to point to until fetched
    with pytest.warns(DeprecationWarning, match='AsyncIcon'):
        assert isinstance(AsyncIcon('http://127.0.0.1/icon.png'), AsyncResource)
