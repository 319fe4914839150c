"""Project rules for durable Lambda functions (loaded with cfn-lint --append-rules).

E9101: a function whose role may checkpoint durable executions of it has no DurableConfig.
E9102: a durable function (DurableConfig) has no AWS::Lambda::Alias.
E9103: a durable function is invoked through its unqualified ARN or name (a permission, an
       API integration, an IAM invoke statement or an environment variable refers to it
       directly instead of to a version or alias).
"""

import re

from cfnlint.rules import CloudFormationLintRule, RuleMatch

INVOKE_ACTIONS = {"*", "lambda:*", "lambda:Invoke*", "lambda:InvokeFunction", "lambda:InvokeAsync"}


def _refs(value):
    """(logical id, attribute or None, qualified) for every reference inside value."""
    out = []
    if isinstance(value, dict):
        if len(value) == 1:
            (key, inner), = value.items()
            if key == "Ref" and isinstance(inner, str):
                return [(inner, None, False)]
            if key == "Fn::GetAtt" and isinstance(inner, list) and len(inner) == 2:
                return [(inner[0], inner[1], False)]
            if key == "Fn::GetAtt" and isinstance(inner, str):
                rid, _, attr = inner.partition(".")
                return [(rid, attr, False)]
            if key == "Fn::Sub":
                text = inner[0] if isinstance(inner, list) else inner
                if isinstance(text, str):
                    for m in re.finditer(r"\$\{([^!}][^}]*)\}(:?)", text):
                        rid, _, attr = m.group(1).partition(".")
                        out.append((rid, attr or None, m.group(2) == ":"))
                if isinstance(inner, list) and len(inner) > 1:
                    out.extend(_refs(inner[1]))
                return out
        for v in value.values():
            out.extend(_refs(v))
    elif isinstance(value, list):
        for v in value:
            out.extend(_refs(v))
    return out


def _durable(cfn):
    return {
        name
        for name, res in cfn.get_resources(["AWS::Lambda::Function"]).items()
        if isinstance(res.get("Properties"), dict) and "DurableConfig" in res["Properties"]
    }


def _statements(res):
    props = res.get("Properties", {}) or {}
    docs = []
    if res.get("Type") == "AWS::IAM::Role":
        docs = [p.get("PolicyDocument", {}) for p in props.get("Policies", []) or []]
    elif res.get("Type") in ("AWS::IAM::RolePolicy", "AWS::IAM::Policy"):
        docs = [props.get("PolicyDocument", {})]
    for doc in docs:
        statements = doc.get("Statement", []) if isinstance(doc, dict) else []
        if isinstance(statements, dict):
            statements = [statements]
        for st in statements:
            if isinstance(st, dict):
                actions = st.get("Action", [])
                resources = st.get("Resource", [])
                yield (
                    set([actions] if isinstance(actions, str) else actions),
                    resources if isinstance(resources, list) else [resources],
                )


class DurableConfigPresent(CloudFormationLintRule):
    id = "E9101"
    shortdesc = "Functions that checkpoint durable executions have DurableConfig"
    description = "A function whose executions are checkpointed must be a durable function"
    tags = ["lambda", "durable"]

    def match(self, cfn):
        matches = []
        durable = _durable(cfn)
        for name, res in cfn.get_resources().items():
            for actions, resources in _statements(res):
                if "lambda:CheckpointDurableExecution" not in actions:
                    continue
                for rid, _, _ in _refs(resources):
                    target = cfn.get_resources().get(rid, {})
                    if target.get("Type") == "AWS::Lambda::Function" and rid not in durable:
                        matches.append(
                            RuleMatch(
                                ["Resources", rid, "Properties"],
                                f"{rid} is checkpointed by {name} but has no DurableConfig",
                            )
                        )
        return matches


class DurableHasAlias(CloudFormationLintRule):
    id = "E9102"
    shortdesc = "Durable functions have an alias"
    description = "Durable functions must be invoked through a qualified ARN, so they need an alias"
    tags = ["lambda", "durable"]

    def match(self, cfn):
        aliased = set()
        for res in cfn.get_resources(["AWS::Lambda::Alias"]).values():
            for rid, _, _ in _refs((res.get("Properties") or {}).get("FunctionName")):
                aliased.add(rid)
        return [
            RuleMatch(["Resources", name], f"durable function {name} has no AWS::Lambda::Alias")
            for name in sorted(_durable(cfn) - aliased)
        ]


class DurableInvokedQualified(CloudFormationLintRule):
    id = "E9103"
    shortdesc = "Durable functions are invoked through a version or alias"
    description = "Invoking a durable function needs a qualified ARN"
    tags = ["lambda", "durable"]

    def match(self, cfn):
        matches = []
        durable = _durable(cfn)

        def check(path, value, what):
            for rid, attr, qualified in _refs(value):
                if rid in durable and attr in (None, "Arn") and not qualified:
                    matches.append(
                        RuleMatch(path, f"{what} invokes durable function {rid} through its unqualified ARN")
                    )

        for name, res in cfn.get_resources().items():
            props = res.get("Properties") or {}
            kind = res.get("Type")
            if kind == "AWS::Lambda::Permission":
                check(["Resources", name, "Properties", "FunctionName"], props.get("FunctionName"), name)
            elif kind == "AWS::ApiGateway::Method":
                uri = (props.get("Integration") or {}).get("Uri")
                check(["Resources", name, "Properties", "Integration", "Uri"], uri, name)
            elif kind == "AWS::Lambda::Function":
                variables = (props.get("Environment") or {}).get("Variables") or {}
                for key, value in variables.items():
                    check(
                        ["Resources", name, "Properties", "Environment", "Variables", key],
                        value,
                        f"{name} ({key})",
                    )
            for actions, resources in _statements(res):
                if actions & INVOKE_ACTIONS:
                    check(["Resources", name], resources, f"an IAM statement of {name}")
        return matches
