"""Regional data packages: market -> machine-readable files placed beside the regional annexes.

Each market module offers `packages(context) -> [(path, bytes)]`; PACKAGES maps market names to
them. Pure functions of the model: files are written by package.write_build with the rest."""

from __future__ import annotations

from . import cn, eu, uk, us, us_ind

PACKAGES = {"us": us.packages, "eu": eu.packages, "uk": uk.packages, "cn": cn.packages}
# Data sets shared by the annex templates (regional_data(name)) and the JSON/XML packages.
DATA = {**us.DATA, **us_ind.DATA, **eu.DATA, **uk.DATA, **cn.DATA}


def data_packages(context) -> list[tuple[str, bytes]]:
    """Return the data files of the build's market (none for neutral)."""
    builder = PACKAGES.get(context.market)
    return builder(context) if builder else []
