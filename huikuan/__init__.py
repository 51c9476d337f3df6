"""Huikuan (回款): accounts-receivable collections for B2B companies."""

__version__ = "0.1.0"
