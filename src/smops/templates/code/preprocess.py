"""Split the input data into the train and test sets the pipeline trains and evaluates on.

Runs in the scikit-learn processing container. Input: /opt/ml/processing/input/*.csv, your data
without a header, the label first, then the features in the order a request to the endpoint
sends them. Output: train/train.csv and test/test.csv in the same layout, the one SageMaker's
built-in XGBoost trains on. `smops build` baselines train/ for `smops drift`, the label left out.
TODO: your own feature engineering goes here; keep the label first.
"""

from pathlib import Path

import pandas as pd

BASE = Path("/opt/ml/processing")


def main():
    data = pd.concat(pd.read_csv(path, header=None) for path in sorted((BASE / "input").glob("*.csv")))
    data = data.sample(frac=1, random_state=42)
    cut = int(0.8 * len(data))  # 80 % to train on, 20 % to evaluate
    for name, part in (("train", data.iloc[:cut]), ("test", data.iloc[cut:])):
        (BASE / name).mkdir(parents=True, exist_ok=True)
        part.to_csv(BASE / name / f"{name}.csv", header=False, index=False)
        print(f"{name}: {len(part)} rows")


if __name__ == "__main__":
    main()
