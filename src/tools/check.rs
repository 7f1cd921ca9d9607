//! `sandpiper check -config PATH`: loads and validates a configuration,
//! builds every plugin without starting anything, and prints the plugin
//! graph. Every error is printed, one per line; exit code 2 on errors.

use std::io::Write;
use std::path::Path;

use super::ExitCode;
use crate::config::ConfigErrors;
use crate::pipeline::{Plan, build};

/// Loads and builds `path`, or returns every error found: file-level
/// errors and plugin-level errors together.
pub fn load_plan(path: &Path) -> Result<Plan, ConfigErrors> {
    let (config, mut errors) = crate::config::load_partial(path);
    let failed: std::collections::HashSet<Option<String>> =
        errors.iter().map(|e| e.section.clone()).collect();
    let mut usable = config.clone();
    // Sections that already failed to load are not built again (their
    // errors would repeat).
    usable.plugins.retain(|s| !failed.contains(&Some(s.name.clone())));
    match build(&usable) {
        Ok(plan) if errors.is_empty() => Ok(plan),
        Ok(_) => Err(ConfigErrors(errors)),
        Err(ConfigErrors(more)) => {
            errors.extend(more);
            Err(ConfigErrors(errors))
        }
    }
}

/// Prints errors one per line on stderr.
pub fn print_errors(errors: &ConfigErrors) {
    let stderr = std::io::stderr();
    let mut w = stderr.lock();
    for e in &errors.0 {
        let _ = writeln!(w, "{e}");
    }
}

/// Runs `check`.
pub fn run(path: &Path) -> ExitCode {
    match load_plan(path) {
        Ok(plan) => {
            print!("{}", plan.describe());
            println!("Configuration OK: {}", path.display());
            0
        }
        Err(errors) => {
            print_errors(&errors);
            2
        }
    }
}
