//! Conformance suite: Lua snippets, written for this project from the LPeg
//! and `re` reference manuals, run against a plain Lua state with both
//! modules loaded as globals.

mod basics;
mod c_function;
mod captures;
mod differential;
mod grammars;
mod limits;
mod re;

use mlua::Lua;

use super::{open_lpeg, open_re};

/// Lua helpers shared by the snippets.
const PRELUDE: &str = r#"
function checkeq(x, y, path)
  path = path or "value"
  if type(x) ~= "table" or type(y) ~= "table" then
    if x ~= y then
      error(path .. ": got " .. tostring(x) .. ", want " .. tostring(y), 2)
    end
    return
  end
  for k, v in pairs(x) do checkeq(v, y[k], path .. "." .. tostring(k)) end
  for k, v in pairs(y) do checkeq(x[k], v, path .. "." .. tostring(k)) end
end

function checkerr(msg, f, ...)
  local ok, err = pcall(f, ...)
  if ok then error("expected error '" .. msg .. "'", 2) end
  if not string.find(tostring(err), msg, 1, true) then
    error("expected error '" .. msg .. "', got: " .. tostring(err), 2)
  end
end
"#;

/// A state with `lpeg`, `re` and the helpers.
pub fn state() -> Lua {
    let lua = Lua::new();
    let lpeg = open_lpeg(&lua).expect("open lpeg");
    lua.globals().set("lpeg", lpeg).expect("set lpeg");
    let re = open_re(&lua).expect("open re");
    lua.globals().set("re", re).expect("set re");
    lua.load(PRELUDE).exec().expect("prelude");
    lua
}

/// Runs `code`, failing the test with Lua's message.
pub fn run(lua: &Lua, code: &str) {
    if let Err(e) = lua.load(code).exec() {
        panic!("{e}");
    }
}
