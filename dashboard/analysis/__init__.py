"""Analysis of the tidy results table (no Streamlit): regressions, speedups, roofline, machines.

Every function takes the table from :func:`dashboard.data.load_results` (or a filtered slice of it)
and returns a pandas DataFrame; see each module's docstring.
"""
