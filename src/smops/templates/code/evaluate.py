"""Score the trained model on the test set and write evaluation.json.

Runs in the XGBoost container. Inputs: /opt/ml/processing/model/model.tar.gz (the training job's
artifact) and /opt/ml/processing/test/test.csv (label first). Output: evaluation.json in the layout
of SageMaker's model quality statistics for regression; the package registers it as its
ModelMetrics, and the build starter's gates read regression_metrics.r2 and mse from it.
"""

import json
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost

BASE = Path("/opt/ml/processing")


def main():
    with tarfile.open(BASE / "model" / "model.tar.gz") as archive:
        archive.extractall(BASE / "model")  # our own training job's artifact
    booster = xgboost.Booster()
    booster.load_model(str(BASE / "model" / "xgboost-model"))
    test = pd.read_csv(BASE / "test" / "test.csv", header=None)
    labels, features = test.iloc[:, 0].to_numpy(), test.iloc[:, 1:]
    errors = labels - booster.predict(xgboost.DMatrix(features.values))
    mse = float(np.mean(errors**2))
    report = {
        "regression_metrics": {
            "mse": {"value": mse, "standard_deviation": float(np.std(errors**2))},
            "rmse": {"value": mse**0.5},
            "mae": {"value": float(np.mean(np.abs(errors)))},
            "r2": {"value": 1.0 - mse / float(np.var(labels))},
        }
    }
    (BASE / "evaluation").mkdir(parents=True, exist_ok=True)
    (BASE / "evaluation" / "evaluation.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
