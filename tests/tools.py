"""System tools the tests need: skip without them, except in CI where a missing tool fails."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def require_tool(name: str) -> str:
    """Return the tool's path; skip the test without it, or fail when DOSSIERGEN_REQUIRE_TOOLS=1."""
    path = shutil.which(name)
    if path:
        return path
    message = f"{name} is not installed (make setup installs it on Debian)"
    if os.environ.get("DOSSIERGEN_REQUIRE_TOOLS") == "1":
        pytest.fail(message)
    pytest.skip(message)


def libreoffice_convert(files: list[Path], target: Path, fmt: str = "pdf") -> subprocess.CompletedProcess:
    """Convert files with LibreOffice headless into target (one process for all files)."""
    soffice = require_tool("soffice")
    profile = target / ".lo-profile"
    return subprocess.run([soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
                           "--convert-to", fmt, "--outdir", str(target), *map(str, files)],
                          capture_output=True, text=True, timeout=1800)
