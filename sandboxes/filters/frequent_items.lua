--[[
Frequent items: the most frequent values of a message variable, counted
with the Space-Saving algorithm in bounded memory: `max_items` counters;
when they are all taken, a new value replaces the least counted one and
inherits its count plus one (so counts are upper bounds, exact while fewer
than `max_items` distinct values were seen). On every timer event the
values counted at least `min_output_weight` times are emitted as a
tab-separated payload named `title`, most frequent first (`value<TAB>count`,
ties by value). Counts restart when message time enters a new period of
`reset_days` days.

Config:

- message_variable (string, required)
    e.g. "Fields[request]", "Fields[remote_addr]", "Hostname".
- max_items (int, default 1000)
- min_output_weight (int, default 1)
- reset_days (int, default 1; 0 never resets)
- title (string, default "Frequent <message_variable>")

Example:

    [top_paths]
    type = "SandboxFilter"
    filename = "sandboxes/filters/frequent_items.lua"
    message_matcher = "Type == 'nginx.access'"
    ticker_interval = 60

    [top_paths.config]
    message_variable = "Fields[request]"
    max_items = 100
--]]

local table = require "table"
local string = require "string"

local message_variable = read_config("message_variable")
    or error("message_variable must be set")
local max_items = read_config("max_items") or 1000
local min_output_weight = read_config("min_output_weight") or 1
local reset_days = read_config("reset_days") or 1
local title = read_config("title") or ("Frequent " .. message_variable)

items = {}
item_count = 0
period = nil

local DAY_NS = 86400 * 1000000000
local read_message, tostring, pairs, type = read_message, tostring, pairs, type

local function key_of(v)
    if type(v) == "number" and v == v // 1 then return string.format("%d", v) end
    return tostring(v)
end

function process_message()
    local v = read_message(message_variable)
    if v == nil then return 0 end
    if reset_days > 0 then
        local p = read_message("Timestamp") // (reset_days * DAY_NS)
        if period == nil or p > period then
            items, item_count, period = {}, 0, p
        end
    end
    local key = key_of(v)
    local n = items[key]
    if n then
        items[key] = n + 1
    elseif item_count < max_items then
        items[key] = 1
        item_count = item_count + 1
    else
        local min_key, min_n
        for k, c in pairs(items) do
            if min_n == nil or c < min_n or (c == min_n and k > min_key) then
                min_key, min_n = k, c
            end
        end
        items[min_key] = nil
        items[key] = min_n + 1
    end
    return 0
end

function timer_event(ns)
    local list = {}
    for k, c in pairs(items) do
        if c >= min_output_weight then list[#list + 1] = k end
    end
    table.sort(list, function(a, b)
        local ca, cb = items[a], items[b]
        if ca ~= cb then return ca > cb end
        return a < b
    end)
    for _, k in ipairs(list) do
        add_to_payload(k, "\t", items[k], "\n")
    end
    inject_payload("tsv", title)
end
