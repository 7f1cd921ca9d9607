--[[
Stat graph: graphs numeric message fields in a circular buffer, one column
per field, and emits it on every timer event as a `cbuf` payload named
`title`. Each message adds (aggregation "sum") or sets (min, max, none)
its values in the row of its timestamp; messages without a field leave
that column alone.

Config:

- stats (string, required)
    Space-separated field names, e.g. "request_time body_bytes_sent" (a
    name may be written Fields[name]).
- stat_labels (string, default: the field names)
    Space-separated column names (15 characters at most), one per stat.
- stat_aggregation (string, default "sum")
    sum, min, max or none, for every column.
- stat_unit (string, default "count")
- title (string, default "Stats")
- sec_per_row (int, default 60), rows (int, default 1440)
- preservation_version (int, default 0)

Example:

    [bytes_graph]
    type = "SandboxFilter"
    filename = "sandboxes/filters/stat_graph.lua"
    message_matcher = "Type == 'nginx.access'"
    ticker_interval = 60

    [bytes_graph.config]
    title = "Bytes sent"
    stats = "body_bytes_sent"
    stat_labels = "bytes"
    stat_unit = "B"
--]]

require "circular_buffer"
local string = require "string"

local function words(s)
    local t = {}
    for w in string.gmatch(s or "", "%S+") do t[#t + 1] = w end
    return t
end

local stats = words(read_config("stats"))
if #stats == 0 then error("stats must name at least one field") end
local labels = words(read_config("stat_labels"))
if #labels == 0 then labels = stats end
if #labels ~= #stats then error("stat_labels must name one column per stat") end
local aggregation = read_config("stat_aggregation") or "sum"
local AGGREGATIONS = {sum = true, min = true, max = true, none = true}
if not AGGREGATIONS[aggregation] then
    error("stat_aggregation must be sum, min, max or none")
end
local unit = read_config("stat_unit") or "count"
local title = read_config("title") or "Stats"
_PRESERVATION_VERSION = read_config("preservation_version") or 0

graph = circular_buffer.new(read_config("rows") or 1440, #stats, read_config("sec_per_row") or 60)
local names = {}
for i, s in ipairs(stats) do
    graph:set_header(i, labels[i], unit, aggregation)
    names[i] = string.match(s, "^Fields%[.+%]$") and s or ("Fields[" .. s .. "]")
end

local read_message, type = read_message, type
local add = aggregation == "sum"

function process_message()
    local ts = read_message("Timestamp")
    for i = 1, #names do
        local v = read_message(names[i])
        if type(v) == "number" then
            if add then graph:add(ts, i, v) else graph:set(ts, i, v) end
        end
    end
    return 0
end

function timer_event(ns)
    inject_payload("cbuf", title, graph)
end
