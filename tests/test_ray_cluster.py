"""The API on two Ray nodes of this machine, one replica each, one PostgreSQL, one Redis.

`pytest -m cluster` runs only this module. A head and a second node (`ray start --block`,
each with 1 CPU, its own temporary folder, ports and loopback address: bench/ray_nodes.py),
the API deployed with one replica per node (a custom resource each node has one unit of),
the head's proxy in front. The last test kills the second node under load.
"""

import uuid
from collections import Counter

import httpx
import pytest

from predictor.service import Settings
from predictor.service.ray_config import Batching, RayConfig
from tests.live_server import ALICE, KEYS, free_port, wait_ready
from tests.model_factory import manifest_entry
from tests.ray_support import import_or_fail
from tests.test_api import PHOTO, upload

pytestmark = [pytest.mark.ray, pytest.mark.slow, pytest.mark.cluster]

RATE = 100  # per key per 10 minutes: the rate test sends more, the load test fewer per key
LOADERS = {f"load{i}": f"load-secret-key-0000{i}" for i in range(4)}


@pytest.fixture(scope="module")
def database(postgres_server):
    from sqlalchemy import create_engine, text

    name = f"cluster_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return postgres_server.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(scope="module")
def cluster():
    """Two nodes; every process they started is ended afterwards, even if a test failed."""
    import_or_fail("predictor.service.ray_engine")
    from bench.node_loss import disconnect
    from bench.ray_nodes import LocalCluster

    nodes = LocalCluster()
    try:
        nodes.start_head()
        nodes.add_node("second")
        yield nodes
    finally:
        disconnect()
        nodes.stop()


@pytest.fixture(scope="module")
def api(cluster, tiny_models, database, redis_url):
    from bench.node_loss import connect, deploy_per_node, disconnect

    manifest = tiny_models / "cluster.toml"
    manifest.write_text(manifest_entry("color", "tiny.tflite"))
    settings = Settings(api_keys={**KEYS, **LOADERS}, db_url=database, manifest=str(manifest),
                        rate=RATE, per_s=600, rate_storage=redis_url, max_in_flight=8)
    port = free_port()
    try:
        connect(cluster, port)
    except (ConnectionError, RuntimeError) as first:  # a node that never came up: once more
        print(f"the cluster did not come up ({first}); starting it again:\n{cluster.logs()}")
        disconnect()
        cluster.restart(["second"])
        connect(cluster, port)
    deploy_per_node(settings, RayConfig(max_ongoing_requests=16, batching=Batching(False)))
    url = f"http://127.0.0.1:{port}"
    wait_ready(url)
    return url


def stored_labels(database):
    from sqlalchemy import create_engine, text

    engine = create_engine(database)
    with engine.connect() as conn:
        found = conn.execute(text("SELECT prediction_id, tester FROM labels")).fetchall()
    engine.dispose()
    return dict(found)


def test_replicas_on_both_nodes_answer_store_in_one_database_and_share_one_limit(api, database):
    from bench.node_loss import NODE_HEADER, node_names

    names = node_names()
    clicks = [upload(api, headers={"X-API-Key": KEYS["bob"]}) for _ in range(20)]
    labels = [httpx.post(f"{api}/v1/feedback", headers={"X-API-Key": KEYS["bob"]}, timeout=30,
                         json={"prediction_id": c.json()["prediction_id"],
                               "labels": {"color": "alpha"}}) for c in clicks]
    # RATE + 10 requests with one key: a limit counted per replica would let them all through.
    limited = [httpx.get(f"{api}/v1/models", headers=ALICE) for _ in range(RATE + 10)]

    assert [c.status_code for c in clicks + labels] == [200] * 40
    label_nodes = Counter(names[r.headers[NODE_HEADER]] for r in labels)
    assert set(label_nodes) == {"head", "second"}, label_nodes
    ids = [c.json()["prediction_id"] for c in clicks]
    assert len(set(ids)) == 20  # one sequence of ids: one database, not one per node
    assert {i: t for i, t in stored_labels(database).items() if i in ids} == {
        i: "api:bob" for i in ids}
    codes = Counter(r.status_code for r in limited)
    assert codes == {200: RATE, 429: 10}
    allowed_by = Counter(names[r.headers[NODE_HEADER]] for r in limited if r.status_code == 200)
    assert set(allowed_by) == {"head", "second"}, allowed_by
    assert {names[r.headers[NODE_HEADER]] for r in limited if r.status_code == 429} <= {
        "head", "second"}


def test_losing_a_node_under_load_loses_no_acknowledged_label(api, cluster, database):
    from bench.node_loss import answering_nodes, node_loss, node_names

    loss = node_loss(cluster, api, list(LOADERS.values()), PHOTO, duration=16, kill_at=4,
                     back_at=9, max_calls=40, label=("color", "alpha"))
    figures = loss.figures(set(stored_labels(database)))
    print("node loss:", figures)

    assert figures["exceptions"] == 0, loss.exceptions  # the client answered every call
    assert figures["degraded_not_empty"] == 0  # a failed call is flagged and empty
    assert figures["labels_acknowledged"] > 0
    assert figures["labels_lost"] == 0
    # The replica came back on the new node, and the proxy sends it requests again.
    assert figures["replica_replaced_after_s"] is not None
    assert set(node_names().values()) == {"head", "second-back"}
    answered = {node_names().get(node) for node, ok in answering_nodes(api, 30).items() if ok}
    assert answered == {"head", "second-back"}
