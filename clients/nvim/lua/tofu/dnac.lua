-- :TofuAddDnac [SERVER]: PI's "Add Cisco DNA Center Server". The password is asked twice with
-- inputsecret(), which keeps it out of the input history; it is never shown, never put in a
-- register, a message or a log (Neovim's LSP log is held at INFO or above while the request
-- goes out, since its DEBUG level writes every message sent), and dropped once the call (and
-- its re-pin, if the operator chooses one) is done.
local config = require('tofu.config')
local rpc = require('tofu.rpc')
local text = require('tofu.text')
local events = require('tofu.events')
local views = require('tofu.views')

local M = {}

local statuses = {
  pinned = 'pinned on first use',
  matched = 'the pin matched',
  replaced = 'the pin was replaced by the accepted certificate',
  rotated = 'the staged certificate was presented and is now the pin',
  renewed = 'renewed with the pinned key',
}

-- Runs `send` with Neovim's LSP log no more verbose than INFO: at DEBUG, vim.lsp.rpc writes
-- each message it sends, password included, to the log file.
local function without_message_log(send)
  local ok_log, log = pcall(require, 'vim.lsp.log')
  local before = ok_log and log.get_level and log.get_level() or nil
  local lowered = before ~= nil and type(before) == 'number' and before < log.levels.INFO
  if lowered then
    log.set_level(log.levels.INFO)
  end
  local ok, err = pcall(send)
  if lowered then
    log.set_level(before)
  end
  if not ok then
    error(err, 0)
  end
end

local function fingerprint(certificate)
  return text.escape(text.field(certificate, 'sha256Fingerprint'))
end

local function done()
  events.emit('TofuAddDnacDone')
end

local function added(server, result)
  local pin = text.field(result, 'pin')
  local status = text.field(result, 'pinStatus')
  local authenticated = text.field(result, 'authenticated')
  text.notify(string.format(
    '%s added: %s, SHA-256 %s (subject %s, serial %s)%s',
    text.escape(server),
    statuses[status] or text.escape(status),
    fingerprint(pin),
    text.brief(text.field(pin, 'subject')),
    text.escape(text.field(pin, 'serialNumber')),
    authenticated == true and '; the controller accepted the credentials' or ''
  ))
end

-- Sends addDnacServer; on a mismatch without acceptFingerprint, shows both fingerprints and
-- offers the one-step re-pin.
local function send(fields, password, accept)
  local params = {
    server = fields.server,
    username = fields.username,
    password = password,
    confirmPassword = password,
    timeoutMs = config.options.timeout_ms,
    acceptFingerprint = accept,
  }
  without_message_log(function()
    rpc.request('addDnacServer', params, function(err, result)
      if not err then
        password = nil
        added(fields.server, result)
        return done()
      end
      local data = err.data
      local pinned, presented = text.field(data, 'pinned'), text.field(data, 'presented')
      if err.code ~= -32002 or accept ~= nil or not pinned or not presented then
        password = nil
        text.notify('adding ' .. text.escape(fields.server) .. ' failed: ' .. text.error_message(err), vim.log.levels.ERROR)
        return done()
      end
      local host = text.escape(text.field(data, 'host') or fields.server)
      local change = text.field(data, 'change')
      text.notify(string.format(
        '%s presents a different certificate than the one pinned (%s): pinned %s (serial %s), presented %s (serial %s, subject %s). The connection was dropped and nothing was sent.',
        host,
        change == 'reissuedSameKey' and 'the same key, re-issued' or 'a new key',
        fingerprint(pinned),
        text.escape(text.field(pinned, 'serialNumber')),
        fingerprint(presented),
        text.escape(text.field(presented, 'serialNumber')),
        text.brief(text.field(presented, 'subject'))
      ), vim.log.levels.ERROR)
      local new = text.field(presented, 'sha256Fingerprint')
      local repin = 'Re-pin to ' .. fingerprint(presented) .. ' (I confirmed it with the controller\'s administrator)'
      views.ask({ repin, 'Leave the pin as it is' }, {
        prompt = 'Re-pin ' .. host .. ' in one step? The new certificate replaces the pin only once the controller accepts the credentials; the old pin stays if anything fails.',
        kind = 'tofu.repin',
      }, function(choice)
        if choice == repin then
          send(fields, password, new)
        else
          text.notify(string.format(
            'the pin of %s is unchanged (%s). To trust the new certificate later: :TofuAddDnac %s and re-pin, or delete the pin (:TofuList, dd) and add the server again.',
            host,
            fingerprint(pinned),
            host
          ))
          done()
        end
        password = nil
      end)
    end)
  end)
  params = nil
end

--- :TofuAddDnac [SERVER]
function M.add(server)
  -- A macro being recorded keeps every key typed, the password's too, in its register (and
  -- Neovim saves registers in its shada file).
  local recording = vim.fn.reg_recording()
  if recording ~= '' then
    text.notify(string.format(
      'a macro is being recorded into register %s, and it would keep the password: nothing was asked or sent. Stop recording (q) and run :TofuAddDnac again.',
      recording
    ), vim.log.levels.ERROR)
    return done()
  end
  if server == nil or server == '' then
    server = vim.fn.input('DNA Center server (IP address or host name[:port]): ')
  end
  if server == '' then
    text.notify('no server given: nothing was sent')
    return done()
  end
  local username = vim.fn.input('Username: ')
  if username == '' then
    text.notify('no username given: nothing was sent')
    return done()
  end
  local password = vim.fn.inputsecret('Password: ')
  if password == '' then
    text.notify('no password given: nothing was sent')
    return done()
  end
  local confirmation = vim.fn.inputsecret('Confirm password: ')
  if confirmation ~= password then
    password, confirmation = nil, nil
    text.notify('the two passwords differ: nothing was sent. Run :TofuAddDnac again.', vim.log.levels.ERROR)
    return done()
  end
  confirmation = nil
  -- The prompts stay on the command line until the next redraw; the asterisks say nothing,
  -- but the line is cleared all the same.
  vim.cmd('redraw')
  text.notify('connecting to ' .. text.escape(server) .. '...')
  send({ server = server, username = username }, password, nil)
end

return M
