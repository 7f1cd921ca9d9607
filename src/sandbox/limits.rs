//! Limits a sandbox publishes to native modules through Lua app data.
//!
//! The host sets these on each sandbox state; a module reads them with
//! `lua.app_data_ref::<OutputLimit>()`. States without them (plain `Lua`
//! in unit tests) are unlimited.

use mlua::Lua;

/// Heka's error text when an output exceeds `output_limit`.
pub const OUTPUT_LIMIT_EXCEEDED: &str = "output_limit exceeded";

/// `output_limit`: the largest payload or encoded output, in bytes (0 = none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputLimit(pub usize);

/// `memory_limit`: the sandbox's memory cap in bytes (0 = none). Native code
/// that holds memory outside Lua's allocator checks it with
/// [`check_memory`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryLimit(pub usize);

/// Fails with Lua's "not enough memory" error when `extra` bytes held by
/// native code plus Lua's own usage would pass the memory limit.
pub fn check_memory(lua: &Lua, extra: usize) -> mlua::Result<()> {
    match lua.app_data_ref::<MemoryLimit>() {
        Some(limit) if limit.0 > 0 && lua.used_memory().saturating_add(extra) > limit.0 => {
            Err(mlua::Error::MemoryError("not enough memory".into()))
        }
        _ => Ok(()),
    }
}

/// Fails with `output_limit exceeded` when `len` passes the output limit.
pub fn check_output(lua: &Lua, len: usize) -> mlua::Result<()> {
    match lua.app_data_ref::<OutputLimit>() {
        Some(limit) if limit.0 > 0 && len > limit.0 => {
            Err(mlua::Error::runtime(OUTPUT_LIMIT_EXCEEDED))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_apply_only_when_set() {
        let lua = Lua::new();
        assert!(check_output(&lua, 1 << 30).is_ok());
        assert!(check_memory(&lua, 1 << 30).is_ok());
        lua.set_app_data(OutputLimit(100));
        lua.set_app_data(MemoryLimit(lua.used_memory() + 1000));
        assert!(check_output(&lua, 100).is_ok());
        assert!(check_output(&lua, 101).unwrap_err().to_string().contains("output_limit exceeded"));
        assert!(check_memory(&lua, 10).is_ok());
        assert!(matches!(check_memory(&lua, 5000), Err(mlua::Error::MemoryError(_))));
    }
}
