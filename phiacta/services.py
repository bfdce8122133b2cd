"""The process-wide services the app's lifespan creates and every request shares."""

from __future__ import annotations

from dataclasses import dataclass

from phiacta.auth.authenticate import Authenticator
from phiacta.config import Settings
from phiacta.db.pool import Pool


@dataclass
class Services:
    """Created once per process by the lifespan; passed around, never global."""

    settings: Settings
    pool: Pool
    head_revision: str
    authenticator: Authenticator
