"""JSON Schemas for the KEDA v2 objects deploy/k8s uses (keda.sh/v1alpha1).

kubernetes_validate knows only the built-in kinds, so ScaledObject and TriggerAuthentication
are checked against these: the fields of KEDA 2's CRDs that a manifest may set, their types,
the required ones, and the RabbitMQ scaler's parameters (mode, protocol, queueName). Unknown
fields are errors, as they are when the API server prunes them away unnoticed.
"""

from __future__ import annotations

import functools
from typing import Any

from jsonschema import Draft202012Validator

__all__ = ["KEDA_API_VERSION", "SCALED_OBJECT", "TRIGGER_AUTHENTICATION", "keda_validator"]

KEDA_API_VERSION = "keda.sh/v1alpha1"

Schema = dict[str, Any]

_DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
_NUMBER_STRING = r"^[0-9]+(\.[0-9]+)?$"
_STRING_MAP: Schema = {"type": "object", "additionalProperties": {"type": "string"}}
_TEXT: Schema = {"type": "string", "minLength": 1}

_METADATA: Schema = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "maxLength": 253, "pattern": _DNS_SUBDOMAIN},
        "namespace": {"type": "string", "pattern": _DNS_SUBDOMAIN},
        "labels": _STRING_MAP,
        "annotations": _STRING_MAP,
    },
}

_SCALING_RULES: Schema = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "stabilizationWindowSeconds": {"type": "integer", "minimum": 0, "maximum": 3600},
        "selectPolicy": {"enum": ["Max", "Min", "Disabled"]},
        "tolerance": {"type": ["string", "number"]},
        "policies": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["type", "value", "periodSeconds"],
                "additionalProperties": False,
                "properties": {
                    "type": {"enum": ["Pods", "Percent"]},
                    "value": {"type": "integer", "minimum": 1},
                    "periodSeconds": {"type": "integer", "minimum": 1, "maximum": 1800},
                },
            },
        },
    },
}

_ADVANCED: Schema = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "restoreToOriginalReplicaCount": {"type": "boolean"},
        "horizontalPodAutoscalerConfig": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "name": _TEXT,
                "behavior": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"scaleUp": _SCALING_RULES, "scaleDown": _SCALING_RULES},
                },
            },
        },
        "scalingModifiers": {
            "type": "object",
            "properties": {
                "formula": {"type": "string"},
                "target": {"type": "string"},
                "activationTarget": {"type": "string"},
                "metricType": {"enum": ["AverageValue", "Value"]},
            },
        },
    },
}

# The RabbitMQ scaler's trigger metadata (every value a string, as in all KEDA triggers).
_RABBITMQ_METADATA: Schema = {
    "type": "object",
    "required": ["queueName"],
    "additionalProperties": False,
    "dependentRequired": {"mode": ["value"], "value": ["mode"]},
    "properties": {
        "host": _TEXT,
        "hostFromEnv": _TEXT,
        "usernameFromEnv": _TEXT,
        "passwordFromEnv": _TEXT,
        "protocol": {"enum": ["auto", "amqp", "http"]},
        "mode": {"enum": ["QueueLength", "MessageRate"]},
        "value": {"type": "string", "pattern": _NUMBER_STRING},
        "activationValue": {"type": "string", "pattern": _NUMBER_STRING},
        "queueName": _TEXT,
        "vhostName": {"type": "string"},
        "useRegex": {"enum": ["true", "false"]},
        "excludeUnacknowledged": {"enum": ["true", "false"]},
        "operation": {"enum": ["sum", "max", "average"]},
        "pageSize": {"type": "string", "pattern": r"^[0-9]+$"},
        "timeout": {"type": "string", "pattern": r"^[0-9]+$"},
        "unsafeSsl": {"enum": ["true", "false"]},
    },
}

