"""Hypercalls: one module per family, dispatched from one table; the guest ABI in abi.py."""
