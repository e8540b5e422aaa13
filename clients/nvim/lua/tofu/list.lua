-- :TofuList: the pins as PI lists them, one `host=<key>;  subject=<subject>` line each; <CR>
-- shows a pin's details (tofu://pin/<key>), dd deletes it after a confirmation that shows its
-- serial and fingerprint (and sends that fingerprint as expectedFingerprint, so only the
-- certificate looked at is ever deleted), r lists again.
local rpc = require('tofu.rpc')
local text = require('tofu.text')
local views = require('tofu.views')
local events = require('tofu.events')

local M = {}

M.LIST_NAME = 'tofu://pins'
M.PIN_PREFIX = 'tofu://pin/'

local listed = {} -- buffer -> the pins it shows, by line number

--- Every pin of the store, page after page; `done(err, pins)`.
function M.fetch_all(done)
  local all = {}
  local function page(cursor)
    local params = { limit = 1000 }
    if cursor then
      params.cursor = cursor
    end
    rpc.request('listCerts', params, function(err, result)
      if err then
        return done(err)
      end
      for _, pin in ipairs(text.field(result, 'certs') or {}) do
        all[#all + 1] = pin
      end
      local next_cursor = text.field(result, 'nextCursor')
      if next_cursor then
        page(next_cursor)
      else
        done(nil, all)
      end
    end)
  end
  page(nil)
end

--- Lists again into the list buffer `buf`.
function M.refresh(buf)
  M.fetch_all(function(err, pins)
    if not vim.api.nvim_buf_is_valid(buf) then
      return
    end
    if err then
      text.notify('listing the pins failed: ' .. text.error_message(err), vim.log.levels.ERROR)
      events.emit('TofuListUpdated')
      return
    end
    local lines = {}
    for i, pin in ipairs(pins) do
      lines[i] = text.pi_line(pin)
    end
    listed[buf] = pins
    views.set_lines(buf, lines)
    if #pins == 0 then
      -- Named: a store path with a typo is a new, empty store, not a store that lost its pins.
      local store, origin = require('tofu.config').store_description()
      text.notify(string.format('the store %s (%s) holds no pins', text.escape(store), origin))
    end
    events.emit('TofuListUpdated')
  end)
end

--- The pin on the cursor's line of a list buffer, or nil.
function M.pin_at_cursor(buf)
  buf = buf or vim.api.nvim_get_current_buf()
  local pins = listed[buf]
  if not pins then
    return nil
  end
  return pins[vim.api.nvim_win_get_cursor(0)[1]]
end

--- :TofuList
function M.open()
  local buf = views.buffer(M.LIST_NAME)
  views.map(buf, '<CR>', function()
    local pin = M.pin_at_cursor(buf)
    if pin then
      M.show_pin(text.field(pin, 'host'))
    end
  end, 'tofu: details of this pin')
  views.map(buf, 'dd', function()
    M.delete_at_cursor(buf)
  end, 'tofu: delete this pin (asks first)')
  views.map(buf, 'r', function()
    M.refresh(buf)
  end, 'tofu: list again')
  views.map(buf, 'q', views.close, 'tofu: close')
  views.show(buf, false)
  M.refresh(buf)
end

--- dd: asks, showing the serial and fingerprint; deletes only that certificate.
function M.delete_at_cursor(buf)
  local pin = M.pin_at_cursor(buf)
  if not pin then
    text.notify('no pin on this line', vim.log.levels.WARN)
    return
  end
  local host = text.field(pin, 'host')
  local fingerprint = text.field(pin, 'sha256Fingerprint')
  local serial = text.field(pin, 'serialNumber')
  -- What identifies the certificate first; the subject, chosen by whoever made the
  -- certificate, last and cut short.
  local shown = string.format(
    'the pin of %s (SHA-256 %s, serial %s, subject %s)',
    text.escape(host),
    text.escape(fingerprint),
    text.brief(serial),
    text.brief(text.field(pin, 'subject'))
  )
  views.ask({ 'Delete', 'Keep' }, { prompt = 'Delete ' .. shown .. '?', kind = 'tofu.delete' }, function(choice)
    if choice ~= 'Delete' then
      text.notify('kept ' .. shown)
      events.emit('TofuDeleteDone')
      return
    end
    rpc.request('deleteCert', { host = host, expectedFingerprint = fingerprint }, function(err)
      if not err then
        text.notify('deleted ' .. shown)
      elseif err.code == -32002 then
        local now = text.field(text.field(err.data, 'pinned'), 'sha256Fingerprint')
        text.notify(
          string.format(
            'nothing was deleted: %s is no longer pinned to the certificate listed (SHA-256 %s)%s. The list is shown again: look at it before deleting.',
            text.escape(host),
            text.escape(fingerprint),
            now and (', it is now pinned to ' .. text.escape(now)) or ''
          ),
          vim.log.levels.ERROR
        )
      elseif err.code == -32001 then
        text.notify(string.format('nothing was deleted: %s has no pin any more (deleted meanwhile).', text.escape(host)), vim.log.levels.WARN)
      else
        text.notify('deleting the pin of ' .. text.escape(host) .. ' failed: ' .. text.error_message(err), vim.log.levels.ERROR)
      end
      M.refresh(buf)
      events.emit('TofuDeleteDone')
    end)
  end)
end

local label_width = 15

local function row(label, value)
  return label .. string.rep(' ', label_width - #label) .. value
end

local policies = {
  certificate = 'certificate (exactly this certificate)',
  publicKey = 'publicKey (any certificate with this public key)',
}

--- The lines of a pin's details.
function M.detail_lines(pin)
  local f = function(key)
    return text.escape(text.field(pin, key))
  end
  local names = {}
  for _, name in ipairs(text.field(pin, 'subjectAltNames') or {}) do
    names[#names + 1] = text.escape(name)
  end
  local policy = text.field(pin, 'policy') or 'certificate'
  local lines = {
    text.pi_line(pin),
    '',
    row('serial', f('serialNumber')),
    row('SHA-256', f('sha256Fingerprint')),
    row('SPKI SHA-256', f('spkiSha256')),
    row('valid', 'from ' .. f('notBefore') .. ' to ' .. f('notAfter')),
    row('issuer', f('issuer')),
    row('SANs', #names > 0 and table.concat(names, ', ') or 'none'),
    row('public key', f('publicKey')),
    row('pinned at', f('pinnedAt')),
    row('last verified', text.field(pin, 'lastVerifiedAt') and f('lastVerifiedAt') or 'never'),
    row('policy', policies[policy] or text.escape(policy)),
  }
  local next = text.field(pin, 'next')
  if next then
    local g = function(key)
      return text.escape(text.field(next, key))
    end
    vim.list_extend(lines, {
      row('staged next', 'SHA-256 ' .. g('sha256Fingerprint')),
      row('', 'serial ' .. g('serialNumber')),
      row('', 'valid from ' .. g('notBefore') .. ' to ' .. g('notAfter')),
      row('', 'subject ' .. g('subject')),
      row('', 'staged at ' .. g('stagedAt')),
    })
  else
    lines[#lines + 1] = row('staged next', 'none')
  end
  return lines
end

--- Fills the details buffer `buf` with the pin of `key`, as the store has it now.
function M.fill_pin(buf, key)
  views.prepare(buf)
  views.map(buf, 'q', views.close, 'tofu: close')
  views.map(buf, 'r', function()
    M.fill_pin(buf, key)
  end, 'tofu: read this pin again')
  rpc.request('listCerts', { host = key }, function(err, result)
    if not vim.api.nvim_buf_is_valid(buf) then
      return
    end
    local certs = text.field(result, 'certs') or {}
    if err then
      views.set_lines(buf, { 'tofu: reading the pin of ' .. text.escape(key) .. ' failed: ' .. text.error_message(err) })
    elseif #certs == 0 then
      views.set_lines(buf, { 'tofu: no pin for ' .. text.escape(key) .. ' in the store.' })
    else
      views.set_lines(buf, M.detail_lines(certs[1]))
    end
    events.emit('TofuPinShown')
  end)
end

--- <CR>: the details of the pin of `key`, in a split.
function M.show_pin(key)
  local name = M.PIN_PREFIX .. key
  local buf = views.find(name)
  if buf ~= -1 and vim.api.nvim_buf_is_loaded(buf) then
    views.show(buf, true)
    M.fill_pin(buf, key)
  else
    vim.cmd('belowright split ' .. vim.fn.fnameescape(name))
  end
end

--- BufReadCmd of tofu://pin/<key> (the details buffer, also where the quickfix list jumps).
function M.read_pin_buffer(buf, name)
  local key = name:sub(#M.PIN_PREFIX + 1)
  M.fill_pin(buf, key)
end

return M
