"""Data: the artifact manifest, FER-2013 loaders, the synthetic stand-in, image reading."""
