# timing model (owner: timing)
