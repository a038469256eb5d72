"""ecrscan: keep AWS ECR vulnerability scans honest."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ecrscan")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
