# Gavel in a container: build with the Swift toolchain, run on a slim image.
# The database comes from DATABASE_URL (see docker-compose.yml); the embedded
# PostgreSQL default is for running from a checkout, not in a container.
FROM swift:6.3-bookworm AS build
WORKDIR /build
COPY Package.swift ./
RUN swift package resolve
COPY Sources ./Sources
RUN swift build -c release --product gavel --static-swift-stdlib \
 && cp "$(swift build -c release --show-bin-path)/gavel" /build/gavel

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libcurl4 libxml2 tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 gavel
WORKDIR /app
COPY --from=build /build/gavel /usr/local/bin/gavel
# Migrations and the OpenAPI document are read at run time from GAVEL_RESOURCES.
COPY SQL ./SQL
COPY Docs/openapi.yaml ./Docs/openapi.yaml
COPY Console ./Console
ENV GAVEL_RESOURCES=/app GAVEL_HOST=0.0.0.0 GAVEL_PORT=8080 GAVEL_LOG_FORMAT=json
USER gavel
EXPOSE 8080
ENTRYPOINT ["gavel"]
CMD ["serve"]
