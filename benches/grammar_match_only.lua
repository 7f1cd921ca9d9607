--[[
A decoder for benches/grammar_bench.sh that only parses: it builds the
grammar a shipped decoder would (same module functions, same default
formats) and matches each line, injecting nothing, so the figure is the
cost of parsing a line inside a sandbox.

Config:

- format (string): "nginx", "apache" or "rsyslog"
- grammar (string): "lpeg" or "pattern"; "none" only reads the Payload
  (the baseline: the tool's and the sandbox call's own cost)
--]]

local clf = require "common_log_format"
local syslog = require "syslog"

local BUILDERS = {
    nginx = {
        lpeg = clf.build_nginx_grammar, pattern = clf.build_nginx_matcher,
        format = '$remote_addr - $remote_user [$time_local] "$request" $status '
            .. '$body_bytes_sent "$http_referer" "$http_user_agent"',
    },
    apache = {
        lpeg = clf.build_apache_grammar, pattern = clf.build_apache_matcher,
        format = '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"',
    },
    rsyslog = {
        lpeg = syslog.build_rsyslog_grammar, pattern = syslog.build_rsyslog_matcher,
        format = "RSYSLOG_TraditionalFileFormat",
    },
}

local b = BUILDERS[read_config("format") or "nginx"]
local kind = read_config("grammar") or "lpeg"
local build = b and (b[kind] or kind == "none")
if not build then
    error("format must be nginx, apache or rsyslog; grammar lpeg, pattern or none")
end
local grammar = kind == "none" and {match = function() return true end} or build(b.format)
local read_message = read_message

function process_message()
    if grammar:match(read_message("Payload")) then return 0 end
    return -1
end
