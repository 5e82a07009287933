"""The semantic policy diff (``modelrouter.policy.diff``): what a new version changes, field by field.

Properties: a policy never differs from itself (nor from itself written another way); the diff of B
against A is the mirror image of A against B; two policies are equal exactly when the diff is empty, and
the ids added and removed are the set differences.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.helpers import EXAMPLE_POLICY, build_policy, minimal_policy, model_entry

from modelrouter.policy import Policy
from modelrouter.policy.diff import ABSENT, ORDER, Change, diff_policies, plain

EXAMPLE: dict[str, Any] = yaml.safe_load(EXAMPLE_POLICY.read_text())


def _example(**changes: Any) -> dict[str, Any]:
    document = copy.deepcopy(EXAMPLE)
    document.update(changes)
    return document


def _named(items: list[dict[str, Any]], name: str, key: str = "name") -> dict[str, Any]:
    (item,) = [item for item in items if item[key] == name]
    return item


# --- Concrete changes ----------------------------------------------------------------------------------


def test_a_model_price_change_names_the_field_and_both_values() -> None:
    # Given the example policy and a copy where nova-micro's input price doubled
    new = _example()
    _named(new["models"], "nova-micro", "id")["pricing"]["input_per_mtok"] = 0.07
    # When they are compared
    diff = diff_policies(build_policy(EXAMPLE), build_policy(new))
    # Then the model changed in that one field, and nothing else did
    assert diff.models.changed == {"nova-micro": (Change("pricing.input_per_mtok", 0.035, 0.07),)}
    assert diff.settings == ()
    assert diff.tenants.empty
    assert diff.routes.empty
    assert not diff.tenant_routes
    assert not diff.equal


def test_models_tenants_and_routes_added_and_removed_are_named_in_each_versions_order() -> None:
    # Given a version with a new model and tenant and without the vision route (and what named it)
    new = _example()
    new["models"].append(model_entry("brand-new"))
    new["tenants"].append({"id": "newco", "budget": {"monthly_usd": 10}})
    new["routes"] = [route for route in new["routes"] if route["name"] != "vision"]
    # When compared with the example
    diff = diff_policies(build_policy(EXAMPLE), build_policy(new))
    # Then each appears once, in its section
    assert (diff.models.added, diff.models.removed) == (("brand-new",), ())
    assert (diff.tenants.added, diff.tenants.removed) == (("newco",), ())
    assert (diff.routes.added, diff.routes.removed) == ((), ("vision",))
    # And every tenant of both versions lost the vision route (it had no when.tenants)
    assert set(diff.tenant_routes) == {tenant["id"] for tenant in EXAMPLE["tenants"]}
    assert {routes.removed for routes in diff.tenant_routes.values()} == {("vision",)}


def test_a_route_change_names_its_strategy_models_and_conditions() -> None:
    # Given budget-saver turned from a cascade into a fallback list, restricted to one tenant
    new = _example()
    route = _named(new["routes"], "budget-saver")
    route["strategy"] = "fallback"
    route["models"] = ["nova-lite", "nova-micro"]
    route["when"]["tenants"] = ["devtools"]
    # When compared
    diff = diff_policies(build_policy(EXAMPLE), build_policy(new))
    # Then each field's change is listed with its values
    changes = {change.path: (change.old, change.new) for change in diff.routes.changed["budget-saver"]}
    assert changes == {
        "strategy": ("cascade", "fallback"),
        "models": (["nova-micro", "llama-70b-bedrock", "nova-lite"], ["nova-lite", "nova-micro"]),
        "when.tenants": (None, ["devtools"]),
    }
    # And the tenants it no longer admits lost it (unless it still serves them another way)
    assert diff.tenant_routes["devtools"].changed == ("budget-saver",)
    assert diff.tenant_routes["lexdoc-eu"].removed == ("budget-saver",)


def test_moving_a_route_is_an_order_change_for_the_tenants_it_reaches() -> None:
    # Given the first two routes swapped (the first match wins, so this changes routing)
    new = _example()
    new["routes"][0], new["routes"][1] = new["routes"][1], new["routes"][0]
    first, second = EXAMPLE["routes"][0]["name"], EXAMPLE["routes"][1]["name"]
    # When compared
    diff = diff_policies(build_policy(EXAMPLE), build_policy(new))
    # Then the routes section says so, and nothing else changed in them
    assert diff.routes.order is not None
    old_order, new_order = diff.routes.order
    assert old_order[:2] == (first, second)
    assert new_order[:2] == (second, first)
    assert not diff.routes.changed
    reordered = {tenant for tenant, routes in diff.tenant_routes.items() if routes.reordered}
    assert reordered
    assert all(tenant in reordered for tenant in EXAMPLE["routes"][0]["when"].get("tenants", []))


def test_named_items_inside_a_route_are_compared_by_name_and_order() -> None:
    # Given a weighted route with two variants, then one reweighted, one added and the order changed
    def policy_with(variants: list[dict[str, Any]]) -> Policy:
        document = minimal_policy()
        document["routes"] = [{"name": "default", "strategy": "weighted", "variants": variants}]
        return build_policy(document)

    champion = {"name": "champion", "weight": 90, "models": ["small"]}
    challenger = {"name": "challenger", "weight": 10, "models": ["large"]}
    canary = {"name": "canary", "weight": 1, "models": ["large"]}
    old = policy_with([champion, challenger])
    new = policy_with([{**challenger, "weight": 20}, champion, canary])
    # When compared
    (changes,) = diff_policies(old, new).routes.changed.values()
    # Then each variant is named, and the order is a change of its own
    by_path = {change.path: change for change in changes}
    assert by_path["variants[challenger].weight"] == Change("variants[challenger].weight", 10.0, 20.0)
    assert by_path["variants[canary]"].old is ABSENT
    assert by_path["variants[canary]"].new["weight"] == 1.0
    assert by_path["variants" + ORDER] == Change("variants" + ORDER, ["champion", "challenger"],
                                                 ["challenger", "champion"])  # fmt: skip


def test_settings_are_every_top_level_field_besides_the_sections() -> None:
    new = _example(defaults={**EXAMPLE.get("defaults", {}), "budget_store_failure": "fail_open"})
    new["description"] = "changed"
    diff = diff_policies(build_policy(EXAMPLE), build_policy(new))
    assert {change.path for change in diff.settings} == {"defaults.budget_store_failure", "description"}


def test_defaults_written_out_and_another_key_order_are_no_difference() -> None:
    # Given the minimal policy, and the same with defaults spelled out and keys in another order
    document = minimal_policy()
    explicit = copy.deepcopy(document)
    explicit["routes"][0].update({"strategy": "fallback", "streaming": "auto", "require_capabilities": []})
    explicit["tenants"][0] = dict(reversed(list({**explicit["tenants"][0], "store_prompts": False}.items())))
    explicit["defaults"] = {"budget_store_failure": "fail_closed"}
    # When compared
    diff = diff_policies(build_policy(document), build_policy(explicit))
    # Then they are the same policy
    assert diff.equal, diff.to_json()


def test_the_json_form_leaves_out_the_absent_side() -> None:
    assert Change("x", ABSENT, 1).to_json() == {"path": "x", "new": 1}
    assert Change("x", 1, ABSENT).to_json() == {"path": "x", "old": 1}
    assert Change("x", None, 1).to_json() == {"path": "x", "old": None, "new": 1}


# --- Properties ------------------------------------------------------------------------------------------

MODEL_IDS = ("m1", "m2", "m3", "m4")
TENANT_IDS = ("t1", "t2", "t3")


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    """Valid policies drawn from a small pool: models with prices, tenants with budgets, fallback routes
    with conditions, in any order."""
    models = draw(st.lists(st.sampled_from(MODEL_IDS), min_size=1, max_size=4, unique=True))
    tenants = draw(st.lists(st.sampled_from(TENANT_IDS), min_size=1, max_size=3, unique=True))
    price = st.sampled_from([0.5, 1.0, 2.0])
    document = minimal_policy()
    document["models"] = [
        model_entry(m, pricing={"input_per_mtok": draw(price), "output_per_mtok": draw(price)},
                    tags=draw(st.lists(st.sampled_from(["general", "cheap"]), min_size=1, unique=True)))
        for m in models
    ]  # fmt: skip
    document["tenants"] = [
        {"id": t, "budget": {"daily_usd": draw(st.sampled_from([1, 5, 10]))},
         "max_classification": "confidential",
         **({"allowed_models": draw(st.lists(st.sampled_from(models), min_size=1, unique=True))}
            if draw(st.booleans()) else {})}
        for t in tenants
    ]  # fmt: skip
    routes: list[dict[str, Any]] = []
    for index in range(draw(st.integers(0, 3))):
        # each route has a tag of its own, so none shadows another (an unreachable route is an error)
        when: dict[str, Any] = {"tags": [f"tag{index}"]}
        when["tenants"] = draw(st.lists(st.sampled_from(tenants), min_size=1, unique=True))
        if draw(st.booleans()):
            when["has_tools"] = draw(st.booleans())
        chosen = draw(st.lists(st.sampled_from(models), min_size=1, unique=True))
        routes.append({"name": f"r{index}", "when": when, "models": chosen})
    routes = draw(st.permutations(routes)) if routes else routes
    routes.append(
        {"name": "default", "models": draw(st.lists(st.sampled_from(models), min_size=1, unique=True))}
    )
    document["routes"] = routes
    if draw(st.booleans()):
        document["defaults"] = {"budget_store_failure": "fail_open"}
    return build_policy(document)


def _mirror(document: Any) -> Any:
    """The test's own idea of a mirror image: added ↔ removed, old ↔ new, the order's sides swapped."""
    if isinstance(document, list):
        return [_mirror(item) for item in document]
    if not isinstance(document, dict):
        return document
    swapped = {"added": "removed", "removed": "added", "old": "new", "new": "old"}
    return {swapped.get(key, key): _mirror(value) for key, value in document.items()}


@settings(max_examples=60, deadline=None)
@given(policies())
def test_a_policy_never_differs_from_itself(policy: Policy) -> None:
    # Given a policy, and the same policy read again from its own plain form
    again = Policy.model_validate(plain(policy))
    # Then neither differs from it
    assert diff_policies(policy, policy).equal
    assert diff_policies(policy, again).equal


@settings(max_examples=80, deadline=None)
@given(policies(), policies())
def test_the_diff_both_ways_are_mirror_images(a: Policy, b: Policy) -> None:
    forward, backward = diff_policies(a, b).to_json(), diff_policies(b, a).to_json()
    assert backward == _mirror(forward)


@settings(max_examples=80, deadline=None)
@given(policies(), policies())
def test_the_diff_is_empty_exactly_when_the_policies_are_equal(a: Policy, b: Policy) -> None:
    diff = diff_policies(a, b)
    assert diff.equal == (a == b)
    old_models, new_models = {m.id for m in a.models}, {m.id for m in b.models}
    assert set(diff.models.added) == new_models - old_models
    assert set(diff.models.removed) == old_models - new_models
    assert set(diff.models.changed) <= old_models & new_models
    assert set(diff.tenant_routes) <= {t.id for t in a.tenants} & {t.id for t in b.tenants}
