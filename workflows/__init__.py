"""One module per workflow; ``workflows.registry.ALL_WORKFLOWS`` is what the worker registers.

This file stays empty on purpose: the workflow sandbox re-imports a workflow module's package
for every new run, so importing every workflow here made each run load all nine.
"""
