"""Embedding providers: `create_provider(settings)` picks the one the settings name.

`openai` calls the OpenAI (or a compatible) embeddings API; `local` runs
all-MiniLM-L6-v2 on this machine's CPU and needs no network.
"""

from __future__ import annotations

from phiacta.config import LOCAL_EMBEDDING_DIMENSIONS, ConfigError, Settings
from phiacta.embeddings.base import EmbeddingError, EmbeddingProvider
from phiacta.embeddings.local import LocalProvider

__all__ = [
    "EmbeddingError",
    "EmbeddingProvider",
    "LocalProvider",
    "create_provider",
]


def create_provider(settings: Settings) -> EmbeddingProvider:
    """The provider `settings.embedding_provider` names, or `ConfigError` if it cannot run."""
    if settings.embedding_provider == "openai":
        if settings.openai_api_key is None or not settings.openai_api_key.get_secret_value():
            raise ConfigError(
                "OPENAI_API_KEY: required when EMBEDDING_PROVIDER=openai "
                "(set it, or use EMBEDDING_PROVIDER=local)"
            )
        # Imported here: the openai package takes seconds to import and most
        # deployments run one provider only.
        from phiacta.embeddings.openai import OpenAIProvider

        return OpenAIProvider(settings)
    if settings.embedding_dimensions != LOCAL_EMBEDDING_DIMENSIONS:
        raise ConfigError(
            f"EMBEDDING_DIMENSIONS: the local provider makes {LOCAL_EMBEDDING_DIMENSIONS}-wide "
            f"vectors, not {settings.embedding_dimensions}"
        )
    return LocalProvider()
