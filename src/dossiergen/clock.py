"""The one clock: every use of 'now' goes through here and honours SOURCE_DATE_EPOCH."""

from __future__ import annotations

import datetime as _dt
import os


def now() -> _dt.datetime:
    """Return the build time in UTC: SOURCE_DATE_EPOCH if set, else the system clock."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.strip().isdigit():
        return _dt.datetime.fromtimestamp(int(epoch), tz=_dt.timezone.utc)
    return _dt.datetime.now(tz=_dt.timezone.utc)


def today() -> _dt.date:
    """Return the build date (UTC)."""
    return now().date()
