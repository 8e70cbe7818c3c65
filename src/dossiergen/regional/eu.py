"""eu regional data (being written: see the regional annex issue)."""

DATA: dict = {}


def packages(context) -> list[tuple[str, bytes]]:
    """Return the eu data files."""
    return []
