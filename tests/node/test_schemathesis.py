"""Property-based API testing from the node's own OpenAPI spec (schemathesis)."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from paid_requests import paid_headers
from schemathesis.checks import positive_data_acceptance


def test_the_api_honours_its_spec_and_never_fails_with_a_5xx(live, budget):
    schema = schemathesis.openapi.from_url(live.url + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {
        "/v1/chat/completions",
        "/v1/completions",
        "/v1/models",
        "/health",
    }
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def conforms(case):
            node, voucher = live.service.node_key.address, budget.to_header()
            headers = paid_headers(live.t, node, voucher, case.body, case.path)
            response = case.call(base_url=live.url, timeout=120, headers=headers)
            # every check but "schema-valid data is accepted": the spec cannot say that a chat
            # needs a user message with text, or which model ids this node serves
            case.validate_response(response, excluded_checks=[positive_data_acceptance])
            if response.status_code >= 400:
                error = response.json()["error"]
                assert error["message"] and error["type"] == "invalid_request_error"

        conforms()
