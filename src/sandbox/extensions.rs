//! Native modules and userdata hooks: how native code plugs into a sandbox.
//!
//! `require` opens native modules from a table of openers (name →
//! `fn(&Lua) -> mlua::Result<Table>`). Userdata values reach two host
//! features through hooks: *output* (`add_to_payload(ud)`,
//! `inject_payload(..., ud)`, a userdata as an `inject_message` field value)
//! and *preservation* (`preserve_data` writes a Lua script that rebuilds the
//! value). The built-in lists below are where each native module is wired in,
//! one line each:
//!
//! ```ignore
//! pub const BUILTIN_MODULES: &[NativeModule] = &[
//!     NativeModule { name: "circular_buffer", open: super::modules::circular_buffer::open },
//! ];
//! pub const BUILTIN_OUTPUT_HOOKS: &[OutputHook] = &[output_hook!(CircularBuffer)];
//! pub const BUILTIN_PRESERVATION_HOOKS: &[PreservationHook] =
//!     &[preservation_hook!(CircularBuffer), preservation_hook!(BloomFilter)];
//! ```
//!
//! [`output_hook!`] needs a method `write_output(&mut self, out: &mut
//! Vec<u8>)` on the type, [`preservation_hook!`] a method
//! `preservation_script(&self, qualified_name: &str, out: &mut String)`.
//! A sandbox takes its lists from [`SandboxConfig::extensions`]
//! (default [`Extensions::builtin`]), so tests and tools can add their own.
//!
//! [`SandboxConfig::extensions`]: super::SandboxConfig::extensions

use mlua::{AnyUserData, Lua, Table};

/// Opens a native module and returns its table.
pub type ModuleOpener = fn(&Lua) -> mlua::Result<Table>;

/// Appends the text output of `ud` to `out` if `ud` has the hook's type;
/// `None` when it does not.
pub type OutputHook = fn(&AnyUserData, &mut Vec<u8>) -> Option<mlua::Result<()>>;

/// Appends Lua statements that recreate `ud` at the global path
/// `qualified_name` (e.g. `_G["cb"]`) if `ud` has the hook's type; `None`
/// when it does not.
pub type PreservationHook = fn(&AnyUserData, &str, &mut String) -> Option<mlua::Result<()>>;

/// A native module `require` can open. It also becomes a global of the same
/// name, as Heka's built-in modules did.
#[derive(Debug, Clone, Copy)]
pub struct NativeModule {
    /// The `require` name.
    pub name: &'static str,
    /// Builds the module table.
    pub open: ModuleOpener,
}

/// Native modules shipped with Sandpiper.
pub const BUILTIN_MODULES: &[NativeModule] = &[
    NativeModule { name: "cjson", open: super::modules::cjson::open },
    NativeModule { name: "circular_buffer", open: super::modules::circular_buffer::open },
    NativeModule { name: "bloom_filter", open: super::modules::bloom_filter::open },
    NativeModule { name: "hyperloglog", open: super::modules::hyperloglog::open },
    NativeModule { name: "lpeg", open: super::lpeg::open_lpeg },
    NativeModule { name: "re", open: super::lpeg::open_re },
];
/// Userdata types with text output.
pub const BUILTIN_OUTPUT_HOOKS: &[OutputHook] =
    &[crate::output_hook!(super::modules::circular_buffer::CircularBuffer)];
/// Userdata types that survive `preserve_data`.
pub const BUILTIN_PRESERVATION_HOOKS: &[PreservationHook] = &[
    crate::preservation_hook!(super::modules::circular_buffer::CircularBuffer),
    crate::preservation_hook!(super::modules::bloom_filter::BloomFilter),
    crate::preservation_hook!(super::modules::hyperloglog::HyperLogLog),
];

/// An [`OutputHook`] for a userdata type with a
/// `write_output(&mut self, out: &mut Vec<u8>)` method.
#[macro_export]
macro_rules! output_hook {
    ($t:ty) => {{
        fn hook(
            ud: &::mlua::AnyUserData,
            out: &mut ::std::vec::Vec<u8>,
        ) -> ::std::option::Option<::mlua::Result<()>> {
            if !ud.is::<$t>() {
                return None;
            }
            Some(ud.borrow_mut::<$t>().map(|mut v| v.write_output(out)))
        }
        hook as $crate::sandbox::OutputHook
    }};
}

