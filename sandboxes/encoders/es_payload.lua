--[[
Elasticsearch bulk encoder: writes the Bulk API action line for the message
followed by its Payload, so an output can POST the result to `/_bulk`:

    {"index":{"_index":"<index>","_type":"<type_name>"[,"_id":"<id>"]}}
    <Payload>

A newline is added after a Payload that lacks one (the Bulk API needs each
line terminated). Messages with an empty Payload produce no output (-2).

Config:

- index (string, default "heka-%{%Y.%m.%d}")
    Index name, lower-cased. `%{Type}`, `%{Hostname}`, `%{Logger}`,
    `%{Pid}`, `%{Uuid}`, `%{EnvVersion}`, `%{Severity}` and `%{field}` are
    filled from the message; `%{%Y.%m.%d}` (any strftime format) from the
    time (see lua_modules/msg_interpolate).
- type_name (string, default "message"), interpolated the same way.
- id (string, default nil: Elasticsearch assigns one), interpolated; when
    a field it names is missing, `_id` is left out rather than sent with a
    placeholder.
- es_index_from_timestamp (bool, default false)
    Use the message's Timestamp for the date parts instead of the current
    time.

Example:

    [es_payload]
    type = "SandboxEncoder"
    filename = "sandboxes/encoders/es_payload.lua"

    [es_payload.config]
    index = "%{Logger}-%{%Y.%m.%d}"
    type_name = "%{Type}-%{Hostname}"
    es_index_from_timestamp = true

Example output for a message from Logger "mylogger", Type "mytype",
Hostname "host.domain.com" of 2014-06-05:

    {"index":{"_index":"mylogger-2014.06.05","_type":"mytype-host.domain.com"}}
    {"json":"data","extracted":"from","message":"payload"}
--]]

require "cjson"
local string = require "string"
local interp = require "msg_interpolate"

local encode = cjson.encode
local lower, sub = string.lower, string.sub
local read_message = read_message

local index = interp.compile(read_config("index") or "heka-%{%Y.%m.%d}")
local type_name = interp.compile(read_config("type_name") or "message")
local id_config = read_config("id")
local id = id_config and interp.compile(id_config)
local from_timestamp = read_config("es_index_from_timestamp")

function process_message()
    local payload = read_message("Payload")
    if payload == nil or payload == "" then return -2 end
    local ns = from_timestamp and read_message("Timestamp") or nil
    add_to_payload('{"index":{"_index":', encode(lower((index(ns)))), ',"_type":',
        encode((type_name(ns))))
    if id then
        local value, unresolved = id(ns)
        if not unresolved then add_to_payload(',"_id":', encode(value)) end
    end
    add_to_payload("}}\n", payload)
    if sub(payload, -1) ~= "\n" then add_to_payload("\n") end
    inject_payload("json", "es_payload")
    return 0
end
