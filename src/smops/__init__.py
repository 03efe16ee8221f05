"""smops: take a SageMaker model from a push on GitHub to a production endpoint."""

__version__ = "0.1.0"
