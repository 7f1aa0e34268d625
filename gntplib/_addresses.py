"""Where a client connects: one address resolution policy for the sync and async clients.

* An IP address literal needs no lookup.
* A host name is looked up (by the caller: a blocking ``getaddrinfo`` in the sync client,
  the loop's executor in the async one) and its addresses are kept for :data:`NAME_TTL`
  seconds, process-wide: a lookup costs more than the rest of a request.
* After a failed connect the entry is dropped (the host may have moved), so the next
  request looks it up again.
"""

from __future__ import annotations

import functools
import socket
import time
from typing import Any, Dict, List, Optional, Tuple

__all__ = ['Address', 'AddrInfo', 'NAME_TTL', 'ip_literal_family', 'cached', 'remember',
           'forget']

Address = Tuple[str, int]
#: ``(family, type, proto, canonname, sockaddr)``, as ``socket.getaddrinfo`` gives them.
AddrInfo = Tuple[Any, Any, int, str, Any]

#: Seconds a looked-up host name's addresses are kept.
NAME_TTL = 60.0

_names: Dict[Address, Tuple[float, List[AddrInfo]]] = {}


@functools.lru_cache(maxsize=256)
def ip_literal_family(host: str) -> Optional[int]:
    """``AF_INET`` or ``AF_INET6`` when ``host`` is an IP address literal, else ``None``."""
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
        except (OSError, ValueError):
            continue
        return family
    return None


def cached(address: Address) -> Optional[List[AddrInfo]]:
    """The addresses to try for ``address`` when no lookup is needed, else ``None``."""
    entry = _names.get(address)
    if entry is not None and entry[0] > time.monotonic():
        return entry[1]
    family = ip_literal_family(address[0])
    if family is None:
        return None
    infos: List[AddrInfo] = [(family, socket.SOCK_STREAM, 0, '', address)]
    _names[address] = (float('inf'), infos)
    return infos


def remember(address: Address, infos: List[AddrInfo]) -> List[AddrInfo]:
    """Keep what a lookup of ``address`` found, for :data:`NAME_TTL` seconds."""
    _names[address] = (time.monotonic() + NAME_TTL, infos)
    return infos


def forget(address: Address) -> None:
    """A connect to ``address`` failed: look it up again next time."""
    _names.pop(address, None)
