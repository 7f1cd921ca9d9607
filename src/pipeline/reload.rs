//! Applying a new configuration to a running pipeline (SIGHUP, `sandpiper
//! reload`). The new configuration has already been validated and built in
//! full; here only the difference is applied:
//!
//! - new plugins start (outputs, then filters, then inputs);
//! - changed filters and outputs are replaced in place: messages wait in
//!   their queue during the swap, filters carry their state over (a sandbox
//!   keeps its globals); a replacement that fails to start leaves the old
//!   one running;
//! - changed inputs are stopped (their checkpoint written) and started
//!   again, resuming where they stopped;
//! - removed plugins are drained and stopped (sandbox state preserved);
//! - everything else is not touched, not even paused.
//!
//! A plugin counts as changed when its section differs or when a splitter,
//! decoder or encoder section it uses differs. `[hekad]` settings take
//! effect at the next restart (a warning says so). Plugins started at run
//! time by a SandboxManagerFilter are left alone.

use std::collections::HashSet;

use crate::config::{Category, PluginSection};

use super::Plan;
use super::build::decoder_subs;
use super::running::{RunningPlugin, Shared, take_where};

/// What a reload did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReloadSummary {
    /// Plugins started.
    pub added: Vec<String>,
    /// Plugins replaced in place or restarted.
    pub replaced: Vec<String>,
    /// Plugins stopped.
    pub removed: Vec<String>,
    /// Plugins left as they were.
    pub unchanged: Vec<String>,
    /// Changes that could not be applied (the old version keeps running).
    pub errors: Vec<String>,
}

impl std::fmt::Display for ReloadSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |v: &[String]| if v.is_empty() { "-".to_string() } else { v.join(", ") };
        write!(
            f,
            "added: {}; replaced: {}; removed: {}; unchanged: {}",
            list(&self.added),
            list(&self.replaced),
            list(&self.removed),
            list(&self.unchanged)
        )?;
        if !self.errors.is_empty() {
            write!(f, "; errors: {}", self.errors.join("; "))?;
        }
        Ok(())
    }
}

/// Names of template sections (splitters, decoders, encoders) that differ
/// between the two configurations, including MultiDecoders whose subs do.
fn changed_templates(old: &[PluginSection], new: &[PluginSection]) -> HashSet<String> {
    let is_template = |s: &PluginSection| {
        matches!(s.category, Category::Splitter | Category::Decoder | Category::Encoder)
    };
    let mut changed: HashSet<String> = HashSet::new();
    for s in old.iter().chain(new).filter(|s| is_template(s)) {
        let before = old.iter().find(|o| o.name == s.name);
        let after = new.iter().find(|n| n.name == s.name);
        if before != after {
            changed.insert(s.name.clone());
        }
    }
    loop {
        let more: Vec<String> = new
            .iter()
            .filter(|s| s.category == Category::Decoder && !changed.contains(&s.name))
            .filter(|s| decoder_subs(s).iter().any(|n| changed.contains(n)))
            .map(|s| s.name.clone())
            .collect();
        if more.is_empty() {
            return changed;
        }
        changed.extend(more);
    }
}

/// Takes the configured (not run-time) plugin called `name` out of `list`.
fn take(list: &mut Vec<RunningPlugin>, name: &str) -> Option<RunningPlugin> {
    take_where(list, |p| p.info.name == name && p.section.is_some())
}

/// The section of an output or filter in the new plan; `changed` is set
/// when a template it uses changed.
struct Planned<'a> {
    name: &'a str,
    section: PluginSection,
    changed: bool,
}

/// One output or filter of the new plan against its running version
/// `existing`: started when new, replaced in place when its section (or a
/// template it uses) changed, kept otherwise. Records the
/// outcome in `summary`; `None` when a new plugin failed to start.
fn reconcile<P, E1: std::fmt::Display, E2: std::fmt::Display>(
    summary: &mut ReloadSummary,
    planned: Planned<'_>,
    existing: Option<RunningPlugin>,
    plan: P,
    start: impl FnOnce(P) -> Result<RunningPlugin, E1>,
    replace: impl FnOnce(&mut RunningPlugin, P) -> Result<(), E2>,
) -> Option<RunningPlugin> {
    let Planned { name, section, changed } = planned;
    let Some(mut r) = existing else {
        return match start(plan) {
            Ok(r) => {
                summary.added.push(name.to_owned());
                Some(r)
            }
            Err(e) => {
                summary.errors.push(format!("{name}: {e}"));
                None
            }
        };
    };
    if r.section.as_ref() == Some(&section) && !changed {
        summary.unchanged.push(name.to_owned());
        return Some(r);
    }
    match replace(&mut r, plan) {
        Ok(()) => {
            r.section = Some(section);
            summary.replaced.push(name.to_owned());
        }
        Err(e) => summary.errors.push(format!("{name}: {e}")),
    }
    Some(r)
}

