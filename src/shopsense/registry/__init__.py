"""shopsense.registry: versioned, immutable model artifacts with cards and latest/production aliases."""

from shopsense.registry.registry import (
    ALIASES,
    CARD_FILE,
    ModelVersion,
    NotFoundError,
    Registry,
    RegistryError,
    Staging,
    check_model_name,
)

__all__ = ["ALIASES", "CARD_FILE", "ModelVersion", "NotFoundError", "Registry", "RegistryError", "Staging",
           "check_model_name"]
