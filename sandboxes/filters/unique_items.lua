--[[
Unique items: estimates the number of distinct values of a message variable
per period of message time (a day by default) with a HyperLogLog, and keeps
one estimate per period in a circular buffer emitted on every timer event as
a `cbuf` payload named `title`. A new period starts a new count. Messages
without the variable are ignored.

Config:

- message_variable (string, required)
    The variable whose distinct values are counted, e.g.
    "Fields[remote_addr]" or "Hostname".
- title (string, default "Estimated Unique <message_variable>")
- sec_per_row (int, default 86400)
    Seconds of message time per period.
- rows (int, default 365)
    Periods kept.
- preservation_version (int, default 0)

Example:

    [unique_visitors]
    type = "SandboxFilter"
    filename = "sandboxes/filters/unique_items.lua"
    message_matcher = "Type == 'nginx.access'"
    ticker_interval = 60
    preserve_data = true

    [unique_visitors.config]
    message_variable = "Fields[remote_addr]"
--]]

require "circular_buffer"
require "hyperloglog"

local message_variable = read_config("message_variable")
    or error("message_variable must be set")
local title = read_config("title") or ("Estimated Unique " .. message_variable)
local sec_per_row = read_config("sec_per_row") or 86400
local rows = read_config("rows") or 365
_PRESERVATION_VERSION = read_config("preservation_version") or 0

uniques = circular_buffer.new(rows, 1, sec_per_row)
uniques:set_header(1, "Unique", "count", "max")
hll = hyperloglog.new()
current_row = nil

local period_ns = sec_per_row * 1000000000
local read_message, tostring = read_message, tostring

function process_message()
    local v = read_message(message_variable)
    if v == nil then return 0 end
    local ts = read_message("Timestamp")
    local row = ts // period_ns
    if current_row == nil or row > current_row then
        hll:clear()
        current_row = row
    elseif row < current_row then
        return 0 -- an older period is closed
    end
    if hll:add(tostring(v)) then
        uniques:set(ts, 1, hll:count())
    end
    return 0
end

function timer_event(ns)
    inject_payload("cbuf", title, uniques)
end
