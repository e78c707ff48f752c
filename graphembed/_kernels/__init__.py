"""numba kernels: pure array code, no I/O and no validation (the estimators validate)."""


def not_compiled(kernels) -> bool:
    """True when one of ``kernels`` ("module.function" names under this package) has no usable
    entry in numba's on-disk cache, so the next call compiles it (tens of seconds for parallel
    kernels). Used to tell the user before a first run looks hung; False when unsure."""
    import importlib

    try:
        for name in kernels:
            module, function = name.rsplit(".", 1)
            dispatcher = getattr(importlib.import_module(f"graphembed._kernels.{module}"), function)
            # the index numba keeps per function; empty when missing or stale (source changed)
            if not dispatcher._cache._cache_file._load_index():
                return True
    except Exception:  # a numba without these internals: say nothing
        return False
    return False
