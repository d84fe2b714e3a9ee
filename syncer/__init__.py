"""syncer: copies EV-charging sessions from an operator's API gateway into SQL tables."""

__version__ = "0.1.0"
