"""The build stage: render and upsert the SageMaker Pipeline, run and wait on it, gate the
registered package on its metrics, report it (job summary, pull request comment, step graph)."""
