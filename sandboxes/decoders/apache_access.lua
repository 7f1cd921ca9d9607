--[[
Apache access log decoder: parses each line with the server's `LogFormat`
and emits one message with typed fields. Apache directives are mapped to
the nginx variable names (%h -> remote_addr, %>s -> status, %b ->
body_bytes_sent, ...; see lua_modules/common_log_format), so the same
filters work for both servers. %t sets the Timestamp. Lines that do not
have the format fail (status -1) and are counted, never injected.

Config (the `[<name>.config]` table):

- log_format (string, default Apache's "combined" format)
    The `LogFormat` string from the Apache configuration, e.g.
    '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"'
- type (string, default nil: the input's Type is kept)
    Sets the message Type.
- user_agent_transform (bool, default false)
    Replaces `http_user_agent` with `user_agent_browser`,
    `user_agent_version` (number) and `user_agent_os`.
- user_agent_keep (bool, default false)
    With the transform, keep `http_user_agent` as well.
- user_agent_conditional (bool, default false)
    With the transform, keep `http_user_agent` only when nothing was
    recognised.
- payload_keep (bool, default false)
    Keep the log line as the Payload.
- grammar (string, default "lpeg")
    The implementation that parses the lines, both giving the same fields:
    "lpeg" (an LPeg grammar from common_log_format.build_apache_grammar,
    the faster one in Sandpiper, see BENCHMARKS.md) or "pattern" (a Lua
    pattern and generated code).

Example:

    [apache_access]
    type = "SandboxDecoder"
    filename = "sandboxes/decoders/apache_access.lua"

    [apache_access.config]
    type = "apache.access"
    log_format = '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"'
    user_agent_transform = true

Example message fields for the line
`127.0.0.1 - - [10/Feb/2014:08:46:41 -0800] "GET / HTTP/1.1" 304 - "-" "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:26.0) Gecko/20100101 Firefox/26.0"`:
Timestamp 1392050801000000000, remote_addr "127.0.0.1", remote_logname "-",
remote_user "-", request "GET / HTTP/1.1", status 304, body_bytes_sent 0
(representation "B"), http_referer "-", user_agent_browser "Firefox",
user_agent_version 26, user_agent_os "Linux".
--]]

local clf = require "common_log_format"
local access_log_decoder = require "access_log_decoder"

local COMBINED = '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"'

process_message = access_log_decoder.new(
    {lpeg = clf.build_apache_grammar, pattern = clf.build_apache_matcher}, COMBINED)
