--[[
Message counter: counts messages by the value of one message variable
(the Type by default) and emits the counts on every timer event as a
tab-separated text payload named `payload_name`: a header line, then one
`value<TAB>count` line per value, sorted by value, then a `total` line.
Messages without the variable count under "(none)". Counts are globals
(`preserve_data` keeps them).

Config:

- count_field (string, default "Type")
    What to count by: a header (Type, Logger, Hostname, Severity, ...) or
    `Fields[name]`.
- reset (bool, default false)
    Start counting from zero after each emission (counts per interval
    instead of running totals).
- max_values (int, default 1000)
    Distinct values tracked; later new values count under "(other)".
- payload_name (string, default "message_counts")

Example:

    [status_counter]
    type = "SandboxFilter"
    filename = "sandboxes/filters/message_counter.lua"
    message_matcher = "Type == 'nginx.access'"
    ticker_interval = 60

    [status_counter.config]
    count_field = "Fields[status]"
--]]

local string = require "string"
local table = require "table"

local count_field = read_config("count_field") or "Type"
local reset = read_config("reset")
local max_values = read_config("max_values") or 1000
local payload_name = read_config("payload_name") or "message_counts"

counts = {}
distinct = 0
total = 0

local read_message, tostring, type, pairs = read_message, tostring, type, pairs
local format = string.format

local function key_of(v)
    if v == nil then return "(none)" end
    if type(v) == "number" and v == v // 1 then return format("%d", v) end
    return tostring(v)
end

function process_message()
    local key = key_of(read_message(count_field))
    local n = counts[key]
    if n == nil then
        if distinct >= max_values then
            key = "(other)"
            n = counts[key]
        end
        if n == nil then
            distinct = distinct + 1
            n = 0
        end
    end
    counts[key] = n + 1
    total = total + 1
    return 0
end

function timer_event(ns)
    local keys = {}
    for k in pairs(counts) do keys[#keys + 1] = k end
    table.sort(keys)
    add_to_payload(count_field, "\tcount\n")
    for _, k in ipairs(keys) do
        add_to_payload(k, "\t", counts[k], "\n")
    end
    add_to_payload("total\t", total, "\n")
    inject_payload("tsv", payload_name)
    if reset then
        counts, distinct, total = {}, 0, 0
    end
end
