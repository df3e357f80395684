"""Core kernels: two-body and J2 orbit geometry, manoeuvre delta-v, the rocket equation,
orbit lifetime, time scales. Floats and NumPy arrays in km, s, rad, kg; no units library,
no I/O, nothing above this layer imported (enforced by import-linter, pyproject.toml)."""
