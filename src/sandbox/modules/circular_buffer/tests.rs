//! Tests of `circular_buffer` against hand-computed values and the outputs
//! recorded in Heka's circular buffer tests.

use mlua::{AnyUserData, Lua};

use super::{CircularBuffer, open};

fn lua() -> Lua {
    let lua = Lua::new();
    lua.globals().set("circular_buffer", open(&lua).unwrap()).unwrap();
    lua
}

fn output(lua: &Lua, name: &str) -> String {
    let ud: AnyUserData = lua.globals().get(name).unwrap();
    let mut out = Vec::new();
    ud.borrow_mut::<CircularBuffer>().unwrap().write_output(&mut out);
    String::from_utf8(out).unwrap()
}

fn check(lua: &Lua, code: &str) {
    assert!(lua.load(code).eval::<bool>().unwrap(), "{code}");
}

fn err(lua: &Lua, code: &str) -> String {
    lua.load(code).exec().unwrap_err().to_string()
}

const HEADER3: &str = "{\"time\":TIME,\"rows\":3,\"columns\":3,\"seconds_per_row\":1,\"column_info\":[\
{\"name\":\"Add_column\",\"unit\":\"count\",\"aggregation\":\"sum\"},\
{\"name\":\"Set_column\",\"unit\":\"count\",\"aggregation\":\"sum\"},\
{\"name\":\"Get_column\",\"unit\":\"count\",\"aggregation\":\"sum\"}]}\n";

fn header3(time: i64) -> String {
    HEADER3.replace("TIME", &time.to_string())
}

const SCRIPT: &str = r#"
    ADD_COL = data:set_header(1, "Add column")
    SET_COL = data:set_header(2, "Set column", "count")
    GET_COL = data:set_header(3, "Get column", "count", "sum")
    function process(ts)
        if data:add(ts, ADD_COL, 1) then
            data:set(ts, GET_COL, data:get(ts, ADD_COL))
        end
        data:set(ts, SET_COL, 1)
    end
"#;

#[test]
fn cbuf_output_is_byte_exact() {
    let lua = lua();
    lua.load("data = circular_buffer.new(3, 3, 1)").exec().unwrap();
    lua.load(SCRIPT).exec().unwrap();
    assert_eq!(output(&lua, "data"), header3(0) + "nan\tnan\tnan\nnan\tnan\tnan\nnan\tnan\tnan\n");
    lua.load("for _, ts in ipairs({0, 1e9, 1e9, 2e9, 2e9, 2e9}) do process(ts) end")
        .exec()
        .unwrap();
    assert_eq!(output(&lua, "data"), header3(0) + "1\t1\t1\n2\t1\t2\n3\t1\t3\n");
    lua.load("process(4e9)").exec().unwrap();
    assert_eq!(output(&lua, "data"), header3(2) + "3\t1\t3\nnan\tnan\tnan\n1\t1\t1\n");
    lua.load("process(10e9)").exec().unwrap();
    assert_eq!(output(&lua, "data"), header3(8) + "nan\tnan\tnan\nnan\tnan\tnan\n1\t1\t1\n");
    // Deltas disabled: a cbufd output is empty.
    lua.load("data:format('cbufd')").exec().unwrap();
    assert_eq!(output(&lua, "data"), "");
}

