"""``enigma serve``: an OpenAI-compatible HTTP server in front of one shared :class:`EnigmaEngine`.

Needs the ``enigma-core[serve]`` extra (Starlette, uvicorn, prometheus-client). Nothing here is
imported by the other CLI commands; :mod:`enigma_core.serve.server` is the entry point.
"""
