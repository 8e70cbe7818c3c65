"""China regional data: the associated review (1.3.8.1) and the quality standard (1.3.3)."""

DATA: dict = {}


def packages(context) -> list[tuple[str, bytes]]:
    """Return the China data files."""
    return []
