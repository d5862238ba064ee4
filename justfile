# HYOK Lab recipes. `just` alone lists them.

default:
    @just --list

# Start the lab in the foreground (`just lab up`), or `just lab status|down`.
lab *args:
    cargo run --release -p hyok-lab -- {{args}}

# Run every test that needs no Docker engine (the README's test command).
test:
    scripts/test

# Format, lint and test, as CI does.
ci:
    bash .ci/run

# Release-build benchmark of lab startup and idle memory.
bench-startup:
    cargo build --release -p hyok-lab
    python3 scripts/bench_startup.py target/release/hyok-lab

# Build the lab image from scratch (static binary; no registry needed).
docker-build:
    docker/build.sh hyok-lab:dev

# Run the whole lab in Docker, ports published on 127.0.0.1, lab dir in ./.hyok-lab-docker.
docker-run:
    mkdir -p .hyok-lab-docker
    docker run --rm -v "$PWD/.hyok-lab-docker:/lab" -p 127.0.0.1:17400-17416:17400-17416 -p 127.0.0.1:17451:17451 -p 127.0.0.1:17452-17457:17452-17457 -p 127.0.0.1:17452-17457:17452-17457/udp -p 127.0.0.1:17500-17509:17500-17509 hyok-lab:dev

# Tests that need a Docker engine and the image.
test-docker: docker-build
    HYOK_DOCKER_TESTS=1 cargo test -p hyok-e2e --test e2e container -- --nocapture
    HYOK_DOCKER_TESTS=1 cargo test -p hyok-e2e --test e2e compose -- --nocapture
    HYOK_DOCKER_TESTS=1 cargo test -p hyok-lab-testcontainers

# The compose topology, one container per service: `just compose up`, `just compose down`
# (also `ps`, `logs`). Lab dir .hyok-compose; then `hyok-lab scenario run oci-hyok-api-gateway --lab-dir .hyok-compose`.
compose *args:
    docker/compose.sh {{args}}
