"""Models: loading (zoo), input preparation, and a read-only view of any model's layers."""

from emonb.models.preprocessing import PREPROCESSING, ModelSpec, prepare_images

__all__ = ["PREPROCESSING", "ModelSpec", "prepare_images"]
