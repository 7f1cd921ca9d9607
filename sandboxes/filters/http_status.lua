--[[
HTTP status graph: counts the responses of each status class (1xx to 5xx,
and anything else as HTTP_UNKNOWN) per `sec_per_row` seconds of message time
in a circular buffer, and emits it on every timer event as a `cbuf` payload
named "HTTP Status" (the dashboard draws it as a graph). Messages without a
numeric `Fields[status]` fail (status -1). The buffer is a global, so
`preserve_data = true` keeps the graph across restarts.

Config:

- sec_per_row (int, default 60)
    Seconds of message time per row.
- rows (int, default 1440)
    Rows kept (the default is one day of minutes).
- preservation_version (int, default 0)
    Change it when `rows` or `sec_per_row` change, so preserved data of the
    old shape is dropped.

Example:

    [http_status]
    type = "SandboxFilter"
    filename = "sandboxes/filters/http_status.lua"
    message_matcher = "Type == 'nginx.access'"
    ticker_interval = 60
    preserve_data = true

    [http_status.config]
    sec_per_row = 60
    rows = 1440
--]]

require "circular_buffer"
local math = require "math"

local sec_per_row = read_config("sec_per_row") or 60
local rows = read_config("rows") or 1440
_PRESERVATION_VERSION = read_config("preservation_version") or 0

local HTTP_UNKNOWN = 6
status = circular_buffer.new(rows, 6, sec_per_row)
status:set_header(1, "HTTP_100")
status:set_header(2, "HTTP_200")
status:set_header(3, "HTTP_300")
status:set_header(4, "HTTP_400")
status:set_header(5, "HTTP_500")
status:set_header(HTTP_UNKNOWN, "HTTP_UNKNOWN")

local floor, type = math.floor, type
local read_message = read_message

function process_message()
    local code = read_message("Fields[status]")
    if type(code) ~= "number" then return -1, "no numeric Fields[status]" end
    local col = floor(code / 100)
    if col < 1 or col > 5 then col = HTTP_UNKNOWN end
    status:add(read_message("Timestamp"), col, 1)
    return 0
end

function timer_event(ns)
    inject_payload("cbuf", "HTTP Status", status)
end
