"""Turn the raw abalone CSV into the train, validation and test sets XGBoost reads.

Runs in the scikit-learn processing container. Input: /opt/ml/processing/raw/*.csv, the UCI
abalone data without a header (sex, seven measurements, rings). Output: CSV files without a
header, the label (rings) first, then FEATURES: the form SageMaker's built-in XGBoost trains on,
and the form of a request to the deployed model (FEATURES only, see ../smoke-payload.csv).
"""

from pathlib import Path

import pandas as pd

BASE = Path("/opt/ml/processing")
MEASUREMENTS = [
    "length",
    "diameter",
    "height",
    "whole_weight",
    "shucked_weight",
    "viscera_weight",
    "shell_weight",
]
SEXES = ["F", "I", "M"]  # female, infant, male
FEATURES = MEASUREMENTS + [f"sex_{sex}" for sex in SEXES]


def main():
    raw = pd.concat(
        pd.read_csv(path, header=None, names=["sex", *MEASUREMENTS, "rings"])
        for path in sorted((BASE / "raw").glob("*.csv"))
    )
    for sex in SEXES:
        raw[f"sex_{sex}"] = (raw["sex"] == sex).astype(int)
    data = raw[["rings", *FEATURES]].sample(frac=1, random_state=42)

    # 70 % to train on, 15 % to report a validation error while training, 15 % for evaluation.
    cut_validation, cut_test = int(0.7 * len(data)), int(0.85 * len(data))
    train, validation, test = (
        data.iloc[:cut_validation],
        data.iloc[cut_validation:cut_test],
        data.iloc[cut_test:],
    )
    for name, part in (("train", train), ("validation", validation), ("test", test)):
        (BASE / name).mkdir(parents=True, exist_ok=True)
        part.to_csv(BASE / name / f"{name}.csv", header=False, index=False)
        print(f"{name}: {len(part)} rows")


if __name__ == "__main__":
    main()
