//! Issue 9, item 12: imports point down. The store sits below evaluation and
//! alerting, so no file of it may name a module above it.

use std::path::Path;

/// Every `.rs` file under `dir`, recursively.
fn sources(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

#[test]
fn the_store_imports_nothing_from_alert() {
    let store = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/store");
    let mut offenders = Vec::new();
    for file in sources(&store) {
        let text = std::fs::read_to_string(&file).expect("read");
        for (i, line) in text.lines().enumerate() {
            if line.contains("crate::alert") || line.contains("crate::commands") {
                offenders.push(format!("{}:{}: {}", file.display(), i + 1, line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "store/ reaches up:\n{}",
        offenders.join("\n")
    );
}
