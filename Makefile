# The Lambda functions' package, built by `sam build` (template.yaml: every function has
# `Metadata: BuildMethod: makefile`). SAM copies the CodeUri directory (the repository)
# to a scratch directory, runs `make build-<LogicalId>` there with ARTIFACTS_DIR set to
# that function's build directory, and zips ARTIFACTS_DIR as the function's code.
#
# Each target builds a wheel of ecrscan from pyproject.toml, README.md and ecrscan/ alone
# (copied to a temporary directory, so no build/ or *.egg-info is left behind and no stale
# file from an earlier build gets in), installs the functions' runtime dependencies
# (LAMBDA_REQUIREMENTS) into ARTIFACTS_DIR, then the wheel without its dependencies. The
# artifact holds ecrscan, its *.dist-info (so ecrscan.__version__ is the released version)
# and those dependencies; no tests, docs, benchmarks or caches, and not the libraries only
# the command line imports. docs/lambda.md explains it.
#
# The dependencies are picked for the Lambda runtime, not for the machine that builds:
# CPython 3.12 (template.yaml: Runtime: python3.12) on Linux x86_64 (template.yaml sets no
# Architectures, so x86_64), binary wheels only. google-re2 is compiled, so a build on a
# Mac or on Python 3.11 must still fetch its cp312 manylinux wheel. For an arm64 function
# set LAMBDA_ARCHITECTURE = aarch64 here (tests/lambdas/test_package.py checks the two
# agree). Run by hand:  make build-ImagesFunction ARTIFACTS_DIR=/tmp/ecrscan-lambda

PYTHON ?= python3
LAMBDA_PYTHON_VERSION = 3.12
LAMBDA_ARCHITECTURE = x86_64
# The Linux wheels the runtime can load: python3.12 runs on Amazon Linux 2023 (glibc 2.34),
# so manylinux2014 (glibc 2.17; pip adds manylinux2010 and manylinux1) up to manylinux_2_34.
# manylinux2014 alone would miss the wheels built for newer glibc only: google-re2's
# current releases ship manylinux_2_28 wheels only, and pip would fall back to its old 1.1.
LAMBDA_GLIBC_MINORS = 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34
# Empty (make ... LAMBDA_PLATFORM=) installs for the interpreter that runs pip instead:
# the tests do that to import the handlers from the artifact.
LAMBDA_PLATFORM = --platform manylinux2014_$(LAMBDA_ARCHITECTURE) \
	$(foreach minor,$(LAMBDA_GLIBC_MINORS),--platform manylinux_2_$(minor)_$(LAMBDA_ARCHITECTURE)) \
	--implementation cp --python-version $(LAMBDA_PYTHON_VERSION)

# The functions' runtime dependencies: pyproject.toml's, specifiers and all, but for
# click and rich (with pygments, markdown-it-py and mdurl, which rich brings), which only
# the command line (ecrscan/cli, ecrscan/render's terminal output) imports. `pip install .`
# still installs all of them. tests/lambdas/test_package.py checks that the two lists
# agree, tests/test_architecture.py that the handlers import none of the CLI's code.
LAMBDA_REQUIREMENTS = boto3>=1.44 botocore>=1.44 python-dateutil>=2.8 google-re2>=1.1
LAMBDA_PIP = $(PYTHON) -m pip install --quiet --no-compile --no-warn-conflicts \
	--only-binary=:all: $(LAMBDA_PLATFORM) --target "$(ARTIFACTS_DIR)"

FUNCTIONS = RepositoriesFunction ImagesFunction ReporterFunction
TARGETS = $(addprefix build-,$(FUNCTIONS))

.PHONY: $(TARGETS)

# The three functions run the same code (different handlers), so they get the same package.
# --no-compile: no .pyc of the building interpreter (useless to 3.12, and /var/task is
# read-only, so Lambda compiles in memory). --no-warn-conflicts: the target directory is
# an environment of its own; what the building machine has installed does not matter.
# bin/ (console scripts whose first line names the building interpreter) is of no use in
# Lambda and is removed after each install (a second install into a directory that has
# bin/ would warn and skip it). pip's download cache stays on (it is outside
# ARTIFACTS_DIR, and the three builds share it); PIP_NO_CACHE_DIR=1 turns it off.
$(TARGETS):
	@test -n "$(ARTIFACTS_DIR)" || { echo "ARTIFACTS_DIR is not set (sam build sets it)" >&2; exit 2; }
	set -e; \
	work="$$(mktemp -d)"; trap 'rm -rf "$$work"' EXIT; \
	mkdir "$$work/src"; \
	cp -R pyproject.toml README.md ecrscan "$$work/src/"; \
	$(PYTHON) -m pip wheel --quiet --no-deps --wheel-dir "$$work/wheel" "$$work/src"; \
	$(LAMBDA_PIP) $(foreach requirement,$(LAMBDA_REQUIREMENTS),'$(requirement)'); \
	rm -rf "$(ARTIFACTS_DIR)/bin"; \
	$(LAMBDA_PIP) --no-deps "$$work"/wheel/ecrscan-*.whl; \
	rm -rf "$(ARTIFACTS_DIR)/bin"
