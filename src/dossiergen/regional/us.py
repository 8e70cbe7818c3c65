"""us regional data (being written: see the regional annex issue)."""

DATA: dict = {}


def packages(context) -> list[tuple[str, bytes]]:
    """Return the us data files."""
    return []
