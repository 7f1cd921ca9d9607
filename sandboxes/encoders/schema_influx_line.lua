--[[
InfluxDB line protocol encoder: turns each message's dynamic fields into
points, one line per field value (or one line per message with
`multi_fields`), tagged with base headers and/or fields:

    <name>[,<tag>=<value>...] <value_field_key>=<value> <timestamp>

A field named `n` gives the series `n`; its second value `n_vidx_1`; the
second field of the same name `n_fidx_1` (its second value
`n_fidx_1_vidx_1`). Numbers are written as floats with `decimal_precision`
digits (InfluxDB rejects a field that changes between integer and float),
strings and bytes quoted, booleans as true/false. Lines come in message
field order, tags in `tag_fields` order. Messages without fields to write
produce no output (status -2).

Config:

- decimal_precision (string, default "6")
- name_prefix (string, default nil)
    Prefix of every series name; `%{Type}`, `%{Hostname}`, `%{field}`, ...
    are filled from the message (lua_modules/msg_interpolate; a missing
    field leaves the placeholder).
- name_prefix_delimiter (string, default "")
    Between the prefix and the field name.
- skip_fields (string, default nil)
    Space-separated dynamic field names not written as points
    ("**all_base**" is accepted: base headers are never points).
- multi_fields (bool, default false)
    One line per message named `name_prefix`, with every field as
    `name=value`.
- source_value_field (string, default nil)
    Write only this field, as one line named `name_prefix` (or the field's
    name when there is no prefix).
- tag_fields (string, default "**all_base**")
    Space-separated tags: base headers (Logger, Type, Severity, Hostname,
    EnvVersion, Pid) or dynamic fields (every value of every instance,
    named as above). "**all_base**" = Logger Type Severity Hostname (and
    EnvVersion when set); "**all**" = those plus every dynamic field.
- timestamp_precision (string, default "ms")
    ns, us, ms, s, m or h: the timestamp is the message time divided down.
- value_field_key (string, default "value")

Example:

    [influx_line]
    type = "SandboxEncoder"
    filename = "sandboxes/encoders/schema_influx_line.lua"

    [influx_line.config]
    skip_fields = "**all_base** FilePath"
    tag_fields = "Hostname Environment"
    timestamp_precision = "s"

Example output for a message from Hostname "myhost" with fields
5MinAvg=0.11 and Environment="dev":

    5MinAvg,Hostname=myhost,Environment=dev value=0.110000 1434932024
--]]

local string = require "string"
local table = require "table"
local interp = require "msg_interpolate"

local format, gsub, gmatch = string.format, string.gsub, string.gmatch
local concat = table.concat
local read_message, read_next_field = read_message, read_next_field
local tostring, type, ipairs = tostring, type, ipairs

