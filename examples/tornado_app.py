"""A small Tornado web application that sends a GNTP notification from a request handler.

The handler awaits ``publisher.publish(...)``: the IOLoop keeps serving other requests
while the notification travels, and a GNTP failure becomes a 502 answer instead of an
exception.

Run it next to a GNTP receiver (Growl, or ``gntplib serve``)::

    python examples/tornado_app.py --gntp-port 23053 --port 8888
    curl -d title=Deployed -d text='v2.0 is live' http://127.0.0.1:8888/notify
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any, Dict, Optional

import tornado.web

from gntplib import GNTPError
from gntplib.async_ import AsyncPublisher


class NotifyHandler(tornado.web.RequestHandler):
    """``POST /notify`` with form fields ``title`` and ``text`` (optional)."""

    async def post(self) -> None:
        publisher: AsyncPublisher = self.settings['publisher']
        title = self.get_body_argument('title')
        text = self.get_body_argument('text', '')
        try:
            response = await publisher.publish('deploy', title, text)
        except GNTPError as exc:
            self.set_status(502)
            self.write({'ok': False, 'error': str(exc)})
            return
        self.write({'ok': True, 'action': response.action})


def make_app(publisher: AsyncPublisher, **settings: Any) -> tornado.web.Application:
    """Build the application around an :class:`~gntplib.async_.AsyncPublisher`.

    The publisher sits in ``application.settings['publisher']``.
    """
    return tornado.web.Application([(r'/notify', NotifyHandler)], publisher=publisher,
                                   **settings)


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
    publisher = make_publisher(args.gntp_host, args.gntp_port, args.password)
    await publisher.register()
    make_app(publisher).listen(args.port, '127.0.0.1')
    await asyncio.Event().wait()  # serve until interrupted


if __name__ == '__main__':
    asyncio.run(main())
