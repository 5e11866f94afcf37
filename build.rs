//! Build script: wires up the N-API linker flags when the `node` binding is enabled.
fn main() {
    if std::env::var_os("CARGO_FEATURE_NODE").is_some() {
        napi_build::setup();
    }
}
