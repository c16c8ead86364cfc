"""Policy versions over HTTP: history, dotted-path diffs, rule 422s, scope 409, audit diffs."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.test_sla_admin import client, create_policy, policy_body, root, unique
from tests.conftest import Member

__all__ = ["client", "root"]


async def put_policy(
    client: httpx.AsyncClient, root: Member, policy_id: int, body: dict[str, Any]
) -> httpx.Response:
    return await client.put(f"/api/v1/sla-policies/{policy_id}", json=body, headers=root.headers)


async def test_versions_are_listed_and_diffed_by_dotted_path(
    client: httpx.AsyncClient, root: Member
) -> None:
    name = unique("versions")
    policy = await create_policy(client, root, policy_body(name, scope={"categories": [name]}))
    changed = policy_body(name, first="PT1H", scope={"categories": [name]})
    changed["escalation"][1]["notify"] = "role:admin"
    response = await put_policy(client, root, policy["id"], changed)
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 2

    versions = await client.get(
        f"/api/v1/sla-policies/{policy['id']}/versions", headers=root.headers
    )
    assert versions.status_code == 200
    items = versions.json()["items"]
    assert [v["version"] for v in items] == [1, 2]
    assert all(v["created_by"] == root.id for v in items)
    assert items[0]["body"]["targets"]["urgent"]["first_response"] == "PT2H"

    diff = await client.get(
        f"/api/v1/sla-policies/{policy['id']}/versions/1/diff/2", headers=root.headers
    )
    assert diff.status_code == 200
    changes = {c["path"]: (c["from"], c["to"]) for c in diff.json()["changes"]}
    assert changes == {
        "targets.urgent.first_response": ("PT2H", "PT1H"),
        "targets.normal.first_response": ("PT2H", "PT1H"),
        "targets.low.first_response": ("PT2H", "PT1H"),
        "escalation.1.notify": ("department_manager", "role:admin"),
    }
    missing = await client.get(
        f"/api/v1/sla-policies/{policy['id']}/versions/1/diff/9", headers=root.headers
    )
    assert missing.status_code == 404

    log = await client.get(
        "/api/v1/audit/log", params={"action": "sla_policy.new_version"}, headers=root.headers
    )
    entry = next(e for e in log.json()["items"] if e["resource_id"] == str(policy["id"]))
    assert entry["actor_id"] == root.id
    paths = {c["path"] for c in entry["data"]["changes"]}
    assert "escalation.1.notify" in paths


async def test_rule_violations_are_422_naming_the_field(
    client: httpx.AsyncClient, root: Member
) -> None:
    name = unique("rules")
    body = policy_body(name)
    body["targets"]["normal"] = {"first_response": "PT8H", "resolution": "PT4H"}
    response = await client.post("/api/v1/sla-policies", json=body, headers=root.headers)
    assert response.status_code == 422
    fields = [e["field"] for e in response.json()["error"]["details"]["errors"]]
    assert fields == ["body.targets.normal.resolution"]

    body = policy_body(name)
    body["escalation"] = [
        {"at": "PT2H", "notify": "assignee"},
        {"at": "PT30M", "notify": "role:admin"},
    ]
    response = await client.post("/api/v1/sla-policies", json=body, headers=root.headers)
    assert response.status_code == 422
    fields = [e["field"] for e in response.json()["error"]["details"]["errors"]]
    assert fields == ["body.escalation.1.at"]

    for warn_at in (0, 1, 1.5):
        response = await client.post(
            "/api/v1/sla-policies", json=policy_body(name, warn_at=warn_at), headers=root.headers
        )
        assert response.status_code == 422, warn_at
        assert "warn_at" in response.text

    body = policy_body(name)
    body["targets"]["low"]["first_response"] = "PT0S"
    response = await client.post("/api/v1/sla-policies", json=body, headers=root.headers)
    assert response.status_code == 422
    assert "targets" in response.text


async def test_the_same_scope_twice_is_409_and_order_does_not_matter(
    client: httpx.AsyncClient, root: Member
) -> None:
    a, b = unique("scope-a"), unique("scope-b")
    scope = {"categories": [a, b], "tiers": ["core"]}
    await create_policy(client, root, policy_body(unique("first"), scope=scope))
    same = {"categories": [b, a, a], "tiers": ["core"]}
    response = await client.post(
        "/api/v1/sla-policies", json=policy_body(unique("second"), scope=same), headers=root.headers
    )
    assert response.status_code == 409
    assert response.json()["error"]["details"]["field"] == "body.scope"
    # A narrower scope is a different scope: allowed, and more specific.
    narrower = {"categories": [a], "tiers": ["core"]}
    other = await create_policy(client, root, policy_body(unique("third"), scope=narrower))
    # Moving it onto the first one's scope by a new version is refused too.
    response = await put_policy(client, root, other["id"], policy_body(other["name"], scope=same))
    assert response.status_code == 409
