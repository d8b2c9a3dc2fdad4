# One host of the auxduty service: `python -m api.cli serve` (one uvicorn worker) on port 8000.
# compose.yaml runs two of these behind nginx, on PostgreSQL, Redis and SeaweedFS; README.md, "Deploying".
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    AUXDUTY_DATA_DIR=/var/lib/auxduty \
    AUXDUTY_LOG_FORMAT=json

# libzbar0: the zbar library pyzbar loads to read badge QR codes from photos; fonts-noto-cjk: Chinese text on
# printed badge cards. Every Python dependency has a wheel for this platform, so no compiler is needed.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libzbar0 fonts-noto-cjk \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 auxduty \
    && useradd --system --uid 10001 --gid auxduty --home-dir /nonexistent --shell /usr/sbin/nologin auxduty \
    && install -d -o auxduty -g auxduty -m 0750 /var/lib/auxduty

WORKDIR /app

# The dependencies first, from pyproject.toml alone, so that a change of code does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# Installed from its source tree (editable): the migrations in alembic/ are found beside the packages
# (api/migrations.py), not inside them. The tree belongs to root and is read-only to the service.
COPY README.md ./
COPY alembic ./alembic
COPY api ./api
COPY schemas ./schemas
COPY verification ./verification
RUN pip install --no-deps -e . \
    && python -m compileall -q api schemas verification alembic

USER auxduty
VOLUME ["/var/lib/auxduty"]
EXPOSE 8000

# /healthz answers 200 while the process serves; /readyz (database, Redis, storage) is for the load balancer.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]

CMD ["python", "-m", "api.cli", "serve", "--host", "0.0.0.0", "--port", "8000"]
