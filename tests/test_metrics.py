"""Reading metrics in SageMaker's report shapes, which way is better, the diff, and gate syntax."""

from __future__ import annotations

import json

import boto3
import pytest

from smops import metrics
from smops.build import gates
from smops.build.gates import HIGHER, LOWER, UNKNOWN, Gate
from smops.errors import BadInput

# The shapes of SageMaker's model quality reports (Model Monitor's "Model Quality Metrics" page).
REGRESSION = {
    "regression_metrics": {
        "mae": {"value": 0.3711832061068702, "standard_deviation": 0.0037566388129940394},
        "mse": {"value": 0.3711832061068702, "standard_deviation": 0.0037566388129940524},
        "rmse": {"value": 0.609248066149471, "standard_deviation": 0.003079253267651125},
        "r2": {"value": -1.3766111872212665, "standard_deviation": 0.022653980022771227},
    }
}
BINARY = {
    "binary_classification_metrics": {
        "confusion_matrix": {"0": {"0": 1, "1": 2}, "1": {"0": 0, "1": 1}},
        "recall": {"value": 1.0, "standard_deviation": "NaN"},
        "precision": {"value": 0.3333333333333333, "standard_deviation": "NaN"},
        "accuracy": {"value": 0.5, "standard_deviation": "NaN"},
        "false_positive_rate": {"value": 0.6666666666666666, "standard_deviation": "NaN"},
        "receiver_operating_characteristic_curve": {
            "false_positive_rates": [0.0, 0.0, 1.0],
            "true_positive_rates": [0.0, 0.5, 1.0],
        },
        "precision_recall_curve": {"precisions": [1.0, 1.0], "recalls": [0.0, 0.25]},
        "auc": {"value": 1.0, "standard_deviation": "NaN"},
        "f0_5": {"value": 0.3846153846153846, "standard_deviation": "NaN"},
        "f1": {"value": 0.5, "standard_deviation": "NaN"},
    }
}
MULTICLASS = {
    "multiclass_classification_metrics": {
        "confusion_matrix": {"0": {"0": 1180, "1": 510}, "1": {"0": 268, "1": 138}},
        "accuracy": {"value": 0.6288167938931297, "standard_deviation": 0.00375663881299405},
        "weighted_recall": {"value": 0.6288167938931297, "standard_deviation": 0.003756638812994008},
        "weighted_f1": {"value": 0.6571162346664904, "standard_deviation": 0.004385008075019733},
    }
}


@pytest.fixture
def s3(aws_env):
    client = boto3.client("s3")
    client.create_bucket(Bucket="reports")
    return client


def package_with(s3, reports: dict[str, dict[str, object]], metadata: dict | None = None) -> dict:
    """A described package whose ModelMetrics point to these documents (None: a missing object)."""
    model_metrics: dict = {}
    for path, document in reports.items():
        category, report = path.split(".")
        key = f"{category}/{report}.json"
        if document is not None:
            s3.put_object(Bucket="reports", Key=key, Body=json.dumps(document))
        model_metrics.setdefault(category, {})[report] = {"ContentType": "application/json", "S3Uri": f"s3://reports/{key}"}
    return {"ModelPackageArn": "arn", "ModelMetrics": model_metrics, "CustomerMetadataProperties": metadata or {}}


def test_regression_report(s3):
    found = metrics.read(package_with(s3, {"ModelQuality.Statistics": REGRESSION}), s3)
    assert found.values == {
        "ModelQuality.regression_metrics.mae": 0.3711832061068702,
        "ModelQuality.regression_metrics.mse": 0.3711832061068702,
        "ModelQuality.regression_metrics.rmse": 0.609248066149471,
        "ModelQuality.regression_metrics.r2": -1.3766111872212665,
    }
    assert found.unread == {}


