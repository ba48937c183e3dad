"""The xltool version, written into every template and keyed into read caches."""

__version__ = "0.1.0"
