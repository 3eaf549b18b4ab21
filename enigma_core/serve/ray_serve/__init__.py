"""``enigma serve --ray``: the same HTTP API on Ray Serve (needs ``enigma-core[ray]``).

An ingress deployment runs the single-process server's own ASGI app (router and all); each
specialist task is its own deployment, reached through a deployment handle.
"""