def test_binary_report_skips_counts_curves_and_nan(s3):
    found = metrics.read(package_with(s3, {"ModelQuality.Statistics": BINARY}), s3)
    assert found.values == {
        f"ModelQuality.binary_classification_metrics.{name}": value
        for name, value in [
            ("recall", 1.0), ("precision", 0.3333333333333333), ("accuracy", 0.5),
            ("false_positive_rate", 0.6666666666666666), ("auc", 1.0), ("f0_5", 0.3846153846153846), ("f1", 0.5),
        ]
    }


def test_multiclass_report(s3):
    found = metrics.read(package_with(s3, {"ModelQuality.Statistics": MULTICLASS}), s3)
    assert sorted(found.values) == [
        "ModelQuality.multiclass_classification_metrics.accuracy",
        "ModelQuality.multiclass_classification_metrics.weighted_f1",
        "ModelQuality.multiclass_classification_metrics.weighted_recall",
    ]


def test_flat_json_of_numbers_and_customer_metadata(s3):
    package = package_with(
        s3,
        {"ModelQuality.Statistics": {"rmse": 2.1, "latency_ms": "12.5", "notes": "fine", "ok": True, "nested": {"n": 3}}},
        metadata={"auc": "0.91", "team": "fraud", "nan": "NaN"},
    )
    assert metrics.read(package, s3).values == {
        "ModelQuality.rmse": 2.1,
        "ModelQuality.latency_ms": 12.5,
        "ModelQuality.nested.n": 3.0,
        "CustomerMetadata.auc": 0.91,
    }


def test_constraints_and_unreadable_reports_are_linked_not_read(s3):
    package = package_with(
        s3,
        {
            "ModelQuality.Constraints": {"regression_constraints": {"mse": {"threshold": 0.5}}},
            "Bias.Report": None,  # pointed to, never written
            "Explainability.Report": {"explanations": {"kernel_shap": {"label0": {"global_shap_values": {"age": 0.3}}}}},
        },
    )
    found = metrics.read(package, s3)
    assert found.values == {"Explainability.explanations.kernel_shap.label0.global_shap_values.age": 0.3}
    assert found.unread == {
        "ModelQuality.Constraints": "s3://reports/ModelQuality/Constraints.json",
        "Bias.Report": "s3://reports/Bias/Report.json",
    }


@pytest.mark.parametrize(
    "name, way",
    [
        ("ModelQuality.regression_metrics.mse", LOWER),
        ("ModelQuality.regression_metrics.rmse", LOWER),
        ("ModelQuality.regression_metrics.mae", LOWER),
        ("CustomerMetadata.validation_loss", LOWER),
        ("ModelQuality.binary_classification_metrics.false_positive_rate", LOWER),
        ("brier_score", LOWER),
        ("ModelQuality.regression_metrics.r2", HIGHER),
        ("ModelQuality.binary_classification_metrics.auc", HIGHER),
        ("ModelQuality.binary_classification_metrics.f0_5", HIGHER),
        ("ModelQuality.multiclass_classification_metrics.weighted_f1", HIGHER),
        ("ModelQuality.binary_classification_metrics.true_positive_rate", HIGHER),
        ("ModelQuality.custom.business_value", UNKNOWN),
        ("ModelQuality.custom.msec", UNKNOWN),  # a word that merely starts like mse
    ],
)
def test_direction_from_the_name(name, way):
    assert gates.direction(name) == way


def test_a_threshold_gate_declares_the_direction():
    declared = gates.declared_directions([Gate.parse("business_value>=3"), Gate.parse("drift<=0.1"), Gate.parse("r2<=2")])
    assert gates.direction("ModelQuality.custom.business_value", declared) == HIGHER
    assert gates.direction("CustomerMetadata.drift", declared) == LOWER
    assert gates.direction("ModelQuality.regression_metrics.r2", declared) == LOWER  # the gate wins


