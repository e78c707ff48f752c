"""Input and output: graph readers, embedding files, atomic writes, user-facing errors."""