local function words(s)
    local t = {}
    for w in gmatch(s or "", "%S+") do t[#t + 1] = w end
    return t
end

local decimal_precision = read_config("decimal_precision") or "6"
local number_format = "%." .. tostring(decimal_precision) .. "f"
local name_prefix = read_config("name_prefix")
local prefix = name_prefix and interp.compile(name_prefix)
local delimiter = read_config("name_prefix_delimiter") or ""
local multi_fields = read_config("multi_fields")
local source_value_field = read_config("source_value_field")
local value_key = read_config("value_field_key") or "value"

local skip = {}
for _, w in ipairs(words(read_config("skip_fields"))) do skip[w] = true end

local PRECISION = {ns = 1, us = 1000, ms = 1000000, s = 1000000000, m = 60000000000,
    h = 3600000000000}
local divisor = PRECISION[read_config("timestamp_precision") or "ms"]
if not divisor then error("timestamp_precision must be ns, us, ms, s, m or h") end

local BASE = {Logger = true, Type = true, Severity = true, Hostname = true, EnvVersion = true,
    Pid = true}
local ALL_BASE = {"Logger", "Type", "Severity", "Hostname", "EnvVersion"}
local tag_list, tag_all_fields = {}, false
for _, w in ipairs(words(read_config("tag_fields") or "**all_base**")) do
    if w == "**all_base**" or w == "**all**" then
        for _, b in ipairs(ALL_BASE) do tag_list[#tag_list + 1] = b end
        if w == "**all**" then tag_all_fields = true end
    else
        tag_list[#tag_list + 1] = w
    end
end

-- Line protocol escapes: measurement names escape commas and spaces, tag
-- keys and values also equals signs; string values escape quotes and
-- backslashes.
local function escape_name(s) return (gsub(s, "([, ])", "\\%1")) end
local function escape_tag(s) return (gsub(s, "([,= ])", "\\%1")) end
local function quote(s) return '"' .. gsub(s, '(["\\])', "\\%1") .. '"' end

local function render_value(v, vtype)
    if vtype == 2 or vtype == 3 then return format(number_format, v) end
    if vtype == 4 then return tostring(v) end
    return quote(tostring(v))
end

local function suffix(name, fi, ai)
    local s = name
    if fi > 0 then s = s .. "_fidx_" .. fi end
    if ai > 0 then s = s .. "_vidx_" .. ai end
    return s
end

-- Every dynamic field value in message order: {name, key, value, vtype}.
local function field_values()
    local list, seen = {}, {}
    while true do
        local vtype, name, _, _, count = read_next_field()
        if not vtype then break end
        local fi = seen[name] or 0
        seen[name] = fi + 1
        for ai = 0, count - 1 do
            local v = read_message("Fields[" .. name .. "]", fi, ai)
            if v ~= nil then
                list[#list + 1] = {name = name, key = suffix(name, fi, ai), value = v,
                    vtype = vtype}
            end
        end
    end
    return list
end

local function tag_text(values)
    local tags = {}
    for _, t in ipairs(tag_list) do
        if BASE[t] then
            local v = read_message(t)
            if v ~= nil and v ~= "" then
                if type(v) == "number" then v = format("%d", v) end
                tags[#tags + 1] = escape_tag(t) .. "=" .. escape_tag(tostring(v))
            end
        else
            for _, f in ipairs(values) do
                if f.name == t then
                    tags[#tags + 1] = escape_tag(f.key) .. "=" .. escape_tag(tostring(f.value))
                end
            end
        end
    end
    if tag_all_fields then
        for _, f in ipairs(values) do
            tags[#tags + 1] = escape_tag(f.key) .. "=" .. escape_tag(tostring(f.value))
        end
    end
    if #tags == 0 then return "" end
    return "," .. concat(tags, ",")
end

function process_message()
    local ns = read_message("Timestamp")
    local ts = format("%d", ns // divisor)
    local values = field_values()
    local tags = tag_text(values)
    local pre = prefix and (prefix(ns)) or ""
    local lines = {}
    if source_value_field then
        for _, f in ipairs(values) do
            if f.key == source_value_field then
                local name = prefix and pre or f.name
                lines[1] = format("%s%s %s=%s %s", escape_name(name), tags, value_key,
                    render_value(f.value, f.vtype), ts)
                break
            end
        end
    elseif multi_fields then
        local parts = {}
        for _, f in ipairs(values) do
            if not skip[f.name] then
                parts[#parts + 1] = escape_tag(f.key) .. "=" .. render_value(f.value, f.vtype)
            end
        end
        if #parts > 0 then
            lines[1] = format("%s%s %s %s", escape_name(pre), tags, concat(parts, ","), ts)
        end
    else
        for _, f in ipairs(values) do
            if not skip[f.name] then
                local name = pre .. (prefix and delimiter or "") .. f.key
                lines[#lines + 1] = format("%s%s %s=%s %s", escape_name(name), tags, value_key,
                    render_value(f.value, f.vtype), ts)
            end
        end
    end
    if #lines == 0 then return -2 end
    inject_payload("txt", "influx_line", concat(lines, "\n"), "\n")
    return 0
end
