//! External tools some tests run (promtool...). CI installs them and sets
//! `JIRAFED_REQUIRE_TOOLS=1`: there a missing tool fails the test, naming
//! its Debian package; elsewhere the test says loudly that it skipped.

use std::path::PathBuf;

/// `tool` on the PATH; `None` (after a loud `SKIPPED` line) when it is not
/// there and tools are not required. `package` is the Debian package that
/// ships it.
pub fn require_tool(tool: &str, package: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(tool))
        .find(|path| path.is_file());
    if found.is_none() {
        let install = format!("apt-get install -y --no-install-recommends {package}");
        if std::env::var("JIRAFED_REQUIRE_TOOLS").is_ok_and(|v| v == "1") {
            panic!("{tool} not found and JIRAFED_REQUIRE_TOOLS=1: install it ({install})");
        }
        eprintln!("SKIPPED: {tool} not found ({install})");
    }
    found
}
