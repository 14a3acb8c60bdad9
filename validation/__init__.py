"""effgrok's validation suite: theory predictions against real JAX networks.

Run ``uv run python -m validation --profile cpu --out runs/validation``; see
:mod:`validation.framework` for the case interface and ``validation/cases/`` for the cases.
"""
