"""numba kernels: pure array code, no I/O and no validation (the estimators validate)."""
