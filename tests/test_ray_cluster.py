"""A two-node Ray cluster simulated on this machine: the code task's replica is placed on the
second node through a custom resource from the config's ``ray`` section, and still answers."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.ray_support import NO_RAY, assert_none_left

pytest.importorskip("ray.serve", reason=NO_RAY)
pytestmark = pytest.mark.ray

CODE = "write a function that reverses a string"
TAG = "ENIGMA_TEST_RAY_CLUSTER"


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[Any, str]]:
    """Head (resource ``head``) and a second node (``second_node``), 1 CPU each; enigma on it."""
    import ray
    from ray import serve
    from ray.cluster_utils import Cluster

    from enigma_core.serve.ray_serve.deployments import APP_NAME, build_app
    from enigma_core.serve.settings import ServeSettings

    tag = f"ray-cluster-test-{os.getpid()}"
    os.environ[TAG] = tag  # every process the cluster starts inherits it: found after shutdown
    made = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "resources": {"head": 1}})
    second = made.add_node(num_cpus=1, resources={"second_node": 1})
    try:
        ray.init(address=made.address, namespace="serve", log_to_driver=False)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        raw = {
            "tasks": {
                "code": {"resources": {"second_node": 0.01}},
                "chat": {"resources": {"head": 0.01}},
            }
        }
        settings = ServeSettings(port=port, access_log=False)
        serve.run(build_app(settings, ["chat", "code"], raw), name=APP_NAME, route_prefix="/")
        yield second, f"http://127.0.0.1:{port}"
    finally:
        serve.shutdown()
        ray.shutdown()
        made.shutdown()
        del os.environ[TAG]
        assert_none_left(TAG, tag)


def test_specialist_runs_on_the_second_node(cluster: tuple[Any, str]) -> None:
    from ray import serve

    second, url = cluster
    code = serve.get_deployment_handle("task-code", app_name="enigma").where.remote()
    chat = serve.get_deployment_handle("task-chat", app_name="enigma").where.remote()
    assert code.result(timeout_s=60)["node"] == second.node_id
    assert chat.result(timeout_s=60)["node"] != second.node_id
    response = httpx.post(url + "/v1/route", json={"input": CODE}, timeout=120)
    assert response.status_code == 200, response.text
    assert response.json()["task"] == "code" and "def " in response.json()["output"]


def test_bad_ray_config_is_one_clear_line() -> None:
    from enigma_core.errors import EnigmaError
    from enigma_core.serve.ray_serve.options import deployment_options

    with pytest.raises(EnigmaError, match=r"'ray\.tasks\.code\.num_cpu' is unknown"):
        deployment_options({"tasks": {"code": {"num_cpu": 1}}}, "code")
    with pytest.raises(EnigmaError, match=r"'ray\.default\.num_replicas' must be an integer"):
        deployment_options({"default": {"num_replicas": 0.5}}, "code")
    options = deployment_options(
        {"tasks": {"code": {"autoscaling_config": {"max_replicas": 4}}}}, "code"
    )
    assert "num_replicas" not in options
    assert options["ray_actor_options"] == {"num_cpus": 0.25, "num_gpus": 0.0}
