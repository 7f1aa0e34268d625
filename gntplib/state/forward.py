"""Forwarding destinations: any Apprise URL, with filters.

``gntplib serve --forward SPEC`` takes one destination per option. A SPEC is an Apprise URL
(``ntfy://``, ``gotify://``, ``pover://``, ``json://``, ``mailto://``...), optionally
preceded by filters, all in one shell word::

    --forward 'ntfys://ntfy.example.org/alerts'
    --forward 'priority>=1 app=Backup,"Mail Sync" pover://USER@TOKEN'
    --forward 'event=failed json://127.0.0.1:8000/hook'

Filters (every one given must match): ``priority>=N`` (N from -2 to 2; ``min-priority=N``
is the same), ``app=NAME[,NAME...]`` (the application names), ``event=NAME[,NAME...]`` (the
notification types; names are separated by commas). Quote a name with spaces.

Apprise (``pip install 'gntplib[forward]'``) is imported only when a destination is made.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import re
import shlex
from dataclasses import dataclass, field
from typing import Any, Dict, FrozenSet, List, Optional

from ..exceptions import GNTPError, GNTPValidationError
from .outbox import DeliveryError, Destination

__all__ = ['ForwardFilter', 'AppriseDestination', 'parse_forward', 'destination_key']

_FILTER = re.compile(r'(?P<name>priority>|min-priority|app|event)=(?P<value>.*)\Z', re.I)


@dataclass(frozen=True)
class ForwardFilter:
    """Which notifications a destination gets.

    Attributes:
        min_priority: The lowest priority forwarded (``None``: any).
        apps: The application names forwarded (empty: any).
        events: The notification types forwarded (empty: any).

    Example:
        >>> ForwardFilter(min_priority=1).matches({'app': 'A', 'event': 'e', 'priority': 2})
        True
        >>> ForwardFilter(apps=frozenset({'B'})).matches({'app': 'A', 'event': 'e'})
        False
    """

    min_priority: Optional[int] = None
    apps: FrozenSet[str] = field(default_factory=frozenset)
    events: FrozenSet[str] = field(default_factory=frozenset)

    def matches(self, payload: Dict[str, Any]) -> bool:
        """Whether a forwarded notification passes every filter."""
        if self.min_priority is not None and int(payload.get('priority') or 0) \
                < self.min_priority:
            return False
        if self.apps and payload.get('app') not in self.apps:
            return False
        return not self.events or payload.get('event') in self.events

    def describe(self) -> str:
        """The filters as ``--forward`` takes them (empty if none)."""
        words = [] if self.min_priority is None else [f'priority>={self.min_priority}']
        for name, values in (('app', self.apps), ('event', self.events)):
            if values:
                words.append(f'{name}=' + ','.join(shlex.quote(v) for v in sorted(values)))
        return ' '.join(words)


def parse_forward(spec: str) -> 'tuple[str, ForwardFilter]':
    """Split a ``--forward`` SPEC into its URL and filters.

    Raises:
        GNTPValidationError: If there is not exactly one URL, or a filter is not understood.

    Example:
        >>> url, only = parse_forward('priority>=1 app="My App",Backup json://localhost/x')
        >>> url, only.min_priority, sorted(only.apps)
        ('json://localhost/x', 1, ['Backup', 'My App'])
    """
    try:
        words = shlex.split(spec)
    except ValueError as exc:
        raise GNTPValidationError(f'--forward {spec!r}: {exc}') from None
    urls = [word for word in words if '://' in word]
    if len(urls) != 1:
        raise GNTPValidationError(f'--forward needs exactly one URL (scheme://...), '
                                  f'found {len(urls)}')
    min_priority: Optional[int] = None
    apps: List[str] = []
    events: List[str] = []
    for word in words:
        if word == urls[0]:
            continue
        match = _FILTER.match(word)
        if match is None:
            raise GNTPValidationError(f'--forward: unknown filter {word!r} (use priority>=N, '
                                      'app=NAME[,NAME], event=NAME[,NAME])')
        name, value = match.group('name').lower(), match.group('value')
        if name in ('priority>', 'min-priority'):
            try:
                min_priority = int(value)
            except ValueError:
                min_priority = None
            if min_priority is None or not -2 <= min_priority <= 2:
                raise GNTPValidationError(f'--forward: priority must be -2 to 2, not {value!r}')
        else:
            names = [v.strip() for v in value.split(',') if v.strip()]
            if not names:
                raise GNTPValidationError(f'--forward: {name}= needs at least one name')
            (apps if name == 'app' else events).extend(names)
    return urls[0], ForwardFilter(min_priority, frozenset(apps), frozenset(events))


def destination_key(url: str) -> str:
    """The queue name of a destination: its scheme and a hash of its URL (URLs hold
    tokens and passwords, which must not be stored in the clear or logged).

    Example:
        >>> destination_key('ntfy://example.org/alerts')[:13]
        'apprise:ntfy:'
    """
    scheme = url.split('://', 1)[0].lower()
    return f'apprise:{scheme}:{hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]}'


class AppriseDestination(Destination):
    """Forwarding to one Apprise URL.

    The notification's title and text go as Apprise's title and body; its priority picks
    Apprise's type (2: failure, 1: warning, otherwise info). Apprise sends synchronously,
    so each destination sends from its own thread, one item at a time.

    Args:
        url: An Apprise URL.
        only: The destination's filters.

    Raises:
        GNTPError: If Apprise is not installed or does not understand ``url``.
    """

    def __init__(self, url: str, only: Optional[ForwardFilter] = None) -> None:
        try:
            import apprise
        except ImportError:
            raise GNTPError("forwarding needs Apprise: pip install 'gntplib[forward]'") from None
        self._apprise_module = apprise
        plugin = apprise.Apprise.instantiate(url)
        if not plugin:
            raise GNTPValidationError(f'--forward: Apprise does not understand the '
                                      f'{url.split("://", 1)[0]}:// URL given')
        self._notifier = apprise.Apprise()
        self._notifier.add(plugin)
        self.key = destination_key(url)
        self.only = only or ForwardFilter()
        self.label = str(getattr(plugin, 'url')(privacy=True))  # untyped in Apprise
        self._executor: Optional[concurrent.futures.ThreadPoolExecutor] = None

    def __repr__(self) -> str:
        return f'<AppriseDestination {self.label} {self.only.describe()}>'.replace(' >', '>')

    def accepts(self, payload: Dict[str, Any]) -> bool:
        return self.only.matches(payload)

    async def deliver(self, payload: Dict[str, Any]) -> None:
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(
                1, thread_name_prefix='gntplib-forward')
        loop = asyncio.get_running_loop()
        if not await loop.run_in_executor(self._executor, self._send, payload):
            raise DeliveryError(f'{self.label} did not take the notification (Apprise '
                                'reported a failure; its log says why)')

    def _send(self, payload: Dict[str, Any]) -> bool:
        kinds = self._apprise_module.NotifyType
        priority = int(payload.get('priority') or 0)
        kind = kinds.FAILURE if priority >= 2 else kinds.WARNING if priority == 1 \
            else kinds.INFO
        text = str(payload.get('text') or '')
        title = str(payload.get('title') or '')
        return bool(self._notifier.notify(body=text or title, title=title if text else '',
                                          notify_type=kind))

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None
