"""CloudFormation in the emulator: moto's, corrected so that the templates in infra/ deploy as in AWS.

A plain `create_stack`, `update_stack` or change set then gives the resources AWS would:
- `Transform: AWS::LanguageExtensions` (`Fn::ForEach`) is applied with cfn-lint's maintained
  implementation of the transform, for the parameter values of this stack, whenever moto reads the
  template; templates are read with cfn-lint's CloudFormation YAML decoder (moto's own turns
  `!GetAtt [!Sub ..., Arn]` into YAML nodes). The stack keeps the template as written, as AWS does
  (GetTemplate, UsePreviousTemplate and "No updates are to be performed" see the original).
- An update or change set modifies every resource whose parameters changed, also through
  `${Name}` in Fn::Sub and through conditions (moto saw only a direct Ref), and "no changes" is
  decided on the parameters' resolved values, defaults included (UpdateStack refuses, a change set
  is FAILED, as in AWS; moto compared defaults with nothing, and refused change sets). Executing a change set updates
  the stack's outputs and parameters (moto kept those of the stack before it).
- Inline role policies are stored as JSON (moto 5.2.5 keeps a Python repr that its own IAM
  enforcement cannot read), and updating a role updates its trust policy, description, session
  length and inline policies (moto changed only the description).
- `AWS::NoValue` inside a list removes the element (moto left a null).
- Resource types moto skipped without a word: AWS::IAM::OIDCProvider, AWS::IAM::RolePolicy,
  AWS::SecretsManager::Secret, AWS::SQS::QueuePolicy, AWS::Lambda::EventInvokeConfig and
  AWS::CloudWatch::Alarm, made through the services' own backends.
"""

from __future__ import annotations

import json
import re
from typing import Any

from moto.cloudformation import parsing
from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import Change, ChangeSet, Stack
from moto.cloudformation.responses import CloudFormationResponse
from moto.core.common_models import CloudFormationModel
from moto.iam.models import Role, iam_backends
from moto.utilities.utils import get_partition

LANGUAGE_EXTENSIONS = "AWS::LanguageExtensions"
SUB_VARIABLE = re.compile(r"\$\{([^!}][^}]*)\}")


def decoded(template: str | dict) -> dict:
    """A template as plain dicts and strings (a copy), read by cfn-lint's CloudFormation decoder."""
    if isinstance(template, str):
        try:
            from cfnlint.decode import decode_str
        except ImportError:
            raise ValidationError(message="the emulator reads templates with cfn-lint: pip install cfn-lint") from None
        template, problems = decode_str(template)
        if problems:
            raise ValidationError(message=f"Template format error: {problems[0].message}")
    return json.loads(json.dumps(template))


def processed(template: str | dict, parameters: dict[str, Any] | None, region: str) -> dict:
    """The template as CloudFormation runs it, for these parameter values: Fn::ForEach expanded
    by cfn-lint's AWS::LanguageExtensions transform when the template declares it."""
    from cfnlint.template import Template
    from cfnlint.template.transforms import Transform

    loaded = decoded(template)
    declared = loaded.get("Transform") or []
    declared = declared if isinstance(declared, list) else [declared]
    if LANGUAGE_EXTENSIONS not in declared:
        return loaded
    # cfn-lint resolves a collection parameter from its Default: give it this stack's value.
    for name, value in (parameters or {}).items():
        if name in loaded.get("Parameters", {}):
            loaded["Parameters"][name]["Default"] = value
    cfn = Template(None, loaded, [region])
    problems = Transform().transform(cfn)
    if problems:
        raise ValidationError(message=f"Transform {LANGUAGE_EXTENSIONS} failed with: {problems[0].message}")
    result = json.loads(json.dumps(cfn.template))
    remaining = [name for name in declared if name != LANGUAGE_EXTENSIONS]
    if remaining:
        result["Transform"] = remaining
    else:
        result.pop("Transform", None)
    return result


