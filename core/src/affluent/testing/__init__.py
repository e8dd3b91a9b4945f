"""Test support for affluent and its adapters (install the ``testing`` extra)."""
