# ecrscan as a container: `docker build -t ecrscan .`, then
#   docker run --rm -e AWS_REGION -e AWS_ACCESS_KEY_ID -e AWS_SECRET_ACCESS_KEY \
#     -e AWS_SESSION_TOKEN ecrscan scan team/api:v1 --fail-on HIGH
# (docs/container.md: credentials, profiles, writing reports to a mounted directory).
ARG PYTHON_VERSION=3.12

# Build a wheel of ecrscan from the package sources only (no tests, docs or benchmarks).
FROM python:${PYTHON_VERSION}-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY ecrscan ./ecrscan
RUN python -m pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

# The runtime: ecrscan and its runtime dependencies, run by an unprivileged user.
FROM python:${PYTHON_VERSION}-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN useradd --create-home --uid 10001 --user-group ecrscan
COPY --from=build /wheels /wheels
RUN python -m pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER 10001:10001
WORKDIR /home/ecrscan
ENTRYPOINT ["ecrscan"]
CMD ["--help"]
