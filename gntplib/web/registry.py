"""The applications panel's view of a server's registry: list, and switch types on or off.

The one place the browser receiver reads and changes the server's registered
applications, through the server's public interface.
"""

from __future__ import annotations

from typing import Any, Dict, List

from ..exceptions import GNTPValidationError
from .history import IconStore, icon_url

__all__ = ['list_applications', 'set_enabled', 'application_icon']


def list_applications(server: Any, icons: IconStore) -> List[Dict[str, Any]]:
    """The registered applications, sorted by name: ``name``, ``icon`` and
    ``notifications`` (``name``, ``display_name``, ``enabled``, ``icon``)."""
    apps = []
    for name, app in sorted(server.applications.items()):
        apps.append({
            'name': name, 'icon': icon_url(app.icon, icons),
            'notifications': [
                {'name': event.name, 'display_name': event.display_name or event.name,
                 'enabled': bool(event.enabled), 'icon': icon_url(event.icon, icons)}
                for event in app.events.values()],
        })
    return apps


def application_icon(server: Any, app_name: str) -> Any:
    """The icon a registered application gave, or ``None``."""
    app = server.applications.get(app_name)
    return None if app is None else app.icon


def set_enabled(server: Any, app_name: str, notification_name: str, enabled: bool) -> None:
    """Enable or disable one notification type (a disabled one is answered ``-ERROR``
    404).

    Raises:
        GNTPValidationError: If the application or the type is not registered.
    """
    app = server.applications.get(app_name)
    event = None if app is None else app.events.get(notification_name)
    if event is None:
        raise GNTPValidationError(
            f'{app_name!r} has no registered notification type {notification_name!r}')
    event.enabled = bool(enabled)
