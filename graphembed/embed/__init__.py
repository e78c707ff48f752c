"""Embedding estimators: validate parameters, call the numba kernels, return an Embedding."""
