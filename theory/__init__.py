"""Symbolic derivations (sympy) of the closed forms effgrok's solvers rely on.

Each module derives its results, can print/save them (LaTeX into ``docs/theory/``) and
exposes ``check()`` functions that compare the symbolic results with effgrok's numeric code.
``python -m theory`` regenerates everything.
"""

#: Modules run by ``python -m theory`` (each has ``main(out_dir)`` and ``check()``).
MODULES = ["effective_loss", "gram_spectrum", "critical_size", "kernels", "hermite", "learning_time"]
