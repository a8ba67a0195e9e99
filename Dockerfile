# syntax=docker/dockerfile:1
#
# labelyard server image. Runs `labelyard serve` by default; the same image runs the background
# worker with the command `labelyard worker` (give that container no health check: it has no
# HTTP port). Data (SQLite database, admin token, local result files, export scratch space)
# lives in the /data volume. See docs/deploy.md.
#
#   docker build -t labelyard .
#   docker run -p 8080:8080 -v labelyard-data:/data \
#     -e LABELYARD_PUBLIC_BASE_URL=http://localhost:8080 labelyard

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
# node/npm only build the web UI's vendored browser modules (three, pinned in
# package-lock.json) into src/labelyard/web/static/vendor/; the final image has no node.
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/labelyard
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --omit=dev
# Only what the package needs to build: pyproject.toml names README.md as its readme.
COPY pyproject.toml README.md ./
COPY tools/vendor.mjs ./tools/
COPY src ./src
RUN node tools/vendor.mjs
RUN /opt/labelyard/bin/pip install --upgrade pip \
 && /opt/labelyard/bin/pip install .

FROM python:3.11-slim
LABEL org.opencontainers.image.title="labelyard" \
      org.opencontainers.image.description="Self-hosted data-annotation server" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 labelyard \
 && useradd --system --uid 10001 --gid labelyard --home-dir /data --no-create-home \
      --shell /usr/sbin/nologin labelyard \
 && install -d -o labelyard -g labelyard -m 0750 /data /data/blobs
COPY --from=build /opt/labelyard /opt/labelyard
ENV PATH=/opt/labelyard/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    LABELYARD_DATA_DIR=/data \
    LABELYARD_HOST=0.0.0.0 \
    LABELYARD_PORT=8080
VOLUME ["/data"]
WORKDIR /data
USER 10001:10001
EXPOSE 8080
# Liveness only (the process answers); /readyz, which also needs the database, is for the
# load balancer.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('LABELYARD_PORT', '8080') + '/healthz', timeout=4)"]
CMD ["labelyard", "serve"]
