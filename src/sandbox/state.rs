//! The hardened Lua 5.4 state every sandbox runs in (lua-engine.md §1c).
//!
//! Only the safe standard libraries are opened (`io` only for the Input and
//! Output kinds, like Heka's I/O template); anything that reads files, runs
//! programs, loads bytecode or prints is removed; the string metatable is
//! locked; the memory limit, instruction budget and output limit are
//! attached; and the 5.1 shims and the uncatchable-limit wrappers are
//! installed.

use mlua::{Lua, LuaOptions, StdLib, Table, Value};

use super::budget::InstructionBudget;
use super::compat;
use super::config::SandboxKind;
use super::guard;
use super::limits::{MemoryLimit, OutputLimit};

/// Globals no sandbox keeps.
const REMOVED_GLOBALS: &[&str] =
    &["dofile", "loadfile", "print", "collectgarbage", "newproxy", "module", "gcinfo", "warn"];

/// `os` functions of the analysis kinds (decoder, filter, encoder).
const OS_KEPT: &[&str] = &["clock", "date", "difftime", "time"];

/// `os` functions removed in the I/O kinds (Heka's I/O template).
const OS_REMOVED_IO: &[&str] = &["exit", "setlocale"];

/// Limits (and the interrupt flag) attached to a new state.
#[derive(Debug, Clone)]
pub(crate) struct StateLimits {
    pub memory: usize,
    pub instructions: u64,
    pub output: usize,
    pub interrupt: guard::InterruptHandle,
}

/// A new hardened state for `kind`.
pub(crate) fn new_state(kind: SandboxKind, limits: StateLimits) -> mlua::Result<Lua> {
    let mut libs = StdLib::COROUTINE
        | StdLib::TABLE
        | StdLib::STRING
        | StdLib::UTF8
        | StdLib::MATH
        | StdLib::OS
        | StdLib::PACKAGE;
    if kind.is_io() {
        libs |= StdLib::IO;
    }
    let lua = Lua::new_with(libs, LuaOptions::default())?;
    lua.set_app_data(MemoryLimit(limits.memory));
    lua.set_app_data(OutputLimit(limits.output));
    lua.set_app_data(InstructionBudget::new(limits.instructions));
    lua.set_app_data(super::stats::MemoryPeak::default());
    lua.set_app_data(limits.interrupt);

    let g = lua.globals();
    for name in REMOVED_GLOBALS {
        g.raw_set(*name, Value::Nil)?;
    }
    let string: Table = g.raw_get("string")?;
    string.raw_set("dump", Value::Nil)?;
    let os: Table = g.raw_get("os")?;
    let os_names: Vec<String> =
        os.pairs::<String, Value>().filter_map(|kv| kv.ok().map(|(k, _)| k)).collect();
    for name in os_names {
        let keep = if kind.is_io() {
            !OS_REMOVED_IO.contains(&name.as_str())
        } else {
            OS_KEPT.contains(&name.as_str())
        };
        if !keep {
            os.raw_set(name, Value::Nil)?;
        }
    }
    let package: Table = g.raw_get("package")?;
    package.raw_set("path", "")?;
    package.raw_set("cpath", "")?;
    package.raw_set("loadlib", Value::Nil)?;
    package.raw_set("searchers", lua.create_table()?)?;
    package.raw_set("searchpath", Value::Nil)?;

    // `getmetatable("")` returns false and the metatable cannot be reached.
    let string_mt: Table =
        lua.load("return getmetatable('')").set_name(super::guard::HOST_CHUNK).eval()?;
    string_mt.raw_set("__metatable", false)?;

    compat::install(&lua)?;
    guard::install_wrappers(&lua)?;
    guard::install_hook(&lua, limits.instructions, kind.is_io())?;
    if limits.memory > 0 {
        lua.set_memory_limit(limits.memory)?;
    }
    Ok(lua)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(kind: SandboxKind) -> Lua {
        new_state(
            kind,
            StateLimits {
                memory: 8 << 20,
                instructions: 1_000_000,
                output: 64512,
                interrupt: guard::InterruptHandle::default(),
            },
        )
        .unwrap()
    }

    #[test]
    fn analysis_state_has_no_escape_hatches() {
        let lua = state(SandboxKind::Filter);
        for expr in [
            "io",
            "dofile",
            "loadfile",
            "print",
            "collectgarbage",
            "debug",
            "string.dump",
            "os.execute",
            "os.exit",
            "os.getenv",
            "os.remove",
            "os.rename",
            "os.tmpname",
            "package.loadlib",
            "warn",
        ] {
            let v: Value = lua.load(format!("return {expr}")).eval().unwrap();
            assert!(v.is_nil(), "{expr} must be gone");
        }
        for expr in
            ["os.time", "os.clock", "os.date", "os.difftime", "coroutine.create", "utf8.char"]
        {
            let v: Value = lua.load(format!("return {expr}")).eval().unwrap();
            assert!(v.is_function(), "{expr} must stay");
        }
        let v: Value = lua.load("return getmetatable('')").eval().unwrap();
        assert_eq!(v, Value::Boolean(false));
        assert!(lua.load("getmetatable('').__index = {}").exec().is_err());
        assert!(lua.load("setmetatable('', {})").exec().is_err());
        let p: String = lua.load("return package.path .. package.cpath").eval().unwrap();
        assert_eq!(p, "");
    }

    #[test]
    fn io_kinds_keep_heka_io_template() {
        let lua = state(SandboxKind::Output);
        for (expr, present) in
            [("io.open", true), ("os.getenv", true), ("os.exit", false), ("os.setlocale", false)]
        {
            let v: Value = lua.load(format!("return {expr}")).eval().unwrap();
            assert_eq!(v.is_function(), present, "{expr}");
        }
    }
}
