"""smops: take a SageMaker model from a push on GitHub to a production endpoint."""

try:  # written by setuptools-scm when the toolkit is built or installed: the release tag's version
    from smops._version import __version__
except ImportError:  # a source tree on sys.path that was never installed
    __version__ = "0.0.0"
