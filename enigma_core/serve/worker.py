"""``python -m enigma_core.serve.worker FD``: one worker process of a multi-worker server."""

from enigma_core.serve.server import worker_main

if __name__ == "__main__":
    worker_main()