/// A [`PreservationHook`] for a userdata type with a
/// `preservation_script(&self, qualified_name: &str, out: &mut String)`
/// method.
#[macro_export]
macro_rules! preservation_hook {
    ($t:ty) => {{
        fn hook(
            ud: &::mlua::AnyUserData,
            name: &str,
            out: &mut ::std::string::String,
        ) -> ::std::option::Option<::mlua::Result<()>> {
            if !ud.is::<$t>() {
                return None;
            }
            Some(ud.borrow::<$t>().map(|v| v.preservation_script(name, out)))
        }
        hook as $crate::sandbox::PreservationHook
    }};
}

/// The native modules and hooks one sandbox can use.
#[derive(Debug, Clone, Default)]
pub struct Extensions {
    modules: Vec<NativeModule>,
    output_hooks: Vec<OutputHook>,
    preservation_hooks: Vec<PreservationHook>,
}

impl Extensions {
    /// Everything Sandpiper ships.
    pub fn builtin() -> Self {
        Extensions {
            modules: BUILTIN_MODULES.to_vec(),
            output_hooks: BUILTIN_OUTPUT_HOOKS.to_vec(),
            preservation_hooks: BUILTIN_PRESERVATION_HOOKS.to_vec(),
        }
    }

    /// Adds (or replaces) a native module.
    pub fn with_module(mut self, name: &'static str, open: ModuleOpener) -> Self {
        self.modules.retain(|m| m.name != name);
        self.modules.push(NativeModule { name, open });
        self
    }

    /// Adds an output hook.
    pub fn with_output_hook(mut self, hook: OutputHook) -> Self {
        self.output_hooks.push(hook);
        self
    }

    /// Adds a preservation hook.
    pub fn with_preservation_hook(mut self, hook: PreservationHook) -> Self {
        self.preservation_hooks.push(hook);
        self
    }

    /// The opener of native module `name`.
    pub fn module(&self, name: &str) -> Option<ModuleOpener> {
        self.modules.iter().find(|m| m.name == name).map(|m| m.open)
    }

    /// Writes the output of `ud`; `None` if no hook knows its type.
    pub fn write_output(&self, ud: &AnyUserData, out: &mut Vec<u8>) -> Option<mlua::Result<()>> {
        self.output_hooks.iter().find_map(|h| h(ud, out))
    }

    /// Writes the preservation script of `ud`; `None` if no hook knows it.
    pub fn preservation_script(
        &self,
        ud: &AnyUserData,
        qualified_name: &str,
        out: &mut String,
    ) -> Option<mlua::Result<()>> {
        self.preservation_hooks.iter().find_map(|h| h(ud, qualified_name, out))
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    //! A tiny userdata with both hooks, to prove the wiring.

    use mlua::{Lua, Table, UserData, UserDataMethods};

    /// A counter: output is `count=<n>`, preservation rebuilds it with
    /// `counter.new(n)`.
    pub struct TestCounter(pub i64);

    impl TestCounter {
        pub fn write_output(&mut self, out: &mut Vec<u8>) {
            out.extend_from_slice(format!("count={}", self.0).as_bytes());
        }
        pub fn preservation_script(&self, name: &str, out: &mut String) {
            out.push_str(&format!("{name} = counter.new({})\n", self.0));
        }
    }

    impl UserData for TestCounter {
        fn add_methods<M: UserDataMethods<Self>>(m: &mut M) {
            m.add_method_mut("add", |_, this, n: i64| {
                this.0 += n;
                Ok(this.0)
            });
            m.add_method("get", |_, this, ()| Ok(this.0));
        }
    }

    /// The `counter` module: `counter.new(n)`.
    pub fn open(lua: &Lua) -> mlua::Result<Table> {
        let t = lua.create_table()?;
        t.set("new", lua.create_function(|_, n: Option<i64>| Ok(TestCounter(n.unwrap_or(0))))?)?;
        Ok(t)
    }

    /// Extensions with the `counter` module and its hooks.
    pub fn extensions() -> super::Extensions {
        super::Extensions::builtin()
            .with_module("counter", open)
            .with_output_hook(crate::output_hook!(TestCounter))
            .with_preservation_hook(crate::preservation_hook!(TestCounter))
    }
}
