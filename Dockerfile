# syntax=docker/dockerfile:1
# Multi-stage build: compile with the Rust toolchain, run on a minimal
# Debian image as a non-root user. The web UI and migrations are embedded
# in the binary; no Node.js is needed.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p switchyard-server \
 && cp target/release/switchyard /usr/local/bin/switchyard

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --create-home --home-dir /var/lib/switchyard switchyard
COPY --from=build /usr/local/bin/switchyard /usr/local/bin/switchyard
USER 10001:10001
WORKDIR /var/lib/switchyard
ENV SWITCHYARD_LISTEN=0.0.0.0:8080 \
    SWITCHYARD_DATA_DIR=/var/lib/switchyard \
    SWITCHYARD_LOG_FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=5s --timeout=4s --start-period=10s --retries=12 \
    CMD ["/usr/local/bin/switchyard", "health", "--server", "http://127.0.0.1:8080"]
ENTRYPOINT ["/usr/local/bin/switchyard"]
CMD ["serve"]
