# closedloop API, worker and migrations in one image; docker-compose.yml picks the command.
#   docker build -t closedloop:local .
#   docker run --env-file .env closedloop:local closedloop worker

FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

# All runtime dependencies ship as wheels (psycopg[binary], argon2-cffi, ...): no compiler needed.
RUN python -m venv /opt/venv
WORKDIR /src
COPY . .
RUN /opt/venv/bin/pip install --upgrade pip \
    && /opt/venv/bin/pip install .


FROM python:3.11-slim AS runtime

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CLOSEDLOOP_ENV=production \
    CLOSEDLOOP_API_HOST=0.0.0.0 \
    CLOSEDLOOP_API_PORT=8000

# PDF reports embed this TrueType CJK font (services/reports/exports/pdf_export.py).
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-wqy-microhei \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 closedloop \
    && useradd --system --uid 10001 --gid closedloop --home-dir /app --shell /usr/sbin/nologin closedloop \
    && mkdir -p /app \
    && chown closedloop:closedloop /app

COPY --from=build /opt/venv /opt/venv
# Recorded workflow histories, so `replay` checks can run against the exact image being deployed.
COPY --from=build --chown=closedloop:closedloop /src/tests/replay /app/tests/replay

WORKDIR /app
USER closedloop:closedloop

EXPOSE 8000

# slim has no curl; the API's liveness probe is plain urllib.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('CLOSEDLOOP_API_PORT', '8000'), timeout=4)"]

CMD ["closedloop", "api"]
