-- :TofuPin KEY: pin the certificate in the current buffer (a PEM block) before the first
-- connection, closing the first-use window; :TofuPin! KEY stages it as the pin's next
-- certificate (a planned rotation).
local rpc = require('tofu.rpc')
local text = require('tofu.text')
local events = require('tofu.events')

local M = {}

--- The PEM certificate of the current buffer: the block under the cursor, else the first.
function M.pem_at_cursor()
  local lines = vim.api.nvim_buf_get_lines(0, 0, -1, false)
  local cursor = vim.api.nvim_win_get_cursor(0)[1]
  local blocks, start = {}, nil
  for i, line in ipairs(lines) do
    if line:match('^%s*%-%-%-%-%-BEGIN CERTIFICATE%-%-%-%-%-%s*$') then
      start = i
    elseif start and line:match('^%s*%-%-%-%-%-END CERTIFICATE%-%-%-%-%-%s*$') then
      blocks[#blocks + 1] = { first = start, last = i }
      start = nil
    end
  end
  local chosen = blocks[1]
  for _, block in ipairs(blocks) do
    if cursor >= block.first and cursor <= block.last then
      chosen = block
    end
  end
  if not chosen then
    return nil
  end
  local pem = {}
  for i = chosen.first, chosen.last do
    pem[#pem + 1] = vim.trim(lines[i])
  end
  return table.concat(pem, '\n') .. '\n'
end

--- :TofuPin[!] KEY
function M.pin(key, stage)
  local pem = M.pem_at_cursor()
  if not pem then
    text.notify('no certificate in this buffer: put the cursor in a -----BEGIN CERTIFICATE----- ... -----END CERTIFICATE----- block', vim.log.levels.ERROR)
    return events.emit('TofuPinDone')
  end
  local params = { host = key, pem = pem }
  if stage then
    params.next = true
  end
  rpc.request('pinCert', params, function(err, result)
    if err then
      text.notify((stage and 'staging' or 'pinning') .. ' for ' .. text.escape(key) .. ' failed: ' .. text.error_message(err), vim.log.levels.ERROR)
      return events.emit('TofuPinDone')
    end
    local pin = text.field(result, 'pin')
    local status = text.field(result, 'pinStatus')
    local host = text.escape(text.field(pin, 'host'))
    local certificate = status == 'staged' and text.field(pin, 'next') or pin
    local what = {
      pinned = 'pinned',
      matched = 'was already pinned to this certificate',
      staged = 'staged as the next certificate (the pin ' .. text.escape(text.field(pin, 'sha256Fingerprint')) .. ' stays until the host presents it)',
    }
    text.notify(string.format(
      '%s %s: SHA-256 %s (subject %s, serial %s)',
      host,
      what[status] or text.escape(status),
      text.escape(text.field(certificate, 'sha256Fingerprint')),
      text.brief(text.field(certificate, 'subject')),
      text.escape(text.field(certificate, 'serialNumber'))
    ))
    events.emit('TofuPinDone')
  end)
end

return M
