"""A crowd of simultaneous clients against one worker, beside a bare endpoint: run ``python -m bench.crowd``."""
