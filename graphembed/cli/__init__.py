"""The click CLI: a thin layer over the library. Modules here import only click at load time."""