def resolved_parameters(template: dict, given: dict[str, Any]) -> dict[str, str]:
    """Every parameter's value as a string: the given one, else the template's default."""
    values = {name: spec.get("Default") for name, spec in template.get("Parameters", {}).items()}
    values.update(given or {})
    return {name: ",".join(map(str, v)) if isinstance(v, list) else str(v) for name, v in values.items()}


def references(node: Any, conditions: dict) -> set[str]:
    """Names a piece of template depends on: Ref, ${Name} in Fn::Sub, and the parameters of the
    conditions it uses (Fn::If, a resource's Condition)."""
    found: set[str] = set()
    if isinstance(node, list):
        for item in node:
            found |= references(item, conditions)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                found |= {name.split(".")[0] for name in SUB_VARIABLE.findall(text)}
                found |= references(value[1:] if isinstance(value, list) else [], conditions)
            elif key == "Fn::If" and isinstance(value, list) and value:
                found |= references({"Condition": value[0]}, conditions) | references(value[1:], conditions)
            elif key == "Condition" and isinstance(value, str):
                found |= references(conditions.get(value), conditions)
            else:
                found |= references(value, conditions)
    return found


def _patch_templates() -> None:
    """Apply the transform wherever moto reads a stack's or a change set's template."""
    original_init = Stack.__init__
    original_update = Stack.update
    original_diff = parsing.ResourceMap.build_resource_diff
    original_apply = ChangeSet.apply

    def stack_init(self, *args, **kwargs):
        # moto reads the template before it stores these; the transform needs them.
        self.parameters = kwargs["parameters"] or {}
        self.region_name = kwargs["region_name"]
        original_init(self, *args, **kwargs)

    def parse_stack_template(self):
        self.template_dict = processed(self.template, self.parameters, self.region_name)

    def update(self, template, role_arn=None, parameters=None, tags=None):
        if parameters:
            self.parameters = parameters
        original_update(self, template, role_arn, parameters, tags)

    def has_template(self, other_template) -> bool:
        return decoded(self.template) == decoded(other_template)

    def has_parameters(self, other_parameters) -> bool:
        template = decoded(self.template)
        return resolved_parameters(template, self.parameters) == resolved_parameters(template, other_parameters)

    def parse_change_set_template(self):
        self.template_dict = processed(self.template, self.parameters, self.stack.region_name)

    def build_resource_diff(self, other_template, parameters=None):
        actions = original_diff(self, other_template, parameters)
        if parameters is None:
            return actions
        old = resolved_parameters(self._template, self.input_parameters)
        new = resolved_parameters(other_template, parameters)
        changed = {name for name in old.keys() | new.keys() if old.get(name) != new.get(name)}
        conditions = other_template.get("Conditions", {})
        for name, body in other_template["Resources"].items():
            if name in self._resource_json_map and name not in actions["Modify"]:
                if references(body, conditions) & changed:
                    actions["Modify"].append(name)
        _follow_conditions(self, actions, other_template, parameters)
        return actions

    def _follow_conditions(resource_map, actions, template, parameters) -> None:
        """A resource whose Condition turns true is added, one whose Condition turns false removed,
        one whose Condition stays false left alone (moto would update what it never created)."""
        conditional = {name: body["Condition"] for name, body in template["Resources"].items()
                       if name in resource_map._resource_json_map and "Condition" in body}
        if not conditional:
            return
        new = parsing.ResourceMap(resource_map.stack_id, "conditions", parameters, {}, resource_map._region_name,
                                  resource_map._account_id, template, None)
        new.load_mapping()
        new.load_parameters()
        new.load_conditions()
        for name, condition in conditional.items():
            was, now = resource_map._parsed_resources.get(name) is not None, bool(new.lazy_condition_map[condition])
            if was == now:
                if not now and name in actions["Modify"]:
                    actions["Modify"].remove(name)
                continue
            if name in actions["Modify"]:
                actions["Modify"].remove(name)
            actions["Add" if now else "Remove"].append(name)

    def diff(self):
        resource_map = self.stack.resource_map
        actions = resource_map.build_resource_diff(self.template_dict, self.parameters)
        return [
            Change(action, name, (resource_map._resource_json_map if action == "Remove" else
                                  self.template_dict["Resources"])[name]["Type"])
            for action, names in actions.items()
            for name in names
        ]

    def apply(self):
        original_apply(self)
        stack = self.stack
        stack.parameters = self.parameters
        stack.template_dict = self.template_dict
        stack.description = self.template_dict.get("Description")
        stack.output_map = stack._create_output_map()

    def validate_different_update(self, incoming_params, stack_body, old_stack):
        # UpdateStack refuses; CreateChangeSet makes a FAILED change set saying so (the backend).
        if self._get_action() == "UpdateStack" and incoming_params and stack_body:
            new_params = self._get_param_values(incoming_params, old_stack.parameters)
            if old_stack.has_template(stack_body) and old_stack.has_parameters(new_params):
                raise ValidationError(old_stack.name, message="No updates are to be performed.")

    Stack.__init__ = stack_init
    Stack._parse_template = parse_stack_template
    Stack.update = update
    Stack.has_template = has_template
    Stack.has_parameters = has_parameters
    ChangeSet._parse_template = parse_change_set_template
    ChangeSet.diff = diff
    ChangeSet.apply = apply
    parsing.ResourceMap.build_resource_diff = build_resource_diff
    CloudFormationResponse._validate_different_update = validate_different_update


