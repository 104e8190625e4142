//! The README's channel-rules table must be exactly what the built-in rules say.
//! To refresh it after changing the rules: `UPDATE_README=1 cargo test -p replyline-tests
//! --test readme_rules_table`, then review the diff.

use std::path::PathBuf;

use replyline_policy::{default_rules_table, TABLE_END, TABLE_START};

fn readme_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../README.md")
}

#[test]
fn readme_rules_table_matches_the_built_in_rules() {
    let path = readme_path();
    let readme = std::fs::read_to_string(&path).expect("README.md is readable");
    let start = readme
        .find(TABLE_START)
        .expect("README.md has the rules-table start marker");
    let body_start = start + TABLE_START.len() + 1;
    let end = readme[body_start..]
        .find(TABLE_END)
        .map(|i| body_start + i)
        .expect("README.md has the rules-table end marker");
    let in_readme = &readme[body_start..end];
    let generated = default_rules_table();

    if std::env::var_os("UPDATE_README").is_some() && in_readme != generated {
        let updated = format!("{}{}{}", &readme[..body_start], generated, &readme[end..]);
        std::fs::write(&path, updated).expect("README.md is writable");
        return;
    }
    assert!(
        in_readme == generated,
        "README.md's channel-rules table disagrees with the built-in rules.\n\
         Built-in rules render as:\n{generated}\nREADME has:\n{in_readme}\n\
         Fix the rules or run UPDATE_README=1 cargo test -p replyline-tests --test readme_rules_table"
    );
}