def test_diff_says_better_or_worse_by_direction():
    changes = gates.diff(
        {"q.mse": 4.0, "q.r2": 0.5, "q.custom": 2.0, "q.same": 1.0, "q.new": 1.0},
        {"q.mse": 5.0, "q.r2": 0.6, "q.custom": 1.0, "q.same": 1.0, "q.gone": 1.0},
        {},
    )
    assert [(c.name, c.verdict) for c in changes] == [
        ("q.mse", "better"), ("q.r2", "worse"), ("q.custom", "changed"), ("q.same", "same"), ("q.new", "new"),
        ("q.gone", "gone"),
    ]
    assert changes[0].delta() == "-1 (-20.0%)"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("regression_metrics.r2>=0.5", Gate("regression_metrics.r2>=0.5", "regression_metrics.r2", ">=", threshold=0.5)),
        (" mse <= 4.5 ", Gate("mse <= 4.5", "mse", "<=", threshold=4.5)),
        ("auc:no-worse-than-baseline", Gate("auc:no-worse-than-baseline", "auc", "no-worse")),
        ("mse:no-worse-than-baseline:0.1", Gate("mse:no-worse-than-baseline:0.1", "mse", "no-worse", tolerance=0.1)),
        ("mse:no-worse-than-baseline:2%", Gate("mse:no-worse-than-baseline:2%", "mse", "no-worse", tolerance=2, percent=True)),
    ],
)
def test_gate_forms(text, expected):
    assert Gate.parse(text) == expected


@pytest.mark.parametrize(
    "text, message",
    [
        ("mse < 4", "is not METRIC>=VALUE"),
        ("mse>=high", "'high' in gate 'mse>=high' is not a number"),
        ("mse:no-better", "is not METRIC>=VALUE"),
        ("mse:no-worse-than-baseline:-1", "tolerance '-1'"),
    ],
)
def test_gate_syntax_errors(text, message):
    with pytest.raises(ValueError, match=message):
        Gate.parse(text)


def test_a_baseline_gate_needs_a_direction():
    with pytest.raises(BadInput, match="cannot tell whether a higher or a lower business_value is better"):
        gates.check_gates([Gate.parse("business_value:no-worse-than-baseline")])
    gates.check_gates([Gate.parse("business_value:no-worse-than-baseline"), Gate.parse("business_value>=0")])


def test_gates_evaluated():
    candidate = {"ModelQuality.regression_metrics.mse": 4.4, "ModelQuality.regression_metrics.r2": 0.57,
                 "CustomerMetadata.r2": 0.5}
    baseline = {"ModelQuality.regression_metrics.mse": 4.3}
    wanted = [Gate.parse(g) for g in (
        "regression_metrics.mse<=4.5", "mse:no-worse-than-baseline", "mse:no-worse-than-baseline:3%", "r2>=0.5",
        "regression_metrics.r2:no-worse-than-baseline", "auc>=0.9",
    )]
    verdicts = gates.evaluate(wanted, candidate, baseline, "churn v3")
    assert [(v.passed, v.detail) for v in verdicts] == [
        (True, "ModelQuality.regression_metrics.mse = 4.4, must be ≤ 4.5"),
        (False, "ModelQuality.regression_metrics.mse = 4.4, must be ≤ 4.3 (baseline churn v3: 4.3)"),
        (True, "ModelQuality.regression_metrics.mse = 4.4, must be ≤ 4.429 (baseline churn v3: 4.3 + 3%)"),
        (False, "r2 is ambiguous: it names ModelQuality.regression_metrics.r2, CustomerMetadata.r2 (the package has: "
                "ModelQuality.regression_metrics.mse, ModelQuality.regression_metrics.r2, CustomerMetadata.r2)"),
        (True, "ModelQuality.regression_metrics.r2 = 0.57; the baseline churn v3 has no ModelQuality.regression_metrics.r2"),
        (False, "auc is not among the metrics (the package has: ModelQuality.regression_metrics.mse, "
                "ModelQuality.regression_metrics.r2, CustomerMetadata.r2)"),
    ]
    no_baseline = gates.evaluate([wanted[1]], candidate, None, "")
    assert no_baseline[0].passed and no_baseline[0].detail.endswith("no baseline to compare with")
