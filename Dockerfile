# syntax=docker/dockerfile:1
# The API, the worker and the one-shot jobs (migrate, s3-init) all run this image.
#   docker build --build-arg TARGET=prod .   # runtime dependencies only (default)
#   docker build --build-arg TARGET=dev .    # plus test and lint tools (compose.dev.yaml)
# Python's minor version is the one CI tests (3.11).

FROM python:3.11.15-slim-trixie AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Dependencies first: a change to the code does not reinstall them.
FROM base AS dependencies
ARG TARGET=prod
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY requirements-prod.txt requirements-dev.txt /tmp/requirements/
RUN pip install --no-cache-dir -r "/tmp/requirements/requirements-${TARGET}.txt"

FROM base AS runtime
ARG TARGET=prod
LABEL org.opencontainers.image.title="contact-stack" \
      org.opencontainers.image.description="Contact API, worker and jobs"
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --home-dir /app \
       --shell /usr/sbin/nologin app
COPY --from=dependencies /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PROMETHEUS_MULTIPROC_DIR=/tmp/metrics \
    APP_TARGET=${TARGET}
WORKDIR /app
COPY alembic.ini ./
COPY app ./app
COPY docker/entrypoint.sh /usr/local/bin/entrypoint
USER 10001:10001
EXPOSE 8000
# The image has no curl or wget (python:*-slim purges them); Python's urllib is there, and
# urlopen raises on a non-2xx answer, so the probe exits non-zero.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=3)"]
ENTRYPOINT ["/usr/local/bin/entrypoint"]
CMD ["uvicorn", "--factory", "app.main:create_app", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers", "--forwarded-allow-ips", "*", "--no-access-log", "--no-server-header", "--timeout-graceful-shutdown", "20"]
