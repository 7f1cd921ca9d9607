--[[
JSON decoder: the Payload is one JSON object; its members become message
fields, nested objects flattened with a separator ("extra.workspace-id").
Payloads that are not a JSON object fail (status -1).

Values: strings -> STRING, numbers -> DOUBLE, booleans -> BOOL, arrays of
one scalar type -> array fields, other arrays and objects deeper than
`maximum_depth` -> their JSON text; null members are dropped.

Config:

- type (string, default "json")
    Sets the message Type (a mapped `Type` member wins).
- payload_keep (bool, default false)
    Keep the JSON text as the Payload (a mapped `Payload` member wins).
- map_fields (bool, default false)
    Enables the header mappings below (except Timestamp, always applied):
- Payload, Uuid, Type, Logger, Hostname, EnvVersion (string, default nil)
    Name of the top-level member whose string value becomes that header.
- Severity, Pid (string, default nil)
    Name of the top-level member whose number becomes that header.
- Timestamp (string, default nil)
    Name of the top-level member holding the time: a number of
    nanoseconds, or text in `timestamp_format`, else RFC 3339.
- timestamp_format (string, default nil)
    strftime-style format of the Timestamp member (see lua_modules/date_time).
- maximum_depth (int, default 10)
    Objects nested deeper are kept as JSON text in one field.
- separator (string, default ".")
    Joins the names of nested members.

Example:

    [json]
    type = "SandboxDecoder"
    filename = "sandboxes/decoders/json.lua"

    [json.config]
    type = "artemis"
    payload_keep = false
    map_fields = true
    Severity = "severity"
    Timestamp = "time"
--]]

require "cjson"
local dt = require "date_time"
local string = require "string"
local math = require "math"

local decode, encode = cjson.decode, cjson.encode
local pcall, pairs, type, tonumber, tostring = pcall, pairs, type, tonumber, tostring
local read_message, inject_message = read_message, inject_message

local payload_keep = read_config("payload_keep")
local map_fields = read_config("map_fields")
local separator = read_config("separator") or "."
local maximum_depth = read_config("maximum_depth") or 10
local msg_type = read_config("type") or "json"

local timestamp_key = read_config("Timestamp")
local timestamp_format = read_config("timestamp_format")
local ts_grammar = timestamp_format and dt.build_strftime_matcher(timestamp_format)

local STRING_HEADERS = {"Payload", "Uuid", "Type", "Logger", "Hostname", "EnvVersion"}
local NUMBER_HEADERS = {"Severity", "Pid"}
local header_keys = {}
for _, h in ipairs(STRING_HEADERS) do header_keys[h] = read_config(h) end
for _, h in ipairs(NUMBER_HEADERS) do header_keys[h] = read_config(h) end

-- An array of strings, numbers or booleans only (all one type), or nil.
local function scalar_array(t)
    local n, kind = #t, nil
    if n == 0 then return nil end
    local count = 0
    for _ in pairs(t) do count = count + 1 end
    if count ~= n then return nil end
    for i = 1, n do
        local k = type(t[i])
        if k ~= "string" and k ~= "number" and k ~= "boolean" then return nil end
        if kind and k ~= kind then return nil end
        kind = k
    end
    return t
end

local function flatten(t, prefix, depth, out)
    for k, v in pairs(t) do
        local name = prefix and (prefix .. separator .. tostring(k)) or tostring(k)
        if type(v) == "table" then
            local arr = scalar_array(v)
            if arr then
                out[name] = arr
            elseif next(v) == nil then
                -- an empty object or array carries nothing
            elseif #v == 0 and depth < maximum_depth then
                flatten(v, name, depth + 1, out)
            else
                out[name] = encode(v)
            end
        else
            out[name] = v
        end
    end
end

local function to_ns(v)
    if type(v) == "number" then return math.floor(v) end
    if type(v) ~= "string" then return nil end
    if ts_grammar then return ts_grammar:match(v) end
    return dt.rfc3339_to_ns(v) or tonumber(v)
end

function process_message()
    local payload = read_message("Payload")
    local ok, json = pcall(decode, payload)
    if not ok then return -1, "Failed to decode JSON." end
    if type(json) ~= "table" or (#json > 0) then return -1, "JSON payload is not an object." end
    local msg = {Type = msg_type}
    if payload_keep then msg.Payload = payload end
    if map_fields then
        for _, h in ipairs(STRING_HEADERS) do
            local key = header_keys[h]
            if key and type(json[key]) == "string" then
                msg[h] = json[key]
                json[key] = nil
            end
        end
        for _, h in ipairs(NUMBER_HEADERS) do
            local key = header_keys[h]
            if key and type(json[key]) == "number" then
                msg[h] = math.floor(json[key])
                json[key] = nil
            end
        end
    end
    if timestamp_key and json[timestamp_key] ~= nil then
        local ns = to_ns(json[timestamp_key])
        if not ns then return -1, "Failed to decode timestamp." end
        msg.Timestamp = ns
        json[timestamp_key] = nil
    end
    local fields = {}
    flatten(json, nil, 1, fields)
    msg.Fields = fields
    inject_message(msg)
    return 0
end