def _patch_no_value_in_lists() -> None:
    original = parsing.clean_json

    def clean_json(resource_json, resources_map):
        cleaned = original(resource_json, resources_map)
        if isinstance(resource_json, list):
            # Only AWS::NoValue (directly or through Fn::If) cleans to None.
            return [item for item in cleaned if item is not None]
        return cleaned

    parsing.clean_json = clean_json  # its recursion looks the name up in the module


def _patch_roles() -> None:
    original_put_policy = Role.put_policy

    def put_policy(self, policy_name, policy_json):
        if not isinstance(policy_json, str):
            policy_json = json.dumps(policy_json)
        original_put_policy(self, policy_name, policy_json)

    original_create = Role.create_from_cloudformation_json.__func__

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        role = original_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        # The inline policies of its Policies property (an AWS::IAM::RolePolicy puts others).
        role.stack_policies = {p["PolicyName"] for p in cloudformation_json["Properties"].get("Policies", [])}
        return role

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json,
                                        account_id, region_name):
        properties = cloudformation_json["Properties"]
        role = original_resource
        trust = properties["AssumeRolePolicyDocument"]
        role.assume_role_policy_document = trust if isinstance(trust, str) else json.dumps(trust)
        role.description = properties.get("Description", "")
        role.max_session_duration = properties.get("MaxSessionDuration", 3600)
        wanted = {p["PolicyName"]: p["PolicyDocument"] for p in properties.get("Policies", [])}
        for name in getattr(role, "stack_policies", set()) - set(wanted):
            role.delete_policy(name)
        for name, document in wanted.items():
            role.put_policy(name, document)
        role.stack_policies = set(wanted)
        return role

    Role.put_policy = put_policy
    Role.create_from_cloudformation_json = create_from_cloudformation_json
    Role.update_from_cloudformation_json = update_from_cloudformation_json


