//! Tests of `cjson` against lua-cjson's documented behaviour and messages.

use mlua::{Lua, Value};

use super::open;
use crate::sandbox::limits::{MemoryLimit, OutputLimit};

fn lua() -> Lua {
    let lua = Lua::new();
    let t = open(&lua).unwrap();
    lua.globals().set("cjson", t).unwrap();
    lua
}

fn enc(lua: &Lua, expr: &str) -> String {
    lua.load(format!("return cjson.encode({expr})")).eval::<String>().unwrap()
}

fn err(lua: &Lua, code: &str) -> String {
    lua.load(code).exec().unwrap_err().to_string()
}

#[test]
fn encode_scalars_and_strings() {
    let lua = lua();
    assert_eq!(enc(&lua, "nil"), "null");
    assert_eq!(enc(&lua, "cjson.null"), "null");
    assert_eq!(enc(&lua, "true"), "true");
    assert_eq!(enc(&lua, "10"), "10");
    assert_eq!(enc(&lua, "-9007199254740993"), "-9007199254740993");
    assert_eq!(enc(&lua, "1.5"), "1.5");
    assert_eq!(enc(&lua, "3.0"), "3");
    assert_eq!(enc(&lua, "1/3"), "0.33333333333333");
    assert_eq!(enc(&lua, "1e20"), "1e+20");
    assert_eq!(enc(&lua, "'hello'"), "\"hello\"");
    assert_eq!(
        enc(&lua, r#"'a"b\\c/d\n\r\t\b\f\0\31\127é'"#),
        "\"a\\\"b\\\\c\\/d\\n\\r\\t\\b\\f\\u0000\\u001f\\u007fé\""
    );
    // Invalid UTF-8 passes through untouched.
    let s: mlua::LuaString = lua.load(r#"return cjson.encode("\255\128x")"#).eval().unwrap();
    assert_eq!(&*s.as_bytes(), b"\"\xff\x80x\"");
}

#[test]
fn encode_tables() {
    let lua = lua();
    assert_eq!(enc(&lua, "{}"), "{}");
    assert_eq!(enc(&lua, "{1, 2, 'x'}"), "[1,2,\"x\"]");
    assert_eq!(enc(&lua, "{ true, { foo = 'bar' } }"), "[true,{\"foo\":\"bar\"}]");
    assert_eq!(enc(&lua, "{[3] = 'data'}"), "[null,null,\"data\"]");
    assert_eq!(enc(&lua, "{[1] = 'one', [4] = 'sparse'}"), "[\"one\",null,null,\"sparse\"]");
    assert_eq!(enc(&lua, "{['2'] = 'x'}"), "{\"2\":\"x\"}");
    assert_eq!(enc(&lua, "{[1.5] = 'x'}"), "{\"1.5\":\"x\"}");
    assert_eq!(enc(&lua, "{[-1] = 'x'}"), "{\"-1\":\"x\"}");
    assert_eq!(enc(&lua, "{{{{{'nested'}}}}}"), "[[[[[\"nested\"]]]]]");
    // Mixed tables keep every key (mlua's serde would drop `x`).
    let mixed: serde_json::Value = serde_json::from_str(&enc(&lua, "{1, 2, x = 3}")).unwrap();
    assert_eq!(mixed, serde_json::json!({"1": 1, "2": 2, "x": 3}));
    let nested: serde_json::Value =
        serde_json::from_str(&enc(&lua, "{a = {b = {1, cjson.null, 3}}, c = ''}")).unwrap();
    assert_eq!(nested, serde_json::json!({"a": {"b": [1, null, 3]}, "c": ""}));
    // Metamethods are not used.
    assert_eq!(
        enc(
            &lua,
            "setmetatable({}, {__index = function() return 1 end, __len = function() return 5 end})"
        ),
        "{}"
    );
}

#[test]
fn encode_sparse_arrays() {
    let lua = lua();
    let e = err(&lua, "cjson.encode({1, 2, [1000] = 99})");
    assert!(e.contains("Cannot serialise table: excessively sparse array"), "{e}");
    // max 11 > safe 10 and > 2 * 1 items.
    assert!(err(&lua, "cjson.encode({[11] = 1})").contains("excessively sparse"));
    assert_eq!(enc(&lua, "{[10] = 1}").matches("null").count(), 9);
    lua.load("cjson.encode_sparse_array(true)").exec().unwrap();
    assert_eq!(enc(&lua, "{[1000] = 'x'}"), "{\"1000\":\"x\"}");
    let (c, r, s): (bool, i64, i64) =
        lua.load("return cjson.encode_sparse_array(false, 0)").eval().unwrap();
    assert_eq!((c, r, s), (false, 0, 10));
    assert_eq!(enc(&lua, "{[12] = 'x'}").matches("null").count(), 11);
}

#[test]
fn encode_errors() {
    let lua = lua();
    let cases = [
        ("cjson.encode(function() end)", "Cannot serialise function: type not supported"),
        ("cjson.encode({f = print})", "Cannot serialise function: type not supported"),
        ("cjson.encode(coroutine.create(print))", "Cannot serialise thread: type not supported"),
        (
            "cjson.encode({[{}] = 1})",
            "Cannot serialise table: table key must be a number or string",
        ),
        (
            "cjson.encode({[true] = 1})",
            "Cannot serialise boolean: table key must be a number or string",
        ),
        ("cjson.encode(0/0)", "Cannot serialise number: must not be NaN or Inf"),
        ("cjson.encode({1/0})", "Cannot serialise number: must not be NaN or Inf"),
        ("cjson.encode()", "bad argument #1 to 'encode' (expected 1 argument)"),
        ("cjson.encode(1, 2)", "bad argument #1 to 'encode' (expected 1 argument)"),
        ("cjson.encode_number_precision(15)", "expected integer between 1 and 14"),
    ];
    for (code, want) in cases {
        let e = err(&lua, code);
        assert!(e.contains(want), "{code}: {e}");
    }
    let ud = lua.create_userdata(crate::sandbox::modules::HyperLogLog::new()).unwrap();
    lua.globals().set("ud", ud).unwrap();
    assert!(
        err(&lua, "cjson.encode({ud})").contains("Cannot serialise userdata: type not supported")
    );
}

#[test]
fn encode_depth_and_cycles() {
    let lua = lua();
    lua.load("deep = {} local t = deep for i = 2, 1000 do t[1] = {} t = t[1] end").exec().unwrap();
    let s: String = lua.load("return cjson.encode(deep)").eval().unwrap();
    assert_eq!(s.len(), 2000);
    let e = err(&lua, "cjson.encode({deep})");
    assert!(e.contains("Cannot serialise, excessive nesting (1001)"), "{e}");
    let e = err(&lua, "local a = {} a[1] = a cjson.encode(a)");
    assert!(e.contains("excessive nesting (1001)"), "{e}");
    lua.load("cjson.encode_max_depth(5)").exec().unwrap();
    assert!(err(&lua, "cjson.encode({{{{{{1}}}}}})").contains("excessive nesting (6)"));
    assert_eq!(enc(&lua, "{{{{{1}}}}}"), "[[[[[1]]]]]");
}

#[test]
fn encode_settings() {
    let lua = lua();
    lua.load("cjson.encode_invalid_numbers(true)").exec().unwrap();
    assert_eq!(enc(&lua, "{0/0, 1/0, -1/0}"), "[NaN,Infinity,-Infinity]");
    lua.load("cjson.encode_invalid_numbers('null')").exec().unwrap();
    assert_eq!(enc(&lua, "{1/0}"), "[null]");
    lua.load("cjson.encode_number_precision(3)").exec().unwrap();
    assert_eq!(enc(&lua, "2.71828"), "2.72");
    assert!(lua.load("return cjson.new").eval::<Value>().unwrap().is_nil());
    assert!(lua.load("return cjson.encode_keep_buffer").eval::<Value>().unwrap().is_nil());
}

#[test]
fn encode_is_bounded_by_the_output_limit() {
    let lua = lua();
    lua.set_app_data(OutputLimit(64));
    assert_eq!(enc(&lua, "string.rep('x', 62)").len(), 64);
    let e = err(&lua, "cjson.encode(string.rep('x', 63))");
    assert!(e.contains("output_limit exceeded"), "{e}");
    let e = err(&lua, "local t = {} for i = 1, 100 do t[i] = i end cjson.encode(t)");
    assert!(e.contains("output_limit exceeded"), "{e}");
}

#[test]
fn decode_values() {
    let lua = lua();
    let ok = |code: &str| assert!(lua.load(code).eval::<bool>().unwrap(), "{code}");
    ok(r#"return cjson.decode('"test string"') == "test string""#);
    ok(r#"return math.type(cjson.decode('-5e3')) == "float" and cjson.decode('-5e3') == -5000"#);
    ok(r#"return math.type(cjson.decode('42')) == "integer""#);
    ok(r#"return math.type(cjson.decode('9223372036854775807')) == "integer""#);
    ok(r#"return math.type(cjson.decode('9223372036854775808')) == "float""#);
    ok(r#"return math.type(cjson.decode('1.0')) == "float""#);
    ok(r#"return cjson.decode('null') == nil"#);
    ok(r#"return cjson.decode('true') == true and cjson.decode(' false ') == false"#);
    ok(
        r#"local t = cjson.decode('{ "1": "one", "3": "three" }') return t["1"] == "one" and t["3"] == "three" and t[1] == nil"#,
    );
    ok(
        r#"local t = cjson.decode('[ "one", null, "three" ]') return t[1] == "one" and t[2] == nil and t[3] == "three""#,
    );
    ok(
        r#"local t = cjson.decode('{"a": null, "b": 1}') return t.a == nil and t.b == 1 and next(t, "b") == nil"#,
    );
    ok(
        r#"local t = cjson.decode('[ 0.0, -1, 0.3e-3, 1023.2 ]') return t[1] == 0 and t[2] == -1 and t[3] == 0.0003 and t[4] == 1023.2"#,
    );
    ok(
        r#"return cjson.decode('00123') == 123 and cjson.decode('05.2') == 5.2 and cjson.decode('0x6') == 6"#,
    );
    ok(
        r#"local t = cjson.decode('[ +Inf, Inf, -Infinity, NaN ]') return t[1] == math.huge and t[2] == math.huge and t[3] == -math.huge and t[4] ~= t[4]"#,
    );
    ok(
        r#"local t = cjson.decode('{"a":{"b":[[],{}]}}') return next(t.a.b[1]) == nil and next(t.a.b[2]) == nil"#,
    );
    ok(
        r#"return cjson.decode('"\\u00e9\\uF800\\ud83d\\ude00\\/\\n"') == "\195\169\239\160\128\240\159\152\128/\n""#,
    );
    ok(r#"return cjson.decode('"\255\128"') == "\255\128""#);
    ok(r#"return cjson.decode(12) == 12"#);
}

#[test]
fn decode_null_setting() {
    let lua = lua();
    assert!(!lua.load("return cjson.decode_null()").eval::<bool>().unwrap());
    lua.load("cjson.decode_null(true)").exec().unwrap();
    let ok = |code: &str| assert!(lua.load(code).eval::<bool>().unwrap(), "{code}");
    ok("return cjson.decode('null') == cjson.null");
    ok(r#"local t = cjson.decode('[1, null]') return t[2] == cjson.null and #t == 2"#);
    ok(r#"return cjson.decode('{"a": null}').a == cjson.null"#);
    ok(r#"return cjson.encode(cjson.decode('{"a":[null]}')) == '{"a":[null]}'"#);
}

#[test]
fn decode_errors() {
    let lua = lua();
    lua.globals().set("nested", format!("{}{}", "[".repeat(1001), "]".repeat(1001))).unwrap();
    let cases = [
        (r#"cjson.decode('\0"\0"')"#, "JSON parser does not support UTF-16 or UTF-32"),
        (
            r#"cjson.decode('{ "unexpected eof": ')"#,
            "Expected value but found T_END at character 21",
        ),
        (
            r#"cjson.decode('{ "extra data": true }, false')"#,
            "Expected the end but found T_COMMA at character 23",
        ),
        (
            r#"cjson.decode(' { "bad escape \\q code" } ')"#,
            "Expected object key string but found invalid escape code at character 16",
        ),
        (
            r#"cjson.decode(' { "bad unicode \\u0f6 escape" } ')"#,
            "Expected object key string but found invalid unicode escape code at character 17",
        ),
        (
            r#"cjson.decode(' [ "bad barewood", test ] ')"#,
            "Expected value but found invalid token at character 20",
        ),
        (r#"cjson.decode('[ -+12 ]')"#, "Expected value but found invalid number at character 3"),
        (r#"cjson.decode('-v')"#, "Expected value but found invalid number at character 1"),
        (
            r#"cjson.decode('[ 0.4eg10 ]')"#,
            "Expected comma or array end but found invalid token at character 6",
        ),
        (r#"cjson.decode('Infrared')"#, "Expected the end but found invalid token at character 4"),
        (r#"cjson.decode('Noodle')"#, "Expected value but found invalid token at character 1"),
        (
            r#"cjson.decode('"\\uDB00\\uD800"')"#,
            "Expected value but found invalid unicode escape code at character 2",
        ),
        (
            r#"cjson.decode('"\\uDB00\\"')"#,
            "Expected value but found invalid unicode escape code at character 2",
        ),
        (
            r#"cjson.decode('"\\uDC00"')"#,
            "Expected value but found invalid unicode escape code at character 2",
        ),
        (
            r#"cjson.decode('"abc')"#,
            "Expected value but found unexpected end of string at character 5",
        ),
        (r#"cjson.decode('')"#, "Expected value but found T_END at character 1"),
        (r#"cjson.decode('[1,]')"#, "Expected value but found T_ARR_END at character 4"),
        (r#"cjson.decode('{"a" 1}')"#, "Expected colon but found T_NUMBER at character 6"),
        (
            r#"cjson.decode('{"a":1 "b":2}')"#,
            "Expected comma or object end but found T_STRING at character 8",
        ),
        (
            r#"cjson.decode('{1:2}')"#,
            "Expected object key string but found T_NUMBER at character 2",
        ),
        ("cjson.decode(nested)", "Found too many nested data structures (1001) at character 1001"),
        ("cjson.decode()", "bad argument #1 to 'decode' (expected 1 argument)"),
        ("cjson.decode({})", "bad argument #1 to 'decode' (string expected, got table)"),
    ];
    for (code, want) in cases {
        let e = err(&lua, code);
        assert!(e.contains(want), "{code}: {e}");
    }
    lua.load("cjson.decode_invalid_numbers(false)").exec().unwrap();
    for code in ["cjson.decode('0x6')", "cjson.decode('-Inf')", "cjson.decode('012')"] {
        assert!(
            err(&lua, code).contains("Expected value but found invalid number at character 1"),
            "{code}"
        );
    }
    // Without a leading digit or minus sign they are not numbers at all.
    for code in ["cjson.decode('NaN')", "cjson.decode('+1')"] {
        assert!(
            err(&lua, code).contains("Expected value but found invalid token at character 1"),
            "{code}"
        );
    }
    lua.load("cjson.decode_max_depth(2)").exec().unwrap();
    assert!(
        err(&lua, "cjson.decode('[[[1]]]')")
            .contains("Found too many nested data structures (3) at character 3")
    );
}

#[test]
fn decode_is_bounded_by_half_the_memory_limit() {
    let lua = lua();
    lua.set_app_data(MemoryLimit(100));
    assert!(lua.load("return cjson.decode(string.rep(' ', 50) .. '1')").eval::<i64>().is_err());
    assert_eq!(
        lua.load("return cjson.decode(string.rep(' ', 48) .. '1')").eval::<i64>().unwrap(),
        1
    );
}

#[test]
fn round_trip_keeps_structure() {
    let lua = lua();
    let ok: bool = lua
        .load(
            r#"
            local src = '{"a":[1,2.5,"x",{"b":false}],"c":{"d":"\\u0001"},"e":[]}'
            local t = cjson.decode(src)
            local again = cjson.decode(cjson.encode(t))
            return again.a[1] == 1 and again.a[2] == 2.5 and again.a[3] == "x"
               and again.a[4].b == false and again.c.d == "\1" and next(again.e) == nil
        "#,
        )
        .eval()
        .unwrap();
    assert!(ok);
}

#[test]
fn native_work_is_charged_to_the_instruction_budget() {
    use crate::sandbox::budget::InstructionBudget;
    let lua = lua();
    lua.load("big = {} for i = 1, 5000 do big[i] = i end text = cjson.encode(big)").exec().unwrap();
    lua.set_app_data(InstructionBudget::new(3000));
    let e = err(&lua, "cjson.decode(text)");
    assert!(e.contains("instruction_limit exceeded"), "{e}");
    lua.set_app_data(InstructionBudget::new(3000));
    let e = err(&lua, "cjson.encode(big)");
    assert!(e.contains("instruction_limit exceeded"), "{e}");
    lua.set_app_data(InstructionBudget::new(20_000));
    assert_eq!(lua.load("return #cjson.decode(text)").eval::<i64>().unwrap(), 5000);
    let used = lua.app_data_ref::<InstructionBudget>().unwrap().used();
    assert!(used >= 5000, "{used}");
}
