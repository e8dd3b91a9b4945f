"""A template affluent adapter for a small JSON platform (copy and rename)."""
