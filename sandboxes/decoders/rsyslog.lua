--[[
rsyslog decoder: parses lines written by rsyslog with a known template
(see lua_modules/syslog) into a message:

- Timestamp from %TIMESTAMP% / %timereported% (an RFC 3164 date is in the
  current year; with `tz` it is read as local time in that zone);
- Severity from %pri% (pri % 8), %syslogseverity% or
  %syslogseverity-text%; field `syslogfacility` (number) from %pri%
  (pri / 8), %syslogfacility% or %syslogfacility-text%;
- Hostname from %HOSTNAME% / %source% (unless `hostname_keep`);
- Pid and field `programname` from %syslogtag% (`widget[4322]:`), or
  %programname% and %procid%;
- Payload from %msg%;
- every other property becomes a field of its lower-case name
  (`timegenerated` in nanoseconds).

Lines that do not have the template's shape fail (status -1).

Config:

- template (string, default "RSYSLOG_TraditionalFileFormat")
    The rsyslog template the log was written with, or a built-in template
    name (RSYSLOG_TraditionalFileFormat, RSYSLOG_FileFormat, ...).
- type (string, default nil: the input's Type is kept)
    Sets the message Type.
- hostname_keep (bool, default false)
    Keep the input's Hostname instead of the one in the line.
- tz (string, default "UTC")
    IANA zone the log's clock was in. The engine re-interprets the
    Timestamp and the `timegenerated` field as wall-clock time in this zone
    (as Heka did), so with `tz` set the offsets written in RFC 3339 dates
    are ignored; without it they are applied.
- grammar (string, default "lpeg")
    The implementation that parses the lines, both giving the same fields:
    "lpeg" (syslog.build_rsyslog_grammar, the faster one in Sandpiper, see
    BENCHMARKS.md) or "pattern" (syslog.build_rsyslog_matcher, one Lua
    pattern).

Example:

    [rsyslog]
    type = "SandboxDecoder"
    filename = "sandboxes/decoders/rsyslog.lua"

    [rsyslog.config]
    type = "system.syslog"
    template = '%TIMESTAMP% %HOSTNAME% %syslogtag%%msg:::sp-if-no-1st-sp%%msg:::drop-last-lf%\n'
    tz = "America/Los_Angeles"
--]]

local syslog = require "syslog"
local math = require "math"

local tz = read_config("tz")
local builders = {lpeg = syslog.build_rsyslog_grammar, pattern = syslog.build_rsyslog_matcher}
local build = builders[read_config("grammar") or "lpeg"]
if not build then error('grammar must be "lpeg" or "pattern"') end
local grammar = build(read_config("template") or "RSYSLOG_TraditionalFileFormat",
    tz ~= nil and tz ~= "UTC")
local hostname_keep = read_config("hostname_keep")
local msg_type = read_config("type")
local parse_syslogtag = syslog.parse_syslogtag
local severity_number, facility_number = syslog.severity_number, syslog.facility_number
local tonumber, pairs = tonumber, pairs
local read_message, inject_message = read_message, inject_message

local HANDLED = {
    timestamp = true, pri = true, syslogseverity = true, ["syslogseverity-text"] = true,
    syslogfacility = true, ["syslogfacility-text"] = true, hostname = true,
    syslogtag = true, programname = true, procid = true, msg = true,
}

function process_message()
    local f = grammar:match(read_message("Payload"))
    if not f then return -1 end
    local fields = {}
    local msg = {Type = msg_type, Timestamp = f.timestamp, Payload = f.msg, Fields = fields}
    if f.pri then
        msg.Severity = f.pri % 8
        fields.syslogfacility = math.floor(f.pri / 8)
    end
    if f.syslogseverity then msg.Severity = f.syslogseverity end
    local sev_text = f["syslogseverity-text"]
    if sev_text then msg.Severity = severity_number[sev_text] end
    if f.syslogfacility then fields.syslogfacility = f.syslogfacility end
    local fac_text = f["syslogfacility-text"]
    if fac_text then fields.syslogfacility = facility_number[fac_text] end
    if f.hostname and not hostname_keep then msg.Hostname = f.hostname end
    if f.syslogtag then
        fields.programname, msg.Pid = parse_syslogtag(f.syslogtag)
    end
    if f.programname then fields.programname = f.programname end
    if f.procid then msg.Pid = tonumber(f.procid) or msg.Pid end
    for k, v in pairs(f) do
        if not HANDLED[k] then fields[k] = v end
    end
    inject_message(msg)
    return 0
end
