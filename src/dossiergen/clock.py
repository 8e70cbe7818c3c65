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


def pin(epoch: int) -> None:
    """Make now() return this build time in this process: writer processes get the build's time
    with their work (they start from a fork server, whose environment may be older)."""
    os.environ["SOURCE_DATE_EPOCH"] = str(epoch)


def today() -> _dt.date:
    """Return today's date for validation (is a date in the future?): DOSSIERGEN_TODAY or the system clock.

    Distinct from the build time: SOURCE_DATE_EPOCH may be an old commit time, and a batch made
    since then is not in the future."""
    fixed = os.environ.get("DOSSIERGEN_TODAY")
    if fixed:
        return _dt.date.fromisoformat(fixed)
    return _dt.datetime.now(tz=_dt.timezone.utc).date()
