//! The scenarios are compiled in (`include_dir!`), which tracks the files it found but not the
//! folder: watch `scenarios/` so that a file added there is enough to ship it.

fn main() {
    println!("cargo::rerun-if-changed=../../scenarios");
}
