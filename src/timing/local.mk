# src/timing: the timing model (owner: timing)
