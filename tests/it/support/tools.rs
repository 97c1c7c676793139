//! External tools some tests drive (a browser, ...). Where a tool is
//! missing, a test is skipped with a loud line on stderr, unless
//! `JIRAFED_REQUIRE_TOOLS=1` (CI, which installs them): then it fails,
//! naming the package to install.

use std::path::PathBuf;

/// The path of `tool` on `PATH`; `None` (after a loud `SKIPPED:` line)
/// when it is missing and tools are not required. Panics when it is
/// missing and `JIRAFED_REQUIRE_TOOLS=1`.
pub fn find(tool: &str, debian_package: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).map(|dir| dir.join(tool)).find(|p| is_executable(p)))
        .unwrap_or_default();
    if found.is_none() {
        let install = format!("apt-get install -y --no-install-recommends {debian_package}");
        if std::env::var("JIRAFED_REQUIRE_TOOLS").is_ok_and(|v| v == "1") {
            panic!("{tool} not found on PATH and JIRAFED_REQUIRE_TOOLS=1: install it ({install})");
        }
        eprintln!("SKIPPED: {tool} not found ({install})");
    }
    found
}

fn is_executable(path: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
