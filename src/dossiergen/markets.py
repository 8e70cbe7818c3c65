"""The markets dossiergen builds for, and which of them an application targets."""

from __future__ import annotations

from contextvars import ContextVar

MARKETS = ("neutral", "us", "eu", "uk", "cn")
REGIONS = MARKETS[1:]  # markets with regional rules and annexes
# The market whose rules are being evaluated (gaps.assess): a site's roles count only for the markets
# they serve (sites.yaml roles[].markets), so a China-only processing site is no US establishment.
MARKET: ContextVar[str | None] = ContextVar("market", default=None)


def serves(role: dict, market: str | None) -> bool:
    """True when a site role (sites.yaml) serves a market: it names no markets (it serves all), or
    names this one. The neutral core (market None or 'neutral') sees every role."""
    named = role.get("markets") if isinstance(role, dict) else None
    return market in (None, "neutral") or not named or market in named


def market_roles(site: dict, market: str | None) -> list[dict]:
    """Return a site's roles that serve a market (a supply chain that differs by market)."""
    return [r for r in site.get("roles") or [] if isinstance(r, dict) and serves(r, market)]


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
