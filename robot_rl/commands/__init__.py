"""One module per ``robot-rl`` command, each with ``run(cfg) -> int``."""
