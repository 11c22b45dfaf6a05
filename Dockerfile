# syntax=docker/dockerfile:1
# check=error=true
#
# GiveLive server image: one static binary on distroless.
#
#   docker build -t givelive .
#   docker run -p 8080:8080 -p 1935:1935 -v givelive-data:/data givelive
#
# Health: distroless has no shell and no curl, so the image has no
# HEALTHCHECK. Orchestrators should probe the server itself:
#   liveness  GET /healthz  (200 while the process runs)
#   readiness GET /readyz   (200 once the ledger and, if configured, Redis answer)
# SIGTERM drains connections and exits 0 (PROTOCOL.md section 7).
#
# Lint without a Docker engine: make lint-docker

# The web app's packages (client/web): npm only fetches them; the Go stage
# bundles them with esbuild (go generate) and embeds the bundle.
FROM --platform=$BUILDPLATFORM node:22-bookworm-slim AS web
WORKDIR /src/client/web
COPY client/web/package.json client/web/package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --no-audit --no-fund

# The build stage runs on the builder's own platform and cross-compiles
# (CGO_ENABLED=0), so multi-platform builds need no emulation.
FROM --platform=$BUILDPLATFORM golang:1.26-bookworm AS build
ARG TARGETOS
ARG TARGETARCH
ENV CGO_ENABLED=0 \
    GOTOOLCHAIN=local
WORKDIR /src

# Dependencies first, so this layer and the module cache survive source edits.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .
COPY --from=web /src/client/web/node_modules client/web/node_modules
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go generate ./client/web/... \
 && GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags='-s -w' -o /out/givelive ./cmd/givelive \
 && mkdir -p /out/data

# Runtime: no shell, no package manager; uid/gid 65532 ("nonroot").
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/givelive /givelive
# /data must exist and belong to nonroot before VOLUME, or a fresh named
# volume is created root-owned and the server cannot write its ledger.
COPY --from=build --chown=65532:65532 /out/data /data
ENV GIVELIVE_DATA_DIR=/data
VOLUME /data
USER nonroot:nonroot
# 8080: API, WebSocket, HLS, replays, web app, WHIP offers. 1935: RTMP
# ingest. 8189: WebRTC media of WHIP publishers (UDP, and TCP for networks
# that block UDP). Recordings go under /data/recordings.
EXPOSE 8080 1935 8189/udp 8189/tcp
ENTRYPOINT ["/givelive"]
CMD ["serve"]
