-- Deterministic, varied nginx "combined" lines for the lpeg benchmarks.
-- Returns a function(n) that returns a sequence of n lines.
return function(n)
  local x = 88172645463325252
  local function rnd(m)
    x = x * 6364136223846793005 + 1442695040888963407
    return (x >> 33) % m
  end
  local function pick(t) return t[rnd(#t) + 1] end
  local methods = { "GET", "GET", "GET", "POST", "PUT", "DELETE", "HEAD" }
  local months = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" }
  local statuses = { 200, 200, 200, 301, 304, 404, 500, 502 }
  local agents = {
    "Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
    "curl/8.4.0",
    "Googlebot/2.1 (+http://www.google.com/bot.html)",
  }
  local lines = {}
  for i = 1, n do
    local user = rnd(4) == 0 and ("user" .. rnd(100)) or "-"
    local referer = rnd(3) == 0 and "-" or ("https://example.com/p/" .. rnd(1000))
    lines[i] = string.format(
      '%d.%d.%d.%d - %s [%02d/%s/2024:%02d:%02d:%02d +0000] "%s /api/v1/items/%d?page=%d&sort=asc HTTP/1.1" %d %d "%s" "%s"',
      rnd(223) + 1, rnd(256), rnd(256), rnd(256), user,
      rnd(28) + 1, pick(months), rnd(24), rnd(60), rnd(60),
      pick(methods), rnd(100000), rnd(50), pick(statuses), rnd(50000),
      referer, pick(agents))
  end
  return lines
end
