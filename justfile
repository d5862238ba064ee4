# HYOK Lab recipes. `just` alone lists them.

default:
    @just --list

# Start the lab in the foreground (`just lab up`), or `just lab status|down`.
lab *args:
    cargo run --release -p hyok-lab -- {{args}}

# Run every test that needs no Docker engine (the README's test command).
test:
    cargo test --workspace

# Format, lint and test, as CI does.
ci:
    bash .ci/run

# Release-build benchmark of lab startup and idle memory.
bench-startup:
    cargo build --release -p hyok-lab
    python3 scripts/bench_startup.py target/release/hyok-lab
