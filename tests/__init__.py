"""The gntplib test suite (a package, so that mypy checks it and helpers import by name)."""
