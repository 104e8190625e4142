//! What the adapter test suites share: running a provider-SDK oracle from `tests/oracles`.

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// Runs `tests/oracles/{script}` with `args` and `stdin` under the oracle venv's python
/// (`REPLYLINE_ORACLE_PYTHON`, installed by `scripts/oracles.sh`). Without it the test
/// fails: a signature checked only by our own code proves little.
pub fn run_oracle(script: &str, args: &[&str], stdin: &[u8]) -> Output {
    let python = std::env::var("REPLYLINE_ORACLE_PYTHON").expect(
        "REPLYLINE_ORACLE_PYTHON is not set: run the tests with ./scripts/test.sh (it installs the providers' SDKs)",
    );
    let path = format!(
        "{}/../../tests/oracles/{script}",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut child = Command::new(python)
        .arg(path)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python runs");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(stdin)
        .expect("the oracle reads its input");
    child.wait_with_output().expect("the oracle finishes")
}
