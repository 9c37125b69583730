"""Analysis of the tidy results table (no Streamlit): regressions, speedups, roofline, machines.

Every function takes the table from :func:`tensorscope.results.load_results` (or a filtered slice of it)
and returns a pandas DataFrame; see each module's docstring.
"""

from tensorscope.analysis import machines, regressions, roofline, speedups

__all__ = ["machines", "regressions", "roofline", "speedups"]
