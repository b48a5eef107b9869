"""restoregate: decide whether a freshly restored database may go live."""

__version__ = "0.1.0"
