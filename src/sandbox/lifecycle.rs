//! Saving and restoring a sandbox's globals, and the clean stop
//! (`preserve_data`, Heka §4.5).

use std::collections::HashSet;

use mlua::Value;

use super::budget::InstructionBudget;
use super::error::SandboxError;
use super::guard::error_text;
use super::instance::{Sandbox, reset_budget};
use super::limits::MemoryLimit;
use super::preserve;
use super::require;
use super::stats::MemoryPeak;

impl Sandbox {
    /// Runs `f` with the memory and instruction limits lifted.
    fn unlimited<R>(&self, f: impl FnOnce(&mlua::Lua) -> R) -> Option<R> {
        let engine = self.engine.as_ref()?;
        let lua = &engine.lua;
        let _ = lua.set_memory_limit(0);
        lua.set_app_data(MemoryLimit(0));
        if let Some(b) = lua.app_data_ref::<InstructionBudget>() {
            b.set_limit(0);
            b.reset();
        }
        let r = f(lua);
        if let Some(b) = lua.app_data_ref::<InstructionBudget>() {
            b.set_limit(self.instruction_limit);
            b.reset();
        }
        lua.set_app_data(MemoryLimit(self.memory_limit));
        if self.memory_limit > 0 {
            let _ = lua.set_memory_limit(self.memory_limit);
        }
        Some(r)
    }

    /// The preservation script of the current globals (for carrying state
    /// into a new sandbox on reload); `None` once terminated.
    pub fn preservation_data(&self) -> Result<Option<String>, SandboxError> {
        let Some(engine) = &self.engine else { return Ok(None) };
        let ext = self.ctx.borrow().extensions.clone();
        let r = self.unlimited(|lua| {
            let loaded = require::loaded(lua).map_err(|e| e.to_string())?;
            let mut skip = HashSet::new();
            for kv in loaded.pairs::<Value, Value>() {
                if let Ok((_, Value::Table(t))) = kv {
                    skip.insert(t.to_pointer());
                }
            }
            preserve::serialize(lua, &engine.initial_globals, &skip, &ext)
        });
        match r {
            Some(Ok(s)) => Ok(Some(s)),
            Some(Err(e)) => Err(SandboxError::Serialize(e)),
            None => Ok(None),
        }
    }

    /// Runs a preservation script (limits lifted). A script written for
    /// another `_PRESERVATION_VERSION` changes nothing; an error in it
    /// terminates the sandbox.
    pub fn restore(&mut self, data: &str) -> Result<(), SandboxError> {
        self.restore_named(data, "=preservation")
    }

    pub(super) fn restore_named(
        &mut self,
        data: &str,
        chunk_name: &str,
    ) -> Result<(), SandboxError> {
        if let Some(t) = &self.terminated {
            return Err(SandboxError::Terminated(t.clone()));
        }
        let r = self.unlimited(|lua| {
            let r =
                lua.load(data).set_name(chunk_name).set_mode(mlua::chunk::ChunkMode::Text).exec();
            if r.is_ok() {
                let _ = lua.gc_collect();
                MemoryPeak::reset(lua);
            }
            reset_budget(lua);
            r
        });
        match r {
            Some(Ok(())) => {
                if let Some(e) = &self.engine {
                    self.counters.max_memory = e.lua.used_memory();
                }
                Ok(())
            }
            Some(Err(e)) => {
                let text = error_text(&e);
                self.terminate(format!("restore {text}"));
                Err(SandboxError::Restore(text))
            }
            None => Err(SandboxError::Terminated(String::new())),
        }
    }

    /// Stops the sandbox. With `preserve_data` and a live state, the globals
    /// are written to the preservation file atomically (temporary file and
    /// rename); if they cannot be serialized the file is removed and the
    /// error returned. A terminated sandbox writes nothing (an older file
    /// stays).
    pub fn stop(self) -> Result<(), SandboxError> {
        if !self.preserve_data || self.engine.is_none() {
            return Ok(());
        }
        let Some(path) = self.preservation_path.clone() else { return Ok(()) };
        match self.preservation_data() {
            Ok(Some(data)) => crate::state_file::write(&path, data.as_bytes(), None)
                .map_err(|source| SandboxError::PreservationIo { path, source }),
            Ok(None) => Ok(()),
            Err(e) => {
                crate::state_file::remove(&path)
                    .map_err(|source| SandboxError::PreservationIo { path, source })?;
                Err(e)
            }
        }
    }
}