class _Resource:
    """A resource type moto's CloudFormation skips, made with the service's own backend.

    Mixed into each type together with CloudFormationModel (moto finds the types among that class's
    direct subclasses). A type says how to `apply` its properties, creating or, given the previous
    instance, updating in place, and how to `remove` them; an update that changes the physical id
    removes the previous resource, as a replacement does.
    """

    type_name = ""
    name_property = ""  # the property that names it; moto generates a name when it is not given
    attributes: dict[str, str] = {}  # Fn::GetAtt name -> attribute of the instance

    def __init__(self, name: str, properties: dict, account_id: str, region: str, previous=None):
        self.name = name
        self.properties = properties
        self.account_id = account_id
        self.region = region
        self.physical_resource_id = self.apply(previous)

    def apply(self, previous) -> str:
        raise NotImplementedError

    def remove(self) -> None:
        raise NotImplementedError

    @classmethod
    def cloudformation_name_type(cls) -> str:
        return cls.name_property

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.type_name

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.attributes

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        if attribute_name not in self.attributes:
            raise UnformattedGetAttTemplateException()
        return getattr(self, self.attributes[attribute_name])

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name,
                                        **kwargs):
        return cls(resource_name, cloudformation_json.get("Properties", {}), account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json,
                                        account_id, region_name):
        properties = cloudformation_json.get("Properties", {})
        name = properties.get(cls.name_property, original_resource.name)
        updated = cls(name, properties, account_id, region_name, previous=original_resource)
        if updated.physical_resource_id != original_resource.physical_resource_id:
            original_resource.remove()
        return updated

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        raise NotImplementedError  # moto deletes through the instance's `delete` first

    def delete(self, account_id: str, region_name: str) -> None:
        self.remove()

    def _iam(self):
        return iam_backends[self.account_id][get_partition(self.region)]


class OIDCProvider(_Resource, CloudFormationModel):
    type_name = "AWS::IAM::OIDCProvider"
    attributes = {"Arn": "physical_resource_id"}

    def apply(self, previous) -> str:
        props = self.properties
        if previous is not None and previous.properties["Url"] == props["Url"]:
            provider = self._iam().get_open_id_connect_provider(previous.physical_resource_id)
            provider.client_id_list = props.get("ClientIdList", [])
            provider.thumbprint_list = props.get("ThumbprintList", [])
            return provider.arn
        return self._iam().create_open_id_connect_provider(
            props["Url"], props.get("ThumbprintList", []), props.get("ClientIdList", []), props.get("Tags", [])
        ).arn

    def remove(self) -> None:
        self._iam().delete_open_id_connect_provider(self.physical_resource_id)


class RolePolicy(_Resource, CloudFormationModel):
    type_name = "AWS::IAM::RolePolicy"

    def apply(self, previous) -> str:
        props = self.properties
        self._iam().put_role_policy(props["RoleName"], props["PolicyName"], json.dumps(props["PolicyDocument"]))
        return f"{props['PolicyName']}|{props['RoleName']}"

    def remove(self) -> None:
        # moto deletes a stack's resources in no particular order; a deleted role took its policies.
        if any(role.name == self.properties["RoleName"] for role in self._iam().get_roles()):
            self._iam().delete_role_policy(self.properties["RoleName"], self.properties["PolicyName"])


class Secret(_Resource, CloudFormationModel):
    """Ref is the ARN. Without SecretString the secret is empty, as in AWS: its value is put later."""

    type_name = "AWS::SecretsManager::Secret"
    name_property = "Name"
    attributes = {"Id": "physical_resource_id"}

    def _backend(self):
        from moto.secretsmanager.models import secretsmanager_backends

        return secretsmanager_backends[self.account_id][self.region]

    def apply(self, previous) -> str:
        props = self.properties
        if previous is not None and previous.name == self.name:
            secret = self._backend().secrets[previous.physical_resource_id]
            secret.description = props.get("Description")
            if props.get("SecretString") not in (None, previous.properties.get("SecretString")):
                self._backend().update_secret(secret.arn, secret_string=props["SecretString"])
            return secret.arn
        created = self._backend().create_secret(
            name=self.name,
            secret_string=props.get("SecretString"),
            secret_binary=None,
            description=props.get("Description"),
            tags=props.get("Tags"),
            kms_key_id=props.get("KmsKeyId"),
            client_request_token=None,
            replica_regions=[],
            force_overwrite=False,
        )
        return json.loads(created)["ARN"]

    def remove(self) -> None:
        # With the default recovery window, as CloudFormation deletes (DeletionPolicy Retain keeps it).
        self._backend().delete_secret(self.physical_resource_id, None, False)


