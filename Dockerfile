# seedwatch container image.
#   docker build -t seedwatch .            (or: podman build --format docker -t seedwatch .)
#   docker run -p 127.0.0.1:9464:9464 seedwatch                        the demo
#   docker run -v ./seedwatch.yaml:/etc/seedwatch/seedwatch.yaml:ro -v seedwatch-data:/data seedwatch
# The runtime stage holds Node, the compiled agent and its production dependencies only: no
# compiler, no dev dependencies, no sources, nothing from the build context but the files
# .dockerignore lets through (it is an allow-list, so a seedwatch.yaml or a secret lying in the
# checkout never enters a layer). See docs/deploy.md.

# Any Debian-based image with Node 20 installed under /usr/local (node, npm, and the headers in
# /usr/local/include/node), as the official node images are. The tests pass a local one.
ARG BASE_IMAGE=node:20-slim

# The toolchain and the dependencies: rebuilt only when package-lock.json changes.
FROM ${BASE_IMAGE} AS deps
# better-sqlite3 compiles from source when its prebuilt binary cannot be downloaded.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
# node-gyp builds against the headers shipped with the image's Node instead of downloading them.
ENV npm_config_nodedir=/usr/local \
    npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false
# Only for a build behind a TLS-intercepting proxy: a CA bundle path that the build mounts
# (podman build -v /etc/ssl/certs/ca-certificates.crt:/run/host-ca.crt:ro --build-arg
# NODE_EXTRA_CA_CERTS=/run/host-ca.crt). A build argument of this stage: it is not in the image.
ARG NODE_EXTRA_CA_CERTS
COPY package.json package-lock.json /prod/
# The production dependencies the runtime stage copies, better-sqlite3 compiled for this Node.
# --ignore-scripts skips the package's own `prepare` (tsc, a dev dependency); the one install
# script production needs is better-sqlite3's, run by the rebuild. Of its build, only the
# addon is loaded at run time: the objects and the SQLite sources (25 MB) stay here.
RUN cd /prod \
 && npm ci --omit=dev --ignore-scripts \
 && npm rebuild better-sqlite3 \
 && cd node_modules/better-sqlite3 \
 && mv build/Release/better_sqlite3.node /tmp/ \
 && rm -rf build deps src \
 && mkdir -p build/Release \
 && mv /tmp/better_sqlite3.node build/Release/ \
 && cd /prod \
 && node -e "new (require('better-sqlite3'))(':memory:').close()"
WORKDIR /src
COPY package.json package-lock.json ./
# The dev dependencies, for tsc only (nothing here runs at run time: no native build needed).
RUN npm ci --ignore-scripts

FROM deps AS build
COPY tsconfig.json ./
COPY agent agent
COPY sandbox sandbox
COPY dashboards/src dashboards/src
RUN npx tsc -p tsconfig.json

FROM ${BASE_IMAGE} AS runtime
ENV NODE_ENV=production
# A fixed numeric uid, so that Kubernetes' runAsNonRoot can verify it and a bind-mounted data
# directory can be chowned to it ahead of time (chown 10001:10001 DIR).
RUN groupadd --gid 10001 seedwatch \
 && useradd --uid 10001 --gid 10001 --home-dir /data --no-create-home --shell /usr/sbin/nologin seedwatch \
 && mkdir -p /data /etc/seedwatch \
 && chown 10001:10001 /data \
 && chmod 700 /data
WORKDIR /app
COPY package.json ./
COPY --from=deps /prod/node_modules node_modules
COPY --from=build /src/dist dist
COPY bin bin
COPY seed-accounts/providers seed-accounts/providers
COPY deploy/docker/entrypoint.sh /usr/local/bin/seedwatch-entrypoint
RUN ln -s /app/bin/seedwatch.js /usr/local/bin/seedwatch
USER 10001:10001
# The ledger (SQLite, WAL) and, for the demo, its generated config and DKIM key.
VOLUME ["/data"]
EXPOSE 9464
# The agent stops on SIGTERM within its 9 s budget (exit 0): under the runtimes' default 10 s.
STOPSIGNAL SIGTERM
# slim images have no curl: Node's fetch. The config must listen on port 9464 (0.0.0.0:9464).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9464/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/local/bin/seedwatch-entrypoint"]
