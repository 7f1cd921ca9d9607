//! `circular_buffer`: Heka's sliding-window time series store for
//! sandboxed scripts (`circular_buffer.new(rows, columns, seconds_per_row
//! [, enable_delta])` and its methods), with its `cbuf`/`cbufd` outputs and
//! preservation.
//!
//! `add`, `set` and `get` run for every message in scripts like
//! `http_status.lua`, so they are raw Lua C functions (`raw.rs`); the other
//! methods are mlua methods below.

mod cells;
mod raw;
mod stats;
mod text;

use std::cell::{Ref, RefCell, RefMut};
use std::rc::Rc;

use mlua::{AnyUserData, Lua, MultiValue, Result, Table, UserData, UserDataMethods, Value};

pub use self::cells::{Aggregation, CbufError, Cells, Format, Header};
use self::stats::{ComputeFn, compute, mann_whitney_u};
use crate::sandbox::budget;
use crate::sandbox::limits::check_memory;
use crate::sandbox::modules::args::{
    arg_error, check_integer, check_ns, check_string, opt_boolean,
};

/// The `circular_buffer` userdata. Its [`Cells`] sit behind an
/// `Rc<RefCell>`, at an address that does not move, so that the raw `add`,
/// `set` and `get` can reach them from a pointer kept in the userdata
/// (`raw.rs`); every path borrows them through the same `RefCell`.
pub struct CircularBuffer(Rc<RefCell<Cells>>);

impl CircularBuffer {
    fn cells(&self) -> Result<Ref<'_, Cells>> {
        self.0.try_borrow().map_err(|_| mlua::Error::UserDataBorrowError)
    }

    fn cells_mut(&self) -> Result<RefMut<'_, Cells>> {
        self.0.try_borrow_mut().map_err(|_| mlua::Error::UserDataBorrowMutError)
    }

    /// The output hook: see [`Cells::write_output`].
    pub fn write_output(&mut self, out: &mut Vec<u8>) {
        self.0
            .try_borrow_mut()
            .unwrap_or_else(|_| unreachable!("no method keeps the cells borrowed when it returns"))
            .write_output(out);
    }

    /// The preservation hook: see [`Cells::preservation_script`].
    pub fn preservation_script(&self, qualified_name: &str, out: &mut String) {
        self.0
            .try_borrow()
            .unwrap_or_else(|_| unreachable!("no method keeps the cells borrowed when it returns"))
            .preservation_script(qualified_name, out);
    }
}

/// The most cells (values plus deltas) one buffer may hold: 512 MiB.
const MAX_CELLS: usize = 1 << 26;

fn arg(args: &MultiValue, pos: usize) -> Value {
    args.get(pos - 1).cloned().unwrap_or(Value::Nil)
}

fn opt_arg(args: &MultiValue, pos: usize) -> Option<Value> {
    args.get(pos - 1).filter(|v| !v.is_nil()).cloned()
}

fn check_column(cb: &Cells, args: &MultiValue, pos: usize, fname: &str) -> Result<usize> {
    column(cb, check_integer(&arg(args, pos), pos, fname)?, pos, fname)
}

/// The 0-based index of 1-based column `c`, checked.
fn column(cb: &Cells, c: i64, pos: usize, fname: &str) -> Result<usize> {
    if c < 1 || c > cb.columns as i64 {
        return Err(arg_error(pos, fname, "column out of range"));
    }
    Ok(c as usize - 1)
}

/// Optional nanosecond argument.
fn opt_ns(args: &MultiValue, pos: usize, fname: &str) -> Result<Option<i64>> {
    opt_arg(args, pos).map(|v| check_ns(&v, pos, fname)).transpose()
}

/// Checked `start`/`end` nanoseconds, `end >= start` when both are given.
fn range_args(args: &MultiValue, pos: usize, fname: &str) -> Result<(Option<i64>, Option<i64>)> {
    let (start, end) = (opt_ns(args, pos, fname)?, opt_ns(args, pos + 1, fname)?);
    if let (Some(s), Some(e)) = (start, end)
        && e < s
    {
        return Err(arg_error(pos + 1, fname, "end must be >= start"));
    }
    Ok((start, end))
}

fn option<T: Copy>(
    v: &Value,
    pos: usize,
    fname: &str,
    default: Option<&str>,
    options: &[(&str, T)],
) -> Result<T> {
    let name = match (v, default) {
        (Value::Nil, Some(d)) => d.as_bytes().to_vec(),
        _ => check_string(v, pos, fname)?,
    };
    options.iter().find(|(n, _)| n.as_bytes() == name.as_slice()).map(|(_, t)| *t).ok_or_else(
        || arg_error(pos, fname, format!("invalid option '{}'", String::from_utf8_lossy(&name))),
    )
}

