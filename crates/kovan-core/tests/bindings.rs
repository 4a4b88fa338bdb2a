//! The committed TypeScript bindings in ui/src/lib/bindings/ must equal what ts-rs generates now.
//! Regenerate them with `KOVAN_BLESS=1 cargo test -p kovan-core --test bindings`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn committed_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/lib/bindings")
}

fn read_dir(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "ts"))
                .map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    (name, std::fs::read_to_string(e.path()).unwrap())
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn committed_bindings_match_the_rust_types() {
    let fresh = tempfile::tempdir().unwrap();
    kovan_core::bindings::export_all(fresh.path()).unwrap();
    let generated = read_dir(fresh.path());
    assert!(generated.contains_key("WorkspaceView.ts"), "{generated:?}");

    let dir = committed_dir();
    if std::env::var_os("KOVAN_BLESS").is_some() {
        for stale in read_dir(&dir).keys() {
            std::fs::remove_file(dir.join(stale)).unwrap();
        }
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in &generated {
            std::fs::write(dir.join(name), text).unwrap();
        }
        return;
    }
    let committed = read_dir(&dir);
    for (name, text) in &generated {
        assert_eq!(
            committed.get(name),
            Some(text),
            "ui/src/lib/bindings/{name} differs from the Rust type; run KOVAN_BLESS=1 cargo test -p kovan-core --test bindings"
        );
    }
    let extra: Vec<_> = committed
        .keys()
        .filter(|k| !generated.contains_key(*k))
        .collect();
    assert!(
        extra.is_empty(),
        "bindings no Rust type produces any more: {extra:?}"
    );
}
