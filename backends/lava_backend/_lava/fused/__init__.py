"""One Lava process that runs a whole process graph (the per-process graph's models inside one model)."""
