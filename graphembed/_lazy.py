"""Lazy package attributes (PEP 562): a public name imports its module on first use."""
import importlib


def lazy_exports(package, names):
    """``(__getattr__, __dir__, __all__)`` for ``package`` exporting ``names``.

    ``names`` maps each public name to the module that defines it; a name equal to that module's
    last component exports the module itself.
    """
    exports = dict(names)

    def __getattr__(name):
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        mod = importlib.import_module(module)
        value = mod if module.endswith("." + name) else getattr(mod, name)
        vars(importlib.import_module(package))[name] = value
        return value

    def __dir__():
        return sorted(set(vars(importlib.import_module(package))) | set(exports))

    return __getattr__, __dir__, sorted(exports)
