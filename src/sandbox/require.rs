//! The host `require`: built-in libraries, native modules and `.lua` files
//! from the configured module directories — never C modules.
//!
//! Module names are restricted to `[A-Za-z0-9_.]` (dots become path
//! separators). Results are cached in a host table that scripts cannot
//! reach (`package.loaded` is not consulted). Native modules also become
//! globals of the same name, as Heka's built-in modules did; Lua modules do
//! not. Module sources get the `setfenv(1, M)` rewrite.

use std::cell::RefCell;
use std::collections::HashSet;
use std::path::PathBuf;
use std::rc::Rc;

use mlua::{Lua, Table, Value};

use super::compat::rewrite_setfenv;
use super::config::SandboxKind;
use super::extensions::Extensions;
use super::guard::lua_error;

/// The `.lua` files loaded by `require`, in load order (Lua app data).
struct ModuleFiles(Vec<PathBuf>);

/// Registry key of the cache of loaded modules.
pub(crate) const LOADED_KEY: &str = "sandpiper.loaded";

const BUILTIN_LIBS: &[&str] = &["string", "table", "math", "os", "coroutine", "utf8"];

/// Installs `require` and returns the cache table.
pub(crate) fn install(
    lua: &Lua,
    kind: SandboxKind,
    dirs: Vec<PathBuf>,
    extensions: Extensions,
) -> mlua::Result<Table> {
    let loaded = lua.create_table()?;
    let g = lua.globals();
    let mut libs: Vec<&str> = BUILTIN_LIBS.to_vec();
    if kind.is_io() {
        libs.push("io");
    }
    for name in libs {
        loaded.raw_set(name, g.raw_get::<Table>(name)?)?;
    }
    lua.set_named_registry_value(LOADED_KEY, &loaded)?;
    lua.set_app_data(ModuleFiles(Vec::new()));
    let loading: Rc<RefCell<HashSet<String>>> = Rc::default();
    let cache = loaded.clone();
    let require = lua.create_function(move |lua, name: Value| {
        let Value::String(name) = name else {
            return Err(lua_error(
                lua,
                format!("bad argument #1 to 'require' (string expected, got {})", name.type_name()),
            ));
        };
        let name = name.to_string_lossy();
        if name.is_empty()
            || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
        {
            return Err(lua_error(lua, format!("invalid module name '{name}'")));
        }
        let hit: Value = cache.raw_get(name.as_str())?;
        if !hit.is_nil() {
            return Ok(hit);
        }
        if let Some(open) = extensions.module(&name) {
            let t = open(lua)?;
            lua.globals().raw_set(name.as_str(), &t)?;
            cache.raw_set(name.as_str(), &t)?;
            return Ok(Value::Table(t));
        }
        let rel = format!("{}.lua", name.replace('.', "/"));
        let Some(path) = dirs.iter().map(|d| d.join(&rel)).find(|p| p.is_file()) else {
            return Err(lua_error(lua, format!("module '{name}' not found")));
        };
        if !loading.borrow_mut().insert(name.clone()) {
            return Err(lua_error(lua, format!("loop or previous error loading module '{name}'")));
        }
        let result = load_module(lua, &name, &path);
        loading.borrow_mut().remove(&name);
        let value = match result? {
            Value::Nil => Value::Boolean(true),
            v => v,
        };
        if let Some(mut files) = lua.app_data_mut::<ModuleFiles>() {
            files.0.push(path);
        }
        cache.raw_set(name.as_str(), &value)?;
        Ok(value)
    })?;
    g.raw_set("require", require)?;
    Ok(loaded)
}

fn load_module(lua: &Lua, name: &str, path: &std::path::Path) -> mlua::Result<Value> {
    let source = std::fs::read(path).map_err(|e| {
        lua_error(lua, format!("error loading module '{name}' from {}: {e}", path.display()))
    })?;
    let source = rewrite_setfenv(&source).into_owned();
    let f = lua
        .load(source)
        .set_name(format!("@{}", path.display()))
        .set_mode(mlua::chunk::ChunkMode::Text)
        .into_function()
        .map_err(|e| match e {
            mlua::Error::SyntaxError { message, .. } => {
                lua_error(lua, format!("error loading module '{name}': {message}"))
            }
            other => other,
        })?;
    f.call::<Value>((name, path.display().to_string()))
}

/// The `.lua` module files loaded so far.
pub(crate) fn module_files(lua: &Lua) -> Vec<PathBuf> {
    lua.app_data_ref::<ModuleFiles>().map_or_else(Vec::new, |f| f.0.clone())
}

/// The cache of loaded modules (its values are skipped by preservation).
pub(crate) fn loaded(lua: &Lua) -> mlua::Result<Table> {
    lua.named_registry_value(LOADED_KEY)
}
