-- wrk script: the request comes from env (METHOD, BODY), the summary goes to REPORT as JSON.
wrk.method = os.getenv("METHOD") or "GET"
local body = os.getenv("BODY")
if body and body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end
local key = os.getenv("API_KEY")
if key and key ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. key
end

done = function(summary, latency, requests)
  local e = summary.errors
  local f = io.open(os.getenv("REPORT"), "w")
  f:write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "non2xx": %d, ' ..
    '"socket_errors": %d}',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
  f:close()
end