#[test]
fn cbufd_outputs_changes_once() {
    let lua = lua();
    lua.load("data = circular_buffer.new(3, 3, 1, true)").exec().unwrap();
    lua.load(SCRIPT).exec().unwrap();
    lua.load("for _, ts in ipairs({0, 1e9, 1e9, 2e9, 2e9, 2e9}) do process(ts) end")
        .exec()
        .unwrap();
    assert_eq!(output(&lua, "data"), header3(0) + "1\t1\t1\n2\t1\t2\n3\t1\t3\n");
    check(&lua, "return data:format('cbufd') == data");
    assert_eq!(output(&lua, "data"), header3(0) + "0\t1\t1\t1\n1\t2\t1\t2\n2\t3\t1\t3\n");
    assert_eq!(output(&lua, "data"), "", "nothing changed since");
    // inf deltas: a sum delta is the change, unchanged values add nothing.
    lua.load(
        "data:set(0, ADD_COL, 1/0) data:set(0, ADD_COL, 1/0) data:set(0, SET_COL, -1/0)
         data:add(0, SET_COL, 1) data:set(0, GET_COL, data:get(0, ADD_COL))",
    )
    .exec()
    .unwrap();
    assert_eq!(output(&lua, "data"), header3(0) + "0\tinf\t-inf\tinf\n");

    // Sum deltas reflect the difference, min deltas the current value.
    lua.load(
        r#"cb = circular_buffer.new(2, 2, 1, true)
           SUM_COL = cb:set_header(1, "Sum column")
           MIN_COL = cb:set_header(2, "Min", "count", "min")
           cb:format("cbufd")
           cb:set(0, SUM_COL, 3) cb:set(0, MIN_COL, 6)"#,
    )
    .exec()
    .unwrap();
    let header2 = "{\"time\":0,\"rows\":2,\"columns\":2,\"seconds_per_row\":1,\"column_info\":[\
        {\"name\":\"Sum_column\",\"unit\":\"count\",\"aggregation\":\"sum\"},\
        {\"name\":\"Min\",\"unit\":\"count\",\"aggregation\":\"min\"}]}\n";
    assert_eq!(output(&lua, "cb"), format!("{header2}0\t3\t6\n"));
    lua.load("cb:set(0, SUM_COL, 5) cb:set(0, MIN_COL, 5) cb:set(0, MIN_COL, 7)").exec().unwrap();
    assert_eq!(output(&lua, "cb"), format!("{header2}0\t2\t5\n"));
    // Heka's state layout: time, newest row, cells, then delta rows.
    lua.load(r#"cb:fromstring("1 1 1 2 3 4 0 3 4")"#).exec().unwrap();
    assert_eq!(output(&lua, "cb"), format!("{header2}0\t3\t4\n"));
    lua.load("cb:format('cbuf')").exec().unwrap();
    assert_eq!(output(&lua, "cb"), format!("{header2}1\t2\n3\t4\n"));
}

#[test]
fn add_set_get_and_time_advance() {
    let lua = lua();
    lua.load("cb = circular_buffer.new(3, 2, 60)").exec().unwrap();
    check(
        &lua,
        "return cb:current_time() == 120000000000 and math.type(cb:current_time()) == 'integer'",
    );
    check(&lua, "local r, c, s = cb:get_configuration() return r == 3 and c == 2 and s == 60");
    check(
        &lua,
        "return cb:add(0, 1, 1) == 1 and cb:add(59e9, 1, 99) == 100 and cb:get(30e9, 1) == 100",
    );
    check(&lua, "local v = cb:get(0, 2) return v ~= v");
    check(&lua, "return cb:get(180e9, 1) == nil and cb:current_time() == 120e9");
    // Advancing by one row drops the oldest row and clears the new one.
    check(&lua, "return cb:add(180e9, 2, 5) == 5 and cb:current_time() == 180e9");
    check(
        &lua,
        "return cb:get(0, 1) == nil and cb:add(0, 1, 1) == nil and cb:set(59e9, 1, 1) == nil",
    );
    check(&lua, "local v = cb:get(120e9, 1) return v ~= v");
    // Far in the future: every row cleared.
    check(&lua, "cb:set(60e9, 1, 7) cb:set(10000e9, 1, 1) return cb:get(60e9, 1) == nil");
    check(
        &lua,
        "local n = 0 for t = 9840, 9900, 60 do local v = cb:get(t * 1e9, 1) if v ~= v then n = n + 1 end end return n == 2",
    );
    // set on min/max columns only moves toward the extreme.
    lua.load("cb:set_header(1, 'low', 'ms', 'min') cb:set_header(2, 'high', 'ms', 'max')")
        .exec()
        .unwrap();
    check(&lua, "return cb:set(10000e9, 1, 5) == 1 and cb:set(10000e9, 1, 0) == 0");
    check(&lua, "return cb:set(10000e9, 2, 5) == 5 and cb:set(10000e9, 2, 3) == 5");
    check(&lua, "return cb:set(9940e9, 2, 3) == 3");
    let e = err(&lua, "cb:set(10000e9, 1, 0/0)");
    assert!(e.contains("cannot uninitialize a value"), "{e}");
    let e = err(&lua, "cb:add(10000e9, 1, 0/0)");
    assert!(e.contains("cannot uninitialize a value"), "{e}");
    let e = err(&lua, "cb:add(10000e9, 2, 1/0) cb:add(10000e9, 2, -1/0)");
    assert!(e.contains("add produced a NAN"), "{e}");
}

#[test]
fn headers_are_sanitised() {
    let lua = lua();
    lua.load("cb = circular_buffer.new(2, 2, 1)").exec().unwrap();
    check(&lua, "return cb:set_header(2, 'a very long column name!', 'm/s*x-yz', 'max') == 2");
    check(
        &lua,
        "local n, u, a = cb:get_header(2) return n == 'a_very_long_col' and u == 'm/s*x_y' and a == 'max'",
    );
    check(
        &lua,
        "local n, u, a = cb:get_header(1) return n == 'Column_1' and u == 'count' and a == 'sum'",
    );
    check(
        &lua,
        "cb:set_header(1, 'x', nil, 'avg') local n, u, a = cb:get_header(1) return u == 'count' and a == 'avg'",
    );
    let cases = [
        (
            "cb:set_header(1, 'x', 'y', 'median')",
            "bad argument #4 to 'set_header' (invalid option 'median')",
        ),
        ("cb:set_header(3, 'x')", "bad argument #1 to 'set_header' (column out of range)"),
        ("cb:get(0, 0)", "bad argument #2 to 'get' (column out of range)"),
        ("cb:add(0, 1)", "bad argument #3 to 'add' (number expected, got no value)"),
        ("cb:format('csv')", "bad argument #1 to 'format' (invalid option 'csv')"),
        ("circular_buffer.new(1, 1, 1)", "bad argument #1 to 'new' (rows must be > 1)"),
        ("circular_buffer.new(2, 0, 1)", "bad argument #2 to 'new' (columns must be > 0)"),
        (
            "circular_buffer.new(2, 1, 0)",
            "bad argument #3 to 'new' (seconds_per_row is out of range)",
        ),
        ("circular_buffer.new(2, 1)", "bad argument #0 to 'new' (incorrect number of arguments)"),
        (
            "circular_buffer.new(2, 1, 1, 'yes')",
            "bad argument #4 to 'new' (boolean expected, got string)",
        ),
        ("circular_buffer.new(1e9, 1e9, 1)", "not enough memory"),
        ("cb:compute('median', 1)", "bad argument #1 to 'compute' (invalid option 'median')"),
        ("cb:compute('sum', 1, 2e9, 1e9)", "bad argument #4 to 'compute' (end must be >= start)"),
        ("cb:fromstring('1 1 2')", "fromstring() too few values: 1, expected 4"),
        ("cb:fromstring('1 1 1 2 3 4 5')", "fromstring() invalid delta"),
        ("cb:fromstring('1 1 1 2 x 4')", "fromstring() invalid value 'x'"),
        ("cb:fromstring('1 7 1 2 3 4')", "fromstring() invalid time or row"),
        ("cb:fromstring('-9223372036854775808 1 1 2 3 4')", "fromstring() invalid time or row"),
    ];
    for (code, want) in cases {
        let e = err(&lua, code);
        assert!(e.contains(want), "{code}: {e}");
    }
}

#[test]
fn compute_and_mannwhitneyu() {
    let lua = lua();
    lua.load("cb = circular_buffer.new(6, 1, 1) for i = 0, 4 do cb:set(i * 1e9, 1, i + 1) end")
        .exec()
        .unwrap();
    // Rows 0..5 hold 1, 2, 3, 4, 5, nan.
    check(&lua, "local v, n = cb:compute('sum', 1) return v == 15 and n == 5");
    check(&lua, "local v, n = cb:compute('avg', 1) return v == 3 and n == 5");
    check(&lua, "local v, n = cb:compute('variance', 1) return v == 2 and n == 5");
    check(&lua, "local v = cb:compute('sd', 1) return math.abs(v - math.sqrt(2)) < 1e-15");
    check(&lua, "return cb:compute('min', 1) == 1 and cb:compute('max', 1) == 5");
    check(&lua, "local v, n = cb:compute('sum', 1, 1e9, 3e9) return v == 9 and n == 3");
    check(&lua, "local v, n = cb:compute('sum', 1, 3.5e9) return v == 9 and n == 2");
    check(&lua, "local v, n = cb:compute('avg', 1, 5e9, 5e9) return v ~= v and n == 0");
    check(&lua, "return cb:compute('sum', 1, -1e9) == nil and cb:compute('sum', 1, 0, 6e9) == nil");
    lua.load("cb = circular_buffer.new(6, 1, 1) for i = 0, 5 do cb:set(i * 1e9, 1, i + 1) end")
        .exec()
        .unwrap();
    check(
        &lua,
        "local u, p = cb:mannwhitneyu(1, 0, 2e9, 3e9, 5e9) return u == 0 and math.abs(p - 0.0404278) < 1e-6",
    );
    check(
        &lua,
        "local u, p = cb:mannwhitneyu(1, 0, 2e9, 3e9, 5e9, false) return math.abs(p - 0.0247673) < 1e-6",
    );
    check(&lua, "return cb:mannwhitneyu(1, 0, 2e9, 3e9, 9e9) == nil");
}

fn roundtrip(lua: &Lua, name: &str) -> (String, Lua) {
    let ud: AnyUserData = lua.globals().get(name).unwrap();
    let mut script = String::new();
    ud.borrow::<CircularBuffer>()
        .unwrap()
        .preservation_script(&format!("_G[\"{name}\"]"), &mut script);
    let fresh = self::lua();
    fresh.load(&script).exec().unwrap();
    (script, fresh)
}

#[test]
fn preservation_round_trip() {
    let lua = lua();
    lua.load(
        r#"stats = circular_buffer.new(4, 3, 60, true)
           stats:set_header(1, "Requests", "count", "sum")
           stats:set_header(2, "Latency", "ms", "max")
           stats:set_header(3, "Ratio", "%", "avg")
           stats:add(0, 1, 10) stats:add(61e9, 1, 0.1) stats:set(61e9, 2, 1/0)
           stats:set(120e9, 3, 1/3) stats:add(250e9, 1, -2.5e-300)
           stats:format("cbufd")"#,
    )
    .exec()
    .unwrap();
    let (script, fresh) = roundtrip(&lua, "stats");
    let ud: AnyUserData = lua.globals().get("stats").unwrap();
    let before = ud.borrow::<CircularBuffer>().unwrap().cells().unwrap().state_string();
    assert!(
        script.starts_with(
            "if _G[\"stats\"] == nil then _G[\"stats\"] = circular_buffer.new(4, 3, 60, true) end\n\
         _G[\"stats\"]:set_header(1, \"Requests\", \"count\", \"sum\")\n"
        ),
        "{script}"
    );
    assert!(script.is_ascii());
    let state = |l: &Lua| {
        let ud: AnyUserData = l.globals().get("stats").unwrap();
        let cb = ud.borrow::<CircularBuffer>().unwrap();
        let cb = cb.cells().unwrap();
        (
            cb.state_string(),
            (0..3).map(|c| cb.header(c).clone()).collect::<Vec<_>>(),
            cb.current_time_ns(),
        )
    };
    assert_eq!(state(&lua), state(&fresh));
    check(
        &fresh,
        "return stats:get(240e9, 1) == -2.5e-300 and stats:get(120e9, 3) == 1/3 and stats:get(60e9, 2) == math.huge",
    );
    // Pending deltas and the format survive: both outputs agree.
    assert_eq!(output(&lua, "stats"), output(&fresh, "stats"));
    assert!(output(&fresh, "stats").is_empty());
    lua.load("stats:format('cbuf')").exec().unwrap();
    fresh.load("stats:format('cbuf')").exec().unwrap();
    assert_eq!(output(&lua, "stats"), output(&fresh, "stats"));
    // Running the script again over the existing object is harmless.
    fresh.load(&script).exec().unwrap();
    assert_eq!(state(&fresh).0, before);
}

#[test]
fn heka_preserved_data_loads() {
    // As Heka wrote it: cells with 8 decimals, delta rows after the cells.
    let lua = lua();
    lua.load(
        r#"if _G["old"] == nil then _G["old"] = circular_buffer.new(2, 2, 60, true) end
           _G["old"]:set_header(1, "Column_1", "count", "sum")
           _G["old"]:fromstring("120 0 0.33333333 nan 5 -inf 120 1 nan")"#,
    )
    .exec()
    .unwrap();
    check(
        &lua,
        "return old:current_time() == 120e9 and old:get(120e9, 1) == 0.33333333 and old:get(60e9, 1) == 5",
    );
    lua.load("old:format('cbufd')").exec().unwrap();
    assert!(output(&lua, "old").ends_with("]}\n120\t1\tnan\n"));
    // Delta rows outside the window (or not times at all) are ignored.
    lua.load(
        r#"odd = circular_buffer.new(2, 1, 1, true) odd:fromstring("1 1 5 6 -inf 1 nan 2 0 3")"#,
    )
    .exec()
    .unwrap();
    check(&lua, "return odd:get(0, 1) == 5 and odd:get(1e9, 1) == 6");
    lua.load("odd:format('cbufd')").exec().unwrap();
    assert!(output(&lua, "odd").ends_with("]}\n0\t3\n"));
}

/// The error text a script would see (no traceback, no mlua decoration).
fn text(lua: &Lua, code: &str) -> String {
    crate::sandbox::error_text(&lua.load(code).exec().unwrap_err())
}

#[test]
fn add_set_get_check_self_then_arguments() {
    let lua = lua();
    let bloom = crate::sandbox::modules::bloom_filter::open(&lua).unwrap();
    lua.globals().set("bloom_filter", bloom).unwrap();
    lua.load("cb = circular_buffer.new(2, 2, 1) add, set, get = cb.add, cb.set, cb.get")
        .exec()
        .unwrap();
    let bad_self = |m: &str, why: &str| format!("bad argument #1 to 'CircularBuffer.{m}' ({why})");
    let not_ud = |t: &str| {
        format!("error converting Lua {t} to userdata (expected userdata of type 'CircularBuffer')")
    };
    let cases = [
        ("add()", bad_self("add", "error converting Lua missing argument to userdata")),
        ("set(5, 0, 1, 1)", bad_self("set", &not_ud("number"))),
        ("get({}, 0, 1)", bad_self("get", &not_ud("table"))),
        ("get(nil, 0, 1)", bad_self("get", &not_ud("nil"))),
        (
            "add(bloom_filter.new(10, 0.01), 0, 1, 1)",
            bad_self("add", "userdata is not expected type"),
        ),
        ("cb:add('x', 1, 1)", "bad argument #1 to 'add' (number expected, got string)".into()),
        ("cb:set(nil, 1, 1)", "bad argument #1 to 'set' (number expected, got no value)".into()),
        ("cb:get(0/0, 1)", "bad argument #1 to 'get' (time must be a number)".into()),
        (
            "cb:add(0, 1.5, 1)",
            "bad argument #2 to 'add' (number has no integer representation)".into(),
        ),
        ("cb:set(0, 3, 1)", "bad argument #2 to 'set' (column out of range)".into()),
        ("cb:get(0, 0)", "bad argument #2 to 'get' (column out of range)".into()),
        ("cb:get(0, {})", "bad argument #2 to 'get' (number expected, got table)".into()),
        ("cb:add(0, 1, true)", "bad argument #3 to 'add' (number expected, got boolean)".into()),
        ("cb:set(0, 1)", "bad argument #3 to 'set' (number expected, got no value)".into()),
        ("cb:set(0, 1, 1) cb:set(0, 1, 0/0)", "cannot uninitialize a value".into()),
        ("cb:add(0, 2, 1/0) cb:add(0, 2, -1/0)", "add produced a NAN".into()),
    ];
    for (code, want) in cases {
        assert_eq!(text(&lua, code), want, "{code}");
    }
    // A method kept in a local, called after the buffer was destroyed.
    let ud: AnyUserData = lua.globals().get("cb").unwrap();
    ud.destroy().unwrap();
    assert_eq!(text(&lua, "add(cb, 0, 1, 1)"), bad_self("add", "userdata has been destructed"));
}

#[test]
fn add_set_get_results() {
    let lua = lua();
    lua.load("cb = circular_buffer.new(2, 2, 1)").exec().unwrap();
    check(&lua, "return cb:add(0, 1, 2) == 2 and math.type(cb:add(0, 1, 1)) == 'float'");
    // Numeric strings and integral floats are accepted; extra arguments ignored.
    check(&lua, "return cb:add('0', '1', ' 2 ', 'extra') == 5 and cb:get(0.0, 1.0, {}) == 5");
    check(&lua, "return cb:set(1e9, 2, 4) == 4 and cb:get(1.5e9, 2) == 4");
    check(&lua, "local v = cb:get(1e9, 1) return v ~= v");
    // Outside the window: nil, and nothing changes.
    check(&lua, "return cb:add(-5e9, 1, 1) == nil and cb:set(-5e9, 1, 1) == nil");
    check(&lua, "return cb:get(-5e9, 1) == nil and cb:get(0, 1) == 5");
}
