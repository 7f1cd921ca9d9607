--[[
msg_interpolate: `%{name}` placeholders filled from the message being
processed (encoders and filters).

- interpolate(text[, ns]) -> string
    `%{Type}`, `%{Logger}`, `%{Hostname}`, `%{Payload}`, `%{EnvVersion}`,
    `%{Severity}`, `%{Pid}`, `%{Uuid}` (also `%{UUID}`) and `%{Timestamp}`
    (ns) come from the headers; any other name is the first value of the
    field of that name (`%{status}`). A placeholder starting with `%`
    (`%{%Y.%m.%d}`) is a strftime format applied to `ns` (nanoseconds;
    default: the current time) in UTC. A field that does not exist leaves
    its placeholder as it is.
- compile(text) -> function(ns) -> string, unresolved; the same with the
  template split once (for per-message use); `unresolved` is true when a
  placeholder was left because its field does not exist.
--]]

local string = require "string"
local table = require "table"
local os = require "os"

local find, sub, format = string.find, string.sub, string.format
local concat = table.concat
local tostring, type, ipairs, read_message = tostring, type, ipairs, read_message
local os_date, os_time = os.date, os.time

local M = {}

local HEADERS = {
    Type = true, Logger = true, Hostname = true, Payload = true, EnvVersion = true,
    Severity = true, Pid = true, Uuid = true, Timestamp = true,
}

local function value_of(name, ns)
    if sub(name, 1, 1) == "%" then
        local secs = ns and (ns // 1000000000) or os_time()
        return os_date("!" .. name, secs)
    end
    local v
    if name == "UUID" then name = "Uuid" end
    if HEADERS[name] then
        v = read_message(name)
    else
        v = read_message("Fields[" .. name .. "]")
    end
    if v == nil then return nil end
    if type(v) == "number" and v == v // 1 then return format("%d", v) end
    return tostring(v)
end

function M.compile(text)
    local parts, i = {}, 1
    while true do
        local s, e, name = find(text, "%%{([^}]+)}", i)
        if not s then
            parts[#parts + 1] = sub(text, i)
            break
        end
        parts[#parts + 1] = sub(text, i, s - 1)
        parts[#parts + 1] = {name = name, raw = sub(text, s, e)}
        i = e + 1
    end
    if #parts == 1 then
        local constant = parts[1]
        return function() return constant end
    end
    return function(ns)
        local out, unresolved = {}, false
        for k, p in ipairs(parts) do
            if type(p) == "string" then
                out[k] = p
            else
                local v = value_of(p.name, ns)
                if v == nil then
                    v, unresolved = p.raw, true
                end
                out[k] = v
            end
        end
        return concat(out), unresolved
    end
end

function M.interpolate(text, ns)
    return (M.compile(text)(ns))
end

return M
