"""affluent: Digital River's standard flow, implemented once, for any commerce platform."""

__version__ = "0.1.0"
