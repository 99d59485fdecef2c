"""The published OpenAPI document: valid, complete, errors as problem documents, browsable."""

import re

import pytest
from openapi_spec_validator import validate

# The document itself and its page are not API operations.
NOT_OPERATIONS = {"/api/v1/openapi.json", "/api/docs", "/api/docs/assets/<path:filename>"}


@pytest.fixture
def spec(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json


def test_document_is_valid_openapi(spec):
    assert spec["openapi"].startswith("3.1")
    validate(spec)


def test_every_api_route_is_documented(app, spec):
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.rule in NOT_OPERATIONS:
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if method.lower() not in spec["paths"].get(path, {}):
                missing.append(f"{method} {path}")
    assert missing == []


def test_every_documented_error_is_a_problem_document(spec):
    problem = {"$ref": "#/components/schemas/Problem"}
    for name, response in spec["components"]["responses"].items():
        if "content" in response:
            assert response["content"]["application/problem+json"]["schema"] == problem, name
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            assert operation["responses"]["default"] == {
                "$ref": "#/components/responses/DEFAULT_ERROR"
            }
            for status, response in operation["responses"].items():
                if status.isdigit() and int(status) >= 400 and "$ref" not in response:
                    content = response["content"]["application/problem+json"]
                    assert content["schema"] == problem, (path, method, status)
    assert {"type", "title", "status"} <= set(spec["components"]["schemas"]["Problem"]["required"])


def test_case_routes_document_bodies_roles_and_etags(spec):
    transitions = spec["paths"]["/api/v1/cases/{case_id}/transitions"]["post"]
    body = transitions["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/Transition"}
    assert transitions["security"] == [{"bearerAuth": []}]
    assert {"409", "412", "422"} <= set(transitions["responses"])
    assert "ETag" in transitions["responses"]["200"]["headers"]
    assert any(p["name"] == "If-Match" for p in transitions["parameters"])
    listing = spec["paths"]["/api/v1/cases"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {
        "status",
        "source",
        "q",
        "due_before",
        "page",
        "per_page",
    }
    case = spec["components"]["schemas"]["Case"]["properties"]
    assert case["allowed_transitions"]["type"] == "array"
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_intake_documents_xml_and_json_bodies(spec):
    intake = spec["paths"]["/api/v1/sources/{source_id}/referrals"]["post"]
    assert {"application/xml", "application/json"} <= set(intake["requestBody"]["content"])


def test_docs_page_works_without_internet(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/api/v1/openapi.json" in html
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets and all(asset.startswith("/api/docs/assets/") for asset in assets)
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
        assert len(response.data) > 1000
