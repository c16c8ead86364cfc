"""Custom fields: admin definitions, validated values, filters, and removed options flagged."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.api.customer_support import create_customer
from tests.api.intake_support import anonymous, make_category, ticket
from tests.api.test_tickets_slice import new_ticket
from tests.conftest import Member, Org

API = "/api/v1"


def key(label: str) -> str:
    return f"{label}_{uuid.uuid4().hex[:8]}"


async def define(http: httpx.AsyncClient, admin: Member, **body: Any) -> dict[str, Any]:
    base = {"label_zh": "字段", "label_en": "Field", "required": False}
    response = await http.post(f"{API}/custom-fields", json={**base, **body}, headers=admin.headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_customer_fields_validate_filter_and_flag_removed_options(
    http: httpx.AsyncClient, org: Org
) -> None:
    level = key("level")
    since = key("since")
    await define(
        http, org.admin, entity="customer", key=level, type="select", options=["A", "B", "C"]
    )
    await define(http, org.admin, entity="customer", key=since, type="date")
    template = await http.get(
        f"{API}/customers/import-template", params={"format": "csv"}, headers=org.manager.headers
    )
    header = template.content.decode("utf-8-sig").splitlines()[0].split(",")
    assert {f"cf.{level}", f"cf.{since}"} <= set(header)
    bad = await http.post(
        f"{API}/customers",
        json={"name": key("客户"), "custom_fields": {level: "Z", since: "yesterday"}},
        headers=org.manager.headers,
    )
    assert bad.status_code == 422
    fields = {e["field"] for e in bad.json()["error"]["details"]["errors"]}
    assert fields == {f"custom_fields.{level}", f"custom_fields.{since}"}
    unknown = await http.post(
        f"{API}/customers",
        json={"name": key("客户"), "custom_fields": {"nope": 1}},
        headers=org.manager.headers,
    )
    assert unknown.json()["error"]["details"]["errors"][0]["field"] == "custom_fields.nope"
    b = await create_customer(http, org.manager, custom_fields={level: "B", since: "2021-03-04"})
    c = await create_customer(http, org.manager, custom_fields={level: "C"})
    assert b["custom_fields"] == {level: "B", since: "2021-03-04"}
    listed = await http.get(
        f"{API}/customers", params={f"cf.{level}": "B"}, headers=org.manager.headers
    )
    assert [x["id"] for x in listed.json()["items"]] == [b["id"]]
    bad_filter = await http.get(
        f"{API}/customers", params={"cf.missing": "1"}, headers=org.manager.headers
    )
    assert bad_filter.status_code == 422
    # Patch merges; null clears.
    patched = await http.patch(
        f"{API}/customers/{b['id']}",
        json={"custom_fields": {since: None}},
        headers=org.manager.headers,
    )
    assert patched.json()["custom_fields"] == {level: "B"}
    # Option C is removed: the stored value stays readable and is flagged.
    definition = (
        await http.get(
            f"{API}/custom-fields", params={"entity": "customer"}, headers=org.admin.headers
        )
    ).json()
    field_id = next(d["id"] for d in definition if d["key"] == level)
    changed = await http.patch(
        f"{API}/custom-fields/{field_id}", json={"options": ["A", "B"]}, headers=org.admin.headers
    )
    assert changed.status_code == 200
    shown = (await http.get(f"{API}/customers/{c['id']}", headers=org.manager.headers)).json()
    assert shown["custom_fields"] == {level: "C"}
    assert shown["custom_field_flags"] == {level: "option_removed"}
    refused = await http.patch(
        f"{API}/customers/{c['id']}",
        json={"custom_fields": {level: "C"}},
        headers=org.manager.headers,
    )
    assert refused.status_code == 422


async def test_only_admins_define_fields(http: httpx.AsyncClient, org: Org) -> None:
    response = await http.post(
        f"{API}/custom-fields",
        json={
            "entity": "ticket",
            "key": key("x"),
            "label_zh": "甲",
            "label_en": "X",
            "type": "bool",
        },
        headers=org.manager.headers,
    )
    assert response.status_code == 403
    no_options = await http.post(
        f"{API}/custom-fields",
        json={
            "entity": "ticket",
            "key": key("x"),
            "label_zh": "甲",
            "label_en": "X",
            "type": "select",
        },
        headers=org.admin.headers,
    )
    assert no_options.json()["error"]["details"]["errors"][0]["field"] == "options"


async def test_ticket_fields_by_category_required_filtered_and_on_the_public_form(
    app: object, http: httpx.AsyncClient, org: Org
) -> None:
    category = await make_category(http, org.admin, org.department_id)
    model = key("model")
    units = key("units")
    await define(
        http, org.admin, entity="ticket", key=model, type="text", required=True,
        categories=[category], public=True,
    )  # fmt: skip
    await define(http, org.admin, entity="ticket", key=units, type="number")
    body = new_ticket(department_id=org.department_id, category=category)
    missing = await http.post(f"{API}/tickets", json=body, headers=org.manager.headers)
    assert missing.status_code == 422
    assert missing.json()["error"]["details"]["errors"][0]["field"] == f"custom_fields.{model}"
    # Other categories do not need it.
    other = await http.post(
        f"{API}/tickets",
        json=new_ticket(department_id=org.department_id, custom_fields={units: 3}),
        headers=org.manager.headers,
    )
    assert other.status_code == 201, other.text
    assert other.json()["custom_fields"] == {units: 3}
    made = await http.post(
        f"{API}/tickets",
        json={**body, "custom_fields": {model: "X-200", units: 12}},
        headers=org.manager.headers,
    )
    assert made.status_code == 201, made.text
    found = await http.get(
        f"{API}/tickets", params={f"cf.{units}": "12"}, headers=org.admin.headers
    )
    assert [t["id"] for t in found.json()["items"]] == [made.json()["id"]]
    async with anonymous(app) as public:
        fields = (await public.get(f"{API}/public/custom-fields")).json()
        assert model in {f["key"] for f in fields}
        assert units not in {f["key"] for f in fields}
        hidden = await public.post(
            f"{API}/public/feedback",
            json={"category": category, "description": "d", "custom_fields": {units: 1}},
        )
        assert hidden.status_code == 422
        created = await public.post(
            f"{API}/public/feedback",
            json={"category": category, "description": "d", "custom_fields": {model: "Z1"}},
        )
    assert created.status_code == 201, created.text
    staff = await ticket(http, org.admin, created.json()["number"])
    assert staff["custom_fields"] == {model: "Z1"}


async def test_import_reads_custom_field_columns(http: httpx.AsyncClient, org: Org) -> None:
    grade = key("grade")
    lines = key("lines")
    await define(http, org.admin, entity="customer", key=grade, type="select", options=["甲", "乙"])
    await define(
        http, org.admin, entity="customer", key=lines, type="multiselect", options=["a", "b"]
    )
    good, bad = key("导入甲"), key("导入乙")
    content = (f"name,region,cf.{grade},cf.{lines}\n{good},上海,甲,a;b\n{bad},北京,丙,a\n").encode()
    response = await http.post(
        f"{API}/customers/import",
        files={"file": ("cf.csv", content)},
        headers=org.manager.headers,
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["created"] == 1
    assert [(e["row"], e["field"]) for e in report["errors"]] == [(3, f"custom_fields.{grade}")]
    found = await http.get(
        f"{API}/customers", params={f"cf.{lines}": "b"}, headers=org.manager.headers
    )
    assert [c["name"] for c in found.json()["items"]] == [good]
    assert found.json()["items"][0]["custom_fields"] == {grade: "甲", lines: ["a", "b"]}