fn new_buffer(lua: &Lua, args: MultiValue) -> Result<Cells> {
    let fname = "new";
    if !(3..=4).contains(&args.len()) {
        return Err(arg_error(0, fname, "incorrect number of arguments"));
    }
    let rows = check_integer(&arg(&args, 1), 1, fname)?;
    if rows <= 1 {
        return Err(arg_error(1, fname, "rows must be > 1"));
    }
    let columns = check_integer(&arg(&args, 2), 2, fname)?;
    if columns <= 0 {
        return Err(arg_error(2, fname, "columns must be > 0"));
    }
    let spr = check_integer(&arg(&args, 3), 3, fname)?;
    if !(1..=86_400).contains(&spr) {
        return Err(arg_error(3, fname, "seconds_per_row is out of range"));
    }
    let delta = opt_boolean(&arg(&args, 4), 4, fname, false)?;
    let too_big = || mlua::Error::MemoryError("not enough memory".into());
    let cells = usize::try_from(rows)
        .ok()
        .zip(usize::try_from(columns).ok())
        .and_then(|(r, c)| r.checked_mul(c))
        .and_then(|n| n.checked_mul(if delta { 2 } else { 1 }))
        .filter(|&n| n <= MAX_CELLS)
        .ok_or_else(too_big)?;
    check_memory(lua, cells * 8 + columns as usize * 32)?;
    Cells::new(rows as usize, columns as usize, spr, delta).ok_or_else(too_big)
}

/// Opens the `circular_buffer` module and returns its table.
pub fn open(lua: &Lua) -> Result<Table> {
    raw::install(lua)?;
    let t = lua.create_table()?;
    t.set(
        "new",
        lua.create_function(|lua, args: MultiValue| raw::create(lua, new_buffer(lua, args)?))?,
    )?;
    Ok(t)
}

impl UserData for CircularBuffer {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("compute", |lua, cb, args: MultiValue| {
            let cb = cb.cells()?;
            let f = option(&arg(&args, 1), 1, "compute", None, &ComputeFn::ALL)?;
            let col = check_column(&cb, &args, 2, "compute")?;
            let (start, end) = range_args(&args, 3, "compute")?;
            let Some(values) = cb.range(col, start, end) else {
                return Ok((None, None));
            };
            budget::charge(lua, values.len() as u64)?;
            let (result, count) = compute(f, &values);
            Ok((Some(result), Some(count as i64)))
        });
        methods.add_method("mannwhitneyu", |lua, cb, args: MultiValue| {
            let cb = cb.cells()?;
            let fname = "mannwhitneyu";
            let col = check_column(&cb, &args, 1, fname)?;
            for pos in 2..=5 {
                check_ns(&arg(&args, pos), pos, fname)?;
            }
            let (s1, e1) = range_args(&args, 2, fname)?;
            let (s2, e2) = range_args(&args, 4, fname)?;
            let continuity = opt_boolean(&arg(&args, 6), 6, fname, true)?;
            let (Some(x), Some(y)) = (cb.range(col, s1, e1), cb.range(col, s2, e2)) else {
                return Ok((None, None));
            };
            budget::charge(lua, (x.len() + y.len()) as u64)?;
            Ok(match mann_whitney_u(&x, &y, continuity) {
                Some((u, p)) => (Some(u), Some(p)),
                None => (None, None),
            })
        });
        methods.add_method("current_time", |_, cb, ()| Ok(cb.cells()?.current_time_ns()));
        methods.add_method("get_configuration", |_, cb, ()| Ok(cb.cells()?.configuration()));
        methods.add_method_mut("set_header", |_, cb, args: MultiValue| {
            let mut cb = cb.cells_mut()?;
            let fname = "set_header";
            let col = check_column(&cb, &args, 1, fname)?;
            let name = check_string(&arg(&args, 2), 2, fname)?;
            let unit = match opt_arg(&args, 3) {
                Some(v) => check_string(&v, 3, fname)?,
                None => b"count".to_vec(),
            };
            let aggs: Vec<(&str, Aggregation)> =
                Aggregation::ALL.iter().map(|a| (a.name(), *a)).collect();
            let agg = option(&arg(&args, 4), 4, fname, Some("sum"), &aggs)?;
            cb.set_header(col, Header::sanitized(&name, &unit, agg));
            Ok(col as i64 + 1)
        });
        methods.add_method("get_header", |_, cb, args: MultiValue| {
            let cb = cb.cells()?;
            let h = cb.header(check_column(&cb, &args, 1, "get_header")?);
            Ok((h.name.clone(), h.unit.clone(), h.aggregation.name()))
        });
        methods.add_function("format", |_, (ud, v): (AnyUserData, Value)| {
            let format =
                option(&v, 1, "format", None, &[("cbuf", Format::Cbuf), ("cbufd", Format::Cbufd)])?;
            ud.borrow_mut::<CircularBuffer>()?.cells_mut()?.format = format;
            Ok(ud)
        });
        methods.add_method_mut("fromstring", |_, cb, v: Value| {
            let text = check_string(&v, 1, "fromstring")?;
            Ok(cb.cells_mut()?.fromstring(&text)?)
        });
    }
}

#[cfg(test)]
mod tests;
