"""The markets dossiergen builds for, and which of them an application targets."""

from __future__ import annotations

MARKETS = ("neutral", "us", "eu", "uk", "cn")
REGIONS = MARKETS[1:]  # markets with regional rules and annexes


def target_markets(application: dict) -> tuple[str, ...]:
    """Return the regions an application names under `markets`, in the declared market order."""
    named = {m.get("market") for m in application.get("markets", []) or [] if isinstance(m, dict)}
    return tuple(m for m in REGIONS if m in named)


def expand_markets(requested: tuple[str, ...], application: dict, *, neutral: bool) -> tuple[str, ...]:
    """Return the markets to work on: `all` means the application's targets (with the neutral
    core first when `neutral`); markets named explicitly are kept as named."""
    if "all" not in requested:
        return tuple(dict.fromkeys(requested))
    return (("neutral",) if neutral else ()) + target_markets(application)
