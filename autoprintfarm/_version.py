"""The one place a version is written, for every distribution built from this repository.

The SDK (`autoprintfarm`), the agent (`autoprintfarm-agent`) and the cloud
(`autoprintfarm-cloud`) carry this version (scripts/build-dists), `apf --version` prints
it, and sdk/js/package.json must say the same (tests/packaging). It lives in the SDK
because the SDK is the one package every other distribution installs.
"""

__version__ = "0.1.0"
