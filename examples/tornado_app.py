"""A small Tornado web application that sends GNTP notifications from request handlers.

Three patterns that hold up when the receiver is not there:

* ``POST /notify`` awaits the notification: the IOLoop keeps serving other requests while it
  travels, and a GNTP failure becomes a 502 answer instead of an exception.
* ``POST /notify-later`` does not wait (fire and forget): it answers 202 at once, and a
  failed notification is logged once, at WARNING, by :func:`publish_in_background`.
* The application starts whether or not the receiver is running: :func:`keep_registered`
  registers in the background and retries; and a receiver that does not know the
  application when a notification arrives (it was down at start, or restarted since) gets
  it registered again by the publisher itself (``auto_register``, on by default).

Run it next to a GNTP receiver (Growl, or ``gntplib serve``)::

    python examples/tornado_app.py --gntp-port 23053 --port 8888
    curl -d title=Deployed -d text='v2.0 is live' http://127.0.0.1:8888/notify

``examples/test_tornado_app.py`` tests it with Tornado's ``AsyncHTTPTestCase`` against the
embedded GNTP server.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from typing import Any, Dict, Optional, Set

import tornado.web

from gntplib import GNTPError
from gntplib.async_ import AsyncPublisher
from gntplib.requests import Response

logger = logging.getLogger('tornado_app')

def publish_in_background(application: tornado.web.Application, title: str,
                          text: str = '') -> 'asyncio.Task[Response]':
    """Publish without making the caller wait. A failure is logged once, at WARNING.

    The task is kept in ``application.settings['background']`` until it ends: the event
    loop holds only weak references to tasks, and tests can wait for them there.
    """
    publisher: AsyncPublisher = application.settings['publisher']
    task = asyncio.ensure_future(publisher.publish('deploy', title, text))
    pending: Set['asyncio.Task[Response]'] = application.settings['background']
    pending.add(task)

    def done(task: 'asyncio.Task[Response]') -> None:
        pending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.warning('notification %r not sent: %s', title, task.exception())
    task.add_done_callback(done)
    return task


async def keep_registered(publisher: AsyncPublisher, retry: float = 30.0) -> Response:
    """Register, retrying every ``retry`` seconds until the receiver answers ``-OK``.

    Run it as a task when the application starts, so that starting never depends on the
    receiver being up.
    """
    while True:
        try:
            return await publisher.register()
        except GNTPError as exc:
            logger.warning('GNTP receiver not reachable (%s); registering again in %g s',
                           exc, retry)
        await asyncio.sleep(retry)


class NotifyHandler(tornado.web.RequestHandler):
    """``POST /notify`` with form fields ``title`` and ``text`` (optional): waits for the
    receiver's answer."""

    async def post(self) -> None:
        title = self.get_body_argument('title')
        text = self.get_body_argument('text', '')
        try:
            response = await self.settings['publisher'].publish('deploy', title, text)
        except GNTPError as exc:
            self.set_status(502)
            self.write({'ok': False, 'error': str(exc)})
            return
        self.write({'ok': True, 'action': response.action})


class NotifyLaterHandler(tornado.web.RequestHandler):
    """``POST /notify-later``: the same, without waiting (202 Accepted at once)."""

    def post(self) -> None:
        publish_in_background(self.application, self.get_body_argument('title'),
                              self.get_body_argument('text', ''))
        self.set_status(202)
        self.write({'ok': True})


def make_app(publisher: AsyncPublisher, **settings: Any) -> tornado.web.Application:
    """Build the application around an :class:`~gntplib.async_.AsyncPublisher`.

    The publisher sits in ``application.settings['publisher']``.
    """
    return tornado.web.Application(
        [(r'/notify', NotifyHandler), (r'/notify-later', NotifyLaterHandler)],
        publisher=publisher, background=set(), **settings)


def make_publisher(host: str = '127.0.0.1', port: int = 23053,
                   password: Optional[str] = None) -> AsyncPublisher:
    """The publisher this example uses: one event, ``deploy``."""
    options: Dict[str, Any] = {'host': host, 'port': port, 'password': password}
    return AsyncPublisher('Deploy bot', [('deploy', True)], **options)


async def main(argv: Optional[list] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--port', type=int, default=8888, help='HTTP port')
    parser.add_argument('--gntp-host', default='127.0.0.1')
    parser.add_argument('--gntp-port', type=int, default=23053)
    parser.add_argument('--password')
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    publisher = make_publisher(args.gntp_host, args.gntp_port, args.password)
    app = make_app(publisher)
    app.listen(args.port, '127.0.0.1')
    app.settings['background'].add(asyncio.ensure_future(keep_registered(publisher)))
    await asyncio.Event().wait()  # serve until interrupted


if __name__ == '__main__':
    asyncio.run(main())
