//! `--expect FILE`: compares the printed output with a file and renders the
//! difference as a unified diff (`-` expected, `+` actual).

use std::path::Path;

use similar::TextDiff;

/// `Ok(None)` when `actual` equals the file, else the diff text.
pub fn compare(path: &Path, actual: &[u8]) -> Result<Option<String>, String> {
    let expected =
        std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if expected == actual {
        return Ok(None);
    }
    Ok(Some(diff(
        &String::from_utf8_lossy(&expected),
        &String::from_utf8_lossy(actual),
        &path.display().to_string(),
    )))
}

/// A unified diff with three lines of context.
pub fn diff(expected: &str, actual: &str, name: &str) -> String {
    TextDiff::from_lines(expected, actual)
        .unified_diff()
        .context_radius(3)
        .header(name, "actual output")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_output_has_no_diff_and_changes_are_marked() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("e.txt");
        std::fs::write(&p, "a\nb\nc\n").unwrap();
        assert_eq!(compare(&p, b"a\nb\nc\n").unwrap(), None);
        let d = compare(&p, b"a\nB\nc\n").unwrap().unwrap();
        assert!(d.contains("-b\n") && d.contains("+B\n") && d.contains("@@"), "{d}");
        assert!(compare(&dir.path().join("missing"), b"").is_err());
    }
}
