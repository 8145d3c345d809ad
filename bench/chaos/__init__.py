"""``make chaos``: fault injection on a real stack, and the proof that nothing was lost."""
