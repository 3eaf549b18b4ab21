"""Training: the recipe contract plugins implement and the one core loop (torch, lazily).

Importing this package never imports torch; ``loop``, ``checkpoint`` and ``plots`` do.
"""
