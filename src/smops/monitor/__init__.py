"""The monitor stage: read what production captured, profile it against a baseline, find
drift (here or on SageMaker Processing), and the baselines a build records."""