class QueuePolicy(_Resource, CloudFormationModel):
    type_name = "AWS::SQS::QueuePolicy"

    def _set(self, policy: str) -> None:
        from moto.sqs.models import sqs_backends

        backend = sqs_backends[self.account_id][self.region]
        for url in self.properties["Queues"]:
            queue = backend.queues.get(url.rsplit("/", 1)[-1])
            if queue is not None:  # a queue deleted with the stack takes its policy
                queue._set_attributes({"Policy": policy})

    def apply(self, previous) -> str:
        if previous is not None:
            previous.remove()
        self._set(json.dumps(self.properties["PolicyDocument"]))
        return self.name

    def remove(self) -> None:
        self._set("")


class EventInvokeConfig(_Resource, CloudFormationModel):
    type_name = "AWS::Lambda::EventInvokeConfig"
    settings = ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")

    def _backend(self):
        from moto.awslambda.utils import get_backend

        return get_backend(self.account_id, self.region)

    def apply(self, previous) -> str:
        props = self.properties
        function = self._backend().get_function(props["FunctionName"])
        function.event_invoke_config = []  # one per function: an update replaces it
        self._backend().put_function_event_invoke_config(
            props["FunctionName"], {key: props[key] for key in self.settings if key in props}
        )
        return f"{function.function_name}|{props.get('Qualifier', '$LATEST')}"

    def remove(self) -> None:
        from moto.awslambda.exceptions import UnknownFunctionException

        try:
            self._backend().get_function(self.properties["FunctionName"]).event_invoke_config = []
        except UnknownFunctionException:
            pass  # a function deleted with the stack takes its configuration


class Alarm(_Resource, CloudFormationModel):
    """Ref is the alarm's name; PutMetricAlarm both creates and updates."""

    type_name = "AWS::CloudWatch::Alarm"
    name_property = "AlarmName"
    attributes = {"Arn": "arn"}

    def _backend(self):
        from moto.cloudwatch.models import cloudwatch_backends

        return cloudwatch_backends[self.account_id][self.region]

    def apply(self, previous) -> str:
        props = self.properties
        alarm = self._backend().put_metric_alarm(
            name=self.name,
            namespace=props.get("Namespace"),
            metric_name=props.get("MetricName"),
            comparison_operator=props["ComparisonOperator"],
            evaluation_periods=int(props["EvaluationPeriods"]),
            period=int(props["Period"]) if "Period" in props else None,
            threshold=float(props["Threshold"]) if "Threshold" in props else None,
            statistic=props.get("Statistic"),
            description=props.get("AlarmDescription"),
            dimensions=props.get("Dimensions", []),
            alarm_actions=props.get("AlarmActions", []),
            datapoints_to_alarm=props.get("DatapointsToAlarm"),
            extended_statistic=props.get("ExtendedStatistic"),
            ok_actions=props.get("OKActions", []),
            insufficient_data_actions=props.get("InsufficientDataActions", []),
            unit=props.get("Unit"),
            actions_enabled=props.get("ActionsEnabled", True),
            treat_missing_data=props.get("TreatMissingData"),
        )
        self.arn = alarm.alarm_arn
        return self.name

    def remove(self) -> None:
        self._backend().delete_alarms([self.name])


def _patch_conditional_resources() -> None:
    """moto lists a resource whose Condition is false as a row of empty strings; CloudFormation
    leaves it out, as it was never created."""
    Stack.stack_resources = property(lambda self: [r for r in self.resource_map.values() if r is not None])


def install() -> None:
    _patch_templates()
    _patch_conditional_resources()
    _patch_no_value_in_lists()
    _patch_roles()
    # moto lists the resource types it knows once, from CloudFormationModel's subclasses.
    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()
