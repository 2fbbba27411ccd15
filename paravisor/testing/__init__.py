"""Reusable test support: PV32 program and page-table builders (`programs`) and
Hypothesis strategies (`strategies`, needs hypothesis) for testing engines and kernels."""
