"""The NumPy core: geometry, the problem, the rules and their gradients, which
products make each cell, names, and the references of ``check``.

Nothing here imports rich, typer or yaml; the render and CLI layers build on it.
"""
