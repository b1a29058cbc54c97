"""The client's version: the gateway's it was made with."""

__version__ = "0.1.0"