_TRIGGER: Schema = {
    "type": "object",
    "required": ["type", "metadata"],
    "additionalProperties": False,
    "properties": {
        "type": _TEXT,
        "name": {"type": "string", "pattern": _DNS_SUBDOMAIN},
        "metadata": _STRING_MAP,
        "metricType": {"enum": ["AverageValue", "Value", "Utilization"]},
        "useCachedMetrics": {"type": "boolean"},
        "authenticationRef": {
            "type": "object",
            "required": ["name"],
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string", "pattern": _DNS_SUBDOMAIN},
                "kind": {"enum": ["TriggerAuthentication", "ClusterTriggerAuthentication"]},
            },
        },
    },
    "allOf": [
        {
            "if": {"properties": {"type": {"const": "rabbitmq"}}},
            "then": {
                "properties": {"metadata": _RABBITMQ_METADATA},
                # The broker address comes from somewhere: the trigger, the pod's env or an auth.
                "anyOf": [
                    {"required": ["authenticationRef"]},
                    {"properties": {"metadata": {"required": ["host"]}}},
                    {"properties": {"metadata": {"required": ["hostFromEnv"]}}},
                ],
            },
        }
    ],
}

SCALED_OBJECT: Schema = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": KEDA_API_VERSION},
        "kind": {"const": "ScaledObject"},
        "metadata": _METADATA,
        "spec": {
            "type": "object",
            "required": ["scaleTargetRef", "triggers"],
            "additionalProperties": False,
            "properties": {
                "scaleTargetRef": {
                    "type": "object",
                    "required": ["name"],
                    "additionalProperties": False,
                    "properties": {
                        "apiVersion": _TEXT,
                        "kind": _TEXT,
                        "name": {"type": "string", "pattern": _DNS_SUBDOMAIN},
                        "envSourceContainerName": _TEXT,
                    },
                },
                "pollingInterval": {"type": "integer", "minimum": 1},
                "cooldownPeriod": {"type": "integer", "minimum": 0},
                "initialCooldownPeriod": {"type": "integer", "minimum": 0},
                "idleReplicaCount": {"type": "integer", "minimum": 0},
                "minReplicaCount": {"type": "integer", "minimum": 0},
                "maxReplicaCount": {"type": "integer", "minimum": 1},
                "fallback": {
                    "type": "object",
                    "required": ["failureThreshold", "replicas"],
                    "additionalProperties": False,
                    "properties": {
                        "failureThreshold": {"type": "integer", "minimum": 1},
                        "replicas": {"type": "integer", "minimum": 0},
                        "behavior": {
                            "enum": [
                                "static",
                                "currentReplicas",
                                "currentReplicasIfHigher",
                                "currentReplicasIfLower",
                            ]
                        },
                    },
                },
                "advanced": _ADVANCED,
                "triggers": {"type": "array", "minItems": 1, "items": _TRIGGER},
            },
        },
    },
}

_TARGET_REF: Schema = {
    "type": "object",
    "required": ["parameter", "name", "key"],
    "additionalProperties": False,
    "properties": {
        "parameter": _TEXT,
        "name": {"type": "string", "pattern": _DNS_SUBDOMAIN},
        "key": _TEXT,
    },
}

TRIGGER_AUTHENTICATION: Schema = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": KEDA_API_VERSION},
        "kind": {"const": "TriggerAuthentication"},
        "metadata": _METADATA,
        "spec": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": False,
            "properties": {
                "secretTargetRef": {"type": "array", "minItems": 1, "items": _TARGET_REF},
                "configMapTargetRef": {"type": "array", "minItems": 1, "items": _TARGET_REF},
                "env": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["parameter", "name"],
                        "additionalProperties": False,
                        "properties": {
                            "parameter": _TEXT,
                            "name": _TEXT,
                            "containerName": _TEXT,
                        },
                    },
                },
                "podIdentity": {
                    "type": "object",
                    "required": ["provider"],
                    "properties": {
                        "provider": {"enum": ["none", "azure-workload", "aws", "aws-eks", "gcp"]},
                        "identityId": {"type": "string"},
                        "roleArn": {"type": "string"},
                        "identityOwner": {"enum": ["keda", "workload"]},
                    },
                },
                "hashiCorpVault": {"type": "object"},
                "azureKeyVault": {"type": "object"},
                "awsSecretManager": {"type": "object"},
                "gcpSecretManager": {"type": "object"},
            },
        },
    },
}

_SCHEMAS = {"ScaledObject": SCALED_OBJECT, "TriggerAuthentication": TRIGGER_AUTHENTICATION}


@functools.cache
def keda_validator(kind: str) -> Draft202012Validator:
    """A validator for one KEDA kind; ``KeyError`` for a kind this module has no schema for."""
    schema = _SCHEMAS[kind]
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)
