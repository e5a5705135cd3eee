# syntax=docker/dockerfile:1
#
# One image for every Lotse service and for the certificate job. TypeScript runs through tsx
# (there is no build step), so the image holds the sources and the installed workspace.
#
#   docker build -t lotse .
#   docker run --rm lotse node --import tsx --import ./libs/telemetry/src/register.ts services/<service>/src/main.ts
#
# docker-compose.yml builds it and runs one container per agency deployment.

ARG NODE_IMAGE=node:24-bookworm-slim
# Keep in step with "packageManager" in package.json (pnpm 11 needs Node >= 22.13; see STACK.md).
ARG PNPM_VERSION=10.34.9

# --- the package manifests only ---------------------------------------------------------------
# This stage sees the whole context, but its result is just the manifests: the install layer
# below is reused until a package.json, the lockfile or the workspace settings change, and a new
# workspace package needs no change here.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY . .
RUN mkdir /manifests \
 && find . -path '*/node_modules' -prune -o \
      \( -name package.json -o -name pnpm-lock.yaml -o -name pnpm-workspace.yaml -o -name .npmrc \) \
      -type f -print \
    | xargs cp --parents -t /manifests \
 && test -f /manifests/pnpm-lock.yaml && test -f /manifests/pnpm-workspace.yaml

# --- dependencies ------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
ARG PNPM_VERSION
RUN npm install --global --no-fund --no-audit "pnpm@${PNPM_VERSION}" && npm cache clean --force
WORKDIR /app
COPY --from=manifests /manifests/ ./
# Development dependencies stay: tsx runs the services, and it (with esbuild) is a devDependency
# of the workspace root. Build scripts run only for the packages in onlyBuiltDependencies.
RUN --mount=type=cache,id=lotse-pnpm-store,target=/pnpm/store \
    CI=true pnpm install --frozen-lockfile --store-dir /pnpm/store

# --- runtime -----------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV LOTSE_HOME=/tmp/lotse \
    PKI_DIR=/pki
WORKDIR /app
COPY --from=deps /app/ ./
# node_modules, .git, .lotse and test output are kept out by .dockerignore, so this layer does
# not replace what pnpm installed.
COPY . .
# /pki is where the certificate job writes and the services read; as a mount point owned by the
# unprivileged user, a fresh named volume mounted here starts out with that owner too.
RUN mkdir -p /pki /tmp/lotse \
 && chown node:node /pki /tmp/lotse \
 && chmod 0700 /pki
# The code stays owned by root and read-only for the service; it writes nothing but /tmp
# (tsx's compile cache) and, without DATABASE_URL, its embedded database under LOTSE_HOME.
USER node
# No default service: every container says which one it runs (see docker-compose.yml).
CMD ["node", "-e", "console.error('Lotse image: run node --import tsx --import ./libs/telemetry/src/register.ts services/<service>/src/main.ts, or node --import tsx infra/network/src/issue-certificates.ts <dir> <id>:<agencyType>[:hostnames] ...'); process.exit(64)"]
