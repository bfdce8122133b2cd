"""The folder through which several uvicorn workers share their Prometheus samples.

Kept apart from `metrics` on purpose: importing `metrics` creates the metrics, which
in multiprocess mode writes files into this folder, so `phiacta serve` must empty it
before anything imports `metrics`.
"""

from __future__ import annotations

import os
from pathlib import Path


def multiprocess_dir() -> Path | None:
    """The folder the workers share samples through, when PROMETHEUS_MULTIPROC_DIR is set."""
    # prometheus_client itself reads this variable when the metrics are created, so it
    # is the one setting read from the environment rather than from `Settings`.
    value = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return Path(value) if value else None


def prepare_multiprocess_dir() -> None:
    """Create the folder and remove the previous run's sample files.

    Call it once, in the parent process, before the workers start.
    """
    folder = multiprocess_dir()
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink()