/// Applies `plan` to the running pipeline.
pub(crate) fn apply(shared: &Shared, plan: Plan) -> ReloadSummary {
    let mut summary = ReloadSummary::default();
    if plan.hekad != *shared.hekad {
        tracing::warn!("Changes to [hekad] take effect at the next restart.");
    }
    let old_sections = std::mem::take(&mut shared.lock().sections);
    let templates = changed_templates(&old_sections, &plan.sections);
    let uses_changed = |name: &Option<String>| name.as_ref().is_some_and(|n| templates.contains(n));

    // Outputs: add or replace, remember the names kept.
    let mut keep: HashSet<String> = HashSet::new();
    for o in plan.outputs {
        let name = o.name.clone();
        keep.insert(name.clone());
        let existing = take(&mut shared.lock().outputs, &name);
        let section = o.section.clone();
        let changed = uses_changed(&o.encoder.as_ref().map(|(n, _)| n.clone()));
        let start = |o| {
            shared.start_output(o, None).map(|mut r| {
                r.section = plan.sections.iter().find(|s| s.name == name).cloned();
                r
            })
        };
        let replace = |r: &mut RunningPlugin, o| shared.replace_output(r, o);
        let planned = Planned { name: &name, section, changed };
        let running = reconcile(&mut summary, planned, existing, o, start, replace);
        if let Some(running) = running {
            shared.lock().outputs.push(running);
        }
    }

    // Filters: add or replace in place (state carried over).
    for f in plan.filters {
        let name = f.name.clone();
        keep.insert(name.clone());
        let existing = take(&mut shared.lock().filters, &name);
        let section = f.section.clone();
        let start = |f| shared.start_filter(f, Some(section.clone()));
        let replace = |r: &mut RunningPlugin, f| shared.replace_filter(r, f);
        let planned = Planned { name: &name, section: section.clone(), changed: false };
        let running = reconcile(&mut summary, planned, existing, f, start, replace);
        if let Some(running) = running {
            shared.lock().filters.push(running);
        }
    }

    // Inputs: add, or stop and start again when changed.
    let mut keep_inputs: HashSet<String> = HashSet::new();
    for i in plan.inputs {
        let name = i.name.clone();
        keep_inputs.insert(name.clone());
        let existing = take_where(&mut shared.lock().inputs, |r| r.info.name == name);
        let mut uses = vec![i.splitter_name.clone()];
        uses.extend(i.decoder.as_ref().map(|(n, _)| n.clone()));
        let changed = existing
            .as_ref()
            .map(|r| r.section != i.section || uses.iter().any(|u| templates.contains(u)));
        match (existing, changed) {
            (Some(r), Some(false)) => {
                summary.unchanged.push(name);
                shared.lock().inputs.push(r);
                continue;
            }
            (Some(r), _) => {
                shared.stop_input(r);
                summary.replaced.push(name.clone());
            }
            (None, _) => summary.added.push(name.clone()),
        }
        match shared.start_input(i) {
            Ok(r) => shared.lock().inputs.push(r),
            Err(e) => summary.errors.push(format!("{name}: {e}")),
        }
    }

    // Removals: inputs first, then filters, then outputs.
    let (gone_inputs, gone_filters, gone_outputs) = {
        let mut p = shared.lock();
        let gone_inputs: Vec<_> = {
            let (gone, stay): (Vec<_>, Vec<_>) = std::mem::take(&mut p.inputs)
                .into_iter()
                .partition(|r| !keep_inputs.contains(&r.info.name));
            p.inputs = stay;
            gone
        };
        let split = |list: &mut Vec<RunningPlugin>| {
            let (gone, stay): (Vec<_>, Vec<_>) = std::mem::take(list)
                .into_iter()
                .partition(|r| r.section.is_some() && !keep.contains(&r.info.name));
            *list = stay;
            gone
        };
        let gone_filters = split(&mut p.filters);
        let gone_outputs = split(&mut p.outputs);
        (gone_inputs, gone_filters, gone_outputs)
    };
    for r in gone_inputs {
        summary.removed.push(r.info.name.clone());
        shared.stop_input(r);
    }
    for r in gone_filters.into_iter().chain(gone_outputs) {
        summary.removed.push(r.info.name.clone());
        shared.stop_plugin(r);
    }
    shared.lock().sections = plan.sections;
    summary
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;

    fn sections(text: &str) -> Vec<PluginSection> {
        load_str(text, std::path::Path::new("t.toml")).unwrap().plugins
    }

    #[test]
    fn template_changes_propagate_through_multidecoder_subs() {
        let base = "[a]\ntype='ScribbleDecoder'\n[a.message_fields]\nx='1'\n\
                    [m]\ntype='MultiDecoder'\nsubs=['a']\n[e]\ntype='PayloadEncoder'\n";
        let old = sections(base);
        let new = sections(&base.replace("x='1'", "x='2'"));
        let changed = changed_templates(&old, &new);
        assert!(changed.contains("a") && changed.contains("m"));
        assert!(!changed.contains("e"));
        assert!(changed_templates(&old, &old).is_empty());
    }
}
