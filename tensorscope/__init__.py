"""tensorscope command line: ``tensorscope run | report | dashboard``."""
