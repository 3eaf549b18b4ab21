"""Ray Serve import path for RayService/``serve run``: ``deploy.enigma_app:app``.

Builds the same application as ``enigma serve --ray`` from the node's enigma config (the
``ray`` section sets per-task replicas, autoscaling and resources).
"""

from enigma_core.serve.ray_serve.deployments import build_app
from enigma_core.serve.ray_serve.run import specialist_tasks
from enigma_core.serve.settings import ServeSettings

_tasks, _raw = specialist_tasks()
app = build_app(ServeSettings(host="0.0.0.0", port=8000, access_log=False), _tasks, _raw)
