"""Icons as the notification server gets them: inline, ``data:``, fetched over real HTTP
(bounded in size and time, cached), the registered icons as fallback, nothing else."""

from __future__ import annotations

import asyncio
import base64
import http.server
import socket
import threading
import time
from typing import Any, Dict, Iterator, List

import pytest

from gntplib import Event, Publisher, Resource

from .processes import wait_until

PNG = b'\x89PNG\r\n\x1a\n' + b'icon bytes'
BIG = b'\x89PNG' + b'x' * 5000


def read(path: str) -> bytes:
    with open(path, 'rb') as f:
        return f.read()


class IconSite:
    """A real HTTP server on 127.0.0.1: /icon.png, /big.png; it counts the requests."""

    def __init__(self) -> None:
        site = self
        self.hits: Dict[str, int] = {}

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.hits[self.path] = site.hits.get(self.path, 0) + 1
                body = {'/icon.png': PNG, '/big.png': BIG}.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header('Content-Type', 'image/png')
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass
        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = f'http://127.0.0.1:{self.httpd.server_address[1]}'
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def site() -> Iterator[IconSite]:
    server = IconSite()
    yield server
    server.stop()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers (a hung web server)."""
    listener = socket.socket()
    listener.bind(('127.0.0.1', 0))
    listener.listen(8)
    yield listener.getsockname()[1]
    listener.close()


def test_inline_data_url_and_fetched_icons(private_bus, scripted, receiver, site):
    server = scripted()
    gntp = receiver(private_bus.address)
    publisher = gntp.publisher('Icons')
    data_url = 'data:image/png;base64,' + base64.b64encode(PNG + b'd').decode()
    publisher.publish('ev', 'inline', icon=Resource(PNG + b'i'))
    publisher.publish('ev', 'data', icon=data_url)
    publisher.publish('ev', 'url', icon=site.url + '/icon.png')
    publisher.publish('ev', 'url again', icon=site.url + '/icon.png')
    notifications = server.wait_for_notifications(4)
    images = [read(n['hints']['image-path']) for n in notifications]
    assert images == [PNG + b'i', PNG + b'd', PNG, PNG]
    assert site.hits == {'/icon.png': 1}  # cached


def test_registered_icons_are_the_fallback(private_bus, scripted, receiver):
    server = scripted()
    gntp = receiver(private_bus.address)
    publisher = Publisher('Registered', [Event('plain'), Event('iconic', icon=Resource(
        PNG + b'event'))], port=gntp.port, icon=Resource(PNG + b'app'))
    publisher.register()
    publisher.publish('plain', 'app icon')
    publisher.publish('iconic', 'event icon')
    publisher.publish('iconic', 'own icon', icon=Resource(PNG + b'own'))
    notifications = server.wait_for_notifications(3)
    assert [read(n['hints']['image-path']) for n in notifications] == [
        PNG + b'app', PNG + b'event', PNG + b'own']
    assert {read(n['app_icon']) for n in notifications} == {PNG + b'app'}


def test_icons_that_cannot_be_had_are_left_out(private_bus, scripted, receiver, site,
                                               silent_port):
    server = scripted()
    gntp = receiver(private_bus.address, icon_max_bytes=1000, icon_timeout=0.5)
    publisher = gntp.publisher('NoIcons')
    started = time.monotonic()
    for title, icon in [('too big', site.url + '/big.png'), ('missing', site.url + '/nope'),
                        ('hung', f'http://127.0.0.1:{silent_port}/icon.png'),
                        ('local file', 'file:///etc/hostname'), ('path', '/etc/hostname'),
                        ('bad data', 'data:image/png;base64,!!!'),
                        ('big inline', Resource(BIG)), ('theme name', 'dialog-warning')]:
        publisher.publish('ev', title, icon=icon)
    notifications = server.wait_for_notifications(8)
    assert time.monotonic() - started < 5  # the hung server cost icon_timeout, not more
    assert [n['hints'] for n in notifications] == [{'urgency': 1}] * 8
    assert [n['app_icon'] for n in notifications] == [''] * 8


def test_icons_are_removed_at_shutdown(private_bus, scripted, receiver):
    server = scripted()
    gntp = receiver(private_bus.address)
    publisher = gntp.publisher('Cleanup')
    publisher.publish('ev', 'icon', icon=Resource(PNG))
    path = server.wait_for_notifications()[0]['hints']['image-path']
    assert read(path) == PNG
    gntp.thread.stop()
    wait_until(lambda: gntp.fallback.closed, 5, 'close')
    with pytest.raises(FileNotFoundError):
        read(path)


def test_order_is_kept_while_an_icon_is_fetched(private_bus, scripted, receiver,
                                                silent_port):
    server = scripted()
    gntp = receiver(private_bus.address, icon_timeout=0.5)
    publisher = gntp.publisher('Order')
    publisher.publish('ev', 'slow icon', icon=f'http://127.0.0.1:{silent_port}/x.png')
    publisher.publish('ev', 'no icon')
    titles: List[str] = [n['summary'] for n in server.wait_for_notifications(2)]
    assert titles == ['slow icon', 'no icon']


def test_only_the_newest_icon_files_are_kept(site):
    from gntplib._icon_files import IconFiles

    async def main() -> None:
        icons = IconFiles(max_files=2)
        try:
            url = site.url + '/icon.png'
            fetched = await icons.path(url)
            first = await icons.path(Resource(PNG + b'1'))
            assert fetched is not None and first is not None
            assert await icons.path(url) == fetched  # cached, and now the newest
            second = await icons.path(Resource(PNG + b'2'))
            assert second is not None and read(fetched) == PNG and read(second) == PNG + b'2'
            with pytest.raises(FileNotFoundError):
                read(first)
            assert site.hits == {'/icon.png': 1}
            await icons.path(Resource(PNG + b'3'))  # pushes the fetched file out
            with pytest.raises(FileNotFoundError):
                read(fetched)
            assert read(await icons.path(url) or '') == PNG
            assert site.hits == {'/icon.png': 2}
        finally:
            icons.close()
    asyncio.run(main())


def test_icons_of_applications_registered_before_the_display_saw_them(private_bus,
                                                                      scripted):
    """An application the registry knows without a REGISTER this display saw (state
    restored at startup) still gets its icons."""
    from gntplib.desktop import DesktopDisplay
    from gntplib.requests import RegisterRequest
    from gntplib.server import GNTPServer, ServerThread

    server = scripted()
    display = DesktopDisplay(private_bus.address)

    def restored() -> GNTPServer:
        gntp = GNTPServer(display=display)
        gntp.registry.register(RegisterRequest('Restored', Resource(PNG + b'app'), [
            Event('ev', icon=Resource(PNG + b'ev')), Event('plain')]), ('127.0.0.1', 1))
        return gntp
    with ServerThread(restored) as thread:
        publisher = Publisher('Restored', ['ev', 'plain'], port=thread.port)
        publisher.publish('ev', 'event icon')
        publisher.publish('plain', 'app icon')
        notifications = server.wait_for_notifications(2)
        assert [read(n['hints']['image-path']) for n in notifications] == [
            PNG + b'ev', PNG + b'app']
