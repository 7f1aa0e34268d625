"""Waiting for a condition without sleeping as synchronisation: poll it with a deadline."""

from __future__ import annotations

import time
from typing import Any, Callable


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, what: str = 'a condition',
               interval: float = 0.02) -> Any:
    """Poll ``predicate`` until it returns something true (returned), failing with an
    ``AssertionError`` naming ``what`` once ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f'timed out after {timeout} s waiting for {what}')
        time.sleep(interval)
