"""Schemathesis over the node's own OpenAPI spec with every check on, paid with a voucher and
each body's authorization: valid and invalid examples of each operation, then stateful runs
that chain operations.

On top of schemathesis' checks: no 5xx; every refusal in OpenAI's error format; schema-valid
data refused only for what no schema can state (which model ids exist, that the question has
text, how many tokens it makes); and the receipt count grows by one for each 2xx answer and
never for anything else.
"""

from __future__ import annotations

import copy
from typing import Any

import httpx
import schemathesis
from hostile_cases import CHAT, COMPLETIONS, HEALTH, MODELS, QUESTION, receipt_total, user
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

# codes for refusing schema-valid data that no OpenAPI schema could have warned about
UNSTATABLE = {
    "model_not_found",
    "empty_prompt",
    "invalid_prompt",
    "prompt_too_long",
    "context_length_exceeded",
    "json_too_deep",
}
CONFIG = {
    # every check; a 400 or 404 may accept valid data, as UNSTATABLE and the node's checks say
    "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "400", "404"]}},
    # read whole streams: a client that hangs up after 20 events is owed no receipt
    "max-stream-events": 100_000,
}
EXAMPLES_PER_OPERATION = 100
SCENARIOS, STEPS_PER_SCENARIO = 60, 6


def no_server_error(_ctx: Any, response: Any, case: Any) -> None:
    assert response.status_code < 500, f"{case.method} {case.path}: {response.status_code}"


def refusals_are_openai_errors(_ctx: Any, response: Any, case: Any) -> None:
    if response.status_code < 400:
        return
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    kind = "invalid_request_error" if response.status_code < 500 else "server_error"
    assert isinstance(error["message"], str) and error["message"], error
    assert error["type"] == kind, error
    assert isinstance(error["param"], str | None) and isinstance(error["code"], str | None)


def valid_data_is_refused_only_for_what_no_schema_states(_ctx: Any, response: Any, case: Any):
    positive = case.meta is not None and case.meta.generation.mode.is_positive
    if not positive or response.status_code != 400:
        return
    error = response.json()["error"]
    if error["code"] == "invalid_request" and _integral_float(case.body, error["param"]):
        return  # JSON Schema counts 4.0 as an integer; the node, on purpose, does not
    assert error["code"] in UNSTATABLE, f"schema-valid {case.body!r} refused: {error}"


def _integral_float(body: Any, param: str | None) -> bool:
    """Whether the field `param` (dotted, as the node names it) holds a float like 4.0."""
    value = body
    for step in (param or "").split("."):
        if isinstance(value, list) and step.isdigit() and int(step) < len(value):
            value = value[int(step)]
        elif isinstance(value, dict) and step in value:
            value = value[step]
        else:
            return False
    return isinstance(value, float) and value.is_integer()


OUR_CHECKS = [
    no_server_error,
    refusals_are_openai_errors,
    valid_data_is_refused_only_for_what_no_schema_states,
]


def receipts_follow_answers(case: Any, status: int, saved: int) -> None:
    answered = status < 300 and case.method.upper() == "POST"
    assert saved == answered, f"{case.method} {case.path} answered {status}, saved {saved}"


def for_this_node(spec: dict[str, Any], model_id: str) -> dict[str, Any]:
    """The spec with what only this node knows, so that valid bodies can be answered: the one
    model id it serves, and a question its datanet answers as one more form of the question;
    and OpenAPI links, which a spec without resource ids lacks: the model id listed by
    /v1/models and echoed by each answer feeds the completion routes, and every answer leads
    on to /health, where its receipt is counted."""
    spec = copy.deepcopy(spec)
    for request, question in (("ChatRequest", "messages"), ("CompletionRequest", "prompt")):
        fields = spec["components"]["schemas"][request]["properties"]
        fields["model"] = {"const": model_id}
        answerable = [user(QUESTION)] if question == "messages" else QUESTION
        fields[question] = {"anyOf": [{"const": answerable}, fields[question]]}
    operations = {path: next(iter(methods.values())) for path, methods in spec["paths"].items()}

    def link(source: str, target: str, model: str | None = None) -> None:
        links = operations[source]["responses"]["200"].setdefault("links", {})
        links[f"to {target}"] = {"operationId": operations[target]["operationId"]}
        if model is not None:
            links[f"to {target}"]["requestBody"] = {"model": model}

    for answer in (CHAT, COMPLETIONS):
        link(MODELS, answer, "$response.body#/data/0/id")
        link(answer, HEALTH)
    link(CHAT, COMPLETIONS, "$response.body#/model")
    link(COMPLETIONS, CHAT, "$response.body#/model")
    link(HEALTH, MODELS)
    return spec


def load_schema(live: Any) -> Any:
    spec = httpx.get(live.url + "/openapi.json", timeout=30).json()
    return schemathesis.openapi.from_dict(
        for_this_node(spec, live.service.config.model_id),
        config=schemathesis.Config.from_dict(CONFIG),
    )


def paid_call(live: Any, paid_for: Any, case: Any) -> dict[str, Any]:
    """How to send `case`: with the voucher and the client's authorization of its body."""
    return {"base_url": live.url, "headers": paid_for(case.body, case.path), "timeout": 120}


def test_every_operation_honours_the_spec_under_every_check(live, paid_for):
    operations = [result.ok() for result in load_schema(live).get_all_operations()]
    assert {op.path for op in operations} >= {CHAT, COMPLETIONS, MODELS, HEALTH}
    for operation in operations:
        strategy = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        )

        @given(case=strategy)
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def conforms(case):
            before, call = receipt_total(live.service), paid_call(live, paid_for, case)
            response = case.call(**call)
            saved = receipt_total(live.service) - before
            case.validate_response(response, additional_checks=OUR_CHECKS, transport_kwargs=call)
            receipts_follow_answers(case, response.status_code, saved)

        conforms()


def test_chained_operations_honour_the_spec_and_pay_for_each_answer(live, paid_for):
    machine = load_schema(live).as_state_machine()

    class PaidWorkflow(machine):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case):
            return paid_call(live, paid_for, case)

        def before_call(self, case):
            self.receipts_before = receipt_total(live.service)

        def after_call(self, response, case):
            super().after_call(response, case)
            saved = receipt_total(live.service) - self.receipts_before
            receipts_follow_answers(case, response.status_code, saved)

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            checks = [*(additional_checks or []), *OUR_CHECKS]
            super().validate_response(response, case, additional_checks=checks, **kwargs)

    PaidWorkflow.run(
        settings=settings(
            max_examples=SCENARIOS,
            stateful_step_count=STEPS_PER_SCENARIO,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            phases=[Phase.generate],
        )
    )
    assert httpx.get(live.url + HEALTH, timeout=30).status_code == 200
