"""The service's OpenAPI schema against its own answers: schemathesis sends a bounded number of
generated requests to every endpoint of the ASGI app (write token, so every route is reached);
no answer may be a 5xx, have an undeclared status or content type, or break its declared schema."""
import importlib.util
import shutil

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("python_multipart")
pytest.importorskip("faiss")
schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, Phase, settings  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from graphembed.datasets import karate_path  # noqa: E402

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]
EXAMPLES = 12  # per endpoint (and method)
REAL_CORE = importlib.util.find_spec("graphembed.service.core") is not None


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    """The app over a core holding one graph and one done embedding job with an index."""
    from graphembed.service.api import create_service_app

    data = tmp_path_factory.mktemp("schema") / "data"
    if REAL_CORE:
        from graphembed.service.core import ServiceCore

        core = ServiceCore(data, workers=1, max_upload_bytes=1 << 20)
        core.start()
        src = core.upload_dir / "karate.csv"
        shutil.copy(karate_path(), src)
        gid = core.add_graph(src, filename="karate.csv")["id"]
        job = core.submit({"graph": gid, "task": "embed", "method": "fastrp", "params": {"dim": 8},
                           "index": True})
        _wait(core, job["id"])
    else:
        from test_service_api import FakeCore

        core = FakeCore(data)
        src = core.upload_dir / "e.csv"
        src.write_text("a,b\nb,c\n")
        core.add_graph(src, filename="e.csv")
        core.submit({"graph": "g1", "task": "embed", "method": "fastrp", "params": {}, "index": True})
    app = create_service_app(core, max_upload_bytes=1 << 20)
    yield app, core.tokens()["write"]
    if REAL_CORE:
        core.close()


def _wait(core, jid, timeout=120):
    import time

    deadline = time.time() + timeout
    while core.get_job(jid)["state"] not in ("done", "failed", "cancelled"):
        assert time.time() < deadline, core.get_job(jid)
        time.sleep(0.1)
    assert core.get_job(jid)["state"] == "done", core.get_job(jid)


def test_generated_requests_conform(service):
    """Every operation: EXAMPLES generated requests; the failures of all of them listed at the end."""
    from hypothesis import given

    app, token = service
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    auth = {"Authorization": f"Bearer {token}"}
    failures, seen, statuses = [], 0, []
    operations = [result.ok() for result in schema.get_all_operations()]
    operations.sort(key=lambda op: op.method.upper() == "DELETE")  # deletes last: the rest use g1, j1
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
        def run(case):
            statuses.append((operation.label, case.call_and_validate(headers=auth, checks=CHECKS).status_code))

        try:
            run()
        except Exception as exc:  # noqa: BLE001 - collected, reported together
            failures.append(f"{operation.label}: {type(exc).__name__}: {str(exc)[:1500]}")
        seen += 1
    assert seen >= 14 and len(statuses) >= seen * 3
    assert not failures, "\n\n".join(failures)
